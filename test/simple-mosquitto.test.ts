// The simple MQTT client against a real broker: a private mosquitto on loopback with a generated
// config (anonymous listener + password listener), the client over Node's net via the Transport seam.
import './helpers/espruino-globals.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mosquitto } from './helpers/mosquitto.ts';
import {
  makeClient, connect, connectError, publish, subscribe, unsubscribe, disconnect, once, Inbox, sleep,
} from './helpers/client-util.ts';
import { MQTTClient } from '../src/mqtt/simple.ts';

let broker: Mosquitto;
const clients: MQTTClient[] = [];
let seq = 0;

/** A client on the anonymous listener, with a unique client id; closed after the test file. */
function client(opts: Record<string, unknown> = {}) {
  const r = makeClient({ port: broker.port, clientId: `t${process.pid}-${++seq}`, ...opts });
  clients.push(r.client);
  return r;
}

before(async () => { broker = await Mosquitto.start(); });
after(async () => {
  for (const c of clients) if (c.connected) c.disconnect();
  await sleep(50);
  await broker.dispose();
});

test('connects with a clean session: CONNACK accepted, no session present, connected event', async () => {
  const { client: c } = client();
  const connected = once(c, 'connected');
  const sp = await connect(c);
  assert.equal(sp, false);
  assert.equal(await connected, false);
  assert.equal(c.connected, true);
  assert.equal(c.checkMsg(), true);
  await disconnect(c);
  assert.equal(c.connected, false);
});

