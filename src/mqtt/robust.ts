// The robust client: the simple client kept connected, losing nothing it accepted, never hanging,
// spinning or recursing. Every wait is the simple client's one timer; while offline it ticks
// `_tick`, which starts the attempts.
//
// - Loss (transport error, PINGRESP timeout, broker close): capped exponential backoff with jitter,
//   no attempt while the PHY link is down, one at once when it comes back up.
// - The session: flights stay in `_fl` across connections and are resent in their original order
//   with their packet ids, PUBLISH with DUP=1, PUBREL where PUBREC came [MQTT-4.4.0-1]; with no
//   session on the broker, the subscriptions are restored in one SUBSCRIBE.
// - Requests made offline, or beyond maxInflight, wait in `_q` bounded by count and bytes (`_n` of
//   each: its encoded size; `_d`: its deadline).
// - Host names are resolved by the transport at each attempt; src/net/dns.ts keeps serving the last
//   known address when DNS fails.
import { MQTTClient, MqttOptions, UP, ERR_CLOSED, ERR_NOT_CONNECTED, tx, arm } from './simple';
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

export const ERR_QUEUE_FULL = 'MQTT_QUEUE_FULL';
export const ERR_EXPIRED = 'MQTT_EXPIRED';
export const ERR_KICKED = 'MQTT_KICKED';

// Period of the offline tick: deadlines are checked and the link is watched at this pace.
const TICK = 1000;
// Closed by the broker this soon after CONNACK, three times in a row: kicked off.
const KICK_MS = 5000;

/** Fail request p with code, counted. */
function drop(c: RobustClient, p: any, code: string, msg: string): void {
  if (code == ERR_EXPIRED) c.expired++;
  else c.dropped++;
  if (p._cb) p._cb(codedError(code, msg));
}

/** Room in the in-flight window. */
function room(c: RobustClient): boolean {
  return c._fl.length < (c.opts.maxInflight || 10);
}

/** Fail the requests past their deadline, queued or (offline) in flight; never a PUBREL flow: the
 *  broker has the message. */
