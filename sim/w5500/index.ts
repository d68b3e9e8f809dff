// Register-level emulator of the WIZnet W5500, built from ../shared/w5500-reference.md (§8 is the
// checklist, §9 wins where it differs). It is an SPI slave (sim/spi.ts): a board or the bridge
// clocks frames through it; sockets carry real TCP/UDP on the host, through a loopback route table
// by default ('map' mode) or as they are ('real' mode, for a network namespace made by a test).
import type * as net from 'node:net';
import type { SpiDevice } from '../spi';
import { CommonRegs, type Partner } from './common';
import { IR_CONFLICT, MEMORY_SIZE, SOCKETS, Sn, Status, blockKind, ipFromString } from './constants';
import { Anomalies, Counters, Faults, prng } from './faults';
import { type Bus, SpiFrontEnd } from './frame';
import { layout, layoutProblem, ringRead, ringWrite } from './memory';
import { Network, type NetworkOptions, type RouteTable, resetSocket } from './network';
import { Socket } from './socket';

export type { NetworkOptions, RouteList, RouteSpec } from './network';
export type { Partner } from './common';
export { Anomalies, Counters, Faults } from './faults';
export * as W5500Regs from './constants';

export interface W5500Options {
  /** Default { mode: 'map', routes: {} }: every virtual destination without a route is an absent host. */
  network?: NetworkOptions;
  /** Reads of Sn_CR that still return the command before it applies (default 1). */
  commandReads?: number;
  /** PMODE pins, the PHY mode when PHYCFGR.OPMD = 0 (default 0b111: all capable, autoneg). */
  pmode?: number;
  /** What the link partner negotiates (default '100FD'). */
  partner?: Partner;
  /** After a PHY reset pulse, LNK stays 0 this long (default 0: up at once). */
  phyResetLinkMs?: number;
  /** Sn_KPALVTR unit (default 5000 ms; tests shorten it). */
  keepAliveUnitMs?: number;
  /** What CLOSE does to an open connection's peer: 'rst' (default) or 'nothing' (peer left half-open). */
  closeSends?: 'rst' | 'nothing';
  /** Seed for random TX pointers and miswired garbage. */
  seed?: number;
  /** Anomalies are also written here, one line each. */
  log?: (line: string) => void;
}

/** A snapshot of one socket, for tests and debugging. */
export interface SocketView {
  state: number; ir: number; txRd: number; txWr: number; txAck: number; rxRd: number; rxWr: number;
  rsr: number; fsr: number; tx: { base: number; size: number }; rx: { base: number; size: number };
}

export class W5500 implements SpiDevice {
  readonly faults: Faults;
  readonly counters = new Counters();
  readonly anomalies: Anomalies;
  readonly routes: RouteTable;
  private readonly common: CommonRegs;
  private readonly sockets: Socket[] = [];
  private readonly txMem = new Uint8Array(MEMORY_SIZE);
  private readonly rxMem = new Uint8Array(MEMORY_SIZE);
  private readonly front: SpiFrontEnd;
  private readonly network: Network;
  private readonly random: () => number;
  private readonly commandReadsOpt: number;
  private intListeners: ((level: 0 | 1) => void)[] = [];
  private macrawListeners: ((frame: Uint8Array) => void)[] = [];
  private level: 0 | 1 = 1;
  private wasUp = true;
  private closed = false;
  private heldAccepts: { port: number; sock: net.Socket }[] = [];

