// MQTT 3.1.1 packets: encode() and a streaming Decoder. Pure: no sockets, no timers.
// Packet objects use mqtt-packet's field names and values, with Uint8Array for binary fields.
import { codedError } from '../error';
import { SPEC_URI, isAscii, utf8Bytes, utf8String, wellFormed } from './utf8';

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
/** Another field that may not be sent: cmd, keepalive, returnCode, password without username
 *  [MQTT-3.1.2-22], empty clientId without clean [MQTT-3.1.3-7], empty list. */
export const ERR_FIELD = 'MQTT_FIELD';

/** Largest remaining length: 4 bytes of 7 bits. */
export const MAX_REMAINING = 268435455;

// The one table of packet types, by type number, shared by encode and decode
const CMDS = ',connect,connack,publish,puback,pubrec,pubrel,pubcomp,subscribe,suback,unsubscribe,unsuback,pingreq,pingresp,disconnect'.split(',');
const enum Type { CONNECT = 1, CONNACK, PUBLISH, PUBREL = 6, SUBSCRIBE = 8, SUBACK, UNSUBSCRIBE, PINGREQ = 12 }
/** The list field of SUBSCRIBE, SUBACK, UNSUBSCRIBE */
const LISTS: { [t: number]: string } = { 8: 'subscriptions', 9: 'granted', 10: 'unsubscriptions' };
/** Fixed header flags of PUBLISH */
const enum Flag { RETAIN = 1, QOS = 6, DUP = 8 }
const enum Connect { RESERVED = 1, CLEAN = 2, WILL = 4, WILL_QOS = 0x18, WILL_QOS_SHIFT = 3, WILL_RETAIN = 0x20, PASSWORD = 0x40, USERNAME = 0x80 }
const LEVEL = 4; // protocol level of MQTT 3.1.1
/** What a field holds, for field() */
const enum Kind { ID, STRING, TOPIC, FILTER, BINARY, QOS, GRANTED }
const SUBACK_FAILURE = 0x80;
const U16 = 65535;
const EMPTY = new Uint8Array(0);

function fail(code: string, message: string): never {
  throw codedError(code, message);
}

/** x is an integer in 0..max (and a number: '1' >>> 0 !== '1') */
function isUint(x: unknown, max: number): x is number {
  return (x as number) >>> 0 === x && x <= max;
}

/** x is neither undefined nor null. Never `x != null`: on Espruino that turns a Uint8Array into a
 *  string first (0.7 ms for 1 KB on a PC); written so that esbuild does not fold it into that. */
function isSet(x: unknown): boolean {
  return x === null ? false : x !== undefined;
}

/** Required fixed-header flags: 0b0010 for PUBREL, SUBSCRIBE, UNSUBSCRIBE, 0 for the others but PUBLISH. */
function fixedFlags(t: number): number {
  return t == Type.PUBREL || t == Type.SUBSCRIBE || t == Type.UNSUBSCRIBE ? 2 : 0;
}

function checkQos(q: unknown): QoS {
  if (q !== undefined && !isUint(q, 2)) fail(ERR_QOS, 'QoS ' + q + ', not 0..2');
  return (q || 0) as QoS;
}

function u16(n: number): number[] {
  return [n >> 8, n & 255];
}

/** The UTF-8 of MQTT string s; `what` names it in the error. */
function stringBytes(s: unknown, what: unknown): Uint8Array {
  const b = typeof s == 'string' && utf8Bytes(s);
  if (!b || b.length > U16 || ((SPEC_URI || !isAscii(s as string)) && !wellFormed(b))) {
    fail(ERR_STRING, what + ': not a string of UTF-8 without U+0000, up to 65535 bytes');
  }
  return b as Uint8Array;
}

/** Returns s if it is a topic name (kind TOPIC) or filter (kind FILTER), else throws ERR_TOPIC:
 *  not empty, wildcards only in a filter, each filling a whole level, '#' only the last. Inside the
 *  regex classes '/' is escaped: Espruino's lexer ends a regex literal at a bare one. */
