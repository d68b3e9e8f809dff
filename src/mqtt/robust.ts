// The robust client: the simple client kept connected, losing nothing it accepted, never hanging,
// spinning or recursing. Every wait is one timer (`_rt`); reconnects are attempts started from it.
//
// - Loss (transport error, PINGRESP timeout, broker close): capped exponential backoff with jitter,
//   no attempt while the PHY link is down, one at once when it comes back up.
// - The session: outgoing flows stay in `_fl` across connections and are resent in their original
//   order (`_s`) with their packet ids, PUBLISH with DUP=1, PUBREL where PUBREC came [MQTT-4.4.0-1];
//   with no session on the broker, the subscriptions are restored in one SUBSCRIBE.
// - Requests made offline, or beyond maxInflight, wait in a queue bounded by count and bytes.
// - Host names are resolved by the transport at each attempt; src/net/dns.ts keeps serving the last
//   known address when DNS fails.
import { MQTTClient, MqttOptions, Flight, UP, ERR_CLOSED, ERR_NOT_CONNECTED, tx } from './simple';
import { encode } from './codec';
import { codedError, CodedError } from '../error';
import { Transport } from '../net/transport';

/** The network layer's link state, e.g. the W5500 driver: 'link' (up) events and linkUp(). */
export interface LinkSource {
  on(event: 'link', fn: (up: boolean) => void): unknown;
  linkUp(): boolean;
}

export interface RobustOptions extends MqttOptions {
  /** Reconnect delay after the first failure, ms (default 1000); doubles per failure up to reconnectMax. */
  reconnectMin?: number;
  /** Cap of the reconnect delay, ms (default 60000); also the delay after being kicked off. */
  reconnectMax?: number;
  /** Give up after this many failed attempts in a row (default 0: never). */
  maxRetries?: number;
  /** No attempts while its link is down; an attempt as soon as it is up. */
  link?: LinkSource;
  /** Outgoing flows (QoS 1/2 publishes, subscribes, unsubscribes) in flight at once; default 10. */
  maxInflight?: number;
  /** Queue bounds: requests (default 50) and bytes as encoded (default 8192). */
  queueMax?: number;
  queueBytes?: number;
  /** A full queue drops its oldest request (true) or rejects the newest (default). */
  dropOldest?: boolean;
  /** Queue QoS 0 publishes while offline too (default: they fail with MQTT_NOT_CONNECTED). */
  queueQos0?: boolean;
  /** A request not acknowledged within this many ms of the call fails with MQTT_EXPIRED, however
   *  many times it was sent (default 0: no deadline). PUBREL flows are exempt: the broker has the message. */
  deadline?: number;
}

/** A request waiting for its turn: packet, ack wanted, callback, deadline, encoded size. */
interface Entry { p: any; a?: any; cb?: Function; _d: number; _n?: any }

export const ERR_QUEUE_FULL = 'MQTT_QUEUE_FULL';
export const ERR_EXPIRED = 'MQTT_EXPIRED';
export const ERR_KICKED = 'MQTT_KICKED';

// Period of the offline tick: deadlines are checked and the link is watched at this pace.
const TICK = 1000;
// Closed by the broker this soon after CONNACK, three times in a row: kicked off.
const KICK_MS = 5000;

function log(c: RobustClient, s: string): void {
  if (c._log) c._log(s);
}

function later(c: RobustClient, ms: number): void {
  clearTimeout(c._rt);
  // eslint-disable-next-line no-use-before-define -- tick and later call each other, from timers
  c._rt = setTimeout(function () { c._rt = 0; tick(c); }, ms);
}

/** Past its deadline; a PUBREL flow never is: the broker has the message. */
function dead(e: Entry | Flight, now: number): any {
  return e._d && now > e._d && e.p.cmd != 'pubrel';
}

/** Room in the in-flight window. */
function room(c: RobustClient): boolean {
  return Object.keys(c._fl).length < (c.opts.maxInflight || 10);
}

function fail(c: RobustClient, e: Entry | Flight, code: string, msg: string): void {
  if (code == ERR_EXPIRED) c.expired++;
  else c.dropped++;
  if (e.cb) e.cb(codedError(code, msg));
}

/** Fail the requests past their deadline, queued or (offline) in flight. */
function sweep(c: RobustClient): void {
  const now = Date.now();
  const q = c._q;
  const fl = c._fl;
  for (let i = q.length; i--;) {
    if (dead(q[i], now)) {
      c._qb -= q[i]._n;
      fail(c, q.splice(i, 1)[0], ERR_EXPIRED, 'expired');
    }
  }
  for (const id in fl) {
    if (dead(fl[id], now)) {
      fail(c, fl[id], ERR_EXPIRED, 'expired');
      delete fl[id];
    }
  }
}

