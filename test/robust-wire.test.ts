// The robust client at wire level, in Node against a scripted broker: the exact packets it resends
// after a reconnect (original ids, DUP, PUBREL, original order), how it restores subscriptions, and
// the offline queue's bounds, policies, deadlines and in-flight window. Each test drives its own
// connections step by step; reconnect delays are a few ms.
import './helpers/espruino-globals.ts';
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptedBroker, type ScriptedConnection } from './helpers/scripted-broker.ts';
import { withTimeout, sleep } from './helpers/client-util.ts';
import { NodeTransport } from './helpers/node-transport.ts';
import { RobustClient, type RobustOptions } from '../src/mqtt/robust.ts';
import { ERR_TOPIC } from '../src/mqtt/codec.ts';

let broker: ScriptedBroker;
const live: RobustClient[] = [];

before(async () => { broker = await ScriptedBroker.start(); });
afterEach(() => {
  for (const c of live) c.disconnect();
  live.length = 0;
});
after(async () => { await broker.close(); });

function client(opts: Partial<RobustOptions> = {}) {
  const made: NodeTransport[] = [];
  const c = new RobustClient({ host: '127.0.0.1', port: broker.port, clientId: 'rw', clean: false, reconnectMin: 20, reconnectMax: 100, ...opts },
    () => { const t = new NodeTransport(); made.push(t); return t; });
  live.push(c);
  return { c, made };
}

/** The next connection still open (earlier attempts may have given up on theirs), accepted with the
 *  given session-present flag; resolves once the client has processed the CONNACK. */
async function session(c: RobustClient, sessionPresent = false): Promise<ScriptedConnection> {
  let conn: ScriptedConnection;
  do conn = await broker.nextConnection(3000); while (conn.socket.destroyed || conn.socket.readableEnded);
  await conn.accept({ sessionPresent });
  await withTimeout('CONNACK processed', 2000, (resolve) => { const t = setInterval(() => { if (c.connected) { clearInterval(t); resolve(null); } }, 2); });
  return conn;
}

