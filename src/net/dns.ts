// DNS stub resolver: A records over UDP (RFC 1035), a small TTL cache that also serves the last known
// good answer when every server fails, and bounded waits: servers × (retries + 1) × timeoutMs at most.
// Error codes: DNS_NXDOMAIN (no such name, or no IPv4 address for it), DNS_TIMEOUT, DNS_MALFORMED,
// DNS_TRUNCATED, DNS_SERVFAIL (any other error rcode, or no server configured), DNS_BADNAME.
import { codedError } from '../error';
import type { CodedError } from '../error';
import { ipString, isIp } from './ip';
import type { UdpSocket, W5500 } from './w5500';

export interface DnsOptions {
  /** Wait for one answer; default 2000 ms. */
  timeoutMs?: number;
  /** Extra tries per server after a timeout; default 1. */
  retries?: number;
  /** Names kept; default 4. */
  cacheSize?: number;
}

export type ResolveCallback = (err: CodedError | undefined, ip?: string) => void;

/** An answer for the last name of the CNAME chain that started at the question. */
export interface Answer {
  name: string;
  ip?: string;
  ttl: number;
}

const NXDOMAIN = 'DNS_NXDOMAIN';
const MALFORMED = 'DNS_MALFORMED';

const enum C {
  PORT = 53,
  TYPE_A = 1,
  TYPE_CNAME = 5,
  // Bounds CNAME follow-up queries.
  MAX_HOPS = 8,
  // Bounds the labels and compression pointers read for one name (a 253-character name has 127).
  MAX_LABELS = 128,
  MAX_TTL = 86400,
}

/** The error, its message the code and the name it is about. */
function fail(code: string, name: string): CodedError {
  return codedError(code, code + ' ' + name);
}

function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

/** A query for the A record of `name` (already lower case, no trailing dot). */
export function buildQuery(id: number, name: string): Uint8Array {
  // Header: id, RD, one question. Then QNAME, QTYPE A, QCLASS IN.
  return E.toUint8Array([id >> 8, id, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, name.split('.').map(function (l) {
    if (!l || l.length > 63 || name.length > 253) throw fail('DNS_BADNAME', name);
    return [l.length, l];
  }), 0, 0, C.TYPE_A, 0, 1]);
}

// Where the name readName() last read ends in place.
let end = 0;

/** The name at `p`: labels and compression pointers (RFC 1035 §4.1.4), lower case. */
function readName(b: Uint8Array, p: number): string {
  let name = '', n = 0;
  end = 0;
  for (;;) {
    const l = b[p];
    // Past the end (undefined), a reserved label type (0x40, 0x80), or a pointer loop.
    if (!(l < 64 || l > 191) || ++n > C.MAX_LABELS) throw fail(MALFORMED, '');
    if (l > 191) {
      end = end || p + 2;
      p = (l & 63) << 8 | b[p + 1];
    } else if (l) {
      name += '.' + E.toString(b.subarray(p + 1, p += l + 1));
    } else break;
  }
  end = end || p + 1;
  return name.slice(1).toLowerCase();
}

function lower(b: Uint8Array): string {
  return E.toString(b).toLowerCase();
}

/**
 * The answer in `b` to query `q` for `name`, following CNAMEs in answer order as resolvers do.
 * Null if `b` is not an answer to `q` (RFC 5452: id and question must match); throws a CodedError
 * for an error reply.
 */
export function parseResponse(b: Uint8Array, q: Uint8Array, name: string): Answer | null {
  const a: Answer = { name: name, ttl: C.MAX_TTL }, rc = b[3] & 15;
  let p = q.length;
  // QDCOUNT is not checked: another count could not echo the question byte for byte.
  if (u16(b, 0) !== u16(q, 0) || b[2] < 128 || lower(b.subarray(12, p)) !== lower(q.subarray(12))) return null;
  if (b[2] & 2 || rc) throw fail(b[2] & 2 ? 'DNS_TRUNCATED' : rc === 3 ? NXDOMAIN : 'DNS_SERVFAIL', name);
  for (let i = u16(b, 6); i > 0; i--) {
    const owner = readName(b, p), e = end, at = e + 10, type = u16(b, e);
    p = at + u16(b, e + 8);
    if (p > b.length) throw fail(MALFORMED, name);
    if (owner === a.name) {
      a.ttl = Math.min(a.ttl, u16(b, e + 4) * 65536 + u16(b, e + 6));
      if (type === C.TYPE_A && p - at === 4) {
        a.ip = ipString(b, at);
        break;
      }
      if (type === C.TYPE_CNAME) a.name = readName(b, at);
    }
  }
  return a;
}

