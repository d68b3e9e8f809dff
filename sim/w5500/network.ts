// The wire between the emulated chip and the host: route table (map mode), ARP decisions, the
// latency delay line, host TCP sockets and listening servers, and orphaned connections the chip
// has forgotten. In map mode no host socket ever reaches a non-loopback address.
import * as net from 'node:net';
import { BROADCAST_IP, ipFromString, ipToString } from './constants';
import type { Anomalies } from './faults';

export type NetworkOptions =
  | { mode: 'map'; routes?: RouteList; inboundPeerIp?: string }
  | { mode: 'real' };

/** `from` is 'a.b.c.d:port' or 'a.b.c.d:*'; `to` is '127.x.y.z:port', or '127.x.y.z' / '127.x.y.z:*' (same port). */
export interface RouteSpec {
  from: string;
  to: string;
  /** Only for this protocol (default both). */
  proto?: 'tcp' | 'udp';
  /** Datagrams from this route's host address reach the chip as broadcasts (so Sn_MR.BCASTB drops them). */
  broadcast?: boolean;
}
export type RouteList = RouteSpec[] | Record<string, string>;

interface Route { spec: RouteSpec; ip: number; port: number; hostIp: string; hostPort: number } // port -1: any / same

export interface Endpoint { ip: number; port: number }

/**
 * Sends RST and closes. Node 20 leaks the handle (EINVAL, never 'close') when resetAndDestroy()
 * follows end() before the shutdown completed; then our FIN is already out, so a plain close is it.
 */
export function resetSocket(sock: net.Socket): void {
  if (sock.writableEnded && !sock.writableFinished) sock.destroy();
  else sock.resetAndDestroy();
}

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Throws unless `host` is an IPv4 loopback address: map mode must never touch a real network. */
export function assertLoopback(host: string, what: string): void {
  if (!LOOPBACK.test(host)) {
    throw new Error(`W5500 emulator (map mode) refuses ${what} to ${host}: only 127.0.0.0/8 is allowed`);
  }
}

function parseEndpoint(s: string, what: string): { ip: string; port: number } {
  const m = /^([^:]+)(?::(\d+|\*))?$/.exec(s.trim());
  if (!m) throw new Error(`bad ${what} '${s}': expected ip:port or ip:*`);
  const port = m[2] === undefined || m[2] === '*' ? -1 : Number(m[2]);
  if (port > 0xffff) throw new Error(`bad ${what} '${s}': port out of range`);
  return { ip: m[1], port };
}

export class RouteTable {
  private routes: Route[] = [];

  constructor(list?: RouteList) {
    const specs = Array.isArray(list) ? list : Object.entries(list ?? {}).map(([from, to]) => ({ from, to }));
    for (const s of specs) this.add(s);
  }

  /** Adds a route; throws if its target is not loopback. */
  add(spec: RouteSpec): void {
    const from = parseEndpoint(spec.from, 'route source');
    const to = parseEndpoint(spec.to, 'route target');
    assertLoopback(to.ip, `a route (${spec.from})`);
    if (from.port < 0 && to.port >= 0 && spec.broadcast) throw new Error('a wildcard route cannot be a broadcast source');
    this.routes.push({ spec: { ...spec }, ip: ipFromString(from.ip), port: from.port, hostIp: to.ip, hostPort: to.port });
  }

