// MQTT 3.1.1 packets, all 14 types both ways: encode() and a streaming Decoder. Pure: no sockets,
// no timers. Packet objects use mqtt-packet's field names and values, with Uint8Array for binary
// fields. Needs E.toUint8Array and E.toString (in Node: as the simulated board installs them, see
// test/helpers/espruino-e.ts).
// Each type has ONE coder that writes it (encode) and reads it (decode), as the flag W says: the
// call that writes a field from the packet is the call that reads it back into the packet, so the
// two directions cannot drift apart and their bytes are paid once.
import { codedError } from '../error';
import { isAscii, utf8Bytes, utf8String, wellFormed } from './utf8';

export type QoS = 0 | 1 | 2;

/** Set by the decoder on every packet, from the fixed header, as mqtt-packet's parser does
 *  (PUBREL, SUBSCRIBE and UNSUBSCRIBE read as qos 1: their fixed flags are 0b0010). */
interface Header {
  retain?: boolean;
  qos?: number;
  dup?: boolean;
  /** remaining length */
  length?: number;
}
/** Decoded packets other than PUBLISH carry topic: null and payload: null, like mqtt-packet's. */
interface NoTopic extends Header {
  topic?: null;
  payload?: null;
}
export interface Will {
  topic: string;
  payload?: Uint8Array | string;
  qos?: QoS;
  retain?: boolean;
}
export interface ConnectPacket extends NoTopic {
  cmd: 'connect';
  clientId?: string;
  clean?: boolean;
  keepalive?: number;
  username?: string;
  password?: Uint8Array | string;
  will?: Will;
  /** always 'MQTT' and 4 when decoded; ignored by encode, which only speaks 3.1.1 */
  protocolId?: string;
  protocolVersion?: number;
}
export interface ConnackPacket extends NoTopic {
  cmd: 'connack';
  returnCode: number;
  sessionPresent?: boolean;
}
export interface PublishPacket extends Header {
  cmd: 'publish';
  topic: string;
  payload: Uint8Array;
  qos?: QoS;
  dup?: boolean;
  retain?: boolean;
  /** present when qos > 0 */
  messageId?: number;
}
/** What encode() accepts for a PUBLISH: the payload may be a string (sent as UTF-8) or absent. */
export interface PublishInput extends Omit<PublishPacket, 'payload'> {
  payload?: Uint8Array | string;
}
export interface AckPacket extends NoTopic {
  cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'unsuback';
  messageId: number;
}
export interface Subscription {
  topic: string;
  qos: QoS;
}
export interface SubscribePacket extends NoTopic {
  cmd: 'subscribe';
  messageId: number;
  subscriptions: Subscription[];
}
export interface SubackPacket extends NoTopic {
  cmd: 'suback';
  messageId: number;
  /** 0, 1, 2 (granted QoS) or 0x80 (refused), one per filter */
  granted: number[];
}
export interface UnsubscribePacket extends NoTopic {
  cmd: 'unsubscribe';
  messageId: number;
  unsubscriptions: string[];
}
export interface EmptyPacket extends NoTopic {
  cmd: 'pingreq' | 'pingresp' | 'disconnect';
}
export type Packet = ConnectPacket | ConnackPacket | PublishPacket | AckPacket | SubscribePacket
  | SubackPacket | UnsubscribePacket | EmptyPacket;

// Error codes: stable, for programs to test err.code
/** Received bytes that are not an MQTT 3.1.1 packet: unknown type, reserved flag bits set wrong,
 *  remaining length over 4 bytes, lengths that disagree with the content, another protocol. */
export const ERR_MALFORMED = 'MQTT_MALFORMED';
/** QoS outside 0..2 (QoS 3 received), or a SUBACK code other than 0, 1, 2, 0x80. */
export const ERR_QOS = 'MQTT_QOS';
/** Packet id missing, 0 or over 65535 where one is required [MQTT-2.3.1-1]. */
export const ERR_PACKET_ID = 'MQTT_PACKET_ID';
/** Topic name empty or with + or # [MQTT-3.3.2-2, MQTT-4.7.3-1]; topic filter empty, or with a
 *  + or # that does not fill a level, or a # before the last level [MQTT-4.7.1-2, MQTT-4.7.1-3]. */
