// DHCP client, RFC 2131, with a static fallback. Never blocks: one protocol timer (retransmission,
// lease edges, the probe and the wait after DECLINE) and one fallback timer; every protocol duration
// is multiplied by `timeScale` so tests run in seconds.
import { Emitter } from '../events';
import { ANY, BROADCAST, ipBytes, ipString } from './ip';
import type { IpConfig, UdpSocket, W5500 } from './w5500';

export interface Lease extends IpConfig {
  subnet: string;
  gateway: string;
  dns: string[];
  domain?: string;
  /** Server identifier (option 54): where renewals and RELEASE go (servers must send it). */
  server?: string;
  /** Lease time, T1 and T2 in seconds (options 51, 58, 59). */
  lease: number;
  t1: number;
  t2: number;
  /** Message type (option 53). */
  type: number;
}

export interface DhcpOptions {
  /** 'dhcp' (default): DHCP, and `fallback` if no lease within `timeoutMs` (default 10 s);
   *  'dhcp-only': no fallback; 'static': `fallback` only. */
  mode?: 'dhcp' | 'static' | 'dhcp-only';
  /** Option 12. */
  hostname?: string;
  fallback?: IpConfig;
  timeoutMs?: number;
  /** Multiplies retransmission delays, T1, T2, the lease and the wait after DECLINE. For tests. */
  timeScale?: number;
}

// Message types (option 53).
const enum M { DISCOVER = 1, OFFER = 2, REQUEST = 3, DECLINE = 4, ACK = 5, NAK = 6, RELEASE = 7 }
// States (RFC 2131 figure 5), ordered: above SELECTING a lease is held, and RENEWING, REBINDING and
// "expired" are BOUND + the number of lease edges (T1, T2, lease time) passed.
const enum S { STOPPED, REQUESTING, PROBING, SELECTING, REBOOTING, BOUND, RENEWING }
const enum C {
  // The chip gives up ARP by itself (RTR × RCR, ~1.8 s by default); this only bounds a lost callback.
  PROBE_MS = 5000,
  // Node's timers overflow past 2^31 - 1 ms: waits are capped below it, and a longer one re-arms.
  MAX_TIMER = 2e9,
}
const NO_IP: IpConfig = { ip: ANY, subnet: ANY, gateway: ANY };
// The options read into a Lease, besides DNS (6). 1, 3 and 54 keep their first address.
const FIELDS: { [code: number]: string } = {
  1: 'subnet', 3: 'gateway', 15: 'domain', 51: 'lease', 53: 'type', 54: 'server', 58: 't1', 59: 't2',
};

/** xid, chaddr and magic cookie: what a reply must echo from our request. */
function echo(b: Uint8Array): string {
  return E.toString(b.subarray(4, 8), b.subarray(28, 34), b.subarray(236, 240));
}

/** A BOOTREPLY to our request `q`, as a Lease (with its message type), or null. */
export function parseReply(b: Uint8Array, q: Uint8Array): Lease | null {
  const n = b.length, m: any = { ip: ipString(b, 16), subnet: '255.255.255.0', gateway: ANY, dns: [], lease: 3600 };
  // A short packet fails the echo test.
  if (b[0] !== 2 || echo(b) !== echo(q)) return null;
  for (let p = 240, c; p < n && (c = b[p]) !== 255;) {
    const e = c ? p + 2 + b[p + 1] : p + 1, v = b.subarray(p + 2, e), f = FIELDS[c]; // 0: a pad
    if (e > n) return null;
    if (c === 6) for (let i = 0; i + 4 <= v.length; i += 4) m.dns.push(ipString(v, i));
    else if (f) {
      m[f] = c === 15 ? E.toString(v) : c === 53 ? v[0] : c < 50 || c === 54 ? ipString(v, 0)
        : (v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]) >>> 0;
    }
    p = e;
  }
  // RFC 2131 §4.4.5: T1 = 0.5 and T2 = 0.875 of the lease unless the server says otherwise.
  const l = m.lease, t2 = m.t2 = Math.min(m.t2 ?? l * 0.875, l);
  m.t1 = Math.min(m.t1 ?? l / 2, t2);
  return m;
}

/** A BOOTREQUEST. `ci` (ciaddr) only when we hold the address: renewing, rebinding, releasing. */
export function buildRequest(type: number, xid: number, mac: number[], ci?: string, req?: string, srv?: string,
  hostname?: string): Uint8Array {
  const ask = type < M.DECLINE, name = ask && hostname || '', z = function (n: number) { return new Uint8Array(n); };
  // Without an address the chip may miss unicast to the offered one (reference §4.8): ask for broadcast.
  // Zeros after the end option: RFC 1542 §2.1 wants at least 300 bytes, for old relays.
  return E.toUint8Array([1, 1, 6, 0, xid >> 24, xid >> 16, xid >> 8, xid, 0, 0, ci ? [0, 0, ipBytes(ci)] : [128, 0, z(4)],
    z(12), mac, z(202), 99, 130, 83, 99, 53, 1, type, 61, 7, 1, mac,
    req ? [50, 4, ipBytes(req)] : [], srv ? [54, 4, ipBytes(srv)] : [], name ? [12, name.length, name] : [],
    // Parameter request list: subnet mask, router, DNS, domain, lease time, T1, T2.
    ask ? [55, 7, 1, 3, 6, 15, 51, 58, 59] : [], 255, z(64)]);
}

