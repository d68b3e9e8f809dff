// SPI front end (§1): latches the 3-byte header (answering 0x01 0x02 0x03 on MISO), then moves data
// with auto-increment until CS rises (VDM) or after 1/2/4 bytes (FDM, where the next byte starts a
// new header). Bursts are handed to the bus in one piece so buffer copies stay cheap.
import { FDM_LENGTH, HEADER_MISO, OM_MASK, RWB_WRITE } from './constants';
import type { Anomalies, Counters, Faults } from './faults';

export interface Bus {
  read(bsb: number, addr: number, out: Uint8Array, at: number, length: number): void;
  write(bsb: number, addr: number, src: Uint8Array, at: number, length: number): void;
}

export class SpiFrontEnd {
  private selected = false;
  private phase = 0; // 0, 1: address bytes; 2: control byte; 3: data
  private addr = 0;
  private bsb = 0;
  private writing = false;
  private fdmLeft = 0; // 0 in VDM
  private dataBytes = 0;

  constructor(
    private readonly bus: Bus,
    private readonly counters: Counters,
    private readonly faults: Faults['state'],
    private readonly anomalies: Anomalies,
    private readonly random: () => number,
  ) {}

  select(): void {
    if (this.selected) this.endFrame();
    this.selected = true;
    this.phase = 0;
    this.counters.selects++;
  }

  deselect(): void {
    if (this.selected) this.endFrame();
    this.selected = false;
  }

  /** Abandons a frame in progress (hardware reset). */
  abort(): void {
    this.phase = 0;
    this.selected = false;
  }

  exchange(mosi: Uint8Array): Uint8Array {
    const len = mosi.length;
    const miso = new Uint8Array(len);
    this.counters.bytes += len;
    if (this.faults.chipAbsent) return miso.fill(0xff);
    if (this.faults.miswired) {
      for (let i = 0; i < len; i++) miso[i] = (this.random() * 256) | 0;
      return miso;
    }
    if (!this.selected) {
      this.anomalies.note('notSelected', `${len} byte(s) clocked with CS high`);
      return miso.fill(0xff);
    }
    let i = 0;
    while (i < len) {
      if (this.phase < 3) {
        miso[i] = HEADER_MISO[this.phase];
        this.header(mosi[i]);
        i++;
        continue;
      }
      const n = this.fdmLeft > 0 ? Math.min(len - i, this.fdmLeft) : len - i;
      if (this.writing) this.bus.write(this.bsb, this.addr, mosi, i, n);
      else this.bus.read(this.bsb, this.addr, miso, i, n);
      this.counters.byBsb[this.bsb].bytes += n;
      this.addr = (this.addr + n) & 0xffff;
      this.dataBytes += n;
      i += n;
      if (this.fdmLeft > 0) {
        this.fdmLeft -= n;
        if (this.fdmLeft === 0) this.phase = 0;
      }
    }
    return miso;
  }

  private header(byte: number): void {
    if (this.phase === 0) this.addr = byte << 8;
    else if (this.phase === 1) this.addr |= byte;
    else {
      this.bsb = byte >> 3;
      this.writing = (byte & RWB_WRITE) !== 0;
      this.fdmLeft = FDM_LENGTH[byte & OM_MASK];
      this.dataBytes = 0;
      this.counters.frames++;
      const block = this.counters.byBsb[this.bsb];
      block.frames++;
      block.bytes += 3;
    }
    this.phase++;
  }

  private endFrame(): void {
    if (this.phase === 1 || this.phase === 2) {
      this.anomalies.note('truncatedFrame', `CS rose after ${this.phase} header byte(s)`);
    } else if (this.phase === 3 && (this.fdmLeft > 0 || this.dataBytes === 0)) {
      this.anomalies.note('truncatedFrame', `CS rose after ${this.dataBytes} data byte(s)`);
    }
    this.phase = 0;
  }
}
