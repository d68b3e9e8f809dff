// The apps' life on one simulated board, without the CLI: the static fallback when no DHCP server
// answers, E 'kill' (sent before reset/load/save) closing everything while the board still runs, and
// the subscriber's side of the exchange: a reply per message, then unsubscribe, disconnect, stop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { DhcpServer } from '../sim/dhcp-server.ts';
import { TestBroker, appBoard, appBundle, buildApps, liveWatches, openSockets, waitForLine } from './helpers/app-rig.ts';

describe('apps on a simulated board', () => {
  let broker: TestBroker;

  before(async () => {
    buildApps();
    broker = await TestBroker.start();
  });

  after(() => broker.close());

  test('no DHCP server: the static address is used after DHCP_TIMEOUT, and the app connects with it', async () => {
    const b = appBoard(appBundle('pub', { DHCP_TIMEOUT: '300', INTERVAL: '100', COUNT: '2' }), [broker.route()]);
    try {
      b.sim.board.boot();
      await waitForLine(b.lines, /^pub: done$/, 15_000);
      const i = b.lines.indexOf('pub: static 192.168.1.20');
      assert.ok(i > 0, b.lines.join('\n'));
      assert.ok(b.lines.indexOf('pub: connected to 192.168.1.10:1883') > i);
      assert.ok(!b.lines.some((l) => /DHCP lease/.test(l)));
    } finally {
      await b.dispose();
    }
  });

  test('DHCP false: static settings at once, no DHCP traffic', async () => {
    const b = appBoard(appBundle('pub', { DHCP: 'false', IP: '"192.168.1.77"', INTERVAL: '100', COUNT: '1' }), [broker.route()]);
    try {
      b.sim.board.boot();
      await waitForLine(b.lines, /^pub: done$/, 15_000);
      assert.ok(b.lines.includes('pub: static 192.168.1.77'), b.lines.join('\n'));
      assert.equal(b.sim.chip.counters.net.udpTxDatagrams, 0);
    } finally {
      await b.dispose();
    }
  });

  test("E 'kill' while publishing: timers, watches and sockets released at once, the broker sees the client go", async () => {
    const b = appBoard(appBundle('pub', { DHCP: 'false', INTERVAL: '50', COUNT: '0' }), [broker.route()]);
    try {
      b.sim.board.boot();
      await waitForLine(b.lines, /^pub: sent 3$/, 15_000);
      assert.equal(broker.connected, 1);
      b.sim.board.emit('kill');
      await new Promise((r) => setTimeout(r, 200));
      const sent = b.lines.filter((l) => /^pub: sent/.test(l)).length;
      assert.equal(b.sim.board.timers.size, 0, 'no timer');
      assert.equal(liveWatches(b.sim), 0, 'no watch');
      assert.deepEqual(openSockets(b.sim), []);
      assert.equal(broker.connected, 0);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(b.lines.filter((l) => /^pub: sent/.test(l)).length, sent, 'nothing published after kill');
      assert.deepEqual(b.sim.board.uncaught, []);
    } finally {
      await b.dispose();
    }
  });

  test('sub: replies with the running count to REPLY_TOPIC, then unsubscribes, disconnects and stops after COUNT', async () => {
    const dhcp = await DhcpServer.start({ server: '192.168.1.1', first: '192.168.1.100' });
    const b = appBoard(appBundle('sub', { COUNT: '3', QOS: '1' }), [broker.route(), ...dhcp.routes()]);
    const peer = new net.Socket();
    try {
      b.sim.board.boot();
      await waitForLine(b.lines, /^sub: subscribed to w5500\/demo\/data$/, 15_000);
      // A plain MQTT 3.1.1 client from Node plays the publisher.
      const replies: string[] = [];
      const mqtt = await import('mqtt-packet');
      const parser = mqtt.parser({ protocolVersion: 4 });
      parser.on('packet', (p: any) => {
        if (p.cmd === 'publish') replies.push(p.payload.toString());
      });
      await new Promise<void>((ok) => peer.connect(broker.port, '127.0.0.1', () => ok()));
      peer.on('data', (d) => parser.parse(d));
      const send = (p: object) => peer.write(mqtt.generate(p as any));
      send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'node-pub', keepalive: 30 });
      send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'w5500/demo/reply', qos: 0 }] });
      await new Promise((r) => setTimeout(r, 100));
      for (let n = 1; n <= 5; n++) send({ cmd: 'publish', topic: 'w5500/demo/data', payload: `{"n":${n}}`, qos: 0, retain: false });
      await waitForLine(b.lines, /^sub: done$/, 10_000);
      assert.deepEqual(b.lines.filter((l) => /^sub: got/.test(l)),
        ['sub: got 1 on w5500/demo/data: {"n":1}', 'sub: got 2 on w5500/demo/data: {"n":2}', 'sub: got 3 on w5500/demo/data: {"n":3}']);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(replies, ['1', '2', '3']);
      assert.equal(b.sim.board.timers.size, 0);
      assert.equal(liveWatches(b.sim), 0);
      assert.deepEqual(openSockets(b.sim), []);
    } finally {
      peer.destroy();
      await b.dispose();
      await dhcp.close();
    }
  });
});