test('the password listener accepts the right username/password; the debug log never shows the password', async () => {
  const lines: string[] = [];
  const { client: c } = client({ port: broker.authPort, username: 'user', password: 'secret', debug: (l: string) => lines.push(l) });
  assert.equal(await connect(c), false);
  await subscribe(c, 'auth/t', 1);
  await publish(c, 'auth/t', 'x', 1);
  await disconnect(c);
  const log = lines.join('\n');
  assert.match(log, /> connect/);
  assert.match(log, /< connack/);
  assert.match(log, /> subscribe #\d+/);
  assert.match(log, /< suback #\d+/);
  assert.match(log, /> publish #\d+ auth\/t/);
  assert.match(log, /< puback #\d+/);
  assert.match(log, /> disconnect/);
  assert.doesNotMatch(log, /secret/);
});

test('a wrong password is refused with return code 0x05 and its meaning', async () => {
  const { client: c } = client({ port: broker.authPort, username: 'user', password: 'wrong' });
  const err = await connectError(c);
  assert.equal(err.code, 'MQTT_REFUSED');
  assert.equal(err.returnCode, 5);
  assert.match(err.message, /0x05 not authorised/);
  assert.equal(c.connected, false);
});

test('no credentials on the password listener are refused too', async () => {
  const { client: c } = client({ port: broker.authPort });
  const err = await connectError(c);
  assert.equal(err.code, 'MQTT_REFUSED');
  assert.equal(err.returnCode, 5);
});

test('publish/subscribe at every combination of subscription QoS and publish QoS', async () => {
  const { client: sub } = client();
  const { client: pub } = client();
  const inbox = new Inbox(sub);
  await connect(sub);
  await connect(pub);
  const base = `qos/${process.pid}`;
  const granted = await subscribe(sub, [0, 1, 2].map((q) => ({ topic: `${base}/s${q}/#`, qos: q })));
  assert.deepEqual(granted, [0, 1, 2]);
  const expected: string[] = [];
  for (const sq of [0, 1, 2]) {
    for (const pq of [0, 1, 2]) {
      const topic = `${base}/s${sq}/p${pq}`;
      await publish(pub, topic, `m ${sq} ${pq}`, pq);
      expected.push(`${topic} m ${sq} ${pq} q${Math.min(sq, pq)}`);
    }
  }
  const got = await inbox.waitCount(9);
  await sleep(100); // a duplicate would arrive right behind
  assert.deepEqual(inbox.messages.map((m) => `${m.topic} ${m.payload} q${m.qos}`).sort(), expected.sort());
  assert.equal(got.length, 9);
});

test('a retained message reaches a later subscriber with the retain flag, and can be cleared', async () => {
  const { client: pub } = client();
  await connect(pub);
  const topic = `retained/${process.pid}`;
  await publish(pub, topic, 'kept', 1, true);
  const { client: sub } = client();
  const inbox = new Inbox(sub);
  await connect(sub);
  await subscribe(sub, topic, 1);
  const m = await inbox.waitTopic(topic);
  assert.equal(m.payload, 'kept');
  assert.equal(m.retain, true);
  await publish(pub, topic, '', 1, true); // an empty retained message clears it
  const { client: late } = client();
  const lateInbox = new Inbox(late);
  await connect(late);
  await subscribe(late, [{ topic, qos: 1 }, { topic: `${topic}/marker`, qos: 1 }]);
  await publish(pub, `${topic}/marker`, 'm', 1);
  await lateInbox.waitTopic(`${topic}/marker`);
  assert.deepEqual(lateInbox.messages.map((x) => x.topic), [`${topic}/marker`]);
});

test('the will is published when the connection drops uncleanly, not after DISCONNECT', async () => {
  const willTopic = `will/${process.pid}`;
  const { client: watcher } = client();
  const inbox = new Inbox(watcher);
  await connect(watcher);
  await subscribe(watcher, willTopic, 1);

  const { client: polite } = client();
  polite.setLastWill(willTopic, 'polite died', 1, false);
  await connect(polite);
  await disconnect(polite);
  const { client: other } = client();
  await connect(other);
  await publish(other, willTopic, 'marker', 1);
  await inbox.waitCount(1);

  const { client: rude, transport } = client({ will: { topic: willTopic, payload: 'rude died', qos: 1, retain: false } });
  await connect(rude);
  const lost = once(rude, 'disconnected');
  transport.destroy();
  const err = await lost;
  assert.equal(err.code, 'MQTT_CLOSED');
  await inbox.waitCount(2);
  assert.deepEqual(inbox.messages.map((m) => m.payload), ['marker', 'rude died']);
});

test('after unsubscribe no more messages arrive on that filter', async () => {
  const base = `unsub/${process.pid}`;
  const { client: c } = client();
  const inbox = new Inbox(c);
  await connect(c);
  await subscribe(c, [{ topic: `${base}/a`, qos: 1 }, { topic: `${base}/b`, qos: 1 }]);
  await publish(c, `${base}/a`, '1', 1);
  await inbox.waitCount(1);
  await unsubscribe(c, `${base}/a`);
  await publish(c, `${base}/a`, '2', 1);
  await publish(c, `${base}/b`, 'marker', 1);
  await inbox.waitTopic(`${base}/b`);
  assert.deepEqual(inbox.messages.map((m) => `${m.topic}=${m.payload}`), [`${base}/a=1`, `${base}/b=marker`]);
});

test('a persistent session (clean=false) receives QoS 1 and 2 messages queued while it was offline', async () => {
  const id = `persist-${process.pid}`;
  const topic = `persist/${process.pid}`;
  const first = client({ clientId: id, clean: false });
  assert.equal(await connect(first.client), false);
  await subscribe(first.client, topic, 2);
  await disconnect(first.client);

  const { client: pub } = client();
  await connect(pub);
  await publish(pub, topic, 'q1 while away', 1);
  await publish(pub, topic, 'q2 while away', 2);

  const second = client({ clientId: id, clean: false });
  const inbox = new Inbox(second.client);
  assert.equal(await connect(second.client), true, 'session present');
  const got = await inbox.waitCount(2);
  assert.deepEqual(got.map((m) => `${m.payload} q${m.qos}`), ['q1 while away q1', 'q2 while away q2']);
  await disconnect(second.client);
  // leave no session behind
  const cleanup = client({ clientId: id, clean: true });
  await connect(cleanup.client);
  await disconnect(cleanup.client);
});

test('keepalive holds an idle connection open past 3x the interval', async () => {
  const lines: string[] = [];
  const { client: c } = client({ keepalive: 1, debug: (l: string) => lines.push(l) });
  const inbox = new Inbox(c);
  let lost = false;
  c.on('disconnected', () => { lost = true; });
  await connect(c);
  const topic = `ka/${process.pid}`;
  await subscribe(c, topic, 1);
  await sleep(3500);
  assert.equal(lost, false);
  assert.equal(c.connected, true);
  assert.ok(lines.filter((l) => l === '> pingreq').length >= 2, lines.join('\n'));
  assert.ok(lines.filter((l) => l === '< pingresp').length >= 2, lines.join('\n'));
  // still a working connection, not just an open socket
  const { client: pub } = client();
  await connect(pub);
  await publish(pub, topic, 'still here', 1);
  assert.equal((await inbox.waitTopic(topic)).payload, 'still here');
});

test('the client reconnects on the same transport after disconnect, and checkMsg stays non-blocking', async () => {
  const { client: c, transport } = client();
  await connect(c);
  await disconnect(c);
  assert.equal(c.checkMsg(), false);
  await connect(c);
  assert.equal(c.checkMsg(), true);
  const inbox = new Inbox(c);
  await subscribe(c, `re/${process.pid}`, 1);
  await publish(c, `re/${process.pid}`, 'again', 1);
  await inbox.waitCount(1);
  assert.equal(transport.connects, 2);
  await disconnect(c);
});

test('with persistence, a session and its queued messages survive a broker restart on the same port', async () => {
  const durable = await Mosquitto.start({ persistence: true, extraConfig: ['max_queued_messages 100'] });
  try {
    const id = `durable-${process.pid}`;
    const first = makeClient({ port: durable.port, clientId: id, clean: false });
    await connect(first.client);
    await subscribe(first.client, 'durable/t', 1);
    await disconnect(first.client);
    const pub = makeClient({ port: durable.port, clientId: `durable-pub-${process.pid}` });
    await connect(pub.client);
    await publish(pub.client, 'durable/t', 'kept across restart', 1);
    await disconnect(pub.client);
    const port = durable.port;
    await durable.restart();
    assert.equal(durable.port, port);
    const again = makeClient({ port: durable.port, clientId: id, clean: false });
    const inbox = new Inbox(again.client);
    assert.equal(await connect(again.client), true);
    assert.equal((await inbox.waitCount(1))[0].payload, 'kept across restart');
    await disconnect(again.client);
  } finally {
    await durable.dispose();
  }
});
