// MQTT 3.1.1 client: the counterpart of umqtt.simple, event-driven. Bytes are handled as the
// Transport delivers them; nothing waits in a loop, and every wait has a timer.
// Size is RAM on the board, so: internals are named `_x` (the minifier shortens them), and work is
// done in module functions taking the client `c` (a local is one letter, `this._x` six).
// A request is its packet object: `_cb` its callback; once sent with a packet id it is the flight,
// kept in `_fl` in sending order until acknowledged (a PUBREC turns it into the PUBREL to resend).
// For a subclass (the robust client): the hooks are `_request`, `_up`, `_gone`, `_fail`, `_tick`,
// `_done`; `_q2` holds incoming QoS 2 ids awaiting PUBREL.
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
function trace(c: MQTTClient, d: string, p: any): void {
  (c._log as Function)(d + p.cmd + (p.messageId ? ' #' + p.messageId : '') + (p.topic ? ' ' + p.topic : ''));
}

/** Send packet p (b: its bytes, when already encoded). */
export function tx(c: MQTTClient, p: any, b?: Uint8Array): void {
  if (c._log) trace(c, '> ', p);
  c._tr.write(b || encode(p));
}

/** Something went wrong: report it ('error' if connected; else the attempt fails), close. */
function fatal(c: MQTTClient, e: CodedError): void {
  if (c._st == UP) c.emit('error', e);
  c._gone(e);
  if (c._live) c._tr.close();
}

/** The one timer: after ms, c._tick(w) (w: what a deadline waits for); no ms: none. 0 when unset:
 *  Espruino's clearTimeout(undefined) throws, clearTimeout(0) does not. */
export function arm(c: MQTTClient, ms?: number, w?: string): void {
  clearTimeout(c._t);
  c._w = w;
  c._t = ms ? setTimeout(function () {
    c._t = 0;
    c._tick(w);
  }, ms) : 0;
}

/** The index in `_fl` of the flight with packet id `id`, or -1. */
function find(c: MQTTClient, id: number): number {
  const f = c._fl;
  let i = f.length;
  while (i-- && f[i].messageId != id);
  return i;
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
    if (t == c._tr && c._st == OPENING) {
      c._st = WAIT;
      tx(c, { cmd: 'connect' }, c._pkt);
    }
  });
  t.on('data', function (d: Uint8Array) {
    if (t == c._tr && c._st > OPENING) {
      try {
        c._dec.push(d);
      } catch (e) {
        fatal(c, e as CodedError); // the stream cannot be trusted past a malformed packet
      }
    }
  });
  t.on('error', function (e: Error) {
    if (t == c._tr && !c._pend) c._gone(e as CodedError);
  });
  t.on('close', function () {
    if (t == c._tr) {
      c._live = false;
      if (!c._pend) c._gone(codedError(ERR_CLOSED, 'connection lost'));
      closed(c);
    }
  });
}

