// One TCP connection of a chip socket, carried by a host `net.Socket`. Models what the wire does to
// it: latency, link down (segments wait, as the peer's retransmissions would), blackhole or host
// down (segments vanish), ACKs (a write has drained to the kernel), the retransmission timeout
// (TCPTO from RTR/RCR while anything is unacknowledged) and keep-alive probes.
import type * as net from 'node:net';
import { type Network, resetSocket } from './network';

export interface TcpOwner {
  connected(conn: TcpConn): void;
  data(conn: TcpConn, bytes: Uint8Array): void;
  peerFin(conn: TcpConn): void;
  rstReceived(conn: TcpConn): void;
  timeout(conn: TcpConn): void;
  acked(conn: TcpConn, ptr: number): void;
  finAcked(conn: TcpConn): void;
  /** TCPTO in ms from the current RTR/RCR. */
  tcpTimeoutMs(): number;
  /** True while the peer's host is down (its packets vanish). */
  hostDown(ip: number): boolean;
  linkUp(): boolean;
}

type Out = { data: Uint8Array; end: number } | 'fin';

export class TcpConn {
  blackholed = false;
  private sock: net.Socket | null = null;
  private synPending = false;
  private done = false;
  private out: Out[] = []; // waiting for the wire
  private unacked = 0; // on the wire (or lost) and not yet acknowledged
  private retxTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private held: (() => void)[] = []; // inbound segments that arrived while the link was down
  private rxBlocked = false;

  private constructor(private readonly owner: TcpOwner, private readonly network: Network, readonly peerIp: number) {}

  /** CONNECT after ARP: the SYN goes out on start(), or when the wire comes back; TCPTO bounds the wait. */
  static connect(owner: TcpOwner, network: Network, ip: number, port: number, localPort: number): TcpConn {
    const c = new TcpConn(owner, network, ip);
    c.synPending = true;
    c.sendSyn = () => {
      c.synPending = false;
      network.delay.run(() => {
        if (c.done) return;
        const r = network.connectTcp(ip, port, localPort);
        if (r === 'refused') c.inbound(() => owner.rstReceived(c));
        else if (r !== 'silent') c.attach(r);
      });
    };
    c.begin = () => {
      c.startRetx();
      c.pump();
    };
    return c;
  }

  /** A host connection accepted by a listening server; its SYN reaches the chip on start(). */
  static accepted(owner: TcpOwner, network: Network, peerIp: number, sock: net.Socket): TcpConn {
    const c = new TcpConn(owner, network, peerIp);
    c.begin = () => {
      c.attach(sock);
      c.inbound(() => owner.connected(c));
    };
    return c;
  }

  /** Starts the handshake; separate from construction so the owner holds the connection first. */
  start(): void { this.begin(); }

  send(data: Uint8Array, end: number): void {
    this.out.push({ data, end });
    this.queued();
  }

  fin(): void {
    this.out.push('fin');
    this.queued();
  }