  constructor(opts: W5500Options = {}) {
    this.anomalies = new Anomalies(opts.log);
    this.random = prng(opts.seed ?? 0x5500);
    this.commandReadsOpt = Math.max(0, opts.commandReads ?? 1);
    this.faults = new Faults({
      linkChanged: () => { this.common.cableUp = !this.faults.state.linkDown; this.checkLink(); },
      blackhole: (n) => this.sockets[n].blackhole(),
      peerReset: (n) => this.sockets[n].injectPeerReset(),
      peerFin: (n) => this.sockets[n].injectPeerFin(),
      hostChanged: () => this.wireChanged(),
      ipConflict: () => { this.common.raiseIr(IR_CONFLICT); this.changed(); },
    });
    this.common = new CommonRegs({
      softwareReset: () => this.registerReset(),
      sir: () => this.sir(),
      phyChanged: () => this.checkLink(),
    }, this.anomalies, opts.pmode ?? 7, opts.partner ?? '100FD', opts.phyResetLinkMs ?? 0);
    this.network = new Network(opts.network ?? { mode: 'map' }, {
      latencyMs: () => this.faults.state.latencyMs,
      linkUp: () => this.linkUp(),
      hostDown: (ip) => this.hostDown(ip),
      sipr: () => this.common.sipr,
      subr: () => this.common.subr,
      gar: () => this.common.gar,
      anomalies: this.anomalies,
    }, (port, sock) => this.accept(port, sock));
    this.routes = this.network.routes;
    const chip = {
      txMem: this.txMem, rxMem: this.rxMem, common: this.common, faults: this.faults.state,
      anomalies: this.anomalies, counters: this.counters, network: this.network,
      keepAliveUnitMs: opts.keepAliveUnitMs ?? 5000, closeSends: opts.closeSends ?? 'rst',
      commandReads: () => (this.faults.state.commandReads >= 0 ? this.faults.state.commandReads : this.commandReadsOpt),
      random16: () => (this.random() * 0x10000) | 0,
      changed: () => this.changed(),
      relayout: () => this.relayout(),
      layoutProblem: () => this.layoutProblem(),
      linkUp: () => this.linkUp(),
      hostDown: (ip: number) => this.hostDown(ip),
      macrawSent: (frame: Uint8Array) => { for (const fn of this.macrawListeners) fn(frame); },
    };
    for (let n = 0; n < SOCKETS; n++) this.sockets.push(new Socket(n, chip));
    this.relayout();
    const bus: Bus = { read: (b, a, o, at, l) => this.busRead(b, a, o, at, l), write: (b, a, s, at, l) => this.busWrite(b, a, s, at, l) };
    this.front = new SpiFrontEnd(bus, this.counters, this.faults.state, this.anomalies, this.random);
  }

  // ---- SPI slave ----------------------------------------------------------------------------------

  select(): void { this.front.select(); }
  deselect(): void { this.front.deselect(); }
  exchange(mosi: Uint8Array): Uint8Array {
    if (this.closed) return new Uint8Array(mosi.length).fill(0xff);
    const miso = this.front.exchange(mosi);
    this.changed();
    return miso;
  }

  /** One whole frame: CS low, the bytes, CS high. */
  transfer(frame: Uint8Array): Uint8Array {
    if (this.closed) return new Uint8Array(frame.length).fill(0xff);
    this.front.select();
    const miso = this.front.exchange(frame);
    this.front.deselect();
    this.changed();
    return miso;
  }

  /** RSTn pulse: every register to its reset value, every connection forgotten, the PHY re-reads PMODE. */
  hardwareReset(): void {
    this.front.abort();
    this.registerReset();
    this.common.hardwarePhyReset();
    this.checkLink();
  }

  /** INTn, active low: 0 while (IR & IMR) or (SIR & SIMR) is non-zero. */
  get intLevel(): 0 | 1 { return this.level; }
  onInt(fn: (level: 0 | 1) => void): void { this.intListeners.push(fn); }

  // ---- host-side helpers for tests ----------------------------------------------------------------