// The state machine: module functions taking the client, because on Espruino every function
// expression evaluated copies its source, so closures made per client would cost RAM.
// Assigned below: the state machine is a cycle, and Espruino does not hoist.
/* eslint-disable prefer-const */
let go: (d: Dhcp, s: number, req?: string, srv?: string) => void, step: (d: Dhcp) => void,
  rx: (d: Dhcp, b: Uint8Array) => void;
/* eslint-enable prefer-const */

function close(d: Dhcp): void {
  if (d._s) d._s.close();
  d._s = undefined;
}

// Port 68 is opened on demand and closed while bound: a chip socket is precious.
function send(d: Dhcp, to: string, data: Uint8Array, cb?: (err?: any) => void, port?: number): void {
  try {
    if (!d._s) {
      d._s = d._c.udp(68);
      d._s.on('message', function (b: Uint8Array) { rx(d, b); });
      d._s.on('error', function () { close(d); }); // closed under us: the next send opens another
    }
    d._s.send(to, port || 67, data, cb);
  } catch (e) {
    if (cb) cb(e); // no chip socket free: the next retransmission tries again
  }
}

// Later: arms the fallback timer (not in 'dhcp-only' mode). Now: the static config, unless a lease came.
function fallback(d: Dhcp, later?: boolean): void {
  const o = d._o, fb = o.fallback;
  d._ft = undefined;
  if (later) {
    // Espruino's setTimeout passes extra arguments on, as Node's does (@types/espruino omits them).
    if (o.mode !== 'dhcp-only') d._ft = (setTimeout as any)(fallback, o.timeoutMs ?? 10000, d);
  } else if (fb && !d._l) {
    d._c.setIP(fb);
    d.emit('fallback', fb);
  }
}

// While a lease is held, no wait outlasts its next edge (T1, T2, expiry) as step() last saw it.
function arm(d: Dhcp, ms: number): void {
  if (d._t) clearTimeout(d._t);
  if (d._l) ms = Math.min(ms, d._e[d._i] - Date.now());
  d._t = setTimeout(function () {
    d._t = undefined;
    step(d);
  }, Math.min(ms, C.MAX_TIMER));
}

function bind(d: Dhcp, m: Lease): void {
  const old = d._l, k = d._k, b = d._b;
  d._l = m;
  d._e = [b + m.t1 * k, b + m.t2 * k, b + m.lease * k];
  d._st = S.BOUND;
  d._c.setIP(m);
  step(d);
  d.emit(!old ? 'lease' : old.ip !== m.ip ? 'changed' : 'renewed', m, old);
}

rx = function (d, b) {
  const m = parseReply(b, d._p as Uint8Array), st = d._st, chip = d._c;
  if (!m) return;
  if (st === S.SELECTING && m.type === M.OFFER) {
    // The first offer wins; the REQUEST names its server, which tells the others theirs was declined.
    go(d, S.REQUESTING, m.ip, d._sv = m.server);
  } else if ((st === S.REQUESTING && m.server === d._sv) || st > S.SELECTING) {
    if (m.type === M.NAK) go(d, S.SELECTING);
    else if (m.type === M.ACK) {
      if (st !== S.REQUESTING) return bind(d, m);
      // Conflict check before using a new address (§4.4.1, RFC 5227): one datagram to it. The chip
      // ARPs for the destination first: if anyone answers, the send completes and the address is
      // taken; an ARP timeout fails the send. With no address and mask 0.0.0.0 (a static fallback
      // is set aside for the moment) the chip sends an RFC 5227 probe, from 0.0.0.0, for the
      // offered address itself. The timer, on PROBING, starts over: a lost callback, or the end
      // of the DECLINE wait.
      const before = chip.getIP();
      d._st = S.PROBING;
      arm(d, C.PROBE_MS);
      chip.setIP(NO_IP);
      send(d, m.ip, d._p as Uint8Array, function (err) {
        if (d._st !== S.PROBING) return;
        if (err) return bind(d, m);
        chip.setIP(before);
        send(d, BROADCAST, buildRequest(M.DECLINE, d._x, d._m, '', m.ip, m.server));
        arm(d, 10 * d._k); // §3.1.5: after a DECLINE, wait at least 10 s before starting again
        d.emit('declined', m.ip);
      }, 9);
    }
  }
};

/* A new exchange in state `s` (SELECTING, REQUESTING, REBOOTING, RENEWING, REBINDING): a new xid,
 * except for the REQUEST after an OFFER, which echoes the OFFER's. Selecting again while holding a
 * lease (NAK, expiry) stops using the address (§4.4.5). Then send, and retransmit after 4, 8, 16,
 * 32, 64, 64 … s ± 1 s (§4.1). */
