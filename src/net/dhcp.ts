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
// States (RFC 2131 figure 5), ordered: above PROBING a lease is held, and RENEWING, REBINDING and
// "expired" are BOUND + the number of lease edges (T1, T2, lease time) passed.
const enum S { STOPPED, SELECTING, REQUESTING, PROBING, REBOOTING, BOUND, RENEWING }
const enum C {
  SERVER_PORT = 67,
  // The chip gives up ARP by itself (RTR × RCR, ~1.8 s by default); this only bounds a lost callback.
  PROBE_MS = 5000,
  // §3.1.5: after a DECLINE, wait at least 10 s before starting again.
  DECLINE_WAIT_MS = 10000,
  // Node's timers overflow past 2^31 - 1 ms; a longer wait just re-arms.
  MAX_TIMER = 0x7fffffff,
}
const NO_IP: IpConfig = { ip: ANY, subnet: ANY, gateway: ANY };

function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** A BOOTREPLY for our transaction and MAC, as a Lease (with its message type), or null. */
export function parseReply(b: Uint8Array, xid: number, mac: number[]): Lease | null {
  const n = b.length, o: { [code: number]: Uint8Array } = {};
  let p = 240;
  // A short packet fails the cookie test: bytes past the end read as undefined.
  if (b[0] !== 2 || u32(b, 4) !== xid || u32(b, 236) !== 0x63825363 ||
    E.toString(b.subarray(28, 34)) !== E.toString(mac)) return null;
  while (p < n && b[p] !== 255) {
    const e = p + 2 + b[p + 1];
    if (!b[p]) p++; // pad
    else if (e > n) return null;
    else {
      o[b[p]] = b.subarray(p + 2, e);
      p = e;
    }
  }
  const ip = function (c: number) { return o[c] && ipString(o[c], 0); };
  const num = function (c: number, d: number) { return o[c] ? u32(o[c], 0) : d; };
  const dns: string[] = [], d = o[6] || [], lease = num(51, 3600);
  for (let i = 0; i + 4 <= d.length; i += 4) dns.push(ipString(d as Uint8Array, i));
  // RFC 2131 §4.4.5: T1 = 0.5 and T2 = 0.875 of the lease unless the server says otherwise.
  const t2 = Math.min(num(59, lease * 0.875), lease);
  return {
    type: o[53] && o[53][0], ip: ipString(b, 16), subnet: ip(1) || '255.255.255.0', gateway: ip(3) || ANY,
    dns: dns, domain: o[15] && E.toString(o[15]), server: ip(54), lease: lease, t2: t2, t1: Math.min(num(58, lease / 2), t2),
  };
}

/** A BOOTREQUEST. `ci` (ciaddr) only when we hold the address: renewing, rebinding, releasing. */
export function buildRequest(type: number, xid: number, mac: number[], ci?: string, req?: string, srv?: string,
  hostname?: string): Uint8Array {
  const ask = type < M.DECLINE, name = ask && hostname || '';
  const b = new Uint8Array(300 + name.length); // RFC 1542 §2.1: at least 300 bytes, for old relays
  b.set([1, 1, 6, 0, xid >> 24, xid >> 16, xid >> 8, xid]); // a typed array keeps the low byte
  // Without an address the chip may miss unicast to the offered one (reference §4.8): ask for broadcast.
  if (ci) b.set(ipBytes(ci), 12);
  else b[10] = 0x80;
  b.set(mac, 28);
  b.set(E.toUint8Array([99, 130, 83, 99, 53, 1, type, 61, 7, 1, mac,
    req ? [50, 4, ipBytes(req)] : [], srv ? [54, 4, ipBytes(srv)] : [], name ? [12, name.length, name] : [],
    // Parameter request list: subnet mask, router, DNS, domain, lease time, T1, T2.
    ask ? [55, 7, 1, 3, 6, 15, 51, 58, 59] : [], 255]), 236);
  return b;
}