/**
 * One lookup: one socket and one query id per name; each server in turn, `retries` + 1 times each;
 * a CNAME without an address is asked for next. Module-level (not a closure per resolver): on
 * Espruino every function expression evaluated keeps a copy of its source.
 */
function lookup(chip: W5500, servers: () => string[], o: DnsOptions, cache: { [name: string]: [string, number] },
  name: string, cb: ResolveCallback): void {
  // One id per lookup: a late answer to an earlier try still counts.
  const key = name.toLowerCase().replace(/\.$/, ''), hit = cache[key], list = servers(), tries = (o.retries ?? 1) + 1,
    id = Math.random() * 0x10000;
  // The protocol timer `t` is live whenever a message can arrive, so clearing it is never stale.
  let cur = key, a = 0, hops = 0, srv: string, q: Uint8Array, sock: UdpSocket | undefined, t: any, err: any;

  // An address is cached as the newest; without one, the last known good answers unless the name is gone.
  const done = function (e?: CodedError, ip?: string, ttl?: number) {
    if (sock) sock.close();
    delete cache[key];
    if (ip) {
      const keys = Object.keys(cache);
      if (keys.length >= (o.cacheSize || 4)) delete cache[keys[0]]; // the oldest
      cache[key] = [ip, Date.now() + (ttl as number) * 1000];
    } else if (hit && (e as CodedError).code !== NXDOMAIN) {
      cache[key] = hit;
      ip = hit[0];
      e = undefined;
    }
    cb(e, ip);
  };

  // Try `a` goes to server a / tries. What an answer said wrong outranks a later server's silence.
  const ask = function () {
    srv = list[a / tries | 0];
    if (!srv) return done(err || fail(a ? 'DNS_TIMEOUT' : 'DNS_SERVFAIL', key));
    (sock as UdpSocket).send(srv, C.PORT, q);
    t = setTimeout(function () {
      a++;
      ask();
    }, o.timeoutMs || 2000);
  };

  // r: an Answer, an error (CodedError), or 0 to ask (again).
  const rx = function (b: Uint8Array, from: { ip: string; port: number }) {
    let r: any;
    if (from.ip !== srv || from.port !== C.PORT) return;
    try {
      r = parseResponse(b, q, cur);
      if (!r) return;
      // A CNAME without its address: its target, from the first server.
      if (!r.ip && r.name !== cur && ++hops < C.MAX_HOPS) {
        q = buildQuery(id, cur = r.name); // throws for a bad name: caught below
        a = r = err = 0;
      }
    } catch (e) {
      // A server that answers badly will not do better on a retry: on to the next one.
      r = err = e;
      a += tries - a % tries;
    }
    clearTimeout(t);
    if (!r || r.code && r.code !== NXDOMAIN) ask();
    else done(r.code ? r : r.ip ? undefined : fail(NXDOMAIN, key), r.ip, r.ttl);
  };

  setTimeout(function () {
    const now = isIp(name) ? name : hit && hit[1] > Date.now() && hit[0];
    if (now) return cb(undefined, now);
    try {
      q = buildQuery(id, key);
      sock = chip.udp(0);
    } catch (e) {
      return done(e as CodedError);
    }
    sock.on('message', rx);
    ask();
  }, 0);
}

export class Dns {
  /** Address of `name`; a dotted IPv4 literal is returned as it is. The callback is always asynchronous.
   *  Callable on its own (e.g. `{ resolve: dns.resolve }`), so no `this`. */
  resolve: (name: string, cb: ResolveCallback) => void;

  /** `servers` is asked at each lookup, so it can follow DHCP (e.g. () => chip.getIP().dns). */
  constructor(chip: W5500, servers: () => string[], opts?: DnsOptions) {
    // Name → [address, expiry in ms], oldest first.
    const cache = {};
    this.resolve = function (name, cb) {
      lookup(chip, servers, opts || {}, cache, name, cb);
    };
  }
}