/** Schedule the next attempt: capped exponential backoff with jitter, or give up. */
function retry(c: RobustClient, err?: CodedError): void {
  const o = c.opts;
  const n = ++c._n;
  const max = o.reconnectMax || 60000;
  // kicked off: the other device's reconnects would kick us again, so wait the longest
  let ms = c._kick > 2 ? max : Math.min(max, (o.reconnectMin || 1000) * Math.pow(2, n - 1));
  if (o.maxRetries && n > o.maxRetries) {
    log(c, 'giving up after ' + o.maxRetries + ' attempts');
    c._on = false;
    c._fail(err as CodedError);
    if (c._ucb) c._ucb(err);
    c._ucb = null;
    c.emit('giveup', err);
    return;
  }
  ms = ms / 2 + Math.random() * ms / 2;
  c._due = Date.now() + ms;
  log(c, 'reconnect ' + n + ' in ' + (ms / 1000).toFixed(1) + ' s');
  c.emit('reconnect', n, ms);
  later(c, Math.min(ms, TICK));
}

/** While offline: expire what is due, watch the link, start the attempt when its time comes. */
function tick(c: RobustClient): void {
  const l = c.opts.link;
  const w = c._due - Date.now();
  if (!c._on || c._st) return;
  sweep(c);
  const wait = l && !l.linkUp() ? TICK : Math.min(w, TICK);
  if (wait > 0) later(c, wait);
  else {
    try {
      c._go();
    } catch (e) {
      c.emit('error', e); // options made invalid since connect(): keep trying, they may be fixed
      retry(c, e as CodedError);
    }
  }
}

/** Send queued requests while connected, in order, as the in-flight window allows. */
function drain(c: RobustClient): void {
  const q = c._q;
  while (c._st == UP && q.length && room(c)) {
    c._qb -= q[0]._n;
    c._send(q.shift() as Entry);
  }
}

/**
 * Events, besides the simple client's: 'reconnect' (attempt, delayMs) an attempt is scheduled;
 * 'connected' (sessionPresent) on every success; 'giveup' (err) after maxRetries failures in a
 * row; 'kicked' (err) closed right after connecting, repeatedly: another client with the same id.
 * A failed attempt is an 'error'. connect(cb): cb at the first success, or when giving up.
 */
export class RobustClient extends MQTTClient {
  declare opts: RobustOptions;
  /** Requests failed because the queue was full (either policy), or QoS 0 while offline. */
  dropped = 0;
  /** Requests failed past their deadline. */
  expired = 0;
  _q: Entry[] = [];
  _qb = 0;
  /** Subscriptions made, filter → QoS, to restore when the broker has no session. */
  _subs: { [f: string]: number } = {};
  /** Reconnecting is on (connect() called; not disconnect(), not given up). */
  _on?: boolean;
  /** Failed attempts in a row; time of the next attempt; the one timer. */
  _n!: number;
  _due!: number;
  _rt: any = 0;
  /** Flight sequence number, for resending in the original order. */
  _seq = 0;
  /** Connections kicked off in a row (see _gone); when the last began; link lost during it. */
  _kick = 0;
  _t0!: number;
  _down?: boolean;
  _ucb?: Function | null;

  constructor(opts: RobustOptions, transport: Transport | (() => Transport)) {
    super(opts, transport);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const l = opts.link;
    if (l) {
      l.on('link', function (up: boolean) {
        c._down = c._down || !up;
        if (!up) log(c, 'link down - waiting');
        // still connected: a ping finds out whether the connection survived
        else if (c._st == UP) c.ping();
        else if (c._on && !c._st) {
          log(c, 'link up - reconnecting');
          c._n = c._due = 0;
          tick(c);
        }
      });
    }
  }

  /** Connect, and stay connected; throws a CodedError on bad options. */
  connect(cb?: (err: CodedError | null, sessionPresent?: boolean) => void): void {
    const l = this.opts.link;
    this._on = true;
    this._ucb = cb;
    this._n = this._due = 0;
    clearTimeout(this._rt);
    this._rt = 0;
    if (l && !l.linkUp()) tick(this);
    else this._go();
  }

  /** Stop reconnecting, close, and fail what is queued or in flight with MQTT_CLOSED. */
  disconnect(cb?: () => void): void {
    this._on = false;
    clearTimeout(this._rt);
    this._rt = 0;
    super.disconnect(cb);
    this._fail(codedError(ERR_CLOSED, 'disconnect()')); // when offline, _gone did not
  }