/** Callback results of a request, by name. */
function results() {
  const got: Record<string, any> = {};
  return { got, cb: (name: string) => (err: any) => { got[name] = err ? err.code : null; } };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('after a reconnect the session is resent: original ids and order, PUBLISH with DUP=1, PUBREL where PUBREC came', async () => {
  const { c } = client();
  const r = results();
  c.connect();
  const c1 = await session(c);
  (c as any)._id = 65533; // ids 65534, 65535, 1, 2: sorting by id would change the order
  const ids = [c.publish('t/a', 'a', 1, r.cb('a')), c.publish('t/b', 'b', 2, r.cb('b')), c.publish('t/c', 'c', 1, r.cb('c')), c.publish('t/d', 'd', 2, r.cb('d'))];
  assert.deepEqual(ids, [65534, 65535, 1, 2]);
  for (let i = 0; i < 4; i++) await c1.expect('publish');
  c1.send({ cmd: 'pubrec', messageId: 65535 });
  await c1.expect('pubrel');
  c1.destroy();
  const c2 = await session(c, true);
  const again = [];
  for (let i = 0; i < 4; i++) again.push(await c2.next());
  assert.deepEqual(again.map((p) => hex(p.raw.subarray(0, 1)) + ' ' + p.packet.cmd + ' ' + p.packet.messageId),
    ['3a publish 65534', '62 pubrel 65535', '3a publish 1', '3c publish 2']);
  assert.equal(again[0].packet.dup, true);
  assert.equal(hex(again[1].raw), '6202ffff');
  assert.deepEqual(r.got, {});
  c2.send({ cmd: 'puback', messageId: 65534 }, { cmd: 'pubcomp', messageId: 65535 }, { cmd: 'puback', messageId: 1 }, { cmd: 'pubrec', messageId: 2 });
  await c2.expect('pubrel');
  c2.send({ cmd: 'pubcomp', messageId: 2 });
  await withTimeout('callbacks', 2000, (resolve) => { const t = setInterval(() => { if (Object.keys(r.got).length == 4) { clearInterval(t); resolve(null); } }, 5); });
  assert.deepEqual(r.got, { a: null, b: null, c: null, d: null });
  assert.deepEqual(Object.keys((c as any)._fl), []);
  c.disconnect();
});

test('no session on the broker: subscriptions restored in one SUBSCRIBE; a refused filter is an error event', async () => {
  const { c } = client({ debug: () => {} });
  const errors: any[] = [];
  c.on('error', (e: any) => errors.push(e));
  c.connect();
  const c1 = await session(c);
  c.subscribe([{ topic: 'a/#', qos: 1 }, { topic: 'b/+', qos: 2 }], 0);
  const s1 = await c1.expect('subscribe');
  c1.send({ cmd: 'suback', messageId: s1.packet.messageId, granted: [1, 2] });
  c.subscribe('x', 0);
  const s2 = await c1.expect('subscribe');
  c1.send({ cmd: 'suback', messageId: s2.packet.messageId, granted: [0] });
  c.unsubscribe('x');
  const u = await c1.expect('unsubscribe');
  c1.send({ cmd: 'unsuback', messageId: u.packet.messageId });
  await sleep(20);
  c1.destroy();
  const c2 = await session(c, false);
  const sub = await c2.expect('subscribe');
  assert.deepEqual(sub.packet.subscriptions, [{ topic: 'a/#', qos: 1 }, { topic: 'b/+', qos: 2 }]);
  c2.send({ cmd: 'suback', messageId: sub.packet.messageId, granted: [1, 0x80] });
  await withTimeout('error event', 2000, (resolve) => { const t = setInterval(() => { if (errors.length) { clearInterval(t); resolve(null); } }, 5); });
  assert.equal(errors[0].code, 'MQTT_SUB_REFUSED');
  assert.match(errors[0].message, /b\/\+/);
  c.disconnect();
});

test('with the session present, nothing is resubscribed', async () => {
  const { c } = client();
  c.connect();
  const c1 = await session(c);
  c.subscribe('k/#', 1);
  const s1 = await c1.expect('subscribe');
  c1.send({ cmd: 'suback', messageId: s1.packet.messageId, granted: [1] });
  await sleep(20);
  c1.destroy();
  const c2 = await session(c, true);
  await c2.expectSilence(200);
  c.disconnect();
});

test('offline queue, reject-newest (default): the newest request past queueMax or queueBytes fails, counted', async () => {
  const { c } = client({ queueMax: 3, queueBytes: 60 });
  const r = results();
  c.publish('q/1', 'x', 1, r.cb('1'));
  c.publish('q/2', 'x', 2, r.cb('2'));
  c.publish('q/3', 'x', 1, r.cb('3'));
  c.publish('q/4', 'x', 1, r.cb('4'));
  assert.deepEqual({ ...r.got }, { 4: 'MQTT_QUEUE_FULL' });
  assert.equal((c as any)._q.length, 3);
  assert.equal((c as any)._qb, 3 * 10); // each PUBLISH encodes to 10 bytes
  c.publish('q/5', 'y'.repeat(40), 1, r.cb('5')); // fits the count, not the bytes
  assert.equal(r.got['5'], 'MQTT_QUEUE_FULL');
  assert.equal(c.dropped, 2);
  c.connect();
  const c1 = await session(c);
  const sent = [];
  for (let i = 0; i < 3; i++) sent.push((await c1.expect('publish')).packet.topic);
  assert.deepEqual(sent, ['q/1', 'q/2', 'q/3'], 'queued requests go in order once connected');
  c.disconnect();
});

test('offline queue, drop-oldest: the oldest request fails to make room; a QoS 0 publish offline fails unless queueQos0', async () => {
  const { c } = client({ queueMax: 2, dropOldest: true });
  const r = results();
  c.publish('q/1', 'x', 1, r.cb('1'));
  c.publish('q/2', 'x', 1, r.cb('2'));
  c.publish('q/3', 'x', 1, r.cb('3'));
  assert.deepEqual({ ...r.got }, { 1: 'MQTT_QUEUE_FULL' });
  assert.deepEqual((c as any)._q.map((p: any) => p.topic), ['q/2', 'q/3']);
  c.publish('q/0', 'x', 0, r.cb('0'));
  assert.equal(r.got['0'], 'MQTT_NOT_CONNECTED');
  const { c: c2 } = client({ queueQos0: true });
  const r2 = results();
  c2.publish('q/0', 'x', 0, r2.cb('0'));
  assert.deepEqual(r2.got, {});
  c2.connect();
  const conn = await session(c2);
  assert.equal((await conn.expect('publish')).packet.topic, 'q/0');
  await sleep(20);
  assert.deepEqual(r2.got, { 0: null }, 'QoS 0 completes once written');
  c2.disconnect();
});

test('bad input throws before anything is queued', () => {
  const { c } = client();
  assert.throws(() => c.publish('a/#', 'x', 1), { code: ERR_TOPIC });
  assert.throws(() => c.subscribe('a/#/b', 1), { code: ERR_TOPIC });
  assert.equal((c as any)._q.length, 0);
  assert.deepEqual((c as any)._subs, {});
});

test('deadline: a request not acknowledged in time fails with MQTT_EXPIRED, queued or in flight; a PUBREL flow does not', async () => {
  const { c } = client({ deadline: 300, reconnectMin: 50, reconnectMax: 50, connectTimeout: 150 });
  const r = results();
  c.connect();
  const c1 = await session(c);
  c.publish('d/1', 'x', 2, r.cb('rel'));
  const p = await c1.expect('publish');
  c1.send({ cmd: 'pubrec', messageId: p.packet.messageId });
  await c1.expect('pubrel');
  c.publish('d/2', 'x', 1, r.cb('flight'));
  await c1.expect('publish');
  c1.destroy();
  await sleep(50);
  c.publish('d/3', 'x', 1, r.cb('queued'));
  // the broker does not answer for a while: every connection attempt is accepted only later
  await withTimeout('expiry', 3000, (resolve) => { const t = setInterval(() => { if (r.got.flight && r.got.queued) { clearInterval(t); resolve(null); } }, 10); });
  assert.equal(r.got.flight, 'MQTT_EXPIRED');
  assert.equal(r.got.queued, 'MQTT_EXPIRED');
  assert.equal(c.expired, 2);
  assert.equal(r.got.rel, undefined);
  const c2 = await session(c, true);
  const rel = await c2.expect('pubrel');
  c2.send({ cmd: 'pubcomp', messageId: rel.packet.messageId });
  await sleep(20);
  assert.equal(r.got.rel, null);
  c.disconnect();
});

test('in-flight window: past maxInflight, requests wait in the queue and go as acks make room', async () => {
  const { c } = client({ maxInflight: 2 });
  c.connect();
  const c1 = await session(c);
  for (let i = 0; i < 4; i++) c.publish(`w/${i}`, 'x', 1);
  const a = await c1.expect('publish');
  await c1.expect('publish');
  await c1.expectSilence(100);
  assert.equal((c as any)._q.length, 2);
  c1.send({ cmd: 'puback', messageId: a.packet.messageId });
  assert.equal((await c1.expect('publish')).packet.topic, 'w/2');
  await c1.expectSilence(100);
  c.disconnect();
});

test('disconnect() stops reconnecting and fails what is queued or in flight with MQTT_CLOSED', async () => {
  const { c, made } = client();
  const r = results();
  c.connect();
  const c1 = await session(c);
  c.publish('x/1', 'x', 1, r.cb('flight'));
  await c1.expect('publish');
  c1.destroy();
  await sleep(5);
  c.publish('x/2', 'x', 1, r.cb('queued'));
  c.disconnect();
  assert.deepEqual(r.got, { flight: 'MQTT_CLOSED', queued: 'MQTT_CLOSED' });
  const n = made.length;
  await sleep(300);
  assert.equal(made.length, n, 'no attempt after disconnect()');
});