  /** Removes the routes whose `from` is exactly this string; returns how many. */
  remove(from: string): number {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => r.spec.from !== from);
    return before - this.routes.length;
  }

  clear(): void { this.routes = []; }
  list(): RouteSpec[] { return this.routes.map((r) => ({ ...r.spec })); }

  /** Host address for a virtual destination: exact ip:port first, then ip:*. */
  lookup(proto: 'tcp' | 'udp', ip: number, port: number): { host: string; port: number } | null {
    let wild: Route | null = null;
    for (const r of this.routes) {
      if (r.ip !== ip || (r.spec.proto && r.spec.proto !== proto)) continue;
      if (r.port === port) return { host: r.hostIp, port: r.hostPort >= 0 ? r.hostPort : port };
      if (r.port < 0 && !wild) wild = r;
    }
    return wild ? { host: wild.hostIp, port: wild.hostPort >= 0 ? wild.hostPort : port } : null;
  }

  /** True if some route names this IP (the host answers ARP). */
  knowsIp(ip: number): boolean { return this.routes.some((r) => r.ip === ip); }

  /** Virtual source for a packet from host:port (a non-broadcast route names it), and whether it is a broadcast. */
  reverse(proto: 'tcp' | 'udp', host: string, port: number): { source: Endpoint | null; broadcast: boolean } {
    let source: Endpoint | null = null;
    let broadcast = false;
    for (const r of this.routes) {
      if (r.hostIp !== host || (r.spec.proto && r.spec.proto !== proto)) continue;
      if (r.hostPort >= 0 && r.hostPort !== port) continue;
      if (r.spec.broadcast) broadcast = true;
      if (!source && r.ip !== BROADCAST_IP) source = { ip: r.ip, port: r.port >= 0 ? r.port : port };
    }
    return { source, broadcast };
  }
}

/** What ARP needs to know about the chip and the world. */
export interface WireContext {
  latencyMs(): number;
  linkUp(): boolean;
  hostDown(ip: number): boolean;
  sipr(): number;
  subr(): number;
  gar(): number;
  anomalies: Anomalies;
}

/** Keeps packets in order while adding latency. */
export class DelayLine {
  private queue: { due: number; fn: () => void }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly latencyMs: () => number) {}

  run(fn: () => void): void {
    const latency = this.latencyMs();
    if (latency <= 0 && this.queue.length === 0) return fn();
    const last = this.queue.length ? this.queue[this.queue.length - 1].due : 0;
    this.queue.push({ due: Math.max(Date.now() + latency, last), fn });
    if (!this.timer) this.arm();
  }

  clear(): void {
    this.queue = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = Date.now();
      while (this.queue.length && this.queue[0].due <= now) this.queue.shift()!.fn();
      if (this.queue.length) this.arm();
    }, Math.max(0, this.queue[0].due - Date.now()));
  }
}

export type TcpOpen = net.Socket | 'refused' | 'silent';
export type UdpTarget = { host: string; port: number } | 'unreachable' | 'silent';

export class Network {
  readonly mode: 'map' | 'real';
  readonly routes: RouteTable;
  readonly delay: DelayLine;
  readonly inboundPeerIp: number;
  private servers = new Map<number, { server: net.Server; hostPort: number }>();
  private orphans = new Set<net.Socket>();
  /** Closers of UDP host sockets the chip closed while their last datagrams were still going out. */
  readonly lingering = new Set<() => void>();

  constructor(opts: NetworkOptions, private readonly ctx: WireContext,
    private readonly accept: (port: number, sock: net.Socket) => boolean) {
    this.mode = opts.mode;
    this.delay = new DelayLine(ctx.latencyMs);
    this.routes = new RouteTable(opts.mode === 'map' ? opts.routes : undefined);
    this.inboundPeerIp = ipFromString(opts.mode === 'map' ? opts.inboundPeerIp ?? '192.0.2.100' : '0.0.0.0');
  }

  /**
   * One ARP attempt for a unicast destination: off-subnet destinations go through GAR (a zero GAR
   * fails); in map mode an on-subnet host exists if a route names it, and a gateway always exists.
   */
  arp(ip: number): boolean {
    if (!this.ctx.linkUp()) return false;
    const onSubnet = ((ip ^ this.ctx.sipr()) & this.ctx.subr()) === 0;
    const next = onSubnet ? ip : this.ctx.gar();
    if (next === 0 || this.ctx.hostDown(next)) return false;
    return this.mode === 'real' || !onSubnet || this.routes.knowsIp(ip);
  }

