// The W5500 as Espruino's NetworkJS device: stock firmware's `net`, `http`, `dgram` and `tls` (TLS runs
// inside Espruino's socket layer) then run over our driver. The contract, as Espruino calls it
// (libs/network/js/network_js.c, libs/network/socketserver.c): every call comes from the idle loop and
// must return at once; sockets are small integers; recv returns a string ("" = nothing yet) or a
// negative SOCKET_ERR_*; send returns the bytes taken (0 = try again) or a negative error.
import { MODE_TCP_ND, SOCK_INIT, ST_CONNECTING } from './w5500-regs';
import { ANY, ipBytes, ipString } from './ip';
import { claim, cmd } from './w5500-spi';
import type { CodedError } from '../error';
import type { Resolver, W5500 } from './w5500';

// Espruino's built-in module loader (@types/espruino lacks it, @types/node's differs).
declare const require: (name: string) => any;

export interface NetworkJsOptions {
  /** Host name lookup, e.g. a Dns's `resolve`; default: the chip options' `resolve` (else IPs only). */
  resolve?: Resolver;
}

// const enums: esbuild inlines their values (plain consts after other modules' code stay variables)
/** SocketType bits (libs/network/network.h); HTTP (1) is a TCP socket to us. */
const enum ST { UDP = 2, TLS = 4 }
/** SOCKET_ERR_* (libs/network/socketerrors.h) */
const enum Err { CLOSED = -1, TIMEOUT = -3, NOT_FOUND = -6, MAX_SOCK = -7, RESET = -9, UNKNOWN = -10, NO_CONN = -11 }
const ERRS: { [code: string]: number } = {
  ETIMEDOUT: Err.TIMEOUT, ENOTFOUND: Err.NOT_FOUND, ENOSOCK: Err.MAX_SOCK, ECONNRESET: Err.RESET, ECONNREFUSED: Err.RESET,
};
/** Sn_CR's LISTEN command. */
const enum Cmd { LISTEN = 0x02 }

/** The SOCKET_ERR_* for a driver error; the DNS_* codes (dns.ts) are all "not found" to Espruino. */
function code(e: CodedError): number {
  return ERRS[e.code] || (/^DNS/.test(e.code) ? Err.NOT_FOUND : Err.UNKNOWN);
}

/* A socket is the driver's Socket plus _nIn (received, not yet taken by recv; for UDP each datagram
 * behind Espruino's 8-byte header), _nErr (SOCKET_ERR_* once it ended), _nUp (connected) and _nPort
 * (TCP server: the port it listens on), named unlike the driver's own members. Its events come here
 * instead of to listeners: this replaces the socket's emit(), so it is called as its method, with no
 * per-socket closure (on Espruino each function expression evaluated costs RAM). */
function emit(this: any, ev: string, a: any, b: any): void {
  // eslint-disable-next-line @typescript-eslint/no-this-alias -- `s.` minifies shorter than `this.`
  const s = this;
  if (ev === 'connect') s._nUp = true;
  else if (ev === 'data') s._nIn += E.toString(a);
  // JsNetUDPPacketHeader (network.h): IP, then port and length little-endian as the MCU stores them
  else if (ev === 'message') s._nIn += E.toString(ipBytes(b.ip), b.port & 255, b.port >> 8, a.length & 255, a.length >> 8, a);
  else if (ev === 'error') s._nErr = code(a);
  else if (ev === 'close') s._nErr = s._nErr || Err.CLOSED;
}

function later(cb: any, a: any, b?: any): void {
  if (cb) setTimeout(function () { cb(a, b); }, 0);
}

/** Hardware sockets left: free ones, less those that clients still looking up their host will take. */
function free(e: Ethernet): number {
  const c = e._c;
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const s = e._s[i];
    if (c._kb[i] && !c._s[i]) n++;
    if (s && s.n < 0 && !s._nErr) n--;
  }
  return n;
}

/** A UDP socket bound to port, a TCP client connecting to host:port, or (host undefined) a TCP
 *  server socket listening on port. Throws when no hardware socket is free (UDP). */
function make(e: Ethernet, host: string | undefined, port: number, type: number): any {
  const c = e._c, udp = (type & 3) === ST.UDP, s: any = udp ? c.udp(port) : c.tcp(e._o);
  s._nIn = '';
  s._nErr = 0;
  s._nUp = udp;
  s.emit = emit;
  if (udp) return s;
  if (host !== undefined) s.connect(host, port);
  else {
    // The chip turns a LISTEN socket into the connection itself; accept() listens again on another.
    // In CONNECTING, the poll takes ESTABLISHED as connected.
    s._nPort = port;
    s._st = ST_CONNECTING;
    try {
      claim(s, MODE_TCP_ND, port, SOCK_INIT);
      cmd(s, Cmd.LISTEN);
    } catch (x) {
      s._end(x);
    }
  }
  return s;
}

/** Espruino's NetworkJS callbacks and the API of its built-in WIZnet `Ethernet` object. */
export class Ethernet {
  _c: W5500;
  _o: any;
  /** Sockets by the number Espruino knows them by. */
  _s: any[] = [];