  packet(p: any, big?: boolean): void {
    super.packet(p, big);
    drain(this); // an ack may have made room in the window
  }

  _go(): void {
    super.connect();
  }

  /** Sent now if connected with room in the window (QoS 0: if connected), else queued. Returns the
   *  packet id, 0 if queued. Bad input throws before anything is sent or queued. */
  _request(p: any, ack?: any, cb?: Function): number {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const o = c.opts;
    const q = c._q;
    const e: Entry = { p: p, a: ack, cb: cb, _d: o.deadline ? Date.now() + o.deadline : 0 };
    const l = p.subscriptions || p.unsubscriptions || [];
    const now = c._st == UP && (!ack || !q.length && room(c));
    let id = 0;
    if (p.cmd == 'pingreq') return super._request(p);
    if (now) id = c._send(e);
    else {
      if (ack) p.messageId = 1; // for the codec's check; the real one is given when sent
      e._n = encode(p).length; // validates
    }
    // recorded once valid; an unsubscribe removes them at once, so they are not restored meanwhile
    for (let i = 0; i < l.length; i++) {
      if (l[i].topic) c._subs[l[i].topic] = l[i].qos;
      else delete c._subs[l[i]];
    }
    if (now) return id;
    if (!ack && !o.queueQos0) fail(c, e, ERR_NOT_CONNECTED, 'not connected');
    else {
      q.push(e);
      c._qb += e._n;
      // over a bound: the oldest goes, or the newest (this one) is refused
      while (q.length > (o.queueMax || 50) || c._qb > (o.queueBytes || 8192)) {
        const x = (o.dropOldest ? q.shift() : q.pop()) as Entry;
        c._qb -= x._n;
        fail(c, x, ERR_QUEUE_FULL, 'queue full');
      }
    }
    return 0;
  }

  /** Send e now; its flight keeps e's deadline and gets its place in the resend order. */
  _send(e: Entry): number {
    const id = super._request(e.p, e.a, e.cb);
    const f = this._fl[id];
    if (f) {
      f._s = ++this._seq;
      f._d = e._d;
    }
    return id;
  }

  /** CONNACK accepted: resend the session in its original order, restore the subscriptions if the
   *  broker has none, then report, then send what waited. */
  _up(sp: boolean): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const fl = c._fl;
    const subs = [];
    const cb = c._ucb;
    sweep(c);
    const ids = Object.keys(fl).sort(function (a: any, b: any) { return fl[a]._s - fl[b]._s; });
    c._st = UP;
    c._t0 = Date.now();
    c._down = false;
    c._n = 0;
    c._ucb = null;
    for (let i = 0; i < ids.length; i++) {
      fl[ids[i] as any].p.dup = true; // only PUBLISH has the flag [MQTT-3.3.1-1]
      tx(c, fl[ids[i] as any].p);
    }
    if (ids.length) log(c, 'resent ' + ids.length + ' in-flight messages');
    if (!sp) for (const t in c._subs) subs.push({ topic: t, qos: c._subs[t] });
    if (subs.length) {
      log(c, 'restoring ' + subs.length + ' subscriptions');
      c._send({ p: { cmd: 'subscribe', subscriptions: subs }, a: 1, _d: 0,
        cb: function (err: CodedError) { if (err) c.emit('error', err); } });
    }
    super._up(sp);
    if (cb) cb(null, sp);
    drain(c);
  }

  /** A connection ended or an attempt failed: schedule the next attempt. */
  _gone(err?: CodedError): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const st = c._st;
    // Kicked off: closed by the broker right after CONNACK, the link up, each time after an attempt
    // that succeeded at once (a broker restarting refuses some first). Anything else resets the count.
    const kicked = st == UP && !c._down && err && err.code == ERR_CLOSED && Date.now() - c._t0 < KICK_MS;
    super._gone(err);
    if (!st || !c._on) return;
    c._kick = kicked ? c._kick + 1 : 0;
    if (st == UP) {
      log(c, 'disconnected (' + (err && err.message) + ')');
      if (c._kick > 2) {
        const k = codedError(ERR_KICKED, 'kicked off ' + c._kick + ' times: another device with id ' + c.opts.clientId + '?');
        log(c, k.message);
        c.emit('kicked', k);
      }
    }
    retry(c, err);
  }

  /** Keep the session while reconnecting; otherwise fail it, and the queue. */
  _fail(err: CodedError): void {
    const q = this._q;
    if (this._on) return;
    super._fail(err);
    this._q = [];
    this._qb = 0;
    for (let i = 0; i < q.length; i++) if (q[i].cb) (q[i].cb as Function)(err);
  }
}