  /** Opens a host TCP connection for a virtual destination the chip has already resolved. */
  connectTcp(ip: number, port: number, localPort: number): TcpOpen {
    let host: string;
    let hostPort = port;
    const opts: net.NetConnectOpts = { host: '', port: 0, allowHalfOpen: true, noDelay: true };
    if (this.mode === 'map') {
      const t = this.routes.lookup('tcp', ip, port);
      // A host that answers ARP but has nothing on the port replies RST; an unknown one never answers.
      if (!t) return this.routes.knowsIp(ip) ? 'refused' : 'silent';
      assertLoopback(t.host, 'a TCP connection');
      host = t.host;
      hostPort = t.port;
    } else {
      host = ipToString(ip);
      if (localPort > 0) opts.localPort = localPort;
    }
    return net.connect({ ...opts, host, port: hostPort });
  }

  /** Where a datagram for a virtual destination goes on the host. */
  udpTarget(ip: number, port: number): UdpTarget {
    if (this.mode === 'real') return { host: ipToString(ip), port };
    const t = this.routes.lookup('udp', ip, port);
    if (t) {
      assertLoopback(t.host, 'a UDP datagram');
      return t;
    }
    return ip !== BROADCAST_IP && this.routes.knowsIp(ip) ? 'unreachable' : 'silent';
  }

  /** Starts (once per port) the host server behind chip sockets in LISTEN on `port`. */
  listen(port: number): void {
    if (this.servers.has(port)) return;
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => {
      if (!this.accept(port, sock)) resetSocket(sock); // nobody listening: the chip answers RST
    });
    const entry = { server, hostPort: 0 };
    this.servers.set(port, entry);
    server.on('error', (e) => this.ctx.anomalies.note('hostSocketError', `listen on ${port}: ${e.message}`));
    server.listen({ host: this.mode === 'map' ? '127.0.0.1' : '0.0.0.0', port: this.mode === 'map' ? 0 : port }, () => {
      entry.hostPort = (server.address() as net.AddressInfo).port;
    });
  }

  /** Host port of the listening server for virtual `port`, 0 until it is listening. */
  listenPort(port: number): number { return this.servers.get(port)?.hostPort ?? 0; }

  /**
   * The chip forgot this connection without telling the peer. Later segments from the peer get
   * RST if they can reach the chip (link up, host up), else vanish.
   */
  orphan(sock: net.Socket, peerIp: number, blackholed: boolean): void {
    if (sock.destroyed) return;
    sock.removeAllListeners('data').removeAllListeners('end').removeAllListeners('connect');
    sock.removeAllListeners('error').removeAllListeners('finish').removeAllListeners('close');
    this.orphans.add(sock);
    const poke = () => {
      if (!blackholed && this.ctx.linkUp() && !this.ctx.hostDown(peerIp)) resetSocket(sock);
    };
    sock.on('data', poke).on('end', poke).on('error', () => sock.destroy());
    sock.on('close', () => this.orphans.delete(sock));
    sock.resume();
  }

  /** Drops every host socket and server. */
  async close(): Promise<void> {
    this.delay.clear();
    for (const finish of [...this.lingering]) finish();
    for (const s of this.orphans) s.destroy();
    this.orphans.clear();
    const closing = [...this.servers.values()].map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve())));
    this.servers.clear();
    await Promise.all(closing);
  }
}

/**
 * A socket's ARP state (§9): ARP runs only when the destination changed or MR.FARP is set; it
 * tries RCR+1 times, RTR apart, so failure comes after ARPTO.
 */
export class Arp {
  private resolved = -1;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly network: Network, private readonly regs: { rtr: number; rcr: number; forced: boolean }) {}

  get busy(): boolean { return this.timer !== null; }

  resolve(ip: number, ok: () => void, fail: () => void): void {
    const usable = ip !== 0 && ip !== BROADCAST_IP;
    if (usable && ip === this.resolved && !this.regs.forced) return ok();
    this.cancel();
    this.resolved = -1;
    let tries = 0;
    const attempt = (): void => {
      this.timer = null;
      if (usable && this.network.arp(ip)) {
        this.resolved = ip;
        ok();
      } else if (tries++ > this.regs.rcr) fail();
      else this.timer = setTimeout(attempt, this.regs.rtr / 10);
    };
    attempt();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  forget(): void {
    this.cancel();
    this.resolved = -1;
  }
}
