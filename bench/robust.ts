// The robust client on the simulated board (W5500 emulator → mosquitto on loopback): how long until
// messages flow again after the link is restored and after the broker comes back, how long a
// half-open connection goes unnoticed relative to the keepalive, and (with --soak) a long soak with
// its loss and duplicate counts; plus the minified sizes.
//   node --import tsx bench/robust.ts            (about 3 minutes)
//   node --import tsx bench/robust.ts --soak     (adds 20,000 messages, about 4 more minutes)
import { Mosquitto } from '../test/helpers/mosquitto.ts';
import { startRobustBoard, Recorder, until, BROKER_IP, type Fw, type RobustBoard } from '../test/helpers/robust-board.ts';
import { Observer } from '../test/helpers/robust-observer.ts';
import { runSoak } from '../test/helpers/robust-soak.ts';
import { withTimeout, sleep } from '../test/helpers/client-util.ts';
// @ts-expect-error plain JavaScript module without types
import { bundleSize } from '../scripts/bundle-size.js';

const ROUNDS = 5;

function connected(c: Fw, ms = 10000): Promise<boolean> {
  return withTimeout('connect', ms, (resolve, reject) => c.connect((err: any, sp: boolean) => (err ? reject(err) : resolve(!!sp))));
}

function stats(xs: number[]): string {
  const s = xs.slice().sort((a, b) => a - b);
  return `median ${s[s.length >> 1].toFixed(0)} ms (min ${s[0].toFixed(0)}, max ${s[s.length - 1].toFixed(0)}, n=${s.length})`;
}

/** A publisher sending one QoS 1 message every 20 ms, and when each was delivered to the observer. */
function steady(pub: Fw, obs: Observer, topic: string) {
  let i = 0;
  const sentAt = new Map<string, number>();
  const timer = setInterval(() => {
    const m = `${topic}-${i++}`;
    sentAt.set(m, Date.now());
    pub.publish(topic, m, 1);
  }, 20);
  return {
    stop: () => clearInterval(timer),
    /** First delivery after time t of a message published after t. */
    firstAfter: (t: number) => {
      const p = obs.waitFor('a message published after t', () => obs.got.some((d) => d.topic == topic && (sentAt.get(d.payload) ?? 0) >= t), 70000)
        .then(() => Date.now());
      p.catch(() => {}); // awaited later; a failure must not crash the bench before its brokers are stopped
      return p;
    },
  };
}

async function linkRestored(broker: Mosquitto, r: RobustBoard): Promise<string[]> {
  const obs = await Observer.start(broker.port, 'bench-obs-link', [{ topic: 'bench/link', qos: 1 }]);
  const pub = r.client({ clientId: 'bench-link', keepalive: 2, pingTimeout: 1000, clean: false });
  const rec = new Recorder(pub);
  await connected(pub);
  const flow = steady(pub, obs, 'bench/link');
  const toConnected: number[] = [];
  const toFlowing: number[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    await sleep(500);
    const n = rec.count('connected');
    r.chip.faults.linkDown();
    await rec.wait('disconnected', rec.count('disconnected') + 1, 15000);
    await sleep(1000);
    const up = Date.now();
    r.chip.faults.linkUp();
    const flowing = flow.firstAfter(up);
    toConnected.push((await rec.wait('connected', n + 1, 15000)).t - up);
    toFlowing.push((await flowing) - up);
  }
  flow.stop();
  pub.disconnect();
  obs.close();
  return [`link restored → connected:        ${stats(toConnected)}`, `link restored → messages flowing: ${stats(toFlowing)}`];
}

async function brokerBack(broker: Mosquitto, r: RobustBoard, reconnectMax: number | undefined): Promise<string[]> {
  const obs = await Observer.start(broker.port, 'bench-obs-broker', [{ topic: 'bench/broker', qos: 1 }]);
  const pub = r.client({ clientId: 'bench-broker', keepalive: 2, pingTimeout: 1000, clean: false, reconnectMax });
  const rec = new Recorder(pub);
  await connected(pub);
  const flow = steady(pub, obs, 'bench/broker');
  const toConnected: number[] = [];
  const toFlowing: number[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    await sleep(500);
    const n = rec.count('connected');
    await broker.stop();
    await sleep(3000);
    await broker.restart();
    const back = Date.now(); // listening again
    const flowing = flow.firstAfter(back);
    toConnected.push((await rec.wait('connected', n + 1, 70000)).t - back);
    toFlowing.push((await flowing) - back);
  }
  flow.stop();
  pub.disconnect();
  obs.close();
  const cap = `reconnectMax ${reconnectMax ?? 'default 60000'} ms, broker down 3 s`;
  return [`broker back → connected (${cap}):        ${stats(toConnected)}`, `broker back → messages flowing (${cap}): ${stats(toFlowing)}`];
}

