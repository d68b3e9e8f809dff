// NetTransport (src/net/net-transport.ts), the Transport over Espruino's own `net` module, with the
// MQTT client on top, against mosquitto. require('net') is a stand-in with Espruino's semantics as its
// reference documents them and the Linux build showed: strings for data, a connect callback,
// error objects { code: negative, message }, no 'close' after an error on a socket that never
// connected, and (Linux build) a refused connection thrown synchronously.
import { board } from './helpers/espruino-globals.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Mosquitto } from './helpers/mosquitto.ts';
import { connect, connectError, publish, subscribe, disconnect, once, Inbox } from './helpers/client-util.ts';
import { MQTTClient } from '../src/mqtt/simple.ts';
import { NetTransport } from '../src/net/net-transport.ts';
import { Emitter } from '../src/events.ts';

const THROWING_PORT = 1; // connect() to it throws at once, as the Linux build does for a refused connection
const written: string[] = [];

const espruinoNet = {
  connect(opts: { host: string; port: number }, cb: () => void) {
    if (opts.port === THROWING_PORT) throw new Error('Unable to create socket');
    const sock = new Emitter() as Emitter & { write(s: string): boolean; end(): void };
    const s = net.connect(opts.port, opts.host);
    let connected = false;
    s.on('connect', () => { connected = true; cb(); });
    s.on('data', (b: Buffer) => sock.emit('data', b.toString('latin1')));
    s.on('error', (e: Error) => sock.emit('error', { code: -9, message: e.message }));
    s.on('close', (hadError: boolean) => { if (connected) sock.emit('close', hadError); });
    sock.write = (str: string) => { written.push(str); s.write(Buffer.from(str, 'latin1')); return false; };
    sock.end = () => { s.end(); };
    return sock;
  },
};

let broker: Mosquitto;
before(async () => {
  board.addModule('net', espruinoNet);
  broker = await Mosquitto.start();
});
after(async () => { await broker.dispose(); });

test('the client over NetTransport: connect, subscribe, binary payload with every byte value, disconnect', async () => {
  const c = new MQTTClient({ host: '127.0.0.1', port: broker.port, clientId: 'net-1' }, new NetTransport());
  const inbox = new Inbox(c);
  const raw: Uint8Array[] = [];
  c.on('message', (_t: string, p: Uint8Array) => raw.push(p));
  assert.equal(await connect(c), false);
  await subscribe(c, 'net/bin', 2);
  const all = new Uint8Array(256).map((_, i) => i);
  await publish(c, 'net/bin', all, 2);
  await inbox.waitCount(1);
  assert.deepEqual(Array.from(raw[0]), Array.from(all));
  assert.ok(written.every((s) => typeof s == 'string'));
  await disconnect(c);
  assert.equal(c.connected, false);
});

test('NetTransport: a connection refused asynchronously ends in error then close, reaching connect()', async () => {
  const spare = net.createServer();
  const port = await new Promise<number>((r) => spare.listen(0, '127.0.0.1', () => r((spare.address() as net.AddressInfo).port)));
  await new Promise((r) => spare.close(r));
  const t = new NetTransport();
  const events: string[] = [];
  t.on('error', (e: any) => events.push('error ' + e.code));
  t.on('close', (hadError: boolean) => events.push('close ' + hadError));
  const c = new MQTTClient({ host: '127.0.0.1', port, clientId: 'net-2' }, t);
  const err = await connectError(c);
  assert.equal(err.code, 'NET_ERROR');
  assert.deepEqual(events, ['error NET_ERROR', 'close true']);
});

test('NetTransport: a connection refused synchronously (Linux build) is reported after connect() returns', async () => {
  const c = new MQTTClient({ host: '127.0.0.1', port: THROWING_PORT, clientId: 'net-3' }, new NetTransport());
  const err = await connectError(c);
  assert.equal(err.code, 'NET_ERROR');
  assert.match(err.message, /Unable to create socket/);
  assert.equal(c.checkMsg(), false);
});

test('NetTransport: the broker closing the connection reaches the client as disconnected', async () => {
  const c = new MQTTClient({ host: '127.0.0.1', port: broker.port, clientId: 'net-4' }, new NetTransport());
  await connect(c);
  // the same client id connecting again makes the broker drop the first connection
  const twin = new MQTTClient({ host: '127.0.0.1', port: broker.port, clientId: 'net-4' }, new NetTransport());
  const lost = once(c, 'disconnected');
  await connect(twin);
  assert.equal((await lost).code, 'MQTT_CLOSED');
  await disconnect(twin);
});