function checkTopic(s: string, kind: Kind): string {
  if (!s || (kind == Kind.FILTER ? /[^\/][+#]|[+#][^\/]|#./ : /[+#]/).test(s)) {
    fail(ERR_TOPIC, kind == Kind.FILTER ? 'filter "' + s + '": use a/+/c or a/#' : 'topic "' + s + '": empty or with + or #');
  }
  return s;
}

/** Throws a CodedError (ERR_TOPIC, ERR_STRING) unless topic may be published to; returns its UTF-8. */
export function validateTopic(topic: string): Uint8Array {
  const b = stringBytes(topic, 'topic');
  checkTopic(topic, Kind.TOPIC);
  return b;
}

/** Throws a CodedError (ERR_TOPIC, ERR_STRING) unless filter may be subscribed to; returns its UTF-8. */
export function validateFilter(filter: string): Uint8Array {
  const b = stringBytes(filter, 'filter');
  checkTopic(filter, Kind.FILTER);
  return b;
}

function binaryBytes(x: unknown): Uint8Array {
  if (typeof x == 'string') return utf8Bytes(x) || fail(ERR_PAYLOAD, 'payload or password: a lone surrogate');
  if (x instanceof Uint8Array) return x;
  if (isSet(x)) fail(ERR_PAYLOAD, 'payload or password: not a Uint8Array or string');
  return EMPTY;
}

// The one encode or decode in progress: neither re-enters, sinks run after decoding. encode collects
// the bytes after the fixed header as parts, each copied whole by one native set() (no JavaScript
// loop per payload byte); decode reads body from pos.
let encoding = false;
let parts: ArrayLike<number>[] = [];
let body: Uint8Array = EMPTY;
let pos = 0;

function truncated(): never {
  return fail(ERR_MALFORMED, 'packet shorter than its content');
}

function readByte(): number {
  return pos < body.length ? body[pos++] : truncated();
}

function readU16(): number {
  return readByte() << 8 | readByte();
}

/** A field with a 2-byte length. */
function readBytes(): Uint8Array {
  const n = readU16();
  if (pos + n > body.length) truncated();
  return body.subarray(pos, pos += n);
}

/** Encodes o[key], or decodes a field into it. */
function field(kind: Kind, o: any, key: string | number): void {
  let x = o[key];
  if (encoding) {
    if (kind == Kind.ID) {
      if (!x || !isUint(x, U16)) fail(ERR_PACKET_ID, 'messageId ' + x + ', not 1..65535');
      parts.push(u16(x));
    } else if (kind > Kind.BINARY) parts.push([kind == Kind.GRANTED && x == SUBACK_FAILURE ? x : checkQos(x)]);
    else {
      x = kind == Kind.BINARY ? binaryBytes(x) : kind == Kind.STRING ? stringBytes(x, key) : kind == Kind.TOPIC ? validateTopic(x) : validateFilter(x);
      if (x.length > U16) fail(ERR_PAYLOAD, key + ' over 65535 bytes');
      parts.push(u16(x.length), x);
    }
  } else if (kind == Kind.ID) o[key] = readU16() || fail(ERR_PACKET_ID, 'received packet id 0');
  else if (kind > Kind.BINARY) {
    x = readByte();
    // SUBSCRIBE options bits 7-2 are reserved [MQTT-3.8.3-4]
    if (kind == Kind.QOS && x > 3) fail(ERR_MALFORMED, 'SUBSCRIBE options with reserved bits');
    o[key] = kind == Kind.GRANTED && x == SUBACK_FAILURE ? x : checkQos(x);
  } else if (kind == Kind.BINARY) o[key] = readBytes();
  else {
    x = utf8String(readBytes());
    if (x === undefined) fail(ERR_STRING, 'received string: not UTF-8, or with U+0000');
    o[key] = kind == Kind.STRING ? x : checkTopic(x, kind);
  }
}

/** Encodes or decodes the fields of packet p of type t after the fixed header (first byte h). */
function fields(p: any, t: number, h: number): void {
  let f = 0;
  let w = p.will;
  const k = p.keepalive || 0;
  if (t == Type.CONNECT) {
    if (encoding) {
      f = (p.clean === undefined || p.clean ? Connect.CLEAN : 0) | (isSet(p.username) ? Connect.USERNAME : 0) |
        (isSet(p.password) ? Connect.PASSWORD : 0) |
        (w ? Connect.WILL | checkQos(w.qos) << Connect.WILL_QOS_SHIFT | (w.retain ? Connect.WILL_RETAIN : 0) : 0);
      if (!isUint(k, U16)) fail(ERR_FIELD, 'keepalive ' + k + ', not 0..65535');
      if ((f & (Connect.USERNAME | Connect.PASSWORD)) == Connect.PASSWORD) fail(ERR_FIELD, 'password without username');
      if (!(f & Connect.CLEAN || p.clientId)) fail(ERR_FIELD, 'empty clientId without clean');
      // protocol name 'MQTT', level, flags, keepalive
      parts.push([0, 4, 77, 81, 84, 84, LEVEL, f], u16(k));
    } else {
      field(Kind.STRING, p, 'protocolId');
      const level = readByte();
      f = readByte();
      // reserved bit 0 [MQTT-3.1.2-3]; will QoS and retain only with a will [MQTT-3.1.2-11];
      // password only with username [MQTT-3.1.2-22]
      if (p.protocolId != 'MQTT' || level != LEVEL || f & Connect.RESERVED || (!(f & Connect.WILL) && f & (Connect.WILL_QOS | Connect.WILL_RETAIN)) ||
        (f & (Connect.USERNAME | Connect.PASSWORD)) == Connect.PASSWORD) {
        fail(ERR_MALFORMED, 'CONNECT: not MQTT 3.1.1, or reserved flags');
      }
      p.protocolVersion = LEVEL;
      p.clean = !!(f & Connect.CLEAN);
      p.keepalive = readU16();
      if (f & Connect.WILL) w = p.will = { retain: !!(f & Connect.WILL_RETAIN), qos: checkQos(f >> Connect.WILL_QOS_SHIFT & 3) };
    }
    field(Kind.STRING, encoding ? { clientId: p.clientId || '' } : p, 'clientId');
    if (f & Connect.WILL) {
      field(Kind.TOPIC, w, 'topic');
      field(Kind.BINARY, w, 'payload');
    }
    if (f & Connect.USERNAME) field(Kind.STRING, p, 'username');
    if (f & Connect.PASSWORD) field(Kind.BINARY, p, 'password');
  } else if (t == Type.CONNACK) {
    if (encoding) {
      if (!isUint(p.returnCode, 5)) fail(ERR_FIELD, 'returnCode ' + p.returnCode + ', not 0..5');
      parts.push([p.sessionPresent ? 1 : 0, p.returnCode]);
    } else {
      // session present is bit 0, the others reserved [MQTT-3.2.2-1]; return codes over 5 reserved
      if ((f = readByte()) > 1 || (p.returnCode = readByte()) > 5) fail(ERR_MALFORMED, 'CONNACK: reserved flags or code');
      p.sessionPresent = !!f;
    }
  } else if (t == Type.PUBLISH) {
    field(Kind.TOPIC, p, 'topic');
    if (h & Flag.QOS) field(Kind.ID, p, 'messageId');
    if (encoding) parts.push(binaryBytes(p.payload));
    else {
      p.payload = body.subarray(pos);
      pos = body.length;
    }
  } else if (t < Type.PINGREQ) {
    field(Kind.ID, p, 'messageId');
    const name = LISTS[t];
    if (name) {
      const l = encoding ? p[name] : p[name] = [];
      if (encoding && !(l && l.length)) fail(ERR_FIELD, name + ': empty');
      // decoding: one entry at least [MQTT-3.8.3-3, MQTT-3.10.3-2], up to the end
      for (let i = 0; encoding ? i < l.length : !i || pos < body.length; i++) {
        if (t == Type.SUBSCRIBE) {
          const s = encoding ? l[i] || {} : l[i] = {};
          field(Kind.FILTER, s, 'topic');
          field(Kind.QOS, s, 'qos');
        } else field(t == Type.SUBACK ? Kind.GRANTED : Kind.FILTER, l, i);
      }
    }
  }
}

/** The bytes of packet p. Throws a CodedError (see the ERR_ constants) if p may not be sent. */
export function encode(p: Packet | PublishInput): Uint8Array {
  const a = p as any;
  const t = CMDS.indexOf(a.cmd);
  if (t < 1) fail(ERR_FIELD, 'cmd "' + a.cmd + '": unknown');
  const h = t << 4 | (t == Type.PUBLISH ? checkQos(a.qos) << 1 | (a.dup ? Flag.DUP : 0) | (a.retain ? Flag.RETAIN : 0) : fixedFlags(t));
  encoding = true;
  parts = [];
  fields(a, t, h);
  let n = 0;
  for (let i = 0; i < parts.length; i++) n += parts[i].length;
  if (n > MAX_REMAINING) fail(ERR_PAYLOAD, 'packet over 268435455 bytes');
  // fixed header: first byte, then the remaining length, 7 bits a byte
  const head = [h];
  let m = n;
  do head.push(m > 127 ? m & 127 | 128 : m); while ((m >>= 7));
  const out = new Uint8Array(head.length + n);
  out.set(head);
  n = head.length;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i], n);
    n += parts[i].length;
  }
  parts = []; // let the payload go
  return out;
}

