// Common register block (BSB 0, §2): stored bytes with their access rules, MR software reset,
// write-1-to-clear IR, derived SIR, and the PHY (PHYCFGR: OPMD/OPMDC latched by a reset pulse,
// live link/speed/duplex bits).
import {
  COMMON_ACCESS, COMMON_RESET, COMMON_SPAN, Common, MR_RST, PHY_ALL_AUTONEG, PHY_CONFIG_MASK, PHY_OPMD,
  PHY_POWER_DOWN, PHY_RST, RESERVED, RO, W1C,
} from './constants';
import type { Anomalies } from './faults';

export interface CommonHooks {
  softwareReset(): void;
  sir(): number;
  phyChanged(): void;
}

/** Link partner abilities for autonegotiation (OPMDC 111 or the PMODE pins). */
export type Partner = '100FD' | '100HD' | '10FD' | '10HD';

export class CommonRegs {
  readonly bytes = new Uint8Array(COMMON_SPAN);
  private phyMode: number;
  private phyHeld = false; // PHYCFGR.RST written 0 and not yet 1
  private phyWakeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly hooks: CommonHooks,
    private readonly anomalies: Anomalies,
    private readonly pmode: number,
    private readonly partner: Partner,
    private readonly phyResetLinkMs: number,
  ) {
    this.phyMode = pmode;
    this.reset();
  }

  /** Register reset (MR.RST, RSTn): PHYCFGR.RST reads 1 again, so a held PHY runs; it keeps its latched mode. */
  reset(): void {
    this.bytes.set(COMMON_RESET);
    this.phyHeld = false;
  }

  /** RSTn also resets the PHY, which then takes its mode from the PMODE pins again. */
  hardwarePhyReset(): void {
    this.phyMode = this.pmode;
    this.phyHeld = false;
    this.cancelWake();
  }

  dispose(): void { this.cancelWake(); }

  read(off: number): number {
    if (off >= COMMON_SPAN) return 0;
    switch (off) {
      case Common.SIR: return this.hooks.sir();
      case Common.PHYCFGR: return (this.bytes[off] & PHY_CONFIG_MASK) | this.phyStatus();
      default: return this.bytes[off];
    }
  }

  write(off: number, v: number): void {
    const kind = off < COMMON_SPAN ? COMMON_ACCESS[off] : RESERVED;
    if (kind === RESERVED) return this.anomalies.note('reservedRegisterWrite', `common 0x${hex(off)} = 0x${hex(v)}`);
    if (kind === RO) return this.anomalies.note('readOnlyWrite', `common 0x${hex(off)} = 0x${hex(v)}`);
    if (kind === W1C) {
      this.bytes[off] &= ~v;
      return;
    }
    if (off === Common.MR) {
      // RST completes at once, so the next frame already reads MR = 0 (§9).
      if (v & MR_RST) return this.hooks.softwareReset();
      this.bytes[off] = v;
      return;
    }
    if (off === Common.PHYCFGR) return this.writePhy(v);
    this.bytes[off] = v;
  }

  get mr(): number { return this.bytes[Common.MR]; }
  get rtr(): number { return this.u16(Common.RTR); }
  get rcr(): number { return this.bytes[Common.RCR]; }
  get sipr(): number { return this.u32(Common.SIPR); }
  get subr(): number { return this.u32(Common.SUBR); }
  get gar(): number { return this.u32(Common.GAR); }
  get ir(): number { return this.bytes[Common.IR]; }
  get imr(): number { return this.bytes[Common.IMR]; }
  get simr(): number { return this.bytes[Common.SIMR]; }
  shar(): Uint8Array { return this.bytes.subarray(Common.SHAR, Common.SHAR + 6); }

  raiseIr(bits: number): void { this.bytes[Common.IR] |= bits; }

  /** ICMP port unreachable from ip:port (IR.UNREACH with UIPR/UPORTR). */
  unreachable(ip: number, port: number): void {
    const b = this.bytes;
    b[Common.UIPR] = ip >>> 24; b[Common.UIPR + 1] = (ip >>> 16) & 255;
    b[Common.UIPR + 2] = (ip >>> 8) & 255; b[Common.UIPR + 3] = ip & 255;
    b[Common.UPORTR] = port >> 8; b[Common.UPORTR + 1] = port & 255;
  }

  /** Link as the PHY sees it, before the cable (fault) is considered. */
  phyUp(): boolean {
    return !this.phyHeld && this.phyWakeTimer === null && this.phyMode !== PHY_POWER_DOWN;
  }

  /** Set by the chip: the cable state from the fault injector. */
  cableUp = true;

  private phyStatus(): number {
    if (!(this.cableUp && this.phyUp())) return 0;
    const m = this.phyMode;
    // OPMDC 000..011 force speed/duplex; 100 is 100BT half duplex with autoneg; 101 (unused) and
    // 111 negotiate the best mode both ends support.
    let spd: number, dpx: number;
    if (m <= 3) { spd = m >> 1; dpx = m & 1; }
    else if (m === 4) { spd = 1; dpx = 0; }
    else { spd = this.partner.startsWith('100') ? 1 : 0; dpx = this.partner.endsWith('FD') ? 1 : 0; }
    return (dpx << 2) | (spd << 1) | 1;
  }

  private writePhy(v: number): void {
    const b = this.bytes;
    b[Common.PHYCFGR] = v & PHY_CONFIG_MASK;
    if ((v & PHY_RST) === 0) {
      // Any write with RST = 0 resets the PHY; the mode is latched from OPMD/OPMDC (or the pins).
      this.phyMode = v & PHY_OPMD ? (v >> 3) & 7 : this.pmode;
      if (this.phyMode === 5) this.phyMode = PHY_ALL_AUTONEG;
      this.phyHeld = true;
      this.cancelWake();
    } else if (this.phyHeld) {
      this.phyHeld = false;
      if (this.phyResetLinkMs > 0) {
        this.phyWakeTimer = setTimeout(() => {
          this.phyWakeTimer = null;
          this.hooks.phyChanged();
        }, this.phyResetLinkMs);
      }
    }
    this.hooks.phyChanged();
  }

  private cancelWake(): void {
    if (this.phyWakeTimer) clearTimeout(this.phyWakeTimer);
    this.phyWakeTimer = null;
  }

  private u16(off: number): number { return (this.bytes[off] << 8) | this.bytes[off + 1]; }
  private u32(off: number): number {
    const b = this.bytes;
    return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
  }
}

export const hex = (v: number): string => v.toString(16).padStart(2, '0');
