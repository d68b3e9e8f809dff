// An MQTT subscriber on the host side of the faults (plain Node TCP to the broker, mqtt-packet for the
// bytes: independent of the client under test), that counts what the broker delivers. QoS 2 is
// received as the spec says (delivered at the first PUBLISH of a packet id, then that id's resends
// ignored until PUBREL), so a message counted twice was published twice. It keeps its session
// (clean = false) and reconnects by itself when the broker restarts.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';

export interface Delivery { topic: string; payload: string; qos: number; dup: boolean; retain: boolean }

export class Observer {
  readonly got: Delivery[] = [];
  /** payload → times delivered, per QoS of the delivery. */
  readonly counts = new Map<string, number>();
  private sock: net.Socket | null = null;
  private q2 = new Set<number>();
  private closed = false;
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  connected = false;
  connects = 0;

  private constructor(private port: number, private clientId: string, private filters: { topic: string; qos: number }[]) {}

  /** Connected and subscribed (the subscription is in the broker's session from then on). */
  static async start(port: number, clientId: string, filters: { topic: string; qos: number }[]): Promise<Observer> {
    const o = new Observer(port, clientId, filters);
    o.open();
    await o.waitFor('observer connected', () => o.connected, 5000);
    return o;
  }

  private open(): void {
    if (this.closed) return;
    const s = net.connect(this.port, '127.0.0.1');
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const send = (p: object) => s.write(mqttPacket.generate(p as any, { protocolVersion: 4 }));
    this.sock = s;
    s.setNoDelay(true);
    s.on('connect', () => send({ cmd: 'connect', clientId: this.clientId, clean: false, keepalive: 0, protocolVersion: 4 }));
    s.on('data', (b) => parser.parse(b));
    parser.on('packet', (p: any) => {
      if (p.cmd == 'connack') {
        if (p.returnCode) return;
        this.connects++;
        send({ cmd: 'subscribe', messageId: 1, subscriptions: this.filters });
      } else if (p.cmd == 'suback') {
        this.connected = true;
      } else if (p.cmd == 'publish') {
        const first = p.qos < 2 || !this.q2.has(p.messageId);
        if (p.qos == 2) this.q2.add(p.messageId);
        if (p.qos == 1) send({ cmd: 'puback', messageId: p.messageId });
        if (p.qos == 2) send({ cmd: 'pubrec', messageId: p.messageId });
        if (first) {
          const payload = p.payload.toString();
          this.got.push({ topic: p.topic, payload, qos: p.qos, dup: p.dup, retain: p.retain });
          this.counts.set(payload, (this.counts.get(payload) ?? 0) + 1);
        }
      } else if (p.cmd == 'pubrel') {
        this.q2.delete(p.messageId);
        send({ cmd: 'pubcomp', messageId: p.messageId });
      }
      this.wake();
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (this.sock !== s) return;
      this.connected = false;
      this.sock = null;
      // the broker restarting: try again soon
      if (!this.closed) this.timer = setTimeout(() => this.open(), 100);
    });
  }

  private wake(): void {
    for (const w of this.waiters.slice()) w();
  }

  /** Wait until cond() holds (checked on every packet and every 50 ms). */
  waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let t: NodeJS.Timeout | undefined;
      const check = () => {
        if (!cond()) return;
        this.waiters = this.waiters.filter((w) => w !== check);
        clearTimeout(t);
        clearInterval(iv);
        resolve();
      };
      const iv = setInterval(check, 50);
      t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        clearInterval(iv);
        reject(new Error(`timed out after ${ms} ms: ${what}`));
      }, ms);
      this.waiters.push(check);
      check();
    });
  }

  /** Publish from the host side (QoS 0 or 1, not waiting for the PUBACK). */
  publish(topic: string, payload: string, qos = 0): void {
    if (this.sock) this.sock.write(mqttPacket.generate({ cmd: 'publish', topic, payload, qos, messageId: qos ? ++this.mid : undefined, retain: false, dup: false } as any, { protocolVersion: 4 }));
  }

  private mid = 100;

  /** Payloads delivered on topic, in order. */
  payloads(topic: string): string[] {
    return this.got.filter((d) => d.topic == topic).map((d) => d.payload);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.sock) this.sock.destroy();
    this.sock = null;
  }
}
