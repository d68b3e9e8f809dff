// The robust client as firmware on the simulated board (W5500 emulator → mosquitto on loopback), with
// the faults on the broker's side: killed and restarted, restarted without its sessions, refusing the
// CONNECT, and two devices sharing one client id. Times are compressed (keepalive 1-2 s, backoff
// 50 ms … 2 s); every wait has a deadline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mosquitto } from './helpers/mosquitto.ts';
import { startRobustBoard, Recorder, until, pending, BROKER_IP, type RobustBoard, type Fw } from './helpers/robust-board.ts';
import { Observer } from './helpers/robust-observer.ts';
import { withTimeout, sleep } from './helpers/client-util.ts';

const PLAIN = 1883;
const AUTH = 8883;
let broker: Mosquitto;
let rig: RobustBoard;

before(async () => {
  broker = await Mosquitto.start({ persistence: true, extraConfig: ['max_queued_messages 0'] });
  rig = await startRobustBoard({ routes: { [`${BROKER_IP}:${PLAIN}`]: `127.0.0.1:${broker.port}`, [`${BROKER_IP}:${AUTH}`]: `127.0.0.1:${broker.authPort}` } });
});
after(async () => {
  await rig.dispose();
  await broker.dispose();
});

const FAST = { port: PLAIN, keepalive: 2, pingTimeout: 1000, connectTimeout: 2000, reconnectMin: 50, reconnectMax: 1000 };

function connected(c: Fw, ms = 5000): Promise<boolean> {
  return withTimeout('connect', ms, (resolve, reject) => c.connect((err: any, sp: boolean) => (err ? reject(err) : resolve(!!sp))));
}

/** publish() with its callback as a promise: resolves with the error (or null). */
function published(c: Fw, topic: string, payload: string, qos: number, ms = 15000): Promise<any> {
  return withTimeout(`publish ${payload}`, ms, (resolve) => { c.publish(topic, payload, qos, (err: any) => resolve(err)); });
}

test('broker killed and restarted: in-flight and queued QoS 1/2 messages all arrive, QoS 2 once', async () => {
  const obs = await Observer.start(broker.port, 'rb-obs1', [{ topic: 'rb/kill/#', qos: 2 }]);
  const pub = rig.client({ ...FAST, clientId: 'rb-pub1', clean: false });
  const rec = new Recorder(pub);
  try {
    await connected(pub);
    const before = [];
    for (let i = 0; i < 10; i++) before.push(published(pub, `rb/kill/q${1 + (i & 1)}`, `before-${i}`, 1 + (i & 1)));
    assert.deepEqual(await Promise.all(before), new Array(10).fill(null));
    // sessions saved (SIGUSR1 writes the database), so that the kill loses only the connections
    process.kill((broker as any).proc.pid, 'SIGUSR1');
    await sleep(300);
    await broker.stop('SIGKILL');
    await rec.wait('disconnected');
    const during = [];
    for (let i = 0; i < 10; i++) during.push(published(pub, `rb/kill/q${1 + (i & 1)}`, `during-${i}`, 1 + (i & 1)));
    assert.equal(pending(pub).queued, 10, 'offline: the requests wait in the queue');
    await sleep(300);
    assert.ok(rec.count('reconnect') >= 2, 'attempts go on while the broker is down');
    await broker.restart();
    assert.deepEqual(await Promise.all(during), new Array(10).fill(null));
    const all = [...Array(10).keys()].flatMap((i) => [`before-${i}`, `during-${i}`]);
    await obs.waitFor('all 20 messages', () => all.every((m) => obs.counts.has(m)), 10000)
      .catch((e) => { throw new Error(`${e.message}; missing ${all.filter((m) => !obs.counts.has(m))}; observer connects ${obs.connects}`); });
    for (let i = 0; i < 10; i++) {
      assert.ok((obs.counts.get(`before-${i}`) ?? 0) >= 1, `before-${i} delivered`);
      assert.ok((obs.counts.get(`during-${i}`) ?? 0) >= 1, `during-${i} delivered`);
    }
    for (const d of obs.got.filter((x) => x.topic == 'rb/kill/q2')) assert.equal(obs.counts.get(d.payload), 1, `${d.payload} once`);
    assert.deepEqual(pending(pub), { inflight: 0, queued: 0, queuedBytes: 0 });
    assert.ok(rec.checkOnConnect.length >= 2);
    assert.ok(rec.checkOnConnect.every((x) => x === true), 'checkMsg() in the connected handler returns true at once');
    // delays grow while the broker is down: each attempt's delay is within [d/2, d] of its doubling
    const delays = rec.log.filter((h) => h.ev == 'reconnect');
    for (const h of delays) {
      const d = Math.min(FAST.reconnectMax, FAST.reconnectMin * 2 ** (h.a - 1));
      assert.ok(h.b >= d / 2 && h.b <= d, `attempt ${h.a} in ${h.b} ms, expected ${d / 2}..${d}`);
    }
  } finally {
    pub.disconnect();
    obs.close();
  }
});