// The state machine: module functions taking the client, because on Espruino every function
// expression evaluated copies its source, so closures made per client would cost RAM.
// Assigned below: the state machine is a cycle, and Espruino does not hoist.
/* eslint-disable prefer-const */
let begin: (d: Dhcp, s: number, ci?: string, req?: string, srv?: string) => void, step: (d: Dhcp) => void,
  rx: (d: Dhcp, b: Uint8Array) => void;
/* eslint-enable prefer-const */

function close(d: Dhcp): void {
  if (d._s) d._s.close();
  d._s = undefined;
}

// Port 68 is opened on demand and closed while bound: a chip socket is precious.
function send(d: Dhcp, to: string, port: number, data: Uint8Array, cb?: (err?: any) => void): void {
  try {
    if (!d._s) {
      d._s = d._c.udp(68);
      d._s.on('message', function (b: Uint8Array) { rx(d, b); });
      d._s.on('error', function () { close(d); }); // closed under us: the next send opens another
    }
    d._s.send(to, port, data, cb);
  } catch (e) {
    if (cb) cb(e); // no chip socket free: the next retransmission tries again
  }
}

function halt(d: Dhcp): void {
  if (d._t) clearTimeout(d._t);
  if (d._ft) clearTimeout(d._ft);
  d._t = d._ft = undefined;
}

function fallback(d: Dhcp): void {
  const fb = d._o.fallback;
  d._ft = undefined;
  if (fb && !d._l) {
    d._c.setIP(fb);
    d.emit('fallback', fb);
  }
}