go = function (d, s, req, srv) {
  const l = d._l, lost = s === S.SELECTING && l, n = d._n = s ? 0 : d._n + 1;
  if (s) {
    if (s !== S.REQUESTING) d._x = Math.random() * 2e9 | 0;
    if (lost) {
      d._l = null;
      d._c.setIP(NO_IP);
      fallback(d, true);
    }
    d._st = s;
    d._b = Date.now();
    d._p = buildRequest(s !== S.SELECTING ? M.REQUEST : M.DISCOVER, d._x, d._m, s > S.REBOOTING ? (l as Lease).ip : '',
      s === S.REBOOTING ? (l as Lease).ip : req, srv, d._o.hostname);
  }
  send(d, d._st === S.RENEWING ? (d._l as Lease).server as string : BROADCAST, d._p as Uint8Array);
  arm(d, ((n < 4 ? 4 << n : 64) + Math.random() * 2 - 1) * d._k);
  if (lost) d.emit('lost', l);
};

// What the protocol timer does now. §3.1.5 / §3.2: REQUESTING starts over after its
// retransmissions, REBOOTING keeps the lease. Renew at T1 (unicast to the server), rebind at T2
// (broadcast), drop the address at expiry. go(d, 0) retransmits.
step = function (d) {
  const now = Date.now(), e = d._e;
  let st = d._st, i = 0;
  if (st === S.PROBING || (st === S.REQUESTING && d._n > 3)) return go(d, S.SELECTING);
  if (st === S.REBOOTING && d._n > 2) d._st = st = S.BOUND;
  if (d._l) {
    while (i < 3 && now >= e[i]) i++;
    d._i = i;
    if (i > 2) return go(d, S.SELECTING);
    if (i && S.BOUND + i > st) return go(d, S.BOUND + i);
    if (st === S.BOUND) {
      close(d);
      return arm(d, C.MAX_TIMER);
    }
  }
  go(d, 0);
};

/**
 * Events: 'lease' (lease) acquired; 'renewed' (lease) same address; 'changed' (lease, old) another
 * address on renewal or reboot; 'lost' (lease) NAK or expiry, the address is dropped; 'fallback'
 * (config) static config applied; 'declined' (ip) the offered address was in use.
 */
export class Dhcp extends Emitter {
  /** The lease in use; null once lost or released (undefined before the first). */
  _l?: Lease | null;
  _c!: W5500;
  _o!: DhcpOptions;
  /** ms per protocol second (timeScale). */
  _k!: number;
  /** State, xid, retransmissions in this exchange, when it began, the server chosen, our MAC. */
  _st!: number;
  _x!: number;
  _n!: number;
  _b!: number;
  _sv?: string;
  _m!: number[];
  /** Port 68 socket, the packet (re)sent, the lease edges (absolute ms) and the next one's index. */
  _s?: UdpSocket;
  _p?: Uint8Array;
  _e!: number[];
  _i!: number;
  /** Protocol and fallback timers. */
  _t: any;
  _ft: any;

  get lease(): Lease | null | undefined {
    return this._l;
  }

  constructor(chip: W5500, opts?: DhcpOptions) {
    super();
    const d = this; // eslint-disable-line @typescript-eslint/no-this-alias
    d._c = chip;
    d._k = 1000 * ((d._o = opts || {}).timeScale || 1);
    // INIT-REBOOT after the link comes back; rediscover at once if selecting.
    chip.on('link', function (up: boolean) {
      const st = d._st;
      if (up && st > S.PROBING) go(d, st > S.SELECTING ? S.REBOOTING : st);
    });
  }

  /** Start (or restart); a lease kept from before stop() is confirmed (INIT-REBOOT). */
  start(): void {
    this.stop();
    if (this._o.mode === 'static') return fallback(this);
    this._m = this._c.getIP().mac.split(':').map(function (h) { return parseInt(h, 16); });
    fallback(this, true);
    go(this, this._l ? S.REBOOTING : S.SELECTING);
  }

  /** Stop every timer and free the socket; with `release`, give the address back and drop it. */
  stop(release?: boolean): void {
    const d = this, l = d._l as Lease; // eslint-disable-line @typescript-eslint/no-this-alias
    if (d._t) clearTimeout(d._t);
    if (d._ft) clearTimeout(d._ft);
    d._t = d._ft = undefined;
    // §4.4.6: unicast to the server, ciaddr = the address given back; the address and the socket go
    // once it is out, unless start() came first and uses the socket.
    if (release && d._st > S.SELECTING) {
      d._l = null;
      send(d, l.server as string, buildRequest(M.RELEASE, d._x, d._m, l.ip, '', l.server), function () {
        d._c.setIP(NO_IP);
        if (!d._st) close(d);
      });
    } else close(d);
    d._st = S.STOPPED;
  }
}