test('broker restarted without its sessions: the subscriptions are restored in one SUBSCRIBE and work', async () => {
  const sub = rig.client({ ...FAST, clientId: 'rb-sub2', clean: true, debug: () => {} });
  const rec = new Recorder(sub);
  const got: string[] = [];
  sub.on('message', (t: string, p: Uint8Array) => got.push(`${t}=${Buffer.from(p).toString()}`));
  try {
    assert.equal(await connected(sub), false);
    await withTimeout('subscribe', 3000, (resolve, reject) => sub.subscribe([{ topic: 'rb/r/a', qos: 1 }, { topic: 'rb/r/b/#', qos: 2 }], 0,
      (err: any) => (err ? reject(err) : resolve(null))));
    await withTimeout('subscribe', 3000, (resolve, reject) => sub.subscribe('rb/r/gone', 0, (err: any) => (err ? reject(err) : resolve(null))));
    await withTimeout('unsubscribe', 3000, (resolve, reject) => sub.unsubscribe('rb/r/gone', (err: any) => (err ? reject(err) : resolve(null))));
    const logFrom = broker.log().length;
    await broker.restart();
    await rec.wait('connected', 2);
    assert.equal(rec.log.filter((h) => h.ev == 'connected')[1].a, false, 'no session on the broker');
    await until('restore SUBACK', () => pending(sub).inflight == 0, 3000);
    const log = broker.log().slice(logFrom);
    const subscribes = log.match(/Received SUBSCRIBE from rb-sub2/g) ?? [];
    assert.equal(subscribes.length, 1, 'one SUBSCRIBE for all filters');
    assert.match(log, /rb\/r\/a \(QoS 1\)/);
    assert.match(log, /rb\/r\/b\/# \(QoS 2\)/);
    assert.doesNotMatch(log, /rb\/r\/gone/, 'an unsubscribed filter is not restored');
    const obs = await Observer.start(broker.port, 'rb-obs2', [{ topic: 'nothing', qos: 0 }]);
    obs.publish('rb/r/a', 'one', 1);
    obs.publish('rb/r/b/c', 'two', 1);
    obs.publish('rb/r/gone', 'no', 1);
    await until('both messages', () => got.length >= 2, 5000);
    await sleep(200);
    assert.deepEqual(got.sort(), ['rb/r/a=one', 'rb/r/b/c=two']);
    obs.close();
  } finally {
    sub.disconnect();
  }
});

test('CONNACK refused: each refusal is an error with its return code, delays grow, then giveup after maxRetries', async () => {
  const c = rig.client({ ...FAST, port: AUTH, clientId: 'rb-bad', username: 'user', password: 'wrong', maxRetries: 3, reconnectMin: 100, reconnectMax: 2000 });
  const rec = new Recorder(c);
  const result = withTimeout<any>('connect to give up', 10000, (resolve) => c.connect((err: any) => resolve(err)));
  const err = await result;
  assert.equal(err.code, 'MQTT_REFUSED');
  assert.equal(err.returnCode, 5);
  const errors = rec.log.filter((h) => h.ev == 'error');
  assert.equal(errors.length, 4, 'the first attempt and 3 retries');
  for (const e of errors) assert.equal(e.a.returnCode, 5);
  const delays = rec.log.filter((h) => h.ev == 'reconnect').map((h) => [h.a, h.b]);
  assert.deepEqual(delays.map((d) => d[0]), [1, 2, 3]);
  delays.forEach(([n, ms]) => assert.ok(ms >= 100 * 2 ** (n - 1) / 2 && ms <= 100 * 2 ** (n - 1), `attempt ${n} in ${ms} ms`));
  assert.equal(rec.count('giveup'), 1);
  const attempts = rig.made.get(c);
  await sleep(500);
  assert.equal(rig.made.get(c), attempts, 'no attempt after giving up');
  assert.equal(attempts, 4);
});

test('two devices with the same client id: each is told it is kicked off, and waits reconnectMax instead of storming', async () => {
  const opts = { ...FAST, clientId: 'rb-twin', reconnectMin: 50, reconnectMax: 3000 };
  const a = rig.client(opts);
  const b = rig.client(opts);
  const ra = new Recorder(a);
  const rb = new Recorder(b);
  try {
    await connected(a);
    b.connect();
    await until('a kicked warning', () => ra.count('kicked') + rb.count('kicked') > 0, 15000);
    const kicked = (ra.count('kicked') ? ra : rb).log.find((h) => h.ev == 'kicked')!;
    assert.equal(kicked.a.code, 'MQTT_KICKED');
    assert.match(kicked.a.message, /another device/);
    assert.match(kicked.a.message, /rb-twin/);
    const who = ra.count('kicked') ? ra : rb;
    const after = who.log.filter((h) => h.ev == 'reconnect' && h.t >= kicked.t);
    assert.ok(after.length >= 1);
    assert.ok(after[0].b >= opts.reconnectMax / 2, `the next attempt waits ${after[0].b} ms, at least half of reconnectMax`);
    const storm = who.log.filter((h) => h.ev == 'connected').length;
    assert.ok(storm <= 6, `${storm} connections before the warning`);
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

test('a broker restarting right after each reconnect is not taken for a kick-off: no warning, the backoff stays short', async () => {
  const c = rig.client({ ...FAST, clientId: 'rb-restarts' });
  const rec = new Recorder(c);
  try {
    await connected(c);
    for (let k = 1; k <= 3; k++) {
      await broker.stop();
      await sleep(300); // attempts are refused meanwhile
      await broker.restart();
      await rec.wait('connected', k + 1, 5000);
    }
    assert.equal(rec.count('kicked'), 0);
    assert.ok(rec.log.filter((h) => h.ev == 'reconnect').every((h) => h.b <= FAST.reconnectMax));
  } finally {
    c.disconnect();
  }
});