export const ERR_TOPIC = 'MQTT_TOPIC';
/** Not a string, ill-formed UTF-8, U+0000, or over 65535 bytes [MQTT-1.5.3-1, MQTT-1.5.3-2]. */
export const ERR_STRING = 'MQTT_STRING';
/** Payload, will payload or password not a Uint8Array or string, or too long. */
export const ERR_PAYLOAD = 'MQTT_PAYLOAD';
/** Another field that may not be sent: unknown cmd, keepalive, returnCode, password without
 *  username [MQTT-3.1.2-22], empty clientId without clean [MQTT-3.1.3-7], empty list. */
export const ERR_FIELD = 'MQTT_FIELD';

/** Largest remaining length: 4 bytes of 7 bits. */
export const MAX_REMAINING = 268435455;

const U16 = 65535;
const EMPTY = new Uint8Array(0);
const enum Type {
  PUBLISH = 3,
  /** Bit t + 1 is set for the packet types t whose fixed-header flags must be 0b0010: PUBREL,
   *  SUBSCRIBE, UNSUBSCRIBE [MQTT-2.2.2-1]. The others but PUBLISH have 0. */
  FLAGS_0010 = 0xa80,
}

/** Packet type names by type number. */
const CMDS = ',connect,connack,publish,puback,pubrec,pubrel,pubcomp,subscribe,suback,unsubscribe,unsuback,pingreq,pingresp,disconnect'.split(',');

// W is 1 while encoding: the coders then write parts (number arrays, Uint8Arrays) that one native
// E.toUint8Array joins, no JavaScript loop per payload byte. While decoding they read body from pos.
// encode and decode never re-enter: a sink runs after its packet is read.
let W = 0;
let parts: ArrayLike<number>[] = [];
let size = 0;
let body: Uint8Array = EMPTY;
let pos = 0;

function fail(code: string, message: string): never {
  throw codedError(code, message);
}

/** A field that may not be: the caller's when encoding (ERR_FIELD), the peer's when decoding. */
function bad(what: string): never {
  return fail(W ? ERR_FIELD : ERR_MALFORMED, 'bad ' + what);
}

function short(): never {
  return fail(ERR_MALFORMED, 'short packet');
}

/** QoS q, 0 if undefined; else ERR_QOS ('1', 1.5, -1 and null too). */
function qos(q: unknown): QoS {
  if ([0, 1, 2][q as number] !== q) fail(ERR_QOS, 'bad QoS ' + q);
  return (q || 0) as QoS;
}

/** x is neither undefined nor null. Never `x != null`: on Espruino that turns a Uint8Array into a
 *  string first (0.7 ms for 1 KB on a PC); written so that esbuild does not fold it into that. */
function isSet(x: unknown): boolean {
  return x === null ? false : x !== undefined;
}

function put(x: ArrayLike<number>): void {
  parts.push(x);
  size += x.length;
}

/** A number of 1 byte, or 2 (two): v written, or read; returned. */
function num(v: number, two?: 1): number {
  if (W) put(two ? [v >> 8, v & 255] : [v]);
  else {
    if (pos + (two ? 2 : 1) > body.length) short();
    v = two ? body[pos++] << 8 | body[pos++] : body[pos++];
  }
  return v;
}

/** The packet id, 1..65535 [MQTT-2.3.1-1]; also the whole of PUBACK, PUBREC, PUBREL, PUBCOMP,
 *  UNSUBACK. */
function id(p: any): void {
  const x = p.messageId = num(p.messageId, 1);
  if (!x || (x & U16) !== x) fail(ERR_PACKET_ID, 'bad messageId ' + x);
}

/** s, unless `what` is 'topic' and s is not a topic name, or 'filter' and s is not a topic filter:
 *  not empty, wildcards only in a filter, each filling a whole level, '#' only the last
 *  [MQTT-3.3.2-2, MQTT-4.7.1-2, MQTT-4.7.1-3]. Inside the regex classes '/' is escaped: Espruino's
 *  lexer ends a regex literal at a bare one. */