async function halfOpen(broker: Mosquitto, keepalive: number, pingTimeout: number): Promise<string> {
  // TCP retransmissions far slower than the keepalive: the keepalive is what finds the dead link
  const r = await startRobustBoard({ routes: { [`${BROKER_IP}:1883`]: `127.0.0.1:${broker.port}` }, retryTime: 2000, retryCount: 8 });
  const pub = r.client({ clientId: 'bench-hole', keepalive, pingTimeout, clean: false });
  const rec = new Recorder(pub);
  await connected(pub);
  const detect: number[] = [];
  const reconnect: number[] = [];
  for (let k = 0; k < 3; k++) {
    await sleep(300 + Math.random() * keepalive * 1000); // at a random point of the keepalive cycle
    const n = rec.count('connected');
    const e = rec.count('error');
    const t0 = Date.now();
    r.chip.faults.blackhole(r.socketOf(pub));
    detect.push((await rec.wait('error', e + 1, keepalive * 3000 + pingTimeout + 5000)).t - t0);
    reconnect.push((await rec.wait('connected', n + 1, 15000)).t - t0);
  }
  pub.disconnect();
  await r.dispose();
  const ka = keepalive * 1000;
  const med = detect.slice().sort((a, b) => a - b)[1];
  return `half-open, keepalive ${keepalive} s, pingTimeout ${pingTimeout} ms: detected ${stats(detect)} = ${(med / ka).toFixed(2)} × keepalive` +
    ` (bound: keepalive + pingTimeout = ${ka + pingTimeout} ms); reconnected ${stats(reconnect)}`;
}

async function sizes(): Promise<string[]> {
  const codec = await bundleSize(['src/mqtt/codec.ts']);
  const simple = await bundleSize(['src/mqtt/simple.ts']);
  const robust = await bundleSize(['src/mqtt/robust.ts']);
  return [
    `codec ${codec} B; codec + simple ${simple} B (client share ${simple - codec} B); + robust ${robust} B (robust share ${robust - simple} B)`,
  ];
}

const out: string[] = [];
const broker = await Mosquitto.start({ persistence: true, extraConfig: ['max_queued_messages 0'] });
try {
  out.push(...await sizes());
  const r = await startRobustBoard({ routes: { [`${BROKER_IP}:1883`]: `127.0.0.1:${broker.port}` } });
  try {
    out.push(...await linkRestored(broker, r));
    out.push(...await brokerBack(broker, r, 1000));
    out.push(...await brokerBack(broker, r, undefined));
  } finally {
    await r.dispose();
  }
  for (const [ka, pt] of [[1, 500], [2, 1000], [5, 2000]]) out.push(await halfOpen(broker, ka, pt));
} finally {
  await broker.dispose();
}
if (process.argv.includes('--soak')) {
  const s = await runSoak({ perQos: 10000, publishMs: 180000, flapEveryMs: 4000, flapDownMs: 1200, restarts: 4 });
  out.push(`soak: ${s.sent} messages (QoS 1 and 2 alternating) in ${s.seconds.toFixed(0)} s, link flapping every 4 s (down 1.2 s), 4 broker restarts:`,
    `  lost ${s.missing.length}, QoS 2 delivered twice ${s.qos2Twice.length}, QoS 1 duplicates ${s.qos1Dups}, publish errors ${s.errors.length}, ` +
    `dropped ${s.dropped}, expired ${s.expired}`,
    `  broker → observer: lost ${s.observerMissing.length}, QoS 2 twice ${s.observerQos2Twice.length}`,
    `  reconnections pub ${s.reconnects.pub}, sub ${s.reconnects.sub}; left over: pub ${JSON.stringify(s.pub)}, sub ${JSON.stringify(s.sub)}, ` +
    `open incoming QoS 2 ${s.subQos2Open}; event loop delay max ${s.loopMaxMs.toFixed(0)} ms, p99 ${s.loopP99Ms.toFixed(0)} ms`);
}
console.log(out.join('\n'));
