// The simple MQTT client against a scripted broker: what a real broker will not do on demand, and the
// exact bytes the client puts on the wire. Each test drives one TCP connection step by step.
import './helpers/espruino-globals.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptedBroker, ScriptedConnection, bytesOf } from './helpers/scripted-broker.ts';
import { SERIAL, board } from './helpers/espruino-globals.ts';
import {
  makeClient, connect, connectError, publish, subscribe, unsubscribe, disconnect, once, Inbox, sleep, withTimeout,
} from './helpers/client-util.ts';
import { MQTTClient, type MqttOptions } from '../src/mqtt/simple.ts';
import { NodeTransport } from './helpers/node-transport.ts';
import { ERR_TOPIC, ERR_QOS, ERR_PAYLOAD, ERR_FIELD } from '../src/mqtt/codec.ts';

let broker: ScriptedBroker;
const live: MQTTClient[] = [];

before(async () => { broker = await ScriptedBroker.start(); });
after(async () => {
  for (const c of live) if (c.connected) c.disconnect();
  await broker.close();
});

/** A client connected to the scripted broker, and the broker's side of the connection. */
async function session(opts: Partial<MqttOptions> = {}, connack: { sessionPresent?: boolean } = {}) {
  const { client, transport } = makeClient({ port: broker.port, clientId: 'wire', ...opts });
  live.push(client);
  const connected = connect(client);
  const conn = await broker.nextConnection();
  const connectPacket = await conn.accept(connack);
  await connected;
  return { client, transport, conn, connectPacket };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('CONNECT carries the options; the default client id comes from getSerial()', async () => {
  const { client, conn } = await session({ clientId: undefined, keepalive: 30, clean: true, username: 'u', password: 'p',
    will: { topic: 'w/t', payload: 'bye', qos: 1, retain: true } });
  const c = conn.received[0].packet;
  assert.equal(c.clientId, 'esp' + SERIAL.replace(/-/g, '').slice(-20));
  assert.ok(c.clientId.length <= 23);
  assert.equal(c.keepalive, 30);
  assert.equal(c.clean, true);
  assert.equal(c.username, 'u');
  assert.equal(Buffer.from(c.password).toString(), 'p');
  assert.equal(c.will.topic, 'w/t');
  assert.equal(Buffer.from(c.will.payload).toString(), 'bye');
  assert.equal(c.will.qos, 1);
  assert.equal(c.will.retain, true);
  assert.equal(c.protocolVersion, 4);
  client.disconnect();
});

test('two boards whose serials differ only in their last digits get different default client ids', async () => {
  const g = globalThis as { getSerial?: () => string };
  const original = g.getSerial;
  const ids: string[] = [];
  try {
    for (const serial of ['33FFD605-41573033-15720843', '33FFD605-41573033-15720844', '30_AE_A4:1C:2B_90']) {
      g.getSerial = () => serial;
      const { client, conn } = await session({ clientId: undefined });
      ids.push(conn.received[0].packet.clientId);
      client.disconnect();
    }
  } finally {
    g.getSerial = original;
  }
  assert.notEqual(ids[0], ids[1]);
  // the characters every broker must accept [MQTT-3.1.3-5]
  assert.ok(ids.every((id) => id.length <= 23 && /^[0-9a-zA-Z]+$/.test(id)), ids.join(' '));
});

test('setLastWill goes into the next CONNECT; an empty client id is sent with a clean session', async () => {
  const { client } = makeClient({ port: broker.port, clientId: '' });
  live.push(client);
  client.setLastWill('status/x', 'offline', 2, false);
  const done = connect(client);
  const conn = await broker.nextConnection();
  const c = await conn.accept();
  await done;
  assert.equal(c.packet.clientId, '');
  assert.equal(c.packet.will.topic, 'status/x');
  assert.equal(c.packet.will.qos, 2);
  client.disconnect();
});

test('an empty client id without a clean session is a typed error and nothing is sent', async () => {
  const { client, transport } = makeClient({ port: broker.port, clientId: '', clean: false });
  assert.throws(() => client.connect(), { code: ERR_FIELD });
  assert.equal(transport.connects, 0);
  assert.equal(client.checkMsg(), false);
});

test('a refused CONNACK reports the return code and its meaning; session present reaches the callback', async () => {
  const { client } = makeClient({ port: broker.port, clientId: 'x' });
  const failed = connectError(client);
  const conn = await broker.nextConnection();
  await conn.expect('connect');
  conn.send({ cmd: 'connack', returnCode: 2, sessionPresent: false });
  const err = await failed;
  assert.equal(err.code, 'MQTT_REFUSED');
  assert.equal(err.returnCode, 2);
  assert.match(err.message, /0x02 identifier rejected/);
  await conn.waitClosed();

  const { client: c2 } = makeClient({ port: broker.port, clientId: 'x', clean: false });
  const present = connect(c2);
  const conn2 = await broker.nextConnection();
  await conn2.accept({ sessionPresent: true });
  assert.equal(await present, true);
  c2.disconnect();
});

test('a missing CONNACK fails connect() at its deadline and closes the connection', async () => {
  const { client } = makeClient({ port: broker.port, clientId: 'x', connectTimeout: 300 });
  const failed = connectError(client);
  const conn = await broker.nextConnection();
  await conn.expect('connect');
  const err = await failed;
  assert.equal(err.code, 'MQTT_TIMEOUT');
  assert.match(err.message, /CONNACK/);
  await conn.waitClosed();
  assert.equal(client.connected, false);
});

test('a connection refused at TCP level fails connect() with the transport error', async () => {
  const port = broker.port;
  const spare = await ScriptedBroker.start();
  const deadPort = spare.port;
  await spare.close();
  const { client } = makeClient({ port: deadPort, clientId: 'x' });
  const err = await connectError(client);
  assert.equal(err.code, 'ECONNREFUSED');
  assert.ok(port);
});

test('a missing PINGRESP closes the connection and reports the dead link', async () => {
  const { client, conn } = await session({ keepalive: 1, pingTimeout: 300 });
  const error = once(client, 'error', 4000);
  const lost = once(client, 'disconnected', 4000);
  await conn.expect('pingreq', 2500);
  const e = await error;
  assert.equal(e.code, 'MQTT_TIMEOUT');
  assert.match(e.message, /PINGRESP/);
  assert.equal((await lost).code, 'MQTT_TIMEOUT');
  await conn.waitClosed();
  assert.equal(client.connected, false);
});

test('keepalive: PINGREQ after an idle interval, answered PINGRESP keeps the connection', async () => {
  const { client, conn } = await session({ keepalive: 1, pingTimeout: 500 });
  const first = await conn.expect('pingreq', 2500);
  assert.equal(hex(first.raw), 'c000');
  conn.send({ cmd: 'pingresp' });
  await conn.expect('pingreq', 2500);
  conn.send({ cmd: 'pingresp' });
  await sleep(600); // past the ping deadline
  assert.equal(client.connected, true);
  client.disconnect();
});

test('a retained PUBLISH that arrives before the SUBACK is delivered, and the SUBACK completes', async () => {
  const { client, conn } = await session();
  const inbox = new Inbox(client);
  const granted = subscribe(client, 'a/#', 1);
  const sub = await conn.expect('subscribe');
  conn.send({ cmd: 'publish', topic: 'a/b', payload: 'early', qos: 1, messageId: 77, retain: true });
  conn.send({ cmd: 'suback', messageId: sub.packet.messageId, granted: [1] });
  assert.deepEqual(await granted, [1]);
  const m = await inbox.waitCount(1);
  assert.deepEqual(m[0], { topic: 'a/b', payload: 'early', qos: 1, retain: true, dup: false });
  const ack = await conn.expect('puback');
  assert.equal(ack.packet.messageId, 77);
  client.disconnect();
});

test('SUBSCRIBE and UNSUBSCRIBE start with 0x82 and 0xA2; several filters get their granted QoS', async () => {
  const { client, conn } = await session();
  const granted = subscribe(client, [{ topic: 'x/+', qos: 0 }, { topic: 'y/#', qos: 2 }]);
  const sub = await conn.expect('subscribe');
  assert.equal(sub.raw[0], 0x82);
  assert.deepEqual(sub.packet.subscriptions, [{ topic: 'x/+', qos: 0 }, { topic: 'y/#', qos: 2 }]);
  conn.send({ cmd: 'suback', messageId: sub.packet.messageId, granted: [0, 1] });
  assert.deepEqual(await granted, [0, 1]);
  const unsub = unsubscribe(client, ['x/+', 'y/#']);
  const u = await conn.expect('unsubscribe');
  assert.equal(u.raw[0], 0xa2);
  assert.deepEqual(u.packet.unsubscriptions, ['x/+', 'y/#']);
  conn.send({ cmd: 'unsuback', messageId: u.packet.messageId });
  await unsub;
  client.disconnect();
});

test('a SUBACK 0x80 is reported as a failure naming that filter', async () => {
  const { client, conn } = await session();
  const result = withTimeout<[any, number[] | undefined]>('suback', 2000, (resolve) => {
    client.subscribe([{ topic: 'ok/t', qos: 1 }, { topic: 'denied/t', qos: 1 }], 0, (err, granted) => resolve([err, granted]));
  });
  const sub = await conn.expect('subscribe');
  conn.send({ cmd: 'suback', messageId: sub.packet.messageId, granted: [1, 0x80] });
  const [err, granted] = await result;
  assert.equal(err.code, 'MQTT_SUB_REFUSED');
  assert.match(err.message, /denied\/t/);
  assert.doesNotMatch(err.message, /ok\/t/);
  assert.deepEqual(granted, [1, 0x80]);
  client.disconnect();
});

test('outgoing QoS 2: PUBLISH, PUBREC, then PUBREL starting 0x62, PUBCOMP completes the callback', async () => {
  const { client, conn } = await session();
  let done: any = 'pending';
  const id = client.publish('q2/t', 'hello', { qos: 2, retain: true }, (err) => { done = err; });
  const p = await conn.expect('publish');
  assert.equal(p.raw[0], 0x35); // PUBLISH, QoS 2, retain
  assert.equal(p.packet.messageId, id);
  assert.equal(Buffer.from(p.packet.payload).toString(), 'hello');
  conn.send({ cmd: 'pubrec', messageId: id });
  const rel = await conn.expect('pubrel');
  assert.equal(hex(rel.raw), '6202' + id.toString(16).padStart(4, '0'));
  assert.equal(done, 'pending');
  conn.send({ cmd: 'pubcomp', messageId: id });
  await withTimeout('callback', 1000, (resolve) => { const t = setInterval(() => { if (done !== 'pending') { clearInterval(t); resolve(null); } }, 5); });
  assert.equal(done, null);
  client.disconnect();
});

test('acknowledgements are matched by packet id, not by order; a PUBLISH may arrive while waiting', async () => {
  const { client, conn } = await session();
  const inbox = new Inbox(client);
  const order: number[] = [];
  const a = client.publish('t/1', '1', 1, () => order.push(a));
  const b = client.publish('t/2', '2', 1, () => order.push(b));
  assert.notEqual(a, b);
  await conn.expect('publish');
  await conn.expect('publish');
  conn.send({ cmd: 'publish', topic: 'in/x', payload: 'between', qos: 0 });
  conn.send({ cmd: 'puback', messageId: b });
  conn.send({ cmd: 'puback', messageId: 999 }); // unknown id: ignored
  conn.send({ cmd: 'puback', messageId: a });
  await inbox.waitCount(1);
  await withTimeout('both acks', 1000, (resolve) => { const t = setInterval(() => { if (order.length == 2) { clearInterval(t); resolve(null); } }, 5); });
  assert.deepEqual(order, [b, a]);
  client.disconnect();
});

test('a QoS 2 PUBLISH resent before PUBREL is delivered once; PUBREC each time, PUBCOMP after PUBREL', async () => {
  const { client, conn } = await session();
  const inbox = new Inbox(client);
  const pub = { cmd: 'publish', topic: 'q2/in', payload: 'once', qos: 2, messageId: 9 };
  conn.send(pub);
  assert.equal(hex((await conn.expect('pubrec')).raw), '50020009');
  conn.send({ ...pub, dup: true });
  assert.equal(hex((await conn.expect('pubrec')).raw), '50020009');
  conn.send({ cmd: 'pubrel', messageId: 9 });
  assert.equal(hex((await conn.expect('pubcomp')).raw), '70020009');
  // the id is free again: a new message with it is a new delivery
  conn.send({ ...pub, payload: 'again' });
  await conn.expect('pubrec');
  const got = await inbox.waitCount(2);
  assert.deepEqual(got.map((m) => m.payload), ['once', 'again']);
  client.disconnect();
});

test('incoming QoS 1 is acknowledged with PUBACK; several packets in one read all arrive in order', async () => {
  const { client, conn } = await session();
  const inbox = new Inbox(client);
  conn.send(
    { cmd: 'publish', topic: 'm/1', payload: 'a', qos: 0 },
    { cmd: 'publish', topic: 'm/2', payload: 'b', qos: 1, messageId: 5 },
    { cmd: 'publish', topic: 'm/3', payload: 'c', qos: 2, messageId: 6 },
    { cmd: 'pingresp' },
  );
  const got = await inbox.waitCount(3);
  assert.deepEqual(got.map((m) => `${m.topic}=${m.payload} q${m.qos}`), ['m/1=a q0', 'm/2=b q1', 'm/3=c q2']);
  assert.equal(hex((await conn.expect('puback')).raw), '40020005');
  assert.equal(hex((await conn.expect('pubrec')).raw), '50020006');
  client.disconnect();
});

test('a packet split across reads, even byte by byte, is reassembled', async () => {
  const { client, conn } = await session();
  const inbox = new Inbox(client);
  const bytes = bytesOf({ cmd: 'publish', topic: 'split/t', payload: 'x'.repeat(300), qos: 1, messageId: 3 });
  for (let i = 0; i < 6; i++) {
    conn.send(bytes.subarray(i, i + 1));
    await sleep(5);
  }
  conn.send(bytes.subarray(6, 150));
  await sleep(5);
  conn.send(bytes.subarray(150));
  const got = await inbox.waitCount(1);
  assert.equal(got[0].payload.length, 300);
  assert.equal((await conn.expect('puback')).packet.messageId, 3);
  client.disconnect();
});

test('an oversize PUBLISH is skipped, acknowledged, counted and reported; the connection survives', async () => {
  const { client, conn } = await session({ maxPacketSize: 100 });
  const inbox = new Inbox(client);
  const reports: any[] = [];
  client.on('oversize', (i: any) => reports.push(i));
  conn.send(
    { cmd: 'publish', topic: 'big/1', payload: 'x'.repeat(500), qos: 1, messageId: 11 },
    { cmd: 'publish', topic: 'big/2', payload: 'y'.repeat(500), qos: 2, messageId: 12 },
    { cmd: 'publish', topic: 'big/0', payload: 'z'.repeat(500), qos: 0 },
    { cmd: 'publish', topic: 'small', payload: 'fits', qos: 0 },
  );
  const got = await inbox.waitCount(1);
  assert.deepEqual(got.map((m) => m.payload), ['fits']);
  assert.equal((await conn.expect('puback')).packet.messageId, 11);
  assert.equal((await conn.expect('pubrec')).packet.messageId, 12);
  assert.equal(client.oversized, 3);
  assert.deepEqual(reports.map((r) => [r.cmd, r.qos, r.messageId]), [['publish', 1, 11], ['publish', 2, 12], ['publish', 0, undefined]]);
  assert.equal(client.connected, true);
  client.disconnect();
});

const malformed: [string, Uint8Array][] = [
  ['a reserved packet type (0)', new Uint8Array([0x00, 0x00])],
  ['a remaining length longer than 4 bytes', new Uint8Array([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])],
  ['a PUBACK whose length disagrees with its content', new Uint8Array([0x40, 0x03, 0x00, 0x01, 0x00])],
  ['a PUBLISH with QoS 3', new Uint8Array([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])],
  ['a PUBREL with wrong fixed flags', new Uint8Array([0x60, 0x02, 0x00, 0x01])],
  ['a CONNACK after CONNACK', new Uint8Array([0x20, 0x02, 0x00, 0x00])],
  // well-formed, but only a client sends them
  ['a CONNECT', new Uint8Array([0x10, 0x0c, 0, 4, 77, 81, 84, 84, 4, 2, 0, 60, 0, 0])],
  ['a SUBSCRIBE', new Uint8Array([0x82, 0x06, 0, 1, 0, 1, 0x61, 0])],
  ['an UNSUBSCRIBE', new Uint8Array([0xa2, 0x05, 0, 1, 0, 1, 0x61])],
  ['a PINGREQ', new Uint8Array([0xc0, 0x00])],
  ['a DISCONNECT', new Uint8Array([0xe0, 0x00])],
];
for (const [what, bytes] of malformed) {
  test(`${what} from the broker: 'error' event, connection closed`, async () => {
    const { client, conn } = await session();
    const error = once(client, 'error');
    const lost = once(client, 'disconnected');
    conn.send(bytes);
    const e = await error;
    assert.equal(typeof e.code, 'string');
    assert.match(e.code, /^MQTT_/);
    assert.equal((await lost).code, e.code);
    await conn.waitClosed();
    assert.equal(client.connected, false);
  });
}

test('packets before a malformed one in the same read are still delivered', async () => {
  const { client, conn } = await session();
  const inbox = new Inbox(client);
  const error = once(client, 'error');
  conn.send({ cmd: 'publish', topic: 'ok', payload: 'first', qos: 0 }, new Uint8Array([0xf0, 0x00]));
  await error;
  assert.deepEqual(inbox.messages.map((m) => m.payload), ['first']);
});

test('bad input throws a typed error before anything is sent, and the client stays usable', async () => {
  const { client, conn, transport } = await session();
  const before = transport.written.length;
  assert.throws(() => client.publish('a/#', 'x', 0), { code: ERR_TOPIC });
  assert.throws(() => client.publish('', 'x', 1), { code: ERR_TOPIC });
  assert.throws(() => client.publish('a', 'x', 3), { code: ERR_QOS });
  assert.throws(() => client.publish('a', 42 as any, 0), { code: ERR_PAYLOAD });
  assert.throws(() => client.subscribe('a/#/b', 0), { code: ERR_TOPIC });
  assert.throws(() => client.subscribe('a', 5), { code: ERR_QOS });
  assert.throws(() => client.subscribe([], 0), { code: ERR_FIELD });
  assert.throws(() => client.unsubscribe('a+'), { code: ERR_TOPIC });
  assert.throws(() => client.connect(), { code: 'MQTT_BUSY' });
  assert.equal(transport.written.length, before);
  const id = await publish(client, 'ok/t', 'fine', 1).catch((e) => e);
  void id;
  const p = await conn.expect('publish');
  assert.equal(p.packet.topic, 'ok/t');
  conn.send({ cmd: 'puback', messageId: p.packet.messageId });
  client.disconnect();
});

test('bad options are typed errors from connect(), before any connection is opened', async () => {
  const { client, transport } = makeClient({ port: broker.port, clientId: 'x', keepalive: 70000 });
  assert.throws(() => client.connect(), { code: ERR_FIELD });
  const { client: c2, transport: t2 } = makeClient({ port: broker.port, clientId: 'x', will: { topic: 'w/#', payload: 'x' } });
  assert.throws(() => c2.connect(), { code: ERR_TOPIC });
  const { client: c3, transport: t3 } = makeClient({ port: broker.port, clientId: 'x', password: 'p' });
  assert.throws(() => c3.connect(), { code: ERR_FIELD });
  assert.equal(transport.connects + t2.connects + t3.connects, 0);
});

test('publishing while not connected throws MQTT_NOT_CONNECTED and sends nothing', async () => {
  const { client, transport } = makeClient({ port: broker.port, clientId: 'x' });
  assert.throws(() => client.publish('t', 'x', 0), { code: 'MQTT_NOT_CONNECTED' });
  assert.throws(() => client.subscribe('t', 0), { code: 'MQTT_NOT_CONNECTED' });
  assert.throws(() => client.ping(), { code: 'MQTT_NOT_CONNECTED' });
  assert.equal(transport.connects, 0);
});

test('packet ids are non-zero, skip ids in flight, and wrap from 65535 to 1', async () => {
  const { client, conn } = await session();
  (client as any)._id = 65534;
  const a = client.publish('t', '1', 1);
  const b = client.publish('t', '2', 1);
  assert.deepEqual([a, b], [65535, 1]);
  await conn.expect('publish');
  await conn.expect('publish');
  conn.send({ cmd: 'puback', messageId: 65535 });
  await sleep(50);
  (client as any)._id = 65534;
  const c = client.publish('t', '3', 1); // 65535 is free again
  const d = client.publish('t', '4', 1); // 1 is still in flight
  assert.deepEqual([c, d], [65535, 2]);
  const s = client.subscribe('x', 0);
  assert.equal(s, 3);
  client.disconnect();
});

test('DISCONNECT is 0xE0 0x00; flows in flight fail with MQTT_CLOSED; disconnect(cb) fires once closed', async () => {
  const { client, conn } = await session();
  let pubErr: any = null;
  client.publish('t', 'x', 1, (err) => { pubErr = err; });
  await conn.expect('publish');
  const lost = once(client, 'disconnected');
  await disconnect(client);
  assert.equal(await lost, undefined);
  assert.equal(pubErr.code, 'MQTT_CLOSED');
  const d = await conn.expect('disconnect');
  assert.equal(hex(d.raw), 'e000');
  await conn.waitClosed();
});

test('the broker closing the connection is reported by disconnected with MQTT_CLOSED', async () => {
  const { client, conn } = await session();
  let subErr: any = null;
  client.subscribe('t', 1, (err) => { subErr = err; });
  await conn.expect('subscribe');
  const lost = once(client, 'disconnected');
  conn.end();
  assert.equal((await lost).code, 'MQTT_CLOSED');
  assert.equal(subErr.code, 'MQTT_CLOSED');
  assert.equal(client.connected, false);
});

test('checkMsg returns at once in every state: idle, connecting, connected, closed, reconnected', async () => {
  const transport = new NodeTransport();
  const client = new MQTTClient({ host: '127.0.0.1', port: broker.port, clientId: 'chk' }, transport);
  live.push(client);
  assert.equal(client.checkMsg(), false);
  const connected = connect(client);
  assert.equal(client.checkMsg(), false); // TCP connecting
  const conn = await broker.nextConnection();
  await conn.expect('connect');
  assert.equal(client.checkMsg(), false); // waiting for CONNACK
  conn.send({ cmd: 'connack', returnCode: 0 });
  await connected;
  assert.equal(client.checkMsg(), true);
  const lost = once(client, 'disconnected');
  conn.destroy();
  await lost;
  assert.equal(client.checkMsg(), false);
  const again = connect(client);
  const conn2 = await broker.nextConnection();
  await conn2.accept();
  await again;
  assert.equal(client.checkMsg(), true);
  client.disconnect();
  assert.equal(client.checkMsg(), false);
});

test('connect() right after disconnect() waits for the old connection to close, then opens a new one', async () => {
  const { client, conn, transport } = await session();
  client.disconnect();
  const again = connect(client);
  await conn.waitClosed();
  const conn2 = await broker.nextConnection();
  await conn2.accept();
  await again;
  assert.equal(transport.connects, 2);
  client.disconnect();
});

test('a transport factory gives each connection a fresh transport', async () => {
  const made: NodeTransport[] = [];
  const client = new MQTTClient({ host: '127.0.0.1', port: broker.port, clientId: 'fac' }, () => {
    const t = new NodeTransport();
    made.push(t);
    return t;
  });
  live.push(client);
  for (let i = 0; i < 2; i++) {
    const done = connect(client);
    const conn = await broker.nextConnection();
    await conn.accept();
    await done;
    await disconnect(client);
  }
  assert.equal(made.length, 2);
  assert.deepEqual(made.map((t) => t.connects), [1, 1]);
});

test('an app callback that throws does not break the stream: later packets are still handled', async () => {
  const { client, conn } = await session();
  const seen: string[] = [];
  const before = board.uncaught.length;
  client.on('message', (topic: string) => {
    seen.push(topic);
    if (topic == 'boom') throw new Error('app bug');
  });
  conn.send({ cmd: 'publish', topic: 'boom', payload: '', qos: 1, messageId: 1 }, { cmd: 'publish', topic: 'after', payload: '', qos: 0 });
  await withTimeout('both messages', 1000, (resolve) => {
    const t = setInterval(() => { if (seen.length == 2 && board.uncaught.length > before) { clearInterval(t); resolve(null); } }, 5);
  });
  assert.deepEqual(seen, ['boom', 'after']);
  assert.equal((board.uncaught[before] as Error).message, 'app bug');
  assert.equal((await conn.expect('puback')).packet.messageId, 1);
  assert.equal(client.connected, true);
  client.disconnect();
});