function checkTopic(s: string, what: string): string {
  if ((what == 'topic' || what == 'filter') && (!s || (what == 'topic' ? /[+#]/ : /[^\/][+#]|[+#][^\/]|#./).test(s))) {
    fail(ERR_TOPIC, 'bad ' + what + ' ' + s);
  }
  return s;
}

/** The UTF-8 of string s, named `what`: well-formed UTF-8 without U+0000, up to 65535 bytes
 *  [MQTT-1.5.3-1, MQTT-1.5.3-2], else ERR_STRING; a topic name or filter by what checkTopic says. */
function utf8(s: unknown, what: string): Uint8Array {
  const b = typeof s == 'string' && utf8Bytes(s);
  if (!b || b.length > U16 || !(isAscii(s as string) || wellFormed(b))) fail(ERR_STRING, 'bad ' + what);
  checkTopic(s as string, what);
  return b as Uint8Array;
}

/** Payload, will payload or password: a string goes as UTF-8, undefined and null as nothing. */
function binary(x: unknown): Uint8Array {
  if (typeof x == 'string') x = utf8Bytes(x);
  return !isSet(x) ? EMPTY : x instanceof Uint8Array ? x : fail(ERR_PAYLOAD, 'payload not Uint8Array/string');
}

/** A field with a 2-byte length: a string named `what` (see utf8), or bytes without it. v written,
 *  or read; returned. */
function field(v: any, what?: string): any {
  if (W) {
    const b = what ? utf8(v, what) : binary(v);
    num(b.length > U16 ? fail(ERR_PAYLOAD, 'field over 65535 bytes') : b.length, 1);
    put(b);
    return v;
  }
  const n = num(0, 1);
  const b = body.subarray(pos, pos += n);
  if (pos > body.length) short();
  const s = what ? utf8String(b) : b;
  return s === undefined ? fail(ERR_STRING, 'bad ' + what) : checkTopic(s as string, what as string);
}

// The last topic validated, and its UTF-8: most programs publish to the same few topics.
let lastTopic: unknown;
let lastBytes: Uint8Array;

/** Throws a CodedError (ERR_TOPIC, ERR_STRING) unless topic may be published to; returns its UTF-8. */
export function validateTopic(topic: string): Uint8Array {
  if (topic !== lastTopic) {
    lastBytes = utf8(topic, 'topic');
    lastTopic = topic;
  }
  return lastBytes;
}

/** Throws a CodedError (ERR_TOPIC, ERR_STRING) unless filter may be subscribed to; returns its UTF-8. */
export function validateFilter(filter: string): Uint8Array {
  return utf8(filter, 'filter');
}

/** The packet id, then p[key]: a list of one entry at least [MQTT-3.8.3-3, MQTT-3.10.3-2], each
 *  written or read by fn. */
function list(p: any, key: string, fn: (x: any) => any): void {
  const l = p[key] || [];
  const r: any[] = [];
  id(p);
  if (W && !l.length) fail(ERR_FIELD, 'empty ' + key);
  do r.push(fn(l[r.length])); while (W ? r.length < l.length : pos < body.length);
  p[key] = r;
}

/** PINGREQ, PINGRESP, DISCONNECT: no fields. */
function none(): void {}

/** The coder of each packet type, by type number; 0 and 15 are reserved. encode() writes PUBLISH
 *  itself, on the hot path. */
const TYPES: ((p: any) => void)[] = [
  0 as any,
  function connect(p: any): void {
    const w = p.will || 0;
    if (field('MQTT', 'protocol') != 'MQTT' || num(4) != 4) bad('protocol');
    // flags: username, password, will retain, will QoS, will, clean session
    const f = num((isSet(p.username) ? 128 : 0) | (isSet(p.password) ? 64 : 0) |
      (w ? 4 | qos(w.qos) << 3 | (w.retain ? 32 : 0) : 0) | (p.clean === undefined || p.clean ? 2 : 0));
    // reserved bit 0 [MQTT-3.1.2-3]; will QoS and retain only with a will [MQTT-3.1.2-11]
    if (f & 1 || !(f & 4) && f & 56) bad('flags');
    if ((f & 192) == 64) bad('password: needs username'); // [MQTT-3.1.2-22]
    p.protocolId = 'MQTT';
    p.protocolVersion = 4;
    p.clean = !!(f & 2);
    const k = p.keepalive = num(p.keepalive || 0, 1);
    if ((k & U16) !== k) bad('keepalive ' + k);
    p.clientId = field(p.clientId || '', 'clientId');
    if (!(f & 2 || p.clientId)) bad('clientId: empty needs clean'); // [MQTT-3.1.3-7]
    if (f & 4) p.will = { qos: qos(f >> 3 & 3), retain: !!(f & 32), topic: field(w.topic, 'topic'), payload: field(w.payload) };
    if (f & 128) p.username = field(p.username, 'username');
    if (f & 64) p.password = field(p.password);
  },
  function connack(p: any): void {
    const f = num(p.sessionPresent ? 1 : 0);
    const rc = p.returnCode = num(p.returnCode);
    // session present is bit 0, the others reserved [MQTT-3.2.2-1]; return codes over 5 reserved
    if (f > 1 || (rc & 7) !== rc || rc > 5) bad('CONNACK');
    p.sessionPresent = !!f;
  },
  function publish(p: any): void {
    const e = 2 + (body[0] << 8 | body[1]);
    if (e > body.length) short();
    const s = E.toString(body.subarray(2, e));
    // one regex for the common case, an ASCII topic name without wildcards
    p.topic = !s || /[^\x01-\x7f]|[+#]/.test(s) ? field(0, 'topic') : s;
    pos = e;
    if (p.qos) id(p);
    p.payload = body.subarray(pos);
    pos = body.length;
  },
  id, // PUBACK
  id, // PUBREC
  id, // PUBREL
  id, // PUBCOMP
  function subscribe(p: any): void {
    list(p, 'subscriptions', function (s: any): object {
      s = s || 0;
      const t = field(s.topic, 'filter');
      const o = num(qos(s.qos));
      // options bits 7-2 are reserved [MQTT-3.8.3-4]
      if (o > 3) bad('options');
      return { topic: t, qos: qos(o) };
    });
  },
  function suback(p: any): void {
    list(p, 'granted', function (x: any): number {
      x = num(x);
      return x === 0x80 ? x : qos(x); // a granted QoS, or 0x80 for a refusal
    });
  },
  function unsubscribe(p: any): void {
    list(p, 'unsubscriptions', function (f: any): string {
      return field(f, 'filter');
    });
  },
  id, // UNSUBACK
  none, // PINGREQ
  none, // PINGRESP
  none, // DISCONNECT
];

/** The bytes of packet p. Throws a CodedError (see the ERR_ constants) if p may not be sent. */
export function encode(p: Packet | PublishInput): Uint8Array {
  let h: number;
  W = 1;
  if (p.cmd == 'publish') {
    // the common case, without the table; the topic field is written inline, not with field():
    // its calls cost ~28 µs per publish on Espruino 2v29 (bench/espruino-mqtt.ts)
    const q = qos(p.qos);
    const b = validateTopic(p.topic);
    h = 48 | q << 1 | (p.dup ? 8 : 0) | (p.retain ? 1 : 0);
    parts = [0 as any, [b.length >> 8, b.length & 255], b];
    size = 2 + b.length;
    if (q) id(p);
    put(binary(p.payload));
  } else {
    const t = CMDS.indexOf(p.cmd);
    if (!(t > 0)) fail(ERR_FIELD, 'bad cmd ' + p.cmd);
    h = t << 4 | Type.FLAGS_0010 >> t & 2;
    parts = [0 as any];
    size = 0;
    TYPES[t](Object.assign({}, p)); // a copy: the coders fill in what they read
  }
  let n = size;
  if (n > MAX_REMAINING) fail(ERR_PAYLOAD, 'packet over ' + MAX_REMAINING);
  // fixed header: first byte, then the remaining length, 7 bits a byte
  const head = parts[0] = [h];
  do head.push(n > 127 ? n & 127 | 128 : n); while ((n >>= 7));
  const out = E.toUint8Array(parts);
  parts = []; // let the payload go
  return out;
}

/** The packet with fixed-header first byte h and body b. */
function decodePacket(h: number, b: Uint8Array): Packet {
  const p = { cmd: CMDS[h >> 4], retain: !!(h & 1), qos: h >> 1 & 3, dup: !!(h & 8), length: b.length, topic: null, payload: null };
  W = 0;
  body = b;
  pos = 0;
  TYPES[h >> 4](p);
  if (pos < b.length) fail(ERR_MALFORMED, p.cmd + ' longer than content');
  body = EMPTY; // let the buffer go
  return p as any;
}

export interface OversizeInfo {
  cmd: string;
  /** remaining length */
  length: number;
  qos: number;
  /** for a QoS 1 or 2 PUBLISH, so that it can still be acknowledged */
  messageId?: number;
}

export interface DecoderSink {
  packet(p: Packet): void;
  /** A packet over maxPacketSize: reported without buffering it; its body is skipped. */
  oversize(info: OversizeInfo): void;
}

/**
 * Turns a byte stream into packets. push() takes chunks of any size; every complete packet goes to
 * sink.packet(), in order. A packet whose size (fixed header included) is over maxPacketSize
 * (default: any size) is never buffered: sink.oversize() gets its fixed header (plus the packet id
 * of a QoS 1 or 2 PUBLISH, read past the topic without keeping it) and its body is skipped.
 * On a malformed stream push() throws a CodedError after delivering the packets before the bad
 * one; then call reset(). A sink may call reset(): the rest of the chunk is dropped.
 */
export class Decoder {
  push: (chunk: Uint8Array) => void;
  reset: () => void;

  // The state lives in the constructor's closure: locals minify to one letter, `this.x` would not
  constructor(sink: DecoderSink, maxPacketSize?: number) {
    const max = maxPacketSize || MAX_REMAINING + 5;
    let c: Uint8Array = EMPTY; // the chunk being pushed; reset() empties it to stop
    let h = 0; // first byte of the fixed header, 0 until it arrives
    let n = 0; // remaining length
    let k = 0; // remaining-length bytes read
    let x = 0; // bytes to skip, before filling b
    let b: Uint8Array | 0 = 0; // bytes to fill, then given to done
    let g = 0; // bytes of b filled
    let done: (b: Uint8Array) => void;
    let f: number; // first byte of the packet whose body is being read
    let o: OversizeInfo;

    /** Fill `len` bytes (after the skip), then call fn with them. */
    function want(len: number, fn: (b: Uint8Array) => void): void {
      b = new Uint8Array(len);
      g = 0;
      done = fn;
    }

    function deliver(y: Uint8Array): void {
      sink.packet(decodePacket(f, y));
    }

    /** A packet over max: reported, its body skipped. Out of push(): Espruino reads past the text
     *  of every branch not taken, so the hot loop stays short. */
    function big(): void {
      o = { cmd: CMDS[f >> 4], length: n, qos: f >> 1 & 3 };
      x = n;
      if (f >> 4 == Type.PUBLISH && o.qos) {
        // the packet id, so that it can still be acknowledged: past the topic, not kept
        x = 0;
        want(2, function (t) {
          const l = t[0] << 8 | t[1];
          if (l + 4 > n) short();
          x = l;
          want(2, function (t) {
            x = n - 4 - l;
            o.messageId = t[0] << 8 | t[1] || fail(ERR_PACKET_ID, 'packet id 0');
            sink.oversize(o);
          });
        });
      } else sink.oversize(o);
    }

    this.reset = function () {
      h = x = b = 0;
      c = EMPTY;
    };

    this.push = function (chunk) {
      c = chunk;
      for (let i = 0, y: any, s; i < c.length;) {
        if (x || b) {
          // skip or fill: as many bytes as this chunk has, natively
          s = Math.min(x || (b as Uint8Array).length - g, c.length - i);
          if (x) x -= s;
          else {
            (b as Uint8Array).set(c.subarray(i, i + s), g);
            if ((g += s) == (b as Uint8Array).length) {
              y = b as Uint8Array;
              b = 0;
              done(y);
            }
          }
          i += s;
        } else if (h) {
          y = c[i++];
          n |= (y & 127) << 7 * k++;
          if (y < 128) {
            // the fixed header is complete; a body wholly in this chunk is read in place
            f = h;
            h = 0;
            if (1 + k + n > max) big();
            else if (i + n > c.length) want(n, deliver);
            else sink.packet(decodePacket(f, c.subarray(i, i += n)));
          } else if (k > 3) fail(ERR_MALFORMED, 'bad remaining length');
        } else {
          y = h = c[i++];
          s = y >> 4;
          n = k = 0;
          if (!TYPES[s] || (s == Type.PUBLISH ? (y & 6) == 6 : (y & 15) != (Type.FLAGS_0010 >> s & 2))) {
            fail(s == Type.PUBLISH ? ERR_QOS : ERR_MALFORMED, 'bad header ' + y);
          }
        }
      }
    };
  }
}
