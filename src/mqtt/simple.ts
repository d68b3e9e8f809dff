// MQTT 3.1.1 client: the counterpart of umqtt.simple, event-driven. Bytes are handled as the
// Transport delivers them; nothing waits in a loop, and every wait has a timer.
// Size is RAM on the board, so: internals are named `_x` (the minifier shortens them), and work is
// done in module functions taking the client `c` (a local is one letter, `this._x` six).
// For a subclass (the robust client): the session is `_fl` (outgoing flows by packet id) and `_q2`
// (incoming QoS 2 ids awaiting PUBREL); the hooks are `_request`, `_up`, `_gone`, `_fail`, `packet`.
import { Emitter } from '../events';
import { codedError, CodedError } from '../error';
import { encode, Decoder, Packet, OversizeInfo, Will } from './codec';
import { Transport } from '../net/transport';

export interface MqttOptions {
  host: string;
  /** Default 1883. */
  port?: number;
  /** Default: 'esp' + the board's serial number (getSerial()), so two boards never share one; set
   *  here by connect(). */
  clientId?: string;
  /** Default true. */
  clean?: boolean;
  /** Seconds; default 60; 0 turns keepalive off. */
  keepalive?: number;
  username?: string;
  password?: string | Uint8Array;
  will?: Will;
  /** Milliseconds from connect() to CONNACK, TCP connect included; default 10000. */
  connectTimeout?: number;
  /** Milliseconds to wait for PINGRESP before declaring the link dead; default 5000. */
  pingTimeout?: number;
  /** Largest incoming packet in bytes; a bigger PUBLISH is skipped (still acknowledged). */
  maxPacketSize?: number;
  /** true: log every packet with print(); or a function taking each line. Never logs the password. */
  debug?: boolean | ((line: string) => void);
}

/** An outgoing flow awaiting its ack; `p` is the packet to resend on a new connection (the PUBLISH,
 *  or the PUBREL once PUBREC came). Subclasses add their own fields. */
export interface Flight { p: any; cb?: Function; [k: string]: any }

export type MessageCallback = (topic: string, payload: Uint8Array, packet: Packet) => void;

export const ERR_NOT_CONNECTED = 'MQTT_NOT_CONNECTED';
export const ERR_BUSY = 'MQTT_BUSY';
export const ERR_REFUSED = 'MQTT_REFUSED';
export const ERR_TIMEOUT = 'MQTT_TIMEOUT';
export const ERR_CLOSED = 'MQTT_CLOSED';
export const ERR_PROTOCOL = 'MQTT_PROTOCOL';
export const ERR_SUBACK = 'MQTT_SUB_REFUSED';

// CONNACK return codes 1..5 [MQTT-3.2.2.3]
const REFUSED = ',bad protocol,identifier rejected,unavailable,bad login,not authorised'.split(',');

// States: idle (0), transport connecting, waiting for CONNACK, connected
const OPENING = 1;
const WAIT = 2;
export const UP = 3;

/** Debug line per packet: direction, type, id, topic; never payloads or the password. */
export function trace(c: MQTTClient, d: string, p: any): void {
  if (c._log) c._log(d + p.cmd + (p.messageId ? ' #' + p.messageId : '') + (p.topic ? ' ' + p.topic : ''));
}

/** Send packet p (b: its bytes, when already encoded). */
export function tx(c: MQTTClient, p: any, b?: Uint8Array): void {
  trace(c, '> ', p);
  c._tr.write(b || encode(p));
}

/** Close (e: why; none for disconnect()). */
function end(c: MQTTClient, e?: CodedError): void {
  c._gone(e);
  if (c._live) c._tr.close();
}

/** Something went wrong on an open connection: report it, close. */
function fatal(c: MQTTClient, e: CodedError): void {
  if (c._st == UP) c.emit('error', e);
  end(c, e);
}

/** The one timer: with `w`, the deadline for w (missed: the link is dead); else the keepalive tick,
 *  a PINGREQ every keepalive interval [MQTT-3.1.2-23]; no ms: none. 0 when unset: Espruino's
 *  clearTimeout(undefined) throws, clearTimeout(0) does not. */
