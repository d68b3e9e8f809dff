// MQTT 3.1.1 packets as a client sends and receives them: encode() of CONNECT, PUBLISH, PUBACK,
// PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT, and a streaming Decoder of
// CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP. Importing
// ./codec-broker adds the other direction of every type to the same table (TYPES).
// Pure: no sockets, no timers. Packet objects use mqtt-packet's field names and values, with
// Uint8Array for binary fields. Needs E.toUint8Array and E.toString (in Node: as the simulated
// board installs them, see test/helpers/espruino-e.ts).
import { codedError } from '../error';
import { isAscii, utf8Bytes, utf8Empty, utf8String, wellFormed } from './utf8';

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
/** Received bytes that are not an MQTT 3.1.1 packet: unknown type (or one this side does not
 *  receive: a broker's packet type without codec-broker), reserved flag bits set wrong, remaining
 *  length over 4 bytes, lengths that disagree with the content, another protocol. */
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
/** Another field that may not be sent: cmd (unknown, or a broker's without codec-broker),
 *  keepalive, returnCode, password without username [MQTT-3.1.2-22], empty clientId without clean
 *  [MQTT-3.1.3-7], empty list. */
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
const FILTER = 'filter';

// Helpers marked "codec-broker" are exported under `_` names at the end: internal to the codec.

/** Writes (in encode) or reads (in decode) the fields of packet p after its fixed header. */
export type Coder = (p: any) => void;

/** codec-broker */
function fail(code: string, message: string): never {
  throw codedError(code, message);
}

/** QoS q, 0 if undefined; else ERR_QOS ('1', 1.5, -1 and null too). codec-broker */
function qos(q: unknown): QoS {
  if ([0, 1, 2][q as number] !== q) fail(ERR_QOS, 'bad QoS ' + q);
  return (q || 0) as QoS;
}

/** A SUBACK return code: a granted QoS, or 0x80 for a refusal. codec-broker */
function granted(x: unknown): number {
  return x === 0x80 ? x : qos(x);
}

/** x is neither undefined nor null. Never `x != null`: on Espruino that turns a Uint8Array into a
 *  string first (0.7 ms for 1 KB on a PC); written so that esbuild does not fold it into that. */
function isSet(x: unknown): boolean {
  return x === null ? false : x !== undefined;
}

// encode's output: the fixed header, then the rest as parts (numbers arrays, Uint8Arrays), joined
// by one native E.toUint8Array: no JavaScript loop per payload byte. encode and decode never re-enter.
let parts: ArrayLike<number>[] = [];
let size = 0;

/** codec-broker */
function put(x: ArrayLike<number>): void {
  parts.push(x);
  size += x.length;
}

function putU16(n: number): void {
  put([n >> 8, n & 255]);
}

/** A field with a 2-byte length: a string's UTF-8, a will payload, a password. */
function putField(b: Uint8Array): void {
  if (b.length > U16) fail(ERR_PAYLOAD, 'field over 65535 bytes');
  putU16(b.length);
  put(b);
}

/** The packet id, 1..65535 [MQTT-2.3.1-1]; also the whole of PUBACK, PUBREC, PUBREL, PUBCOMP,
 *  UNSUBACK. codec-broker */
function putId(p: any): void {
  const x = p.messageId;
  if (!x || (x & U16) !== x) fail(ERR_PACKET_ID, 'bad messageId ' + x);
  putU16(x);
}

/** The packet id, then p[key]: an array of one entry at least, each written by fn. codec-broker */
function putList(p: any, key: string, fn: (x: any) => void): void {
  const l = p[key];
  putId(p);
  if (!(l && l.length)) fail(ERR_FIELD, 'empty ' + key);
  l.forEach(fn);
}

/** s, if it is a topic name (what: 'topic') or filter (FILTER): not empty, wildcards only in a
 *  filter, each filling a whole level, '#' only the last. Inside the regex classes '/' is escaped:
 *  Espruino's lexer ends a regex literal at a bare one. codec-broker */