  /** One keep-alive probe: answered at once on a live path, else TIMEOUT after TCPTO. */
  probe(): void {
    if (this.wire() === 'up' || this.probeTimer) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (!this.done) this.owner.timeout(this);
    }, this.owner.tcpTimeoutMs());
  }

  setRxBlocked(blocked: boolean): void {
    this.rxBlocked = blocked;
    this.flow();
  }

  /** Link or host state changed: held segments move, waiting ones go out, probes get answered. */
  wireChanged(): void {
    if (this.done) return;
    const w = this.wire();
    if (w === 'up') {
      if (this.probeTimer) clearTimeout(this.probeTimer);
      this.probeTimer = null;
      const held = this.held;
      this.held = [];
      for (const fn of held) this.network.delay.run(() => this.done || fn());
    } else if (w === 'dead') {
      this.held = [];
    }
    this.flow();
    this.pump();
  }

  /**
   * The chip is done with this connection. 'rst' sends RST if it can reach the peer; 'silent'
   * leaves the peer half-open; 'destroy' closes a connection the peer already tore down; 'abort'
   * resets the host socket whatever the wire (the peer reset it).
   */
  release(how: 'rst' | 'silent' | 'destroy' | 'abort'): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    this.out = [];
    this.held = [];
    const s = this.sock;
    this.sock = null;
    if (!s) return;
    if (how === 'destroy') s.destroy();
    else if (how === 'abort' || (how === 'rst' && this.wire() === 'up')) resetSocket(s);
    else this.network.orphan(s, this.peerIp, this.blackholed);
  }

  private sendSyn: () => void = () => undefined;
  private begin: () => void = () => undefined;

  private wire(): 'up' | 'held' | 'dead' {
    if (this.blackholed || this.owner.hostDown(this.peerIp)) return 'dead';
    return this.owner.linkUp() ? 'up' : 'held';
  }

  private attach(sock: net.Socket): void {
    this.sock = sock;
    sock.on('data', (chunk: Buffer) => this.inbound(() => this.owner.data(this, chunk)));
    sock.on('end', () => this.inbound(() => this.owner.peerFin(this)));
    sock.on('finish', () => this.inbound(() => this.ack()));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const timeout = e.code === 'ETIMEDOUT' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH';
      this.inbound(() => (timeout ? this.owner.timeout(this) : this.owner.rstReceived(this)));
    });
    sock.on('connect', () => this.inbound(() => {
      this.clearRetx();
      this.owner.connected(this);
    }));
    this.flow();
  }

  /** A segment from the peer: vanishes on a dead path, waits while the link is down, else arrives after the latency. */
  private inbound(fn: () => void): void {
    const deliver = () => {
      if (this.done) return;
      const w = this.wire();
      if (w === 'held') {
        this.held.push(fn);
        this.flow();
      } else if (w === 'up') fn();
    };
    if (this.wire() === 'dead') return;
    this.network.delay.run(deliver);
  }

  private queued(): void {
    if (this.unacked++ === 0) this.startRetx();
    this.pump();
  }

  private pump(): void {
    const w = this.wire();
    if (w === 'held' || this.done) return;
    if (w === 'dead') {
      this.out = []; // lost: never acknowledged, so TCPTO ends the connection
      return;
    }
    if (this.synPending) this.sendSyn();
    if (!this.sock) return;
    const sock = this.sock;
    for (const op of this.out) {
      this.network.delay.run(() => {
        if (this.done || sock.destroyed) return;
        if (op === 'fin') sock.end();
        else sock.write(op.data, () => this.inbound(() => this.ack(op.end)));
      });
    }
    this.out = [];
  }

  private ack(end?: number): void {
    if (this.unacked > 0) this.unacked--;
    this.clearRetx();
    if (this.unacked > 0) this.startRetx();
    if (end === undefined) this.owner.finAcked(this);
    else this.owner.acked(this, end);
  }

  /** Reading pauses while the chip's RX buffer is full or the link is down (the peer's window closes). */
  private flow(): void {
    const s = this.sock;
    if (!s || this.done) return;
    if (this.rxBlocked || this.held.length > 0 || this.wire() === 'held') s.pause();
    else s.resume();
  }

  private startRetx(): void {
    if (this.retxTimer) return;
    this.retxTimer = setTimeout(() => {
      this.retxTimer = null;
      if (!this.done) this.owner.timeout(this);
    }, this.owner.tcpTimeoutMs());
  }

  private clearRetx(): void {
    if (this.retxTimer) clearTimeout(this.retxTimer);
    this.retxTimer = null;
  }

  private clearTimers(): void {
    this.clearRetx();
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
  }
}

/**
 * Automatic keep-alive (§4.9): once ESTABLISHED and data has moved, a probe every KPALVTR units of
 * idle time; an unanswered probe ends in TIMEOUT (TcpConn.probe).
 */
export class KeepAlive {
  private timer: NodeJS.Timeout | null = null;
  private last = 0;
  private seen = false;

  constructor(private readonly periodMs: () => number, private readonly probe: () => boolean) {}

  /** Data moved either way. */
  touch(): void {
    this.seen = true;
    this.last = Date.now();
    if (!this.timer) this.arm();
  }

  /** (Re)starts the timer from the current period; `probe` returns false once the socket is done. */
  arm(): void {
    this.stop();
    const period = this.periodMs();
    if (!this.seen || period <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (Date.now() - this.last >= period) {
        this.last = Date.now();
        if (!this.probe()) return;
      }
      this.arm();
    }, Math.max(1, this.last + period - Date.now()));
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** New connection: nothing has moved yet. */
  restart(): void {
    this.stop();
    this.seen = false;
  }
}
