// The soak run shared by test/robust-soak.test.ts (CI size) and bench/robust.ts (long run): QoS 1 and
// QoS 2 messages from a robust client on the simulated board, through a link that flaps and a broker
// restarted (SIGTERM: it saves its sessions), to a robust subscriber on the same board and an observer
// on the host side of the faults. Returns what happened; the caller judges it.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Mosquitto } from './mosquitto.ts';
import { startRobustBoard, Recorder, until, pending, BROKER_IP, type Fw } from './robust-board.ts';
import { Observer } from './robust-observer.ts';
import { withTimeout, sleep } from './client-util.ts';

export interface SoakOptions {
  perQos: number;
  /** Publishing is spread over this long. */
  publishMs: number;
  flapEveryMs: number;
  flapDownMs: number;
  /** Broker restarts, evenly spread over the publishing time. */
  restarts: number;
}

export interface SoakResult {
  sent: number;
  seconds: number;
  /** Publish callbacks with an error. */
  errors: string[];
  dropped: number;
  expired: number;
  /** Messages the subscriber never got; QoS 2 messages it got more than once; QoS 1 duplicates. */
  missing: string[];
  qos2Twice: string[];
  qos1Dups: number;
  /** The same, as the broker delivered them to the host-side observer. */
  observerMissing: string[];
  observerQos2Twice: string[];
  pub: ReturnType<typeof pending>;
  sub: ReturnType<typeof pending>;
  /** Incoming QoS 2 flows the subscriber still holds open. */
  subQos2Open: number;
  reconnects: { pub: number; sub: number };
  /** checkMsg() inside every 'connected' handler. */
  checkOnConnect: boolean[];
  loopMaxMs: number;
  loopP99Ms: number;
}

function connected(c: Fw, ms = 5000): Promise<boolean> {
  return withTimeout('connect', ms, (resolve, reject) => c.connect((err: any, sp: boolean) => (err ? reject(err) : resolve(!!sp))));
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const broker = await Mosquitto.start({ persistence: true, extraConfig: ['max_queued_messages 0'] });
  const r = await startRobustBoard({ routes: { [`${BROKER_IP}:1883`]: `127.0.0.1:${broker.port}` } });
  const opts = { keepalive: 1, pingTimeout: 800, connectTimeout: 2000, reconnectMin: 50, reconnectMax: 500, clean: false };
  const pub = r.client({ ...opts, clientId: 'soak-pub', queueMax: 2000, queueBytes: 200000, maxInflight: 20 });
  const sub = r.client({ ...opts, clientId: 'soak-sub' });
  const pubRec = new Recorder(pub);
  const subRec = new Recorder(sub);
  const got = new Map<string, number>();
  sub.on('message', (_t: string, p: Uint8Array) => {
    const k = Buffer.from(p).toString();
    got.set(k, (got.get(k) ?? 0) + 1);
  });
  const obs = await Observer.start(broker.port, 'soak-obs', [{ topic: 'soak/#', qos: 2 }]);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const errors: string[] = [];
  const total = 2 * o.perQos;
  let completed = 0;
  let sent = 0;
  let down = false;
  let flapper: NodeJS.Timeout | undefined;
  let publisher: NodeJS.Timeout | undefined;
  let start = Date.now();
  try {
    await connected(pub);
    await connected(sub);
    await withTimeout('subscribe', 3000, (resolve, reject) => sub.subscribe('soak/#', 2, (e: any) => (e ? reject(e) : resolve(null))));
    loop.enable();
    start = Date.now();
    flapper = setInterval(() => {
      r.chip.faults.linkDown();
      down = true;
      setTimeout(() => { r.chip.faults.linkUp(); down = false; }, o.flapDownMs);
    }, o.flapEveryMs);
    // the publishing app: paced, QoS 1 and 2 alternating; it never lets the queue overflow
    publisher = setInterval(() => {
      const due = Math.min(total, Math.ceil((Date.now() - start) / o.publishMs * total));
      while (sent < due && pending(pub).queued < 1500) {
        const i = sent++;
        const qos = 1 + (i & 1);
        pub.publish(`soak/q${qos}`, `q${qos}-${i}`, qos, (e: any) => {
          completed++;
          if (e) errors.push(`${i}: ${e.code}`);
        });
      }
    }, 20);
    for (let k = 1; k <= o.restarts; k++) {
      await sleep(start + k * o.publishMs / (o.restarts + 1) - Date.now());
      await broker.restart();
    }
    await until('everything published', () => sent == total, o.publishMs * 2);
    clearInterval(publisher);
    clearInterval(flapper);
    await until('the link up', () => !down, o.flapDownMs + 500);
    const all = [...Array(total).keys()].map((i) => `q${1 + (i & 1)}-${i}`);
    // a generous drain: what is missing then is reported, not waited for
    await until('every publish completed', () => completed == sent, 30000).catch(() => {});
    await until('the subscriber has all', () => got.size == all.length, 30000).catch(() => {});
    await obs.waitFor('the observer has all', () => obs.counts.size == all.length, 30000).catch(() => {});
    // an incoming QoS 2 flow ends with the broker's PUBREL, which may trail the last delivery
    await until('both idle', () => pending(pub).inflight + pending(sub).inflight + Object.keys(sub._q2).length == 0, 10000).catch(() => {});
    loop.disable();
    return {
      sent, seconds: (Date.now() - start) / 1000, errors, dropped: pub.dropped, expired: pub.expired,
      missing: all.filter((m) => !got.has(m)),
      qos2Twice: all.filter((m) => m.startsWith('q2') && (got.get(m) ?? 0) > 1),
      qos1Dups: all.filter((m) => m.startsWith('q1') && (got.get(m) ?? 0) > 1).length,
      observerMissing: all.filter((m) => !obs.counts.has(m)),
      observerQos2Twice: all.filter((m) => m.startsWith('q2') && (obs.counts.get(m) ?? 0) > 1),
      pub: pending(pub), sub: pending(sub), subQos2Open: Object.keys(sub._q2).length,
      reconnects: { pub: pubRec.count('connected') - 1, sub: subRec.count('connected') - 1 },
      checkOnConnect: [...pubRec.checkOnConnect, ...subRec.checkOnConnect],
      loopMaxMs: loop.max / 1e6, loopP99Ms: loop.percentile(99) / 1e6,
    };
  } finally {
    clearInterval(publisher);
    clearInterval(flapper);
    loop.disable();
    pub.disconnect();
    sub.disconnect();
    obs.close();
    await r.dispose();
    await broker.dispose();
  }
}
