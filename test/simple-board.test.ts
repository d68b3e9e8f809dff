// The simple MQTT client end to end as firmware: bundled and minified like a flashed app, running in
// the simulated board's Espruino context, its TCP through the W5500 driver and the W5500 emulator
// (SPI2, CS B10, RST B1, INT A8) to a private mosquitto on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mosquitto } from './helpers/mosquitto.ts';
import { startMqttBoard, type MqttBoard } from './helpers/mqtt-board.ts';
import { connect, connectError, publish, subscribe, unsubscribe, disconnect, once, Inbox, sleep } from './helpers/client-util.ts';

const PLAIN = 1883;
const AUTH = 8883;
let broker: Mosquitto;
let rig: MqttBoard;
let seq = 0;

before(async () => {
  broker = await Mosquitto.start();
  rig = await startMqttBoard({ [PLAIN]: broker.port, [AUTH]: broker.authPort });
});
after(async () => {
  await rig.dispose();
  await broker.dispose();
});

/** A firmware client (at most two connected at once: the driver's default gives two sockets). */
function client(opts: Record<string, unknown> = {}) {
  return rig.client({ port: PLAIN, clientId: `board-${++seq}`, ...opts });
}

test('on the board: username/password accepted, a wrong password refused with 0x05', async () => {
  const ok = client({ port: AUTH, username: 'user', password: 'secret' });
  assert.equal(await connect(ok, 5000), false);
  await disconnect(ok);
  const bad = client({ port: AUTH, username: 'user', password: 'wrong' });
  const err = await connectError(bad, 5000);
  assert.equal(err.code, 'MQTT_REFUSED');
  assert.equal(err.returnCode, 5);
});

test('on the board: every subscription QoS x publish QoS, each message delivered once at the lower QoS', async () => {
  const c = client();
  const inbox = new Inbox(c);
  await connect(c, 5000);
  // granted is an array of the board realm: copy it for deepEqual
  assert.deepEqual(Array.from(await subscribe(c, [0, 1, 2].map((q) => ({ topic: `b/s${q}/#`, qos: q })))), [0, 1, 2]);
  const expected: string[] = [];
  for (const sq of [0, 1, 2]) {
    for (const pq of [0, 1, 2]) {
      await publish(c, `b/s${sq}/p${pq}`, `${sq}${pq}`, pq);
      expected.push(`b/s${sq}/p${pq}=${sq}${pq} q${Math.min(sq, pq)}`);
    }
  }
  await inbox.waitCount(9, 5000);
  await sleep(100);
  assert.deepEqual(inbox.messages.map((m) => `${m.topic}=${m.payload} q${m.qos}`).sort(), expected.sort());
  await disconnect(c);
});

test('on the board: retained message with its flag; unsubscribe stops delivery', async () => {
  const pub = client();
  await connect(pub, 5000);
  await publish(pub, 'b/retained', 'kept', 1, true);
  const sub = client();
  const inbox = new Inbox(sub);
  await connect(sub, 5000);
  await subscribe(sub, [{ topic: 'b/retained', qos: 1 }, { topic: 'b/marker', qos: 1 }]);
  const m = await inbox.waitTopic('b/retained', 5000);
  assert.equal(m.retain, true);
  assert.equal(m.payload, 'kept');
  await unsubscribe(sub, 'b/retained');
  await publish(pub, 'b/retained', '', 1, true);
  await publish(pub, 'b/marker', 'm', 1);
  await inbox.waitTopic('b/marker', 5000);
  assert.deepEqual(inbox.messages.map((x) => x.topic), ['b/retained', 'b/marker']);
  await disconnect(pub);
  await disconnect(sub);
});

test('on the board: the will is published after an unclean drop, not after DISCONNECT', async () => {
  const watcher = client();
  const inbox = new Inbox(watcher);
  await connect(watcher, 5000);
  await subscribe(watcher, 'b/will', 1);

  const polite = client({ will: { topic: 'b/will', payload: 'polite', qos: 1, retain: false } });
  await connect(polite, 5000);
  await disconnect(polite);
  const rude = client({ will: { topic: 'b/will', payload: 'rude', qos: 1, retain: false } });
  await connect(rude, 5000);
  const lost = once(rude, 'disconnected', 5000);
  rude._tr.close(); // the TCP connection ends without an MQTT DISCONNECT
  await lost;
  await inbox.waitCount(1, 5000);
  await sleep(200);
  assert.deepEqual(inbox.messages.map((m) => m.payload), ['rude']);
  await disconnect(watcher);
});

test('on the board: a persistent session receives what was published while it was offline', async () => {
  const id = 'board-persist';
  const first = client({ clientId: id, clean: false });
  await connect(first, 5000);
  await subscribe(first, 'b/persist', 2);
  await disconnect(first);
  const pub = client();
  await connect(pub, 5000);
  await publish(pub, 'b/persist', 'one', 1);
  await publish(pub, 'b/persist', 'two', 2);
  await disconnect(pub);
  const second = client({ clientId: id, clean: false });
  const inbox = new Inbox(second);
  assert.equal(await connect(second, 5000), true);
  const got = await inbox.waitCount(2, 5000);
  assert.deepEqual(got.map((m) => `${m.payload} q${m.qos}`), ['one q1', 'two q2']);
  await disconnect(second);
});

test('on the board: keepalive holds an idle connection open past 3x the interval', async () => {
  const c = client({ keepalive: 1 });
  let lost = false;
  c.on('disconnected', () => { lost = true; });
  const inbox = new Inbox(c);
  await connect(c, 5000);
  await subscribe(c, 'b/ka', 1);
  await sleep(3500);
  assert.equal(lost, false);
  assert.equal(c.checkMsg(), true);
  await publish(c, 'b/ka', 'alive', 1);
  assert.equal((await inbox.waitTopic('b/ka', 5000)).payload, 'alive');
  assert.ok((broker.log().match(/Received PINGREQ from board-/g) ?? []).length >= 2);
  await disconnect(c);
});
