// A minimal SPI master for the emulator's tests and benches: builds VDM frames (§1.2) and wraps
// the usual register accesses. It is not the driver; it only speaks the frame format.
import { Cmd, Sn } from './constants';

export interface FrameDevice { transfer(frame: Uint8Array): Uint8Array }

export const bsb = {
  common: 0,
  regs: (n: number): number => 4 * n + 1,
  tx: (n: number): number => 4 * n + 2,
  rx: (n: number): number => 4 * n + 3,
};

export class SpiMaster {
  constructor(private readonly dev: FrameDevice) {}

  /** VDM read of `length` bytes at `addr` in block `block`. */
  read(block: number, addr: number, length: number): Uint8Array {
    const f = new Uint8Array(3 + length);
    f[0] = addr >> 8; f[1] = addr & 255; f[2] = block << 3;
    return this.dev.transfer(f).subarray(3);
  }

  /** VDM write of `data` at `addr` in block `block`; returns the whole MISO frame. */
  write(block: number, addr: number, data: ArrayLike<number>): Uint8Array {
    const f = new Uint8Array(3 + data.length);
    f[0] = addr >> 8; f[1] = addr & 255; f[2] = (block << 3) | 0x04;
    f.set(data, 3);
    return this.dev.transfer(f);
  }

  read8(block: number, addr: number): number { return this.read(block, addr, 1)[0]; }
  read16(block: number, addr: number): number {
    const b = this.read(block, addr, 2);
    return (b[0] << 8) | b[1];
  }
  write8(block: number, addr: number, v: number): void { this.write(block, addr, [v]); }
  write16(block: number, addr: number, v: number): void { this.write(block, addr, [v >> 8, v & 255]); }

  sr(n: number): number { return this.read8(bsb.regs(n), Sn.SR); }
  ir(n: number): number { return this.read8(bsb.regs(n), Sn.IR); }

  /** Writes Sn_CR and polls it to 0; returns how many polls read non-zero. Throws after `maxPolls`. */
  command(n: number, cmd: number, maxPolls = 100): number {
    this.write8(bsb.regs(n), Sn.CR, cmd);
    for (let polls = 0; polls < maxPolls; polls++) {
      if (this.read8(bsb.regs(n), Sn.CR) === 0) return polls;
    }
    throw new Error(`socket ${n}: Sn_CR 0x${cmd.toString(16)} still pending after ${maxPolls} polls`);
  }

  /** Reads a 16-bit register until two reads agree (§4.5). */
  stable16(block: number, addr: number, maxReads = 100): number {
    let last = this.read16(block, addr);
    for (let i = 1; i < maxReads; i++) {
      const v = this.read16(block, addr);
      if (v === last) return v;
      last = v;
    }
    throw new Error(`register 0x${addr.toString(16)} of block ${block} never read the same twice`);
  }

  /** Opens socket n: CLOSE, clear Sn_IR, Sn_MR, Sn_PORT, OPEN. */
  open(n: number, mode: number, port: number): void {
    this.command(n, Cmd.CLOSE);
    this.write8(bsb.regs(n), Sn.IR, 0xff);
    this.write8(bsb.regs(n), Sn.MR, mode);
    this.write16(bsb.regs(n), Sn.PORT, port);
    this.command(n, Cmd.OPEN);
  }

  /** Copies `data` into socket n's TX buffer at TX_WR, advances TX_WR and issues SEND. */
  send(n: number, data: ArrayLike<number>): void {
    const wr = this.read16(bsb.regs(n), Sn.TX_WR);
    this.write(bsb.tx(n), wr, data);
    this.write16(bsb.regs(n), Sn.TX_WR, (wr + data.length) & 0xffff);
    this.command(n, Cmd.SEND);
  }

  /** Reads everything waiting in socket n's RX buffer and commits it with RECV. */
  recv(n: number): Uint8Array {
    const size = this.stable16(bsb.regs(n), Sn.RX_RSR);
    if (size === 0) return new Uint8Array(0);
    const rd = this.read16(bsb.regs(n), Sn.RX_RD);
    const data = this.read(bsb.rx(n), rd, size).slice();
    this.write16(bsb.regs(n), Sn.RX_RD, (rd + size) & 0xffff);
    this.command(n, Cmd.RECV);
    return data;
  }

  /** Configures SHAR, SIPR, SUBR and GAR in one burst from GAR (§1.3). */
  network(cfg: { mac: number[]; ip: number[]; mask: number[]; gateway: number[] }): void {
    this.write(bsb.common, 0x0001, [...cfg.gateway, ...cfg.mask, ...cfg.mac, ...cfg.ip]);
  }
}

/** Resolves when `check` is true, polling every few ms; rejects after `timeoutMs`. */
export function until(check: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      else setTimeout(poll, 2);
    };
    poll();
  });
}