/** The packet with fixed-header first byte h and body b. */
function decodePacket(h: number, b: Uint8Array): Packet {
  const t = h >> 4;
  const p = { cmd: CMDS[t], retain: !!(h & Flag.RETAIN), qos: (h & Flag.QOS) >> 1, dup: !!(h & Flag.DUP), length: b.length, topic: null, payload: null };
  encoding = false;
  body = b;
  pos = 0;
  fields(p, t, h);
  if (pos < b.length) fail(ERR_MALFORMED, CMDS[t] + ' longer than its content');
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
    let h = 0; // first byte of the fixed header, 0 until it arrives
    let n = 0; // remaining length
    let k = 0; // remaining-length bytes read
    let f = 0; // first byte of the packet whose body is being read
    let b: Uint8Array | null = null; // body being filled
    let g = 0; // body bytes received
    let x = 0; // bytes of an oversize packet left to skip
    let q = 0; // 1 + bytes read of an oversize QoS 1/2 PUBLISH's topic length and packet id
    let a = 0; // those bytes
    let o: OversizeInfo;
    let run = 0; // bumped by reset(): a push() in progress stops

    this.reset = function () {
      h = x = q = 0;
      b = null;
      run++;
    };

    this.push = function (c) {
      const r = run;
      for (let i = 0; i < c.length && r == run;) {
        if (x) {
          const s = Math.min(x, c.length - i);
          i += s;
          x -= s;
        } else if (b) {
          const d = b;
          const s = Math.min(d.length - g, c.length - i);
          d.set(c.subarray(i, i += s), g);
          if ((g += s) == d.length) {
            b = null;
            sink.packet(decodePacket(f, d));
          }
        } else {
          const y = c[i++];
          if (q) {
            // an oversize QoS 1/2 PUBLISH: topic length, then (topic skipped) packet id
            a = a << 8 | y;
            if (++q == 3) {
              if ((x = a) + 4 > n) truncated();
            } else if (q > 4) {
              q = 0;
              x = n - 4 - (a >>> 16);
              o.messageId = (a & U16) || fail(ERR_PACKET_ID, 'received packet id 0');
              sink.oversize(o);
            }
          } else if (!h) {
            const t = y >> 4;
            if (!t || t > 14 || (t == Type.PUBLISH ? (y & Flag.QOS) == Flag.QOS : (y & 15) != fixedFlags(t))) {
              fail(t == Type.PUBLISH ? ERR_QOS : ERR_MALFORMED, 'fixed header 0x' + y.toString(16) + ': unknown type or reserved flags');
            }
            h = y;
            n = k = 0;
          } else {
            n |= (y & 127) << 7 * k++;
            if (y > 127) {
              if (k > 3) fail(ERR_MALFORMED, 'remaining length over 4 bytes');
            } else {
              // the fixed header is complete
              f = h;
              h = g = a = 0;
              if (1 + k + n <= max) {
                if (n) b = new Uint8Array(n);
                else sink.packet(decodePacket(f, EMPTY));
              } else {
                o = { cmd: CMDS[f >> 4], length: n, qos: (f & Flag.QOS) >> 1 };
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
