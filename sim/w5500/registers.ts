// A socket's register block (§3): stored bytes with their access rules, the free-running pointers
// and the values derived from them (RSR from the RX_RD committed by RECV, FSR from the ACKed
// pointer), torn 16-bit reads, Sn_IR with Sn_IMR gating, and the Sn_CR handshake: a command stays
// readable for a configurable number of polls and applies on the read that returns 0 (§4.1, §9).
import type { CommonRegs } from './common';
import { hex } from './common';
import { RESERVED, RO, SOCKET_ACCESS, SOCKET_RESET, SOCKET_SPAN, Sn, Status, W1C } from './constants';
import type { Anomalies, Counters, Faults } from './faults';
import { type Region, ringRead, ringWrite } from './memory';
import type { Network } from './network';

/** What a socket needs from the chip. */
export interface SocketChip {
  readonly txMem: Uint8Array;
  readonly rxMem: Uint8Array;
  readonly common: CommonRegs;
  readonly faults: Faults['state'];
  readonly anomalies: Anomalies;
  readonly counters: Counters;
  readonly network: Network;
  readonly keepAliveUnitMs: number;
  readonly closeSends: 'rst' | 'nothing';
  commandReads(): number;
  random16(): number;
  changed(): void;
  relayout(): void;
  layoutProblem(): string;
  linkUp(): boolean;
  hostDown(ip: number): boolean;
  macrawSent(frame: Uint8Array): void;
}

export const u16 = (b: Uint8Array, off: number): number => (b[off] << 8) | b[off + 1];
export const u32 = (b: Uint8Array, off: number): number => ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
export const put16 = (b: Uint8Array, off: number, v: number): void => { b[off] = (v >> 8) & 255; b[off + 1] = v & 255; };

export abstract class SocketRegisters {
  readonly regs = new Uint8Array(SOCKET_SPAN);
  state: number = Status.CLOSED;
  ir = 0;
  tx: Region = { base: 0, size: 2048 };
  rx: Region = { base: 0, size: 2048 };
  txRd = 0;
  txAck = 0; // TCP: acknowledged by the peer; FSR counts from here
  rxWr = 0;
  rxRd = 0; // committed by the last RECV (§9), not the register the host writes
  protected pending = 0;
  private pendingReads = 0;
  private shown = { fsr: 0, rsr: 0 }; // last values the host read in full (torn-read fault)

  constructor(readonly n: number, protected readonly chip: SocketChip) {
    this.regs.set(SOCKET_RESET);
  }

  protected resetRegisters(): void {
    this.regs.set(SOCKET_RESET);
    this.ir = 0;
    this.pending = 0;
    this.zeroPointers();
  }

  /** Applies a command once the handshake lets it through. */
  protected abstract execute(cmd: number): void;
  /** A stored register changed (buffer sizes, keep-alive period). */
  protected abstract stored(off: number): void;

  get txWr(): number { return u16(this.regs, Sn.TX_WR); }
  get dipr(): number { return u32(this.regs, Sn.DIPR); }
  get dport(): number { return u16(this.regs, Sn.DPORT); }
  get port(): number { return u16(this.regs, Sn.PORT); }
  fsr(): number {
    const used = (this.txWr - this.txAck) & 0xffff;
    return used > this.tx.size ? 0 : this.tx.size - used;
  }
  rsr(): number { return (this.rxWr - this.rxRd) & 0xffff; }

  read(off: number): number {
    switch (off) {
      case Sn.CR: return this.pollCommand();
      case Sn.IR: return this.ir;
      case Sn.SR: return this.state;
      case Sn.TX_FSR: return this.tornHigh('fsr', this.fsr());
      case Sn.TX_FSR + 1: return this.low('fsr', this.fsr());
      case Sn.RX_RSR: return this.tornHigh('rsr', this.rsr());
      case Sn.RX_RSR + 1: return this.low('rsr', this.rsr());
      case Sn.TX_RD: return this.txRd >> 8;
      case Sn.TX_RD + 1: return this.txRd & 255;
      case Sn.RX_WR: return this.rxWr >> 8;
      case Sn.RX_WR + 1: return this.rxWr & 255;
      default: return off < SOCKET_SPAN ? this.regs[off] : 0;
    }
  }

  write(off: number, v: number): void {
    const kind = off < SOCKET_SPAN ? SOCKET_ACCESS[off] : RESERVED;
    if (kind === W1C) {
      this.ir &= ~v;
      return this.chip.changed();
    }
    if (kind === RESERVED || kind === RO || this.pending) {
      const where = `socket ${this.n} 0x${hex(off)} = 0x${hex(v)}`;
      if (kind === RESERVED) return this.chip.anomalies.note('reservedRegisterWrite', where);
      if (kind === RO) return this.chip.anomalies.note('readOnlyWrite', where);
      if (off !== Sn.CR) this.chip.anomalies.note('writeWhileCommandPending', where);
    }
    if (off === Sn.CR) return this.command(v);
    this.regs[off] = v;
    this.stored(off);
  }

  // ---- Sn_CR handshake (§4.1): the command applies on the read that returns 0 -------------------

  private command(v: number): void {
    if (v === 0) return;
    if (this.pending) {
      this.chip.anomalies.note('commandOverrun', `socket ${this.n} command 0x${hex(v)} while 0x${hex(this.pending)} pending`);
      this.complete();
    }
    this.chip.counters.commands[this.n]++;
    this.pending = v;
    this.pendingReads = this.chip.commandReads();
    if (this.pendingReads === 0) this.complete();
  }

  private pollCommand(): number {
    if (!this.pending) return 0;
    if (this.pendingReads > 0) {
      this.pendingReads--;
      return this.pending;
    }
    this.complete();
    return 0;
  }

  private complete(): void {
    const cmd = this.pending;
    this.pending = 0;
    this.execute(cmd);
    this.chip.changed();
  }

  protected zeroPointers(): void {
    this.txRd = this.txAck = this.rxWr = this.rxRd = 0;
    put16(this.regs, Sn.TX_WR, 0);
    put16(this.regs, Sn.RX_RD, 0);
    this.shown.fsr = this.fsr();
    this.shown.rsr = 0;
  }

  protected takeTx(): { data: Uint8Array; end: number } {
    const end = this.txWr;
    const len = (end - this.txRd) & 0xffff;
    if (len > this.tx.size) {
      this.chip.anomalies.note('sendTooLong', `socket ${this.n} SEND of ${len} bytes from a ${this.tx.size}-byte buffer`);
    }
    const data = new Uint8Array(len);
    ringRead(this.chip.txMem, this.tx, this.txRd, data, 0, len);
    return { data, end };
  }

  protected rxAppend(src: Uint8Array, n = src.length): void {
    ringWrite(this.chip.rxMem, this.rx, this.rxWr, src, 0, n);
    this.rxWr = (this.rxWr + n) & 0xffff;
  }

  // ---- torn 16-bit reads (§4.5): old high byte with the new low byte, once per change --------------

  private tornHigh(key: 'fsr' | 'rsr', value: number): number {
    return (this.chip.faults.tornReads ? this.shown[key] : value) >> 8;
  }

  private low(key: 'fsr' | 'rsr', value: number): number {
    this.shown[key] = value;
    return value & 255;
  }

  // ---- interrupts ---------------------------------------------------------------------------------

  /** Sn_IR bits are only set where Sn_IMR allows (§3). */
  setIr(bits: number): void {
    this.ir |= bits & this.regs[Sn.IMR];
    this.chip.changed();
  }
}