export class MQTTClient extends Emitter {
  /** Flights: requests sent with a packet id and not yet acknowledged, in sending order. */
  _fl: any[] = [];
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
    o.clientId = o.clientId ?? 'esp' + getSerial().replace(/[^0-9a-zA-Z]/g, '').slice(-20);
    c._pkt = encode(Object.assign({}, o, { cmd: 'connect', keepalive: ka }) as Packet);
    if (typeof t == 'function') {
      attach(c, c._tr = t());
      c._live = false;
    }
    c._ka = ka * 1000;
    c._cb = cb;
    c._st = OPENING;
    arm(c, o.connectTimeout || 10000, 'CONNACK');
    if (c._live) c._pend = true;
    else open(c);
  }

  /** Send a PUBLISH; opts: QoS or { qos, retain }. QoS 0: cb(null) once written; QoS 1/2: cb(err)
   *  when the flow completes or fails. Returns the packet id (0 for QoS 0). */
  publish(topic: string, payload: string | Uint8Array, opts?: number | { qos?: number; retain?: boolean },
    cb?: (err: CodedError | null) => void): number {
    const o: any = opts;
    return this._request({ cmd: 'publish', topic: topic, payload: payload, qos: typeof o == 'object' ? o && o.qos : o,
      retain: o && o.retain, _cb: cb });
  }

  /** Subscribe to one filter (at qos) or several [{ topic, qos }] at once; cb(err, granted QoS per
   *  filter). A SUBACK 0x80 for any filter gives MQTT_SUB_REFUSED naming it (granted still passed). */
  subscribe(filter: string | { topic: string; qos: number }[], qos?: number,
    cb?: (err: CodedError | null, granted?: number[]) => void): number {
    // qos 1: acknowledged, as the fixed header's flags say [MQTT-3.8.1-1]
    return this._request({ cmd: 'subscribe', qos: 1, subscriptions: typeof filter == 'string' ? [{ topic: filter, qos: qos || 0 }] : filter, _cb: cb });
  }

  unsubscribe(filter: string | string[], cb?: (err: CodedError | null) => void): number {
    return this._request({ cmd: 'unsubscribe', qos: 1, unsubscriptions: typeof filter == 'string' ? [filter] : filter, _cb: cb });
  }

  /** Send PINGREQ; without PINGRESP within pingTimeout the connection is closed as dead. */
  ping(): void {
    this._request({ cmd: 'pingreq' });
    if (!this._w) arm(this, this.opts.pingTimeout || 5000, 'PINGRESP');
  }

  /** Send DISCONNECT (the broker then drops the will) and close; cb() once the transport closed. */
  disconnect(cb?: () => void): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    if (c._st == UP) tx(c, { cmd: 'disconnect' });
    c._dcb = cb;
    c._gone();
    if (c._live) c._tr.close();
    else closed(c);
  }

  /** umqtt's set_callback: fn(topic, payload, packet) for every message; a 'message' listener. */
  setCallback(fn: MessageCallback): void { this.on('message', fn); }

  /** umqtt's set_last_will, for the next connect() (which validates it). */
  setLastWill(topic: string, payload: string | Uint8Array, qos: number, retain: boolean): void {
    this.opts.will = { topic: topic, payload: payload, qos: qos as any, retain: retain };
  }

  /** umqtt's check_msg. Never blocks, in any state: messages are handled as the transport delivers
   *  them, so there is nothing to wait for. Returns whether connected. */
  checkMsg(): boolean { return this._st == UP; }

  /** Decoder sink, not for apps: a complete packet (big: over maxPacketSize, skipped, only its
   *  header known). A throwing app callback must not break the decoder's stream: it is rethrown
   *  from a fresh timer, where Espruino reports it as uncaught. */
  packet(p: any, big?: any): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const k = p.cmd;
    const id = p.messageId;
    const q = p.qos;
    try {
      if (c._log) trace(c, '< ', p);
      // the common case first; then anything else before CONNACK, a second CONNACK [MQTT-3.2.0-1]
      // or a packet only clients send (the codec reads every type) is a protocol error
      if (k == 'publish' && c._st == UP) {
        if (q) {
          // QoS 2 is delivered once; a resend before PUBREL only gets its PUBREC again [MQTT-4.3.3-2]
          if (q > 1) {
            big = big || c._q2[id];
            c._q2[id] = 1;
          }
          tx(c, { cmd: q > 1 ? 'pubrec' : 'puback', messageId: id });
        }
        if (!big) c.emit('message', p.topic, p.payload, p);
      } else if ((k == 'connack') != (c._st == WAIT) || 'connect subscribe unsubscribe pingreq disconnect'.indexOf(k) >= 0) {
        fatal(c, codedError(ERR_PROTOCOL, 'unexpected ' + k));
      } else if (k == 'connack') {
        const rc = p.returnCode;
        if (rc) {
          const e: any = codedError(ERR_REFUSED, 'refused: 0x0' + rc + ' ' + REFUSED[rc]);
          e.returnCode = rc;
          fatal(c, e);
        } else c._up(!!p.sessionPresent);
      } else if (k == 'pubrel') {
        delete c._q2[id];
        tx(c, { cmd: 'pubcomp', messageId: id });
      } else if (k == 'pingresp') arm(c, c._ka);
      else {
        // PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK: matched to its flow by packet id, never by order
        const i = find(c, id);
        const f = c._fl[i];
        const g = p.granted;
        let bad = '';
        if (k == 'pubrec') {
          // PUBREL even for an unknown id, so the broker can finish the flow; the payload can go
          if (f) {
            f.cmd = 'pubrel';
            f.payload = 0;
          }
          tx(c, f || { cmd: 'pubrel', messageId: id });
        } else if (f) {
          c._fl.splice(i, 1);
          for (let j = 0; g && j < g.length; j++) if (g[j] & 0x80) bad += ' ' + f.subscriptions[j].topic;
          if (f._cb) f._cb(bad ? codedError(ERR_SUBACK, 'refused:' + bad) : null, g);
          c._done();
        }
      }
    } catch (e) {
      setTimeout(function () { throw e; }, 0);
    }
  }

  /** Decoder sink, not for apps: a packet over maxPacketSize, skipped (acknowledged if QoS 1/2). */
  oversize(i: OversizeInfo): void {
    this.oversized++;
    this.emit('oversize', i);
    this.packet(i, 1);
  }

  /** Encode request p (throws a CodedError on bad input, before anything is sent), then send it if
   *  connected; if it is to be acknowledged (qos), under a fresh packet id, as a flight. */
  _request(p: any): number {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    let id = 0;
    let n = 65535;
    // a packet id not in flight: 1..65535, wrapping [MQTT-2.3.1-1, MQTT-2.3.1-2]; none free (65535
    // in flight): the codec refuses the packet without one
    while (p.qos && !id && n--) {
      c._id = c._id % 65535 + 1;
      if (find(c, c._id) < 0) id = p.messageId = c._id;
    }
    const b = encode(p);
    if (c._st != UP) throw codedError(ERR_NOT_CONNECTED, 'not connected');
    if (id) c._fl.push(p);
    tx(c, p, b);
    if (!id && p._cb) p._cb(null);
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
    if (st) {
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
  }

  /** Fail every flight. A subclass keeping its session keeps them to resend. */
  _fail(err: CodedError): void {
    const f = this._fl;
    this._fl = [];
    for (let i = 0; i < f.length; i++) if (f[i]._cb) f[i]._cb(err);
  }

  /** The timer (see arm) ran out: a deadline missed (w) means the link is dead; else it is time for
   *  a PINGREQ, every keepalive interval [MQTT-3.1.2-23]. */
  _tick(w?: string): void {
    if (w) fatal(this, codedError(ERR_TIMEOUT, 'no ' + w));
    else this.ping();
  }

  /** A flight completed. */
  _done(): void {}
}