  /**
   * Host port behind virtual `port`: the listening server of a TCP LISTEN socket, or the bound
   * host socket of a UDP socket with that Sn_PORT. Waits until it exists (rejects after timeoutMs).
   */
  hostPort(proto: 'tcp' | 'udp', port: number, timeoutMs = 2000): Promise<number> {
    const find = (): number => {
      if (proto === 'tcp') return this.network.listenPort(port);
      const s = this.sockets.find((k) => k.state === Status.UDP && k.port === port && k.udp && k.udp.hostPort > 0);
      return s?.udp?.hostPort ?? 0;
    };
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const poll = (): void => {
        const p = find();
        if (p > 0) resolve(p);
        else if (Date.now() > deadline) reject(new Error(`no host ${proto} port for virtual port ${port} within ${timeoutMs} ms`));
        else setTimeout(poll, 5);
      };
      poll();
    });
  }

  /** A datagram from the virtual network to every UDP socket on `port` (as if it arrived on the wire). */
  injectUdp(d: { port: number; srcIp: string; srcPort: number; payload: Uint8Array; broadcast?: boolean }): void {
    if (!this.linkUp()) return;
    for (const s of this.sockets) {
      if (s.state === Status.UDP && s.port === d.port) s.deliver(ipFromString(d.srcIp), d.srcPort, d.payload, !!d.broadcast);
    }
  }

  /** An Ethernet frame (no FCS) for socket 0 in MACRAW; false if filtered, dropped or not open. */
  injectFrame(frame: Uint8Array): boolean { return this.linkUp() && this.sockets[0].deliverFrame(frame); }
  /** Frames socket 0 sends in MACRAW. */
  onFrame(fn: (frame: Uint8Array) => void): void { this.macrawListeners.push(fn); }

  inspect(n: number): SocketView {
    const s = this.sockets[n];
    return { state: s.state, ir: s.ir, txRd: s.txRd, txWr: s.txWr, txAck: s.txAck, rxRd: s.rxRd, rxWr: s.rxWr,
      rsr: s.rsr(), fsr: s.fsr(), tx: { ...s.tx }, rx: { ...s.rx } };
  }

  /** Closes every host socket, server and timer. Afterwards the chip is gone from the bus (MISO 0xFF). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.reset();
    for (const h of this.heldAccepts) h.sock.destroy();
    this.heldAccepts = [];
    this.common.dispose();
    await this.network.close();
  }

  // ---- internals ----------------------------------------------------------------------------------

  private busRead(bsb: number, addr: number, out: Uint8Array, at: number, length: number): void {
    const kind = blockKind(bsb);
    const n = bsb >> 2;
    if (kind === 'tx' || kind === 'rx') {
      const s = this.sockets[n];
      return ringRead(kind === 'tx' ? this.txMem : this.rxMem, kind === 'tx' ? s.tx : s.rx, addr, out, at, length);
    }
    if (kind === 'reserved') return this.anomalies.note('reservedBlockRead', `BSB ${bsb} offset 0x${addr.toString(16)}`);
    for (let i = 0; i < length; i++) {
      const a = (addr + i) & 0xffff;
      out[at + i] = kind === 'common' ? this.common.read(a) : this.sockets[n].read(a);
    }
  }

  private busWrite(bsb: number, addr: number, src: Uint8Array, at: number, length: number): void {
    const kind = blockKind(bsb);
    const n = bsb >> 2;
    if (kind === 'tx' || kind === 'rx') {
      const s = this.sockets[n];
      return ringWrite(kind === 'tx' ? this.txMem : this.rxMem, kind === 'tx' ? s.tx : s.rx, addr, src, at, length);
    }
    if (kind === 'reserved') return this.anomalies.note('reservedBlockWrite', `BSB ${bsb} offset 0x${addr.toString(16)}`);
    for (let i = 0; i < length; i++) {
      const a = (addr + i) & 0xffff;
      if (kind === 'common') this.common.write(a, src[at + i]);
      else this.sockets[n].write(a, src[at + i]);
    }
  }

  private registerReset(): void {
    this.common.reset();
    for (const s of this.sockets) s.reset();
    this.relayout();
    this.checkLink();
    this.changed();
  }

  private relayout(): void {
    const tx = layout(this.sockets.map((s) => s.regs[Sn.TXBUF_SIZE]));
    const rx = layout(this.sockets.map((s) => s.regs[Sn.RXBUF_SIZE]));
    this.sockets.forEach((s, n) => { s.tx = tx[n]; s.rx = rx[n]; });
  }

  /** Checked at OPEN: drivers write the sizes one by one, so a total over 16 KB on the way is fine. */
  private layoutProblem(): string {
    return layoutProblem(this.sockets.map((s) => s.regs[Sn.TXBUF_SIZE])) ||
      layoutProblem(this.sockets.map((s) => s.regs[Sn.RXBUF_SIZE]));
  }

  private sir(): number {
    let sir = 0;
    for (let n = 0; n < SOCKETS; n++) if (this.sockets[n].ir !== 0) sir |= 1 << n;
    return sir;
  }

  private changed(): void {
    const c = this.common;
    const level = (c.ir & c.imr) !== 0 || (this.sir() & c.simr) !== 0 ? 0 : 1;
    if (level === this.level) return;
    this.level = level;
    for (const fn of this.intListeners) fn(level);
  }

  private linkUp(): boolean { return this.common.cableUp && this.common.phyUp(); }

  private hostDown(ip: number): boolean {
    const down = this.faults.state.hostsDown;
    return down.length > 0 && down.some((h) => ipFromString(h) === ip);
  }

  private checkLink(): void {
    const up = this.linkUp();
    if (up === this.wasUp) return;
    this.wasUp = up;
    this.wireChanged();
  }

  private wireChanged(): void {
    for (const s of this.sockets) s.tcp?.wireChanged();
    if (this.linkUp()) {
      const held = this.heldAccepts;
      this.heldAccepts = [];
      for (const h of held) if (!h.sock.destroyed && !this.accept(h.port, h.sock)) resetSocket(h.sock);
    }
    this.changed();
  }

  /** A host connection reached the server for virtual `port`: the lowest LISTEN socket on it becomes it. */
  private accept(port: number, sock: net.Socket): boolean {
    if (!this.linkUp()) {
      // The SYN is lost; the peer retries, so the connection waits for the link.
      this.heldAccepts.push({ port, sock });
      return true;
    }
    const s = this.sockets.find((k) => k.state === Status.LISTEN && k.port === port);
    if (!s) return false;
    const peer = this.network.mode === 'map' ? this.network.inboundPeerIp : ipFromString(sock.remoteAddress ?? '0.0.0.0');
    s.accept(sock, peer);
    return true;
  }
}