function armFallback(d: Dhcp): void {
  if (d._o.mode !== 'dhcp-only') d._ft = setTimeout(function () { fallback(d); }, d._o.timeoutMs ?? 10000);
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

// NAK or expiry: stop using the address (§4.4.5) and start again.
function restart(d: Dhcp): void {
  const l = d._l;
  d._l = null;
  if (l) {
    d._c.setIP(NO_IP);
    armFallback(d);
  }
  begin(d, S.SELECTING);
  if (l) d.emit('lost', l);
}

function bind(d: Dhcp, m: Lease): void {
  const old = d._l, ms = 1000 * d._k, b = d._b;
  halt(d);
  d._l = m;
  d._e = [b + m.t1 * ms, b + m.t2 * ms, b + m.lease * ms];
  d._st = S.BOUND;
  d._c.setIP(m);
  step(d);
  d.emit(!old ? 'lease' : old.ip !== m.ip ? 'changed' : 'renewed', m, old);
}

/**
 * Conflict check before using a new address (§4.4.1, RFC 5227): one datagram to it. The chip ARPs
 * for the destination first: if anyone answers, the send completes and the address is taken; an
 * ARP timeout fails the send. With no address and mask 0.0.0.0 (a static fallback is set aside for
 * the moment) the chip sends an RFC 5227 probe, from 0.0.0.0, for the offered address itself.
 */
function probe(d: Dhcp, m: Lease): void {
  const chip = d._c, before = chip.getIP();
  d._st = S.PROBING; // the timer, on PROBING, starts over: a lost callback, or the end of the DECLINE wait
  arm(d, C.PROBE_MS);
  chip.setIP(NO_IP);
  send(d, m.ip, 9, d._p as Uint8Array, function (err) {
    if (d._st !== S.PROBING) return;
    if (err) return bind(d, m);
    chip.setIP(before);
    send(d, BROADCAST, C.SERVER_PORT, buildRequest(M.DECLINE, d._x, d._m, '', m.ip, m.server));
    arm(d, C.DECLINE_WAIT_MS * d._k);
    d.emit('declined', m.ip);
  });
}

rx = function (d, b) {
  const m = parseReply(b, d._x, d._m), st = d._st;
  if (!m) return;
  if (st === S.SELECTING && m.type === M.OFFER) {
    // The first offer wins; the REQUEST names its server, which tells the others theirs was declined.
    begin(d, S.REQUESTING, '', m.ip, d._sv = m.server);
  } else if ((st === S.REQUESTING && m.server === d._sv) || st > S.PROBING) {
    if (m.type === M.NAK) restart(d);
    else if (m.type === M.ACK) {
      if (st === S.REQUESTING) probe(d, m);
      else bind(d, m);
    }
  }
};

// Send, then retransmit after 4, 8, 16, 32, 64, 64 … s ± 1 s (§4.1).
function tx(d: Dhcp): void {
  const n = d._n++;
  send(d, d._st === S.RENEWING ? (d._l as Lease).server as string : BROADCAST, C.SERVER_PORT, d._p as Uint8Array);
  arm(d, ((n < 4 ? 4 << n : 64) + Math.random() * 2 - 1) * 1000 * d._k);
}

// A new exchange: a new xid, except for the REQUEST after an OFFER, which echoes the OFFER's.
begin = function (d, s, ci, req, srv) {
  if (s !== S.REQUESTING) d._x = Math.random() * 2e9 | 0;
  d._st = s;
  d._n = 0;
  d._b = Date.now();
  d._p = buildRequest(s > S.SELECTING ? M.REQUEST : M.DISCOVER, d._x, d._m, ci, req, srv, d._o.hostname);
  tx(d);
};

// What the protocol timer does now. §3.1.5 / §3.2: REQUESTING starts over after its
// retransmissions, REBOOTING keeps the lease. Renew at T1 (unicast to the server), rebind at T2
// (broadcast), drop the address at expiry.
step = function (d) {
  const now = Date.now(), l = d._l, e = d._e;
  let st = d._st, i = 0;
  if (st === S.PROBING || (st === S.REQUESTING && d._n > 4)) return begin(d, S.SELECTING);
  if (st === S.REBOOTING && d._n > 3) d._st = st = S.BOUND;
  if (l) {
    while (i < 3 && now >= e[i]) i++;
    d._i = i;
    if (i > 2) return restart(d);
    if (i && S.BOUND + i > st) return begin(d, S.BOUND + i, l.ip);
    if (st === S.BOUND) {
      close(d);
      return arm(d, C.MAX_TIMER);
    }
  }
  tx(d);
};

// INIT-REBOOT after the link comes back (or at start with a kept lease); rediscover at once if selecting.
function confirm(d: Dhcp): void {
  if (d._st > S.PROBING) begin(d, S.REBOOTING, '', (d._l as Lease).ip);
  else if (d._st === S.SELECTING) begin(d, S.SELECTING);
}

function start(d: Dhcp): void {
  if (d._o.mode === 'static') return fallback(d);
  d._m = d._c.getIP().mac.split(':').map(function (h) { return parseInt(h, 16); });
  armFallback(d);
  d._st = d._l ? S.BOUND : S.SELECTING;
  confirm(d);
}

function init(d: Dhcp, chip: W5500, opts?: DhcpOptions): void {
  d._c = chip;
  d._o = opts || {};
  d._k = d._o.timeScale || 1;
  chip.on('link', function (up: boolean) {
    if (up) confirm(d);
  });
}

// §4.4.6: unicast to the server, ciaddr = the address given back; the address and the socket go
// once it is out, unless start() came first and uses the socket.
function giveBack(d: Dhcp): void {
  const l = d._l as Lease;
  d._l = null;
  send(d, l.server as string, C.SERVER_PORT, buildRequest(M.RELEASE, d._x, d._m, l.ip, '', l.server), function () {
    d._c.setIP(NO_IP);
    if (d._st === S.STOPPED) close(d);
  });
}

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
  /** timeScale */
  _k!: number;
  /** State, xid, sends in this exchange, when it began, the server chosen, our MAC. */
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
    init(this, chip, opts);
  }

  /** Start (or restart); a lease kept from before stop() is confirmed (INIT-REBOOT). */
  start(): void {
    this.stop();
    start(this);
  }

  /** Stop every timer and free the socket; with `release`, give the address back and drop it. */
  stop(release?: boolean): void {
    halt(this);
    if (release && this._st > S.PROBING) giveBack(this);
    else close(this);
    this._st = S.STOPPED;
  }
}