function arm(c: MQTTClient, ms?: number, w?: string): void {
  clearTimeout(c._t);
  c._w = w;
  c._t = ms ? setTimeout(function () {
    c._t = 0;
    if (w) fatal(c, codedError(ERR_TIMEOUT, 'no ' + w));
    else c.ping();
  }, ms) : 0;
}

function open(c: MQTTClient): void {
  c._pend = false;
  c._live = true;
  c._tr.connect(c.opts.host, c.opts.port || 1883);
}

/** The transport has no connection any more: finish disconnect(), start a connect() that waited. */
function closed(c: MQTTClient): void {
  const cb = c._dcb;
  c._dcb = null;
  if (cb) cb();
  if (c._pend) open(c);
}

/** Events of transport t; those of a transport replaced since, or of a connection closing while a
 *  connect() waits (`_pend`), are not this connection's. */
function attach(c: MQTTClient, t: Transport): void {
  t.on('connect', function () {
    if (t != c._tr || c._st != OPENING) return;
    c._st = WAIT;
    tx(c, { cmd: 'connect' }, c._pkt);
  });
  t.on('data', function (d: Uint8Array) {
    if (t != c._tr || c._st < WAIT) return;
    try {
      c._dec.push(d);
    } catch (e) {
      fatal(c, e as CodedError); // the stream cannot be trusted past a malformed packet
    }
  });
  t.on('error', function (e: Error) {
    if (t == c._tr && !c._pend) c._gone(e as CodedError);
  });
  t.on('close', function () {
    if (t != c._tr) return;
    c._live = false;
    if (!c._pend) c._gone(codedError(ERR_CLOSED, 'connection lost'));
    closed(c);
  });
}

/** An incoming packet (big: over maxPacketSize, skipped, only its header known). */
function receive(c: MQTTClient, p: any, big?: boolean): void {
  const k = p.cmd;
  const id = p.messageId;
  const q = p.qos;
  if (c._st < WAIT) return;
  if (c._log) trace(c, '< ', p);
  if (big) {
    c.oversized++;
    c.emit('oversize', p);
  }
  // CONNACK comes first and once [MQTT-3.2.0-1]
  if ((k == 'connack') != (c._st == WAIT)) fatal(c, codedError(ERR_PROTOCOL, 'unexpected ' + k));
  else if (k == 'publish') {
    // QoS 2 is delivered once; a resend before PUBREL only gets its PUBREC again [MQTT-4.3.3-2]
    const dup = q > 1 && c._q2[id];
    if (q > 1) c._q2[id] = 1;
    if (q) tx(c, { cmd: q > 1 ? 'pubrec' : 'puback', messageId: id });
    if (!dup && !big) {
      c.emit('message', p.topic, p.payload);
      if (c._mcb) c._mcb(p.topic, p.payload, p);
    }
  } else if (k == 'connack') {
    const rc = p.returnCode;
    if (rc) {
      const e: any = codedError(ERR_REFUSED, 'refused: 0x0' + rc + ' ' + REFUSED[rc]);
      e.returnCode = rc;
      end(c, e);
    } else c._up(!!p.sessionPresent);
  } else if (k == 'pubrel') {
    delete c._q2[id];
    tx(c, { cmd: 'pubcomp', messageId: id });
  } else if (k == 'pingresp') arm(c, c._ka);
  else {
    const f = c._fl[id];
    const g = p.granted;
    let bad = '';
    if (k == 'pubrec') {
      // PUBREL even for an unknown id, so the broker can finish the flow
      const rel = { cmd: 'pubrel', messageId: id };
      tx(c, rel);
      if (f) f.p = rel;
    } else if (f) {
      // PUBACK, PUBCOMP, SUBACK, UNSUBACK: matched to its flow by packet id, never by arrival order
      delete c._fl[id];
      for (let i = 0; g && i < g.length; i++) if (g[i] & 0x80) bad += ' ' + f.p.subscriptions[i].topic;
      if (f.cb) f.cb(bad ? codedError(ERR_SUBACK, 'refused:' + bad) : null, g);
    }
  }
}

