// The robust client as firmware on the simulated board, with faults injected by the W5500 emulator
// between the board and a real mosquitto: the cable pulled and restored, a connection silently
// blackholed (half-open), and the peer resetting the connection in the middle of a QoS 2 flow. An
// observer on the host side of the faults counts what the broker delivers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mosquitto } from './helpers/mosquitto.ts';
import { startRobustBoard, Recorder, until, pending, BROKER_IP, type RobustBoard, type Fw } from './helpers/robust-board.ts';
import { Observer } from './helpers/robust-observer.ts';
import { withTimeout, sleep } from './helpers/client-util.ts';

let broker: Mosquitto;
const boards: RobustBoard[] = [];

before(async () => {
  broker = await Mosquitto.start({ extraConfig: ['max_queued_messages 0'] });
});
after(async () => {
  for (const b of boards) await b.dispose();
  await broker.dispose();
});

async function rig(o: { retryTime?: number; retryCount?: number } = {}): Promise<RobustBoard> {
  const b = await startRobustBoard({ routes: { [`${BROKER_IP}:1883`]: `127.0.0.1:${broker.port}` }, ...o });
  boards.push(b);
  return b;
}

const FAST = { keepalive: 2, pingTimeout: 1000, connectTimeout: 3000, reconnectMin: 100, reconnectMax: 1000, clean: false };

function connected(c: Fw, ms = 5000): Promise<boolean> {
  return withTimeout('connect', ms, (resolve, reject) => c.connect((err: any, sp: boolean) => (err ? reject(err) : resolve(!!sp))));
}

function published(c: Fw, topic: string, payload: string, qos: number, ms = 15000): Promise<any> {
  return withTimeout(`publish ${payload}`, ms, (resolve) => { c.publish(topic, payload, qos, (err: any) => resolve(err)); });
}

/** Lines the broker logged since `from` (an offset into its log). */
function brokerLog(from: number): string {
  return broker.log().slice(from);
}

test('cable pulled: no attempts while the link is down; restored: reconnects at once and delivers everything', async () => {
  const r = await rig();
  const obs = await Observer.start(broker.port, 'rl-obs1', [{ topic: 'rl/cable/#', qos: 2 }]);
  const lines: string[] = [];
  const pub = r.client({ ...FAST, clientId: 'rl-cable', debug: (l: string) => lines.push(l) });
  const rec = new Recorder(pub);
  try {
    await connected(pub);
    assert.equal(await published(pub, 'rl/cable/1', 'first', 1), null);
    r.chip.faults.linkDown();
    await until('the driver sees the link down', () => !r.driver.linkUp(), 3000);
    const sent = [];
    for (let i = 0; i < 6; i++) sent.push(published(pub, `rl/cable/${1 + (i % 2)}`, `down-${i}`, 1 + (i % 2)));
    await rec.wait('disconnected', 1, 8000);
    const attempts = r.made.get(pub);
    await sleep(1500);
    assert.equal(r.made.get(pub), attempts, 'no connection attempt while the link is down');
    assert.ok(lines.includes('link down - waiting'));
    const downAt = Date.now();
    r.chip.faults.linkUp();
    await rec.wait('connected', 2, 5000);
    assert.ok(lines.includes('link up - reconnecting'));
    assert.deepEqual(await Promise.all(sent), new Array(6).fill(null));
    await obs.waitFor('all 7 messages', () => ['first', ...[0, 1, 2, 3, 4, 5].map((i) => `down-${i}`)].every((m) => obs.counts.has(m)), 5000);
    for (const d of obs.got.filter((x) => x.qos == 2)) assert.equal(obs.counts.get(d.payload), 1);
    assert.deepEqual(pending(pub), { inflight: 0, queued: 0, queuedBytes: 0 });
    assert.deepEqual(rec.checkOnConnect, [true, true]);
    const reconnectMs = rec.log.filter((h) => h.ev == 'connected')[1].t - downAt;
    assert.ok(reconnectMs < FAST.reconnectMax, `reconnected ${reconnectMs} ms after the link came back, without waiting for a backoff`);
  } finally {
    pub.disconnect();
    obs.close();
  }
});

