// Fault injection, traffic counters and the anomaly log of the emulated chip. The fault switches
// are plain state read by the SPI front end and the sockets; the actions (link, blackhole, peer
// RST/FIN) are carried out by the chip through FaultTarget.
import { SOCKETS } from './constants';

export interface FaultTarget {
  linkChanged(): void;
  blackhole(socket: number): void;
  peerReset(socket: number): void;
  peerFin(socket: number): void;
  hostChanged(): void;
  ipConflict(): void;
}

export class Faults {
  /** Fault state; read it, change it through the methods. */
  readonly state = {
    linkDown: false,
    latencyMs: 0,
    commandReads: -1, // -1: use the chip's `commandReads` option
    tornReads: false,
    randomTxPointers: false,
    chipAbsent: false,
    miswired: false,
    hostsDown: [] as string[],
  };

  constructor(private readonly target: FaultTarget) {}

  /** Pull the Ethernet cable: PHYCFGR.LNK = 0 and nothing crosses the wire until linkUp(). */
  linkDown(): void { this.setLink(false); }
  linkUp(): void { this.setLink(true); }
  /** Socket n's current TCP connection goes half-open: bytes vanish both ways, no RST, no FIN. */
  blackhole(socket: number): void { this.target.blackhole(checkSocket(socket)); }
  /** Socket n's peer sends RST. */
  peerReset(socket: number): void { this.target.peerReset(checkSocket(socket)); }
  /** Socket n's peer sends FIN (the chip sees it; the real peer socket is left as it is). */
  peerFin(socket: number): void { this.target.peerFin(checkSocket(socket)); }
  /** One-way latency added to every packet in both directions. */
  latency(ms: number): void { this.state.latencyMs = Math.max(0, ms); }
  /** Sn_CR keeps reading non-zero for `reads` polls after each command; undefined restores the option. */
  slowCommand(reads?: number): void { this.state.commandReads = reads === undefined ? -1 : Math.max(0, reads); }
  /** The first read of RX_RSR/TX_FSR after the value changed returns old high byte + new low byte. */
  tornReads(on = true): void { this.state.tornReads = on; }
  /** On ESTABLISHED, TX_RD/TX_WR jump to a random value (as the chip's re-initialisation does). */
  randomTxPointers(on = true): void { this.state.randomTxPointers = on; }
  /** No chip on the bus: MISO floats high (every byte 0xFF) and writes go nowhere. */
  chipAbsent(on = true): void { this.state.chipAbsent = on; }
  /** Bad wiring: MISO carries garbage and writes go nowhere. */
  miswired(on = true): void { this.state.miswired = on; }
  /** A virtual host vanishes (ARP to it fails, its connections go silent) or comes back. */
  hostDown(ip: string, down = true): void {
    const list = this.state.hostsDown.filter((h) => h !== ip);
    if (down) list.push(ip);
    this.state.hostsDown = list;
    this.target.hostChanged();
  }
  /** Another host claims our IP: IR.CONFLICT. */
  ipConflict(): void { this.target.ipConflict(); }
  /** Every fault off (blackholed connections stay dead: they are gone). */
  clear(): void {
    Object.assign(this.state, { latencyMs: 0, commandReads: -1, tornReads: false, randomTxPointers: false,
      chipAbsent: false, miswired: false, hostsDown: [] });
    this.setLink(true);
    this.target.hostChanged();
  }

  private setLink(up: boolean): void {
    if (this.state.linkDown === !up) return;
    this.state.linkDown = !up;
    this.target.linkChanged();
  }
}

function checkSocket(n: number): number {
  if (!(n >= 0 && n < SOCKETS && n === Math.floor(n))) throw new RangeError(`socket must be 0..7, got ${n}`);
  return n;
}

export interface Traffic { frames: number; bytes: number }

const BLOCK_NAMES: string[] = [];
for (let bsb = 0; bsb < 32; bsb++) {
  const n = bsb >> 2;
  BLOCK_NAMES.push(bsb === 0 ? 'common' : (['reserved', `s${n}.regs`, `s${n}.tx`, `s${n}.rx`])[bsb & 3]);
}

/** SPI and network traffic, for benchmarks. A frame is one header plus its data (FDM: 1/2/4 bytes). */
export class Counters {
  /** CS low…high cycles. */
  selects = 0;
  frames = 0;
  /** Every byte clocked, headers included. */
  bytes = 0;
  /** Per BSB: index with the block select value (0 common, 4n+1 regs, 4n+2 TX, 4n+3 RX). */
  readonly byBsb: Traffic[] = BLOCK_NAMES.map(() => ({ frames: 0, bytes: 0 }));
  /** Sn_CR commands accepted, per socket. */
  readonly commands: number[] = new Array<number>(SOCKETS).fill(0);
  /** Host-side traffic. */
  readonly net = { tcpTxBytes: 0, tcpRxBytes: 0, udpTxDatagrams: 0, udpRxDatagrams: 0, udpDropped: 0 };

  /** Traffic of one block by name: 'common', 'reserved', 'sN.regs', 'sN.tx', 'sN.rx'. */
  block(name: string): Traffic {
    const sum = { frames: 0, bytes: 0 };
    BLOCK_NAMES.forEach((b, i) => {
      if (b === name) { sum.frames += this.byBsb[i].frames; sum.bytes += this.byBsb[i].bytes; }
    });
    return sum;
  }

  /** Traffic to socket n's registers and buffers together. */
  socket(n: number): Traffic {
    const sum = { frames: 0, bytes: 0 };
    for (let k = 1; k <= 3; k++) {
      sum.frames += this.byBsb[4 * n + k].frames;
      sum.bytes += this.byBsb[4 * n + k].bytes;
    }
    return sum;
  }

  /** A plain copy with every block by name, for printing. */
  snapshot(): { selects: number; frames: number; bytes: number; blocks: Record<string, Traffic>; commands: number[];
    net: Counters['net'] } {
    const blocks: Record<string, Traffic> = {};
    for (const name of new Set(BLOCK_NAMES)) {
      const t = this.block(name);
      if (t.frames > 0) blocks[name] = t;
    }
    return { selects: this.selects, frames: this.frames, bytes: this.bytes, blocks, commands: this.commands.slice(),
      net: { ...this.net } };
  }

  reset(): void {
    this.selects = this.frames = this.bytes = 0;
    for (const t of this.byBsb) t.frames = t.bytes = 0;
    this.commands.fill(0);
    for (const k of Object.keys(this.net) as (keyof Counters['net'])[]) this.net[k] = 0;
  }
}

/**
 * Things a correct driver does not do, or that the chip would do silently: reserved-block access,
 * writes to read-only registers, commands in the wrong state, dropped datagrams… Counted by kind,
 * with the last messages kept for a test's failure output.
 */
export class Anomalies {
  readonly counts: Record<string, number> = {};
  readonly recent: string[] = [];
  private listeners: ((kind: string, detail: string) => void)[] = [];

  constructor(private readonly log?: (line: string) => void) {}

  note(kind: string, detail: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    if (this.recent.length >= 50) this.recent.shift();
    this.recent.push(`${kind}: ${detail}`);
    if (this.log) this.log(`w5500 ${kind}: ${detail}`);
    for (const fn of this.listeners) fn(kind, detail);
  }

  count(kind: string): number { return this.counts[kind] ?? 0; }
  on(fn: (kind: string, detail: string) => void): void { this.listeners.push(fn); }
  reset(): void {
    for (const k of Object.keys(this.counts)) delete this.counts[k];
    this.recent.length = 0;
  }
}

/** Small seeded PRNG (mulberry32), so random pointers and garbage are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