export class MQTTClient extends Emitter {
  /** Outgoing flows awaiting their ack, by packet id. */
  _fl: { [id: number]: Flight } = {};
  /** Incoming QoS 2 packet ids delivered and awaiting PUBREL [MQTT-4.3.3-2]. */
  _q2: { [id: number]: 1 } = {};
  _st = 0;
  _tr!: Transport;
  _id = 0;
  _ka!: number;
  _t: any = 0;
  _w?: string;
  _cb?: Function | null;
  _dcb?: Function | null;
  _pkt!: Uint8Array;
  /** The transport has a connection whose 'close' has not come yet; a connect() waits for it. */
  _live?: boolean;
  _pend?: boolean;
  _dec: Decoder;
  _log?: false | ((line: string) => void);
  _mcb?: MessageCallback;
  _tf: Transport | (() => Transport);
  /** Incoming packets skipped for exceeding maxPacketSize. */
  oversized = 0;

  /** transport: one Transport reused for every connection, or a function making a new one each time. */
  constructor(public opts: MqttOptions, transport: Transport | (() => Transport)) {
    super();
    const d = opts.debug;
    this._log = d === true ? print : d;
    this._dec = new Decoder(this, opts.maxPacketSize);
    this._tf = transport;
    if (typeof transport != 'function') attach(this, this._tr = transport);
  }

  get connected(): boolean { return this._st == UP; }