function sweep(c: RobustClient): void {
  const now = Date.now();
  for (let k = 0; k < 2; k++) {
    const l = k ? c._fl : c._q;
    for (let i = l.length; i--;) {
      const p = l[i];
      if (p._d && now > p._d && p.cmd != 'pubrel') {
        l.splice(i, 1);
        if (!k) c._qb -= p._n;
        drop(c, p, ERR_EXPIRED, 'expired');
      }
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
    c._on = false;
    c._fail(err as CodedError);
    if (c._cb) c._cb(err);
    c.emit('giveup', err);
  } else {
    ms = ms / 2 + Math.random() * ms / 2;
    c._due = Date.now() + ms;
    c.emit('reconnect', n, ms);
    arm(c, Math.min(ms, TICK));
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
  /** Requests waiting to be sent, and their encoded bytes. */
  _q: any[] = [];
  _qb = 0;
  /** Subscriptions made, filter → QoS, to restore when the broker has no session. */
  _subs: { [f: string]: number } = {};
  /** Reconnecting is on (connect() called; not disconnect(), not given up). */
  _on?: boolean;
  /** Failed attempts in a row; time of the next attempt. */
  _n!: number;
  _due!: number;
  /** Connections kicked off in a row (see _gone); when the last began; link lost during it. */
  _kick = 0;
  _t0!: number;
  _down?: boolean;

  constructor(opts: RobustOptions, transport: Transport | (() => Transport)) {
    super(opts, transport);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const l = opts.link;
    if (l) {
      l.on('link', function (up: boolean) {
        const log = c._log;
        c._down = c._down || !up;
        if (!up) {
          if (log) log('link down - waiting');
        } else if (c._st == UP) c.ping(); // still connected: a ping finds out whether the connection survived
        else if (c._on && !c._st) {
          if (log) log('link up - reconnecting');
          c._n = c._due = 0;
          c._tick();
        }
      });
    }
  }

  /** Connect, and stay connected; throws a CodedError on bad options. */
  connect(cb?: (err: CodedError | null, sessionPresent?: boolean) => void): void {
    const l = this.opts.link;
    this._on = true;
    this._cb = cb;
    this._n = this._due = 0;
    if (l && !l.linkUp()) this._tick();
    else super.connect(cb);
  }

  /** Stop reconnecting, close, and fail what is queued or in flight with MQTT_CLOSED. */
  disconnect(cb?: () => void): void {
    this._on = false;
    arm(this);
    super.disconnect(cb);
    this._fail(codedError(ERR_CLOSED, 'disconnect()')); // when offline, _gone did not
  }

  /** While offline: expire what is due, watch the link, start the attempt when its time comes. */
  _tick(w?: string): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const l = c.opts.link;
    if (c._st) super._tick(w);
    else if (c._on) {
      sweep(c);
      const ms = l && !l.linkUp() ? TICK : Math.min(c._due - Date.now(), TICK);
      if (ms > 0) arm(c, ms);
      else {
        try {
          super.connect(c._cb as any);
        } catch (e) {
          c.emit('error', e); // options made invalid since connect(): keep trying, they may be fixed
          retry(c, e as CodedError);
        }
      }
    }
  }

  /** Sent now if connected with room in the window (QoS 0: if connected), else queued. Returns the
   *  packet id, 0 if queued. Bad input throws before anything is sent or queued. */
  _request(p: any): number {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const o = c.opts;
    const q = c._q;
    const l = p.subscriptions || p.unsubscriptions;
    const now = c._st == UP && (!p.qos || !q.length && room(c));
    let id = 0;
    if (o.deadline) p._d = Date.now() + o.deadline;
    if (now) id = super._request(p);
    else {
      p.messageId = p.qos && 1; // for the codec's check; the real one is given when sent
      p._n = encode(p).length; // validates
    }
    // recorded once valid; an unsubscribe removes them at once, so they are not restored meanwhile
    for (let i = 0; l && i < l.length; i++) {
      if (l[i].topic) c._subs[l[i].topic] = l[i].qos;
      else delete c._subs[l[i]];
    }
    if (!now) {
      if (!p.qos && !o.queueQos0) drop(c, p, ERR_NOT_CONNECTED, 'not connected');
      else {
        q.push(p);
        c._qb += p._n;
        // over a bound: the oldest goes, or the newest (this one) is refused
        while (q.length > (o.queueMax || 50) || c._qb > (o.queueBytes || 8192)) {
          const x = o.dropOldest ? q.shift() : q.pop();
          c._qb -= x._n;
          drop(c, x, ERR_QUEUE_FULL, 'queue full');
        }
      }
    }
    return id;
  }

  /** Send queued requests while connected, in order, as the in-flight window allows. */
  _done(): void {
    const q = this._q;
    while (this._st == UP && q.length && room(this)) {
      this._qb -= q[0]._n;
      super._request(q.shift());
    }
  }

  /** CONNACK accepted: resend the session in its original order, restore the subscriptions if the
   *  broker has none, then report, then send what waited. */
  _up(sp: boolean): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const fl = c._fl;
    const subs = [];
    sweep(c);
    c._st = UP;
    c._t0 = Date.now();
    c._down = false;
    c._n = 0;
    for (let i = 0; i < fl.length; i++) {
      fl[i].dup = true; // only PUBLISH has the flag [MQTT-3.3.1-1]
      tx(c, fl[i]);
    }
    if (!sp) for (const t in c._subs) subs.push({ topic: t, qos: c._subs[t] });
    if (subs.length) {
      super._request({ cmd: 'subscribe', qos: 1, subscriptions: subs,
        _cb: function (err: CodedError) { if (err) c.emit('error', err); } });
    }
    super._up(sp);
    c._done();
  }

  /** A connection ended or an attempt failed: schedule the next attempt. */
  _gone(err?: CodedError): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    const st = c._st;
    const cb = c._cb;
    // Kicked off: closed by the broker right after CONNACK, the link up, each time after an attempt
    // that succeeded at once (a broker restarting refuses some first). Anything else resets the count.
    const kicked = st == UP && !c._down && err && err.code == ERR_CLOSED && Date.now() - c._t0 < KICK_MS;
    // a failed attempt is an 'error': connect()'s cb waits for a success, or for giving up
    c._cb = null;
    super._gone(err);
    c._cb = cb;
    if (st && c._on) {
      c._kick = kicked ? c._kick + 1 : 0;
      if (c._kick > 2) c.emit('kicked', codedError(ERR_KICKED, 'kicked off: another device with id ' + c.opts.clientId + '?'));
      retry(c, err);
    }
  }

  /** Keep the session while reconnecting; otherwise fail it, and the queue. */
  _fail(err: CodedError): void {
    if (!this._on) {
      this._fl = this._fl.concat(this._q);
      this._q = [];
      this._qb = 0;
      super._fail(err);
    }
  }
}