  constructor(chip: W5500, opts: NetworkJsOptions) {
    this._c = chip;
    if (opts.resolve) this._o = { resolve: opts.resolve };
  }

  /** A socket number, or SOCKET_ERR_MAX_SOCK when taking one would leave none for DHCP and DNS. */
  create(host: string | undefined, port: number, type: number): number {
    let j = 0;
    while (this._s[j]) j++;
    if (j > 7 || free(this) < 2) return Err.MAX_SOCK;
    try {
      this._s[j] = make(this, host, port, type);
    } catch (x) {
      return code(x as CodedError);
    }
    return j;
  }

  /** Up to max bytes (UDP: one datagram behind its header); "" when none wait; then the error. */
  recv(i: number, max: number, type: number): string | number {
    const s = this._s[i], d = s && s._nIn;
    if (!s) return Err.CLOSED;
    // Not yet connected: NO_CONN keeps Espruino from reporting 'connect' early, but TLS (mbedtls)
    // must see 0, which it reads as "try again"
    if (!d) return s._nErr || (s._nUp || type & ST.TLS ? '' : Err.NO_CONN);
    // A datagram goes whole (Espruino takes its length from the header), or cut short: the header
    // then says how long it was, as the 'size' of the message event
    const e = s._u ? 8 + (d.charCodeAt(6) | d.charCodeAt(7) << 8) : max;
    s._nIn = d.substr(e);
    return d.substr(0, e < max ? e : max);
  }

  /** TCP: all of data once the chip has taken what came before, else 0. UDP: one datagram (header
   *  and payload) when the last one has gone. */
  send(i: number, data: string): number {
    const s = this._s[i];
    if (!s) return Err.CLOSED;
    // Received bytes are delivered before the error that closes the socket
    if (s._nErr) return s._nIn ? 0 : s._nErr;
    if (s._u) {
      if (s._busy || s._q.length) return 0;
      const h = E.toUint8Array(data.substr(0, 8)), len = h[6] | h[7] << 8;
      s.send(ipString(h, 0), h[4] | h[5] << 8, E.toUint8Array(data.substr(8, len)));
      return 8 + len;
    }
    // Not taken once the peer's FIN has started our close: Espruino keeps it, and reports it unsent
    return s._nUp && !s._qn && s.write(E.toUint8Array(data)) ? data.length : 0;
  }

  /** A connection made to server socket i, as a new socket number (its listening goes on), or -1. */
  accept(i: number): number {
    const l = this._s[i], p = l && l._nPort;
    let j = 0;
    if (!p) return -1;
    if (l._nUp) {
      while (this._s[j]) j++;
      if (j > 7) return -1;
      this._s[j] = l;
      l._nPort = 0;
    } else if (l._nErr) j = -1;
    else return -1;
    // Listen again (the listener ended, or became connection j); with no socket to spare, a stub that
    // the next call retries
    this._s[i] = free(this) > 1 ? make(this, undefined, p, 0) : { _nPort: p, _nErr: Err.MAX_SOCK, n: -1 };
    return j;
  }

  close(i: number): void {
    const s = this._s[i];
    this._s[i] = undefined;
    if (s && s.close) s.close();
  }

  /** { ip, subnet, gateway, dns, mac }, as Espruino's WIZnet getIP() (dns: the first server). */
  getIP(cb?: (err: null, info: any) => void): any {
    const r: any = this._c.getIP();
    r.dns = (r.dns || [])[0] || ANY;
    later(cb, null, r);
    return r;
  }

  /** Static settings ({ ip, subnet, gateway, dns }, missing ones kept). Without them (Espruino's
   *  WIZnet runs DHCP then): our DHCP client runs on its own, so true once it has given an address. */
  setIP(o?: any, cb?: (err: string | null) => void): boolean {
    const c = this._c, i = c.getIP(), ok = !!o || i.ip !== ANY;
    if (o) c.setIP(Object.assign(i, o, { dns: o.dns ? [o.dns] : i.dns, mac: i.mac }));
    later(cb, ok ? null : 'no IP address yet');
    return ok;
  }

  /** The DHCP host name is an option of our Dhcp client (set when creating it). */
  setHostname(name: string, cb?: (err: string) => void): boolean {
    later(cb, 'set it in Dhcp options');
    return false;
  }

  /** { state, id, phylink }, as WIZnet's getStatus(); state is 'online' while the link is up. */
  getStatus(cb?: (err: null, status: any) => void): any {
    const up = this._c.linkUp();
    const r = { state: up ? 'online' : 'offline', id: 'W5500', phylink: up ? 'up' : 'down' };
    later(cb, null, r);
    return r;
  }
}

/** Makes an initialised W5500 (IP set by DHCP or statically) Espruino's network device. */
export function networkJs(chip: W5500, opts?: NetworkJsOptions): Ethernet {
  return require('NetworkJS').create(new Ethernet(chip, opts || {}));
}