  /** Open the connection; cb(err, sessionPresent) once CONNACK accepts it or the attempt fails
   *  (without cb a failure goes to the 'error' event). Throws a CodedError on bad options. */
  connect(cb?: (err: CodedError | null, sessionPresent?: boolean) => void): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const o = c.opts;
    const ka = o.keepalive ?? 60;
    const t = c._tf;
    if (c._st) throw codedError(ERR_BUSY, 'disconnect() first');
    // the codec validates, and defaults clean to true; [MQTT-3.1.3-5] accepts 1..23 of 0-9a-zA-Z.
    // The end of the serial: boards of one batch differ there (an STM32's lot number comes first).
    o.clientId = o.clientId ?? 'esp' + String(getSerial()).replace(/[^0-9a-zA-Z]/g, '').slice(-20);
    c._pkt = encode(Object.assign({}, o, { cmd: 'connect', keepalive: ka }) as Packet);
    c._ka = ka * 1000;
    c._cb = cb;
    c._st = OPENING;
    arm(c, o.connectTimeout || 10000, 'CONNACK');
    if (typeof t == 'function') {
      attach(c, c._tr = t());
      c._live = false;
    }
    if (c._live) c._pend = true;
    else open(c);
  }

  /** Send a PUBLISH; opts: QoS or { qos, retain }. QoS 0: cb(null) once written; QoS 1/2: cb(err)
   *  when the flow completes or fails. Returns the packet id (0 for QoS 0). */
  publish(topic: string, payload: string | Uint8Array, opts?: number | { qos?: number; retain?: boolean },
    cb?: (err: CodedError | null) => void): number {
    const o: any = opts && typeof opts == 'object' ? opts : { qos: opts };
    return this._request({ cmd: 'publish', topic: topic, payload: payload, qos: o.qos, retain: o.retain }, o.qos, cb);
  }

  /** Subscribe to one filter (at qos) or several [{ topic, qos }] at once; cb(err, granted QoS per
   *  filter). A SUBACK 0x80 for any filter gives MQTT_SUB_REFUSED naming it (granted still passed). */
  subscribe(filter: string | { topic: string; qos: number }[], qos?: number,
    cb?: (err: CodedError | null, granted?: number[]) => void): number {
    return this._request({ cmd: 'subscribe', subscriptions: typeof filter == 'string' ? [{ topic: filter, qos: qos || 0 }] : filter }, 1, cb);
  }

  unsubscribe(filter: string | string[], cb?: (err: CodedError | null) => void): number {
    return this._request({ cmd: 'unsubscribe', unsubscriptions: typeof filter == 'string' ? [filter] : filter }, 1, cb);
  }

  /** Send PINGREQ; without PINGRESP within pingTimeout the connection is closed as dead. */
  ping(): void {
    this._request({ cmd: 'pingreq' });
    if (!this._w) arm(this, this.opts.pingTimeout || 5000, 'PINGRESP');
  }

  /** Send DISCONNECT (the broker then drops the will) and close; cb() once the transport closed. */
  disconnect(cb?: () => void): void {
    if (this._st == UP) tx(this, { cmd: 'disconnect' });
    this._dcb = cb;
    end(this);
    if (!this._live) closed(this);
  }

  /** umqtt's set_callback: fn(topic, payload, packet) for every message, besides the 'message' event. */
  setCallback(fn: MessageCallback): void { this._mcb = fn; }

  /** umqtt's set_last_will, for the next connect() (which validates it). */
  setLastWill(topic: string, payload: string | Uint8Array, qos: number, retain: boolean): void {
    this.opts.will = { topic: topic, payload: payload, qos: qos as any, retain: retain };
  }

  /** umqtt's check_msg. Never blocks, in any state: messages are handled as the transport delivers
   *  them, so there is nothing to wait for. Returns whether connected. */
  checkMsg(): boolean { return this._st == UP; }

  /** Decoder sink, not for apps: a complete packet. A throwing app callback must not break the
   *  decoder's stream: it is rethrown from a fresh timer, where Espruino reports it as uncaught. */
  packet(p: Packet, big?: boolean): void {
    try {
      receive(this, p, big);
    } catch (e) {
      setTimeout(function () { throw e; }, 0);
    }
  }

  /** Decoder sink, not for apps: a packet over maxPacketSize, skipped (acknowledged if QoS 1/2). */
  oversize(i: OversizeInfo): void { this.packet(i as any, true); }

  /** Encode p (throws a CodedError on bad input, before anything is sent), then send it if connected;
   *  if it is to be acknowledged (ack truthy), under a fresh packet id, tracked in `_fl`. */
  _request(p: any, ack?: any, cb?: Function): number {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    let id = 0;
    let n = 65535;
    // a packet id not in flight: 1..65535, wrapping [MQTT-2.3.1-1, MQTT-2.3.1-2]; none free (65535
    // in flight): the codec refuses the packet without one
    while (ack && !id && n--) {
      c._id = c._id % 65535 + 1;
      if (!c._fl[c._id]) id = p.messageId = c._id;
    }
    const b = encode(p);
    if (c._st != UP) throw codedError(ERR_NOT_CONNECTED, 'not connected');
    if (id) c._fl[id] = { p: p, cb: cb };
    tx(c, p, b);
    if (!id && cb) cb(null);
    return id;
  }

  /** CONNACK accepted. A subclass resends its session here. */
  _up(sp: boolean): void {
    const cb = this._cb;
    this._st = UP;
    this._cb = null;
    // no session on the broker: the stored QoS 2 ids belonged to one that is gone
    if (!sp) this._q2 = {};
    arm(this, this._ka);
    if (cb) cb(null, sp);
    this.emit('connected', sp);
  }

  /** The connection is over: stop the timer, fail what waited on it, report. Once per connection. */
  _gone(err?: CodedError): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const st = c._st;
    const cb = c._cb;
    const e = err || codedError(ERR_CLOSED, 'disconnect()');
    if (!st) return;
    c._st = 0;
    c._pend = false;
    c._cb = null;
    arm(c);
    c._dec.reset();
    c._fail(e);
    if (st == UP) c.emit('disconnected', err);
    else if (cb) cb(e);
    else c.emit('error', e);
  }

  /** Fail every flow in flight. A subclass keeping its session keeps them to resend. */
  _fail(err: CodedError): void {
    const f = this._fl;
    this._fl = {};
    for (const id in f) if (f[id].cb) (f[id].cb as Function)(err);
  }
}
