// Promise wrappers around the callback/event API of the MQTT client, each with a deadline, so tests
// read as sequences and nothing can hang. They take the client by its API only, so they also drive a
// client running as firmware on the simulated board. Tests running src/ in Node import
// ./espruino-globals.ts first (getSerial, timers...).
import { MQTTClient, type MqttOptions } from '../../src/mqtt/simple.ts';

type Client = Pick<MQTTClient, 'connect' | 'publish' | 'subscribe' | 'unsubscribe' | 'disconnect' | 'on' | 'setCallback'>;
import { NodeTransport } from './node-transport.ts';

export function withTimeout<T>(what: string, ms: number, start: (resolve: (v: T) => void, reject: (e: unknown) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    start((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}

export function makeClient(opts: Partial<MqttOptions> & { port: number }, transport = new NodeTransport()) {
  const client = new MQTTClient({ host: '127.0.0.1', ...opts }, transport);
  return { client, transport };
}

export function connect(c: Client, ms = 3000): Promise<boolean> {
  return withTimeout('connect', ms, (resolve, reject) => {
    c.connect((err, sp) => (err ? reject(err) : resolve(!!sp)));
  });
}

/** The error connect() reports (rejects if it succeeds). */
export function connectError(c: Client, ms = 3000): Promise<any> {
  return withTimeout('connect to fail', ms, (resolve, reject) => {
    c.connect((err) => (err ? resolve(err) : reject(new Error('connect succeeded'))));
  });
}

export function publish(c: Client, topic: string, payload: string | Uint8Array, qos: number, retain = false, ms = 3000): Promise<number> {
  return withTimeout(`publish ${topic}`, ms, (resolve, reject) => {
    let id = 0;
    id = c.publish(topic, payload, { qos, retain }, (err) => (err ? reject(err) : resolve(id)));
  });
}

export function subscribe(c: Client, filter: string | { topic: string; qos: number }[], qos = 0, ms = 3000): Promise<number[]> {
  return withTimeout(`subscribe ${JSON.stringify(filter)}`, ms, (resolve, reject) => {
    c.subscribe(filter, qos, (err, granted) => (err ? reject(err) : resolve(granted as number[])));
  });
}

export function unsubscribe(c: Client, filter: string | string[], ms = 3000): Promise<void> {
  return withTimeout(`unsubscribe ${filter}`, ms, (resolve, reject) => {
    c.unsubscribe(filter, (err) => (err ? reject(err) : resolve()));
  });
}

export function disconnect(c: Client, ms = 3000): Promise<void> {
  return withTimeout('disconnect', ms, (resolve) => c.disconnect(() => resolve()));
}

/** The next `event` emitted by the client, with its first argument. */
export function once(c: Client, event: string, ms = 3000): Promise<any> {
  return withTimeout(`event ${event}`, ms, (resolve) => {
    let done = false;
    c.on(event, (a: unknown) => { if (!done) { done = true; resolve(a); } });
  });
}

export interface Msg { topic: string; payload: string; qos: number; retain: boolean; dup: boolean }

/** Collects every message the client delivers (through setCallback) and lets a test wait for some. */
export class Inbox {
  readonly messages: Msg[] = [];
  private waiters: (() => void)[] = [];

  constructor(c: Client) {
    c.setCallback((topic, payload, packet: any) => {
      this.messages.push({ topic, payload: Buffer.from(payload).toString('utf8'), qos: packet.qos, retain: !!packet.retain, dup: !!packet.dup });
      for (const w of this.waiters.slice()) w();
    });
  }

  /** Wait until at least n messages have arrived; returns all of them. */
  waitCount(n: number, ms = 3000): Promise<Msg[]> {
    return withTimeout(`${n} messages (have ${this.messages.length})`, ms, (resolve) => {
      const check = () => {
        if (this.messages.length < n) return;
        this.waiters = this.waiters.filter((x) => x !== check);
        resolve(this.messages.slice());
      };
      this.waiters.push(check);
      check();
    });
  }

  /** Wait for the first message on `topic`. */
  waitTopic(topic: string, ms = 3000): Promise<Msg> {
    return withTimeout(`a message on ${topic}`, ms, (resolve) => {
      const check = () => {
        const m = this.messages.find((x) => x.topic === topic);
        if (!m) return;
        this.waiters = this.waiters.filter((x) => x !== check);
        resolve(m);
      };
      this.waiters.push(check);
      check();
    });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