test('half-open connection (blackholed): the keepalive finds it dead, the client reconnects, nothing is lost', async () => {
  // TCP retransmissions that take far longer than the keepalive, so the keepalive is what detects it
  const r = await rig({ retryTime: 1000, retryCount: 8 });
  const obs = await Observer.start(broker.port, 'rl-obs2', [{ topic: 'rl/hole/#', qos: 1 }]);
  const pub = r.client({ ...FAST, keepalive: 1, pingTimeout: 500, clientId: 'rl-hole' });
  const rec = new Recorder(pub);
  try {
    await connected(pub);
    r.chip.faults.blackhole(r.socketOf(pub));
    const inHole = published(pub, 'rl/hole/x', 'in-the-hole', 1);
    const err = await rec.wait('error', 1, 5000);
    assert.equal(err.a.code, 'MQTT_TIMEOUT');
    assert.match(err.a.message, /PINGRESP/);
    await rec.wait('connected', 2, 8000);
    assert.equal(await inHole, null);
    await obs.waitFor('the message sent into the hole', () => obs.counts.has('in-the-hole'), 5000);
    assert.deepEqual(pending(pub), { inflight: 0, queued: 0, queuedBytes: 0 });
  } finally {
    pub.disconnect();
    obs.close();
  }
});

test('peer RST after a QoS 2 PUBLISH reached the broker: resent with its packet id and DUP=1, delivered once', async () => {
  const r = await rig();
  const obs = await Observer.start(broker.port, 'rl-obs3', [{ topic: 'rl/rst/#', qos: 2 }]);
  const pub = r.client({ ...FAST, clientId: 'rl-rst1' });
  const rec = new Recorder(pub);
  try {
    await connected(pub);
    r.chip.faults.latency(150); // the PUBREC is still on its way when the connection is reset
    const from = broker.log().length;
    const done = published(pub, 'rl/rst/a', 'rst-after-publish', 2);
    const id = pub._fl[0].messageId;
    await until('the broker has the PUBLISH', () => new RegExp(`Received PUBLISH from rl-rst1 \\(d0, q2, r0, m${id},`).test(brokerLog(from)), 3000);
    r.chip.faults.peerReset(r.socketOf(pub));
    await rec.wait('connected', 2, 8000);
    r.chip.faults.latency(0);
    assert.equal(await done, null);
    const log = brokerLog(from);
    assert.match(log, new RegExp(`Received PUBLISH from rl-rst1 \\(d1, q2, r0, m${id}, 'rl/rst/a'`), 'resent: same id, DUP set');
    await obs.waitFor('delivered', () => obs.counts.has('rst-after-publish'), 5000);
    await sleep(300);
    assert.equal(obs.counts.get('rst-after-publish'), 1);
    assert.deepEqual(pending(pub), { inflight: 0, queued: 0, queuedBytes: 0 });
  } finally {
    r.chip.faults.latency(0);
    pub.disconnect();
    obs.close();
  }
});

test('peer RST after PUBREC: the PUBREL is resent, not the PUBLISH, and the message is delivered once', async () => {
  const r = await rig();
  const obs = await Observer.start(broker.port, 'rl-obs4', [{ topic: 'rl/rst/#', qos: 2 }]);
  let pubrecs = 0;
  const pub: Fw = r.client({
    ...FAST, clientId: 'rl-rst2',
    // the reset comes right after the PUBREC, while the PUBREL is on its way (latency)
    debug: (l: string) => { if (l.startsWith('< pubrec') && !pubrecs++) setImmediate(() => r.chip.faults.peerReset(r.socketOf(pub))); },
  });
  const rec = new Recorder(pub);
  try {
    await connected(pub);
    r.chip.faults.latency(150);
    const from = broker.log().length;
    const done = published(pub, 'rl/rst/b', 'rst-after-pubrec', 2);
    const id = pub._fl[0].messageId;
    await rec.wait('connected', 2, 8000);
    r.chip.faults.latency(0);
    assert.equal(await done, null);
    const log = brokerLog(from);
    const reconnect = log.lastIndexOf('New client connected');
    assert.ok(reconnect > 0);
    assert.match(log.slice(reconnect), new RegExp(`Received PUBREL from rl-rst2 \\(Mid: ${id}\\)`), 'PUBREL resent after reconnecting');
    assert.doesNotMatch(log, new RegExp(`Received PUBLISH from rl-rst2 \\(d1`), 'the PUBLISH is not resent');
    await obs.waitFor('delivered', () => obs.counts.has('rst-after-pubrec'), 5000);
    await sleep(300);
    assert.equal(obs.counts.get('rst-after-pubrec'), 1);
    assert.deepEqual(pending(pub), { inflight: 0, queued: 0, queuedBytes: 0 });
  } finally {
    r.chip.faults.latency(0);
    pub.disconnect();
    obs.close();
  }
});