function checkTopic(s: string, what: string): string {
  if (!s || (what == FILTER ? /[^\/][+#]|[+#][^\/]|#./ : /[+#]/).test(s)) fail(ERR_TOPIC, 'bad ' + what + ' ' + s);
  return s;
}

/** The UTF-8 of s, a string of well-formed UTF-8 without U+0000, up to 65535 bytes
 *  [MQTT-1.5.3-1, MQTT-1.5.3-2], else ERR_STRING naming it `what`; with `topic` set, also a
 *  topic name or filter (checkTopic). */
function utf8(s: unknown, what: string, topic?: 1): Uint8Array {
  const b = typeof s == 'string' && utf8Bytes(s);
  if (!b || b.length > U16 || !(isAscii(s as string) || wellFormed(b))) fail(ERR_STRING, 'bad ' + what);
  if (topic) checkTopic(s as string, what);
  return b as Uint8Array;
}

/** Payload, will payload or password: a string goes as UTF-8, undefined and null as nothing. */
function binary(x: unknown): Uint8Array {
  if (!isSet(x)) return EMPTY;
  if (typeof x == 'string') x = utf8Bytes(x); // undefined for a lone surrogate
  return x instanceof Uint8Array ? x : fail(ERR_PAYLOAD, 'payload not Uint8Array/string');
}

// The last topic validated, and its UTF-8: most programs publish to the same few topics.
let lastTopic: unknown;
let lastBytes: Uint8Array;

/** Throws a CodedError (ERR_TOPIC, ERR_STRING) unless topic may be published to; returns its UTF-8. */
export function validateTopic(topic: string): Uint8Array {
  if (topic !== lastTopic) {
    lastBytes = utf8(topic, 'topic', 1);
    lastTopic = topic;
  }
  return lastBytes;
}

/** Throws a CodedError (ERR_TOPIC, ERR_STRING) unless filter may be subscribed to; returns its UTF-8. */
export function validateFilter(filter: string): Uint8Array {
  return utf8(filter, FILTER, 1);
}

function putFilter(f: string): void {
  putField(validateFilter(f));
}

// decode's input: the body of one packet, read from pos
let body: Uint8Array = EMPTY;
let pos = 0;

function truncated(): never {
  return fail(ERR_MALFORMED, 'packet shorter than content');
}

/** codec-broker */
function readByte(): number {
  return pos < body.length ? body[pos++] : truncated();
}

function readU16(): number {
  return readByte() << 8 | readByte();
}

/** A field with a 2-byte length. codec-broker */
function readBytes(): Uint8Array {
  const n = readU16();
  if (pos + n > body.length) truncated();
  return body.subarray(pos, pos += n);
}

/** codec-broker */
function readString(): string {
  const s = utf8String(readBytes());
  return s === undefined ? fail(ERR_STRING, 'bad UTF-8') : s;
}

/** A received packet id, which must not be 0 [MQTT-2.3.1-1]. */
function packetId(x: number): number {
  return x || fail(ERR_PACKET_ID, 'packet id 0');
}

/** The packet id; also the whole of PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK. */
function readId(p: any): void {
  p.messageId = packetId(readU16());
}

/** The packet id, then entries read by fn up to the end of the packet, one at least
 *  [MQTT-3.8.3-3, MQTT-3.10.3-2]. codec-broker */
function readList(p: any, fn: () => any): any[] {
  const l = [];
  readId(p);
  do l.push(fn()); while (pos < body.length);
  return l;
}

/** PINGREQ, PINGRESP, DISCONNECT: no fields. */
function none(): void {}

// ---- the client's side: what it sends, what it receives ----

function putConnect(p: any): void {
  const w = p.will;
  const k = p.keepalive || 0;
  const u = isSet(p.username);
  const pw = isSet(p.password);
  // flags: username, password, will retain, will QoS, will, clean session
  const f = (u ? 0x80 : 0) | (pw ? 0x40 : 0) | (w ? 4 | qos(w.qos) << 3 | (w.retain ? 0x20 : 0) : 0) |
    (p.clean === undefined || p.clean ? 2 : 0);
  if ((k & U16) !== k) fail(ERR_FIELD, 'bad keepalive ' + k);
  if (pw && !u) fail(ERR_FIELD, 'password needs username');
  if (!(f & 2 || p.clientId)) fail(ERR_FIELD, 'empty clientId needs clean');
  // protocol name 'MQTT', level 4 (3.1.1), flags, keepalive
  put([0, 4, 77, 81, 84, 84, 4, f, k >> 8, k & 255]);
  putField(utf8(p.clientId || '', 'clientId'));
  if (w) {
    putField(validateTopic(w.topic));
    putField(binary(w.payload));
  }
  if (u) putField(utf8(p.username, 'username'));
  if (pw) putField(binary(p.password));
}

/** Packet type names by type number. */
const CMDS = ',connect,connack,publish,puback,pubrec,pubrel,pubcomp,subscribe,suback,unsubscribe,unsuback,pingreq,pingresp,disconnect'.split(',');

/** The one table of packet types, by type number: [how encode writes it, how the Decoder reads
 *  it], 0 for a direction this side does not handle. The client's directions here; codec-broker
 *  fills in the broker's. Types 0 and 15 are reserved. codec-broker */
const TYPES: (Coder | 0)[][] = [
  [0, 0],
  [putConnect, 0],
  [0, function (p: any): void {
    const f = readByte();
    // session present is bit 0, the others reserved [MQTT-3.2.2-1]; return codes over 5 reserved
    if (f > 1 || (p.returnCode = readByte()) > 5) fail(ERR_MALFORMED, 'bad CONNACK');
    p.sessionPresent = !!f;
  }],
  // encode() writes PUBLISH itself
  [0, function (p: any): void {
    const e = 2 + (body[0] << 8 | body[1]);
    if (e > body.length) truncated();
    const s = E.toString(body.subarray(2, e));
    // one regex for the common case, an ASCII topic name without wildcards
    p.topic = !s || /[^\x01-\x7f]|[+#]/.test(s) ? checkTopic(readString(), 'topic') : utf8Empty ? (E as any).asUTF8(s) : s;
    pos = e;
    if (p.qos) readId(p);
    p.payload = body.subarray(pos);
    pos = body.length;
  }],
  [putId, readId], // PUBACK
  [putId, readId], // PUBREC
  [putId, readId], // PUBREL
  [putId, readId], // PUBCOMP
  [function (p: any): void {
    putList(p, 'subscriptions', function (s: any): void {
      putFilter((s || 0).topic);
      put([qos(s.qos)]);
    });
  }, 0],
  [0, function (p: any): void {
    p.granted = readList(p, function (): number { return granted(readByte()); });
  }],
  [function (p: any): void {
    putList(p, 'unsubscriptions', putFilter);
  }, 0],
  [0, readId], // UNSUBACK
  [none, 0], // PINGREQ
  [0, none], // PINGRESP
  [none, 0], // DISCONNECT
  [0, 0],
];

export {
  TYPES as _TYPES, fail as _fail, qos as _qos, granted as _granted, put as _put, putId as _putId,
  putList as _putList, checkTopic as _checkTopic, readByte as _readByte, readBytes as _readBytes,
  readString as _readString, readList as _readList,
};

/** The bytes of packet p. Throws a CodedError (see the ERR_ constants) if p may not be sent. */
export function encode(p: Packet | PublishInput): Uint8Array {
  let h: number;
  if (p.cmd == 'publish') {
    // the common case, without the table; the topic field is written inline, not with putField():
    // its calls cost ~28 µs per publish on Espruino 2v29 (bench/espruino-mqtt.ts), for 37 bytes saved
    const q = qos(p.qos);
    const b = validateTopic(p.topic);
    h = 48 | q << 1 | (p.dup ? 8 : 0) | (p.retain ? 1 : 0);
    parts = [0 as any, [b.length >> 8, b.length & 255], b];
    size = 2 + b.length;
    if (q) putId(p);
    put(binary(p.payload));
  } else {
    const t = CMDS.indexOf(p.cmd);
    const w = t > 0 && TYPES[t][0];
    if (!w) fail(ERR_FIELD, 'cmd ' + p.cmd + ' unsupported');
    h = t << 4 | Type.FLAGS_0010 >> t & 2;
    parts = [[]];
    size = 0;
    w(p);
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
  body = b;
  pos = 0;
  (TYPES[h >> 4][1] as Coder)(p);
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
    let n: number; // remaining length
    let k: number; // remaining-length bytes read
    let f: number; // first byte of the packet whose body is being read
    let b: Uint8Array | 0 = 0; // body being filled
    let g: number; // body bytes received
    let x = 0; // bytes of an oversize packet left to skip
    let q = 0; // 1 + bytes read of an oversize QoS 1/2 PUBLISH's topic length and packet id
    let a: number; // those bytes
    let o: OversizeInfo;

    this.reset = function () {
      h = x = q = b = 0;
      c = EMPTY;
    };

    this.push = function (chunk) {
      c = chunk;
      for (let i = 0, y, s; i < c.length;) {
        if (x || b) {
          // skip or fill: as many bytes as this chunk has, natively
          s = Math.min(x || (b as Uint8Array).length - g, c.length - i);
          if (x) x -= s;
          else {
            y = b as Uint8Array;
            y.set(c.subarray(i, i + s), g);
            if ((g += s) == y.length) {
              b = 0;
              sink.packet(decodePacket(f, y));
            }
          }
          i += s;
        } else {
          y = c[i++];
          if (q) {
            // an oversize QoS 1/2 PUBLISH: topic length, then (topic skipped) packet id
            a = a << 8 | y;
            if (++q == 3) {
              if ((x = a) + 4 > n) truncated();
            } else if (q > 4) {
              q = 0;
              x = n - 4 - (a >>> 16);
              o.messageId = packetId(a & U16);
              sink.oversize(o);
            }
          } else {
            if (!h) {
              s = y >> 4;
              // a type this side does not read is as bad as a reserved one
              if (!TYPES[s][1] || (s == Type.PUBLISH ? (y & 6) == 6 : (y & 15) != (Type.FLAGS_0010 >> s & 2))) {
                fail(s == Type.PUBLISH ? ERR_QOS : ERR_MALFORMED, 'bad fixed header 0x' + y.toString(16));
              }
              h = y;
              n = k = 0;
              y = c[i++];
            }
            // remaining-length bytes, as many as this chunk has (past its end y is undefined)
            while (y > 127) {
              n |= (y & 127) << 7 * k++;
              if (k > 3) fail(ERR_MALFORMED, 'remaining length over 4 bytes');
              y = c[i++];
            }
            if (y >= 0) {
              n |= y << 7 * k++;
              // the fixed header is complete
              f = h;
              h = g = a = 0;
              if (1 + k + n <= max) {
                // a body wholly in this chunk is read in place
                if (i + n <= c.length) sink.packet(decodePacket(f, c.subarray(i, i += n)));
                else b = new Uint8Array(n);
              } else {
                o = { cmd: CMDS[f >> 4], length: n, qos: f >> 1 & 3 };
                if (f >> 4 == Type.PUBLISH && o.qos) {
                  if (n < 4) truncated();
                  q = 1;
                } else {
                  x = n;
                  sink.oversize(o);
                }
              }
            }
          }
        }
      }
    };
  }
}
