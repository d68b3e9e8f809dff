// MQTT over TLS through the W5500 with stock firmware's TLS: our client (src/mqtt/simple.ts) on the
// net/tls transport (src/net/net-transport.ts), Espruino's tls module doing TLS inside its socket
// layer (sim/networkjs-tls.ts), the bytes through our NetworkJS device and the W5500 emulator, to a
// mosquitto TLS listener with a throwaway CA and server certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { Mosquitto, freePort } from './helpers/mosquitto.ts';
import { SERVER_IP, plain, startNetworkJsBoard, waitFor, type NjsBoard } from './helpers/networkjs-board.ts';
import { makeTlsCerts, type TlsCerts } from './helpers/tls-certs.ts';
import { ST_TLS } from '../sim/networkjs.ts';

const W = 10000;

async function rig(): Promise<{ certs: TlsCerts; broker: Mosquitto; nb: NjsBoard }> {
  const certs = makeTlsCerts();
  const tlsPort = await freePort();
  const broker = await Mosquitto.start({
    extraConfig: [`listener ${tlsPort} 127.0.0.1`, 'allow_anonymous true',
      `cafile ${certs.caFile}`, `certfile ${certs.certFile}`, `keyfile ${certs.keyFile}`],
  });
  const nb = await startNetworkJsBoard({ routes: { [`${SERVER_IP}:8883`]: `127.0.0.1:${tlsPort}` } });
  // Espruino's `ca` is the DER certificate (atob of the PEM body)
  nb.g.CA = certs.caDer.toString('latin1');
  return { certs, broker, nb };
}

test('MQTT over TLS: connect, subscribe and publish at QoS 1 through tls → NetworkJS → W5500 → mosquitto', async () => {
  const { certs, broker, nb } = await rig();
  try {
    nb.ss.trace = [];
    nb.run(`var R = { msgs: [] };
      var C = new FW.MQTTClient({ host: '${SERVER_IP}', port: 8883, clientId: 'njs-tls', keepalive: 30 },
        function () { return new FW.NetTransport({ ca: CA }); });
      C.on('message', function (topic, payload) { R.msgs.push([topic, E.toString(payload)]); });
      C.connect(function (err) {
        R.connected = err ? err.code : true;
        if (err) return;
        C.subscribe('njs/tls', 1, function (err, granted) {
          R.granted = err ? err.code : granted;
          C.publish('njs/tls', 'over TLS, ' + 'x'.repeat(1500), { qos: 1 }, function (err) { R.puback = err ? err.code : true; });
        });
      });`);
    await waitFor(() => nb.g.R.msgs.length && nb.g.R.puback, W, 'the message back from the broker, and its PUBACK');
    const r = plain(nb.g.R);
    assert.equal(r.connected, true);
    assert.deepEqual(r.granted, [1]);
    assert.equal(r.puback, true);
    assert.deepEqual(r.msgs, [['njs/tls', 'over TLS, ' + 'x'.repeat(1500)]]);
    // The broker saw it on its TLS listener, at QoS 1
    assert.match(broker.log(), /Received PUBLISH from njs-tls \(d0, q1, r0, m\d+, 'njs\/tls'/);
    // The device carried TLS records: create(host, 8883, ST_TLS, options with ca); send/recv of type 4
    const create = nb.ss.trace!.find((c) => c.fn === 'create')!;
    assert.deepEqual(create.args.slice(0, 3), [SERVER_IP, 8883, ST_TLS]);
    assert.equal((create.args[3] as { ca: string }).ca, nb.g.CA);
    const sent = nb.ss.trace!.filter((c) => c.fn === 'send' && (c.result as number) > 0);
    assert.ok(sent.length > 0 && sent.every((c) => c.args[2] === ST_TLS));
    // A TLS handshake record (0x16, version 3.x) went first: the bytes on the wire are not MQTT
    const first = sent[0].args[1] as string;
    assert.equal(first.charCodeAt(0), 0x16);
    assert.equal(first.charCodeAt(1), 3);
    assert.ok(!sent.some((c) => (c.args[1] as string).includes('njs/tls')), 'the topic never crosses in clear');
    nb.run(`C.disconnect(function () { R.down = true; });`);
    await waitFor(() => nb.g.R.down, W, 'disconnect');
    assert.deepEqual(nb.sim.board.uncaught, []);
  } finally {
    await nb.dispose();
    await broker.dispose();
    certs.dispose();
  }
});

test('a TLS handshake that fails: an exception on the board (as mbedtls reports it) and the socket closes, no hang', async () => {
  // Not a TLS server: it answers the ClientHello with plain text and keeps the connection open
  const srv = net.createServer((s) => s.once('data', () => s.write('HTTP/1.0 400 Bad Request\r\n\r\n')));
  const port = await new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as AddressInfo).port)));
  const certs = makeTlsCerts();
  const nb = await startNetworkJsBoard({ routes: { [`${SERVER_IP}:8883`]: `127.0.0.1:${port}` } });
  try {
    nb.g.CA = certs.caDer.toString('latin1');
    nb.run(`var R = {};
      var C = new FW.MQTTClient({ host: '${SERVER_IP}', port: 8883, clientId: 'njs-bad', connectTimeout: 8000 },
        function () { return new FW.NetTransport({ ca: CA }); });
      C.on('error', function () {});
      C.connect(function (err) { R.result = err ? err.code : 'connected'; R.msg = err && err.message; });`);
    await waitFor(() => nb.g.R.result, W, 'connect() to call back');
    // Espruino's socket 'connect' came before the handshake, so MQTT's CONNECT was waiting to go:
    // the socket layer reports SOCKET_ERR_UNSENT_DATA (-8)
    assert.equal(nb.g.R.result, 'NET_ERROR');
    assert.match(nb.g.R.msg, /-8: unsent data/);
    assert.equal(nb.sim.board.uncaught.length, 1);
    assert.match(String(nb.sim.board.uncaught[0]), /^InternalError: mbedtls_ssl_handshake returned wrong version number/);
  } finally {
    await nb.dispose();
    await new Promise((resolve) => srv.close(resolve));
    certs.dispose();
  }
});
