// The W5500 as Espruino's NetworkJS device (src/net/networkjs.ts), used the way stock firmware uses
// it: the board's own require('http'|'net'|'dgram') (sim/networkjs.ts, Espruino's socket layer) call
// create/recv/send/accept/close, the driver moves the bytes through the W5500 emulator, and real
// servers answer on 127.0.0.1. SERVER_IP's ports are routed to them; DNS_IP:53 to a scripted DNS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { CHUNK_SIZE, SOCKET_ERR } from '../sim/networkjs.ts';
import { DNS_IP, SERVER_IP, plain, startNetworkJsBoard, waitFor, type NjsBoard } from './helpers/networkjs-board.ts';
import { ScriptedDns } from './helpers/scripted-dns.ts';

const W = 5000; // ms for anything that crosses the emulated wire

function listening<T extends net.Server | http.Server>(srv: T): Promise<number> {
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as AddressInfo).port)));
}

function closed(srv: net.Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

/** Device calls of one kind, from the socket layer's trace. */
function calls(nb: NjsBoard, fn: string): { args: unknown[]; result: unknown }[] {
  return nb.ss.trace!.filter((c) => c.fn === fn);
}

/** A host TCP client: connects, writes, collects until the board closes (or `until` is seen). */
function tcpExchange(port: number, send: string, until?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no reply within ${W} ms (got ${JSON.stringify(got)})`)); }, W);
    s.on('connect', () => s.write(send));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (until && got.includes(until)) { clearTimeout(t); s.end(); resolve(got); }
    });
    s.on('close', () => { clearTimeout(t); resolve(got); });
    s.on('error', (e) => { clearTimeout(t); reject(e); });
  });
}

test('http.get fetches a page from a Node HTTP server; the device is called as Espruino calls it', async () => {
  const body = 'page:' + 'x'.repeat(3000);
  let seen: http.IncomingHttpHeaders = {};
  // (options, handler): the one-argument form resolves to @types/espruino's declaration of "http"
  const srv = http.createServer({}, (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen = req.headers;
    res.setHeader('Content-Type', 'text/plain');
    res.end(body + req.url);
  });
  const port = await listening(srv);
  const nb = await startNetworkJsBoard({ routes: { [`${SERVER_IP}:80`]: `127.0.0.1:${port}` } });
  try {
    nb.ss.trace = [];
    nb.run(`var R = { data: '', chunks: 0 };
      require('http').get('http://${SERVER_IP}/page?x=1', function (res) {
        R.status = res.statusCode; R.type = res.headers['Content-Type'];
        res.on('data', function (d) { R.data += d; R.chunks++; });
        res.on('close', function (hadError) { R.closed = true; R.hadError = hadError; });
      });`);
    await waitFor(() => nb.g.R.closed, W, 'the response to close');
    const r = plain(nb.g.R);
    assert.equal(r.status, '200');
    assert.equal(r.type, 'text/plain');
    assert.equal(r.data, body + '/page?x=1');
    assert.equal(r.hadError, false);
    assert.ok(r.chunks > 1, 'a 3 KB body arrives in several recv() chunks');
    assert.match(String(seen['user-agent']), /^Espruino /);
    assert.equal(seen.host, SERVER_IP);
    // create(host, port, ST_HTTP, options); recv(sckt, 536, 1) and never more than asked
    const [create] = calls(nb, 'create');
    assert.deepEqual(create.args.slice(0, 3), [SERVER_IP, 80, 1]);
    assert.equal(create.result, 0);
    for (const c of calls(nb, 'recv')) {
      assert.deepEqual(c.args.slice(1), [CHUNK_SIZE, 1]);
      assert.ok(typeof c.result !== 'string' || c.result.length <= CHUNK_SIZE);
    }
    // Content-Length reached: Espruino closes the socket
    assert.deepEqual(calls(nb, 'close').map((c) => c.args[0]), [0]);
    assert.deepEqual(nb.sim.board.uncaught, []);
  } finally {
    await nb.dispose();
    await closed(srv);
  }
});

test('a request by host name is resolved through the DNS client, without blocking create()', async () => {
  const dns = await ScriptedDns.start();
  dns.serve({ 'www.example.test': SERVER_IP });
  const srv = http.createServer({}, (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('named'));
  const port = await listening(srv);
  const nb = await startNetworkJsBoard({ routes: { [`${SERVER_IP}:8080`]: `127.0.0.1:${port}`, [`${DNS_IP}:53`]: `127.0.0.1:${dns.port}` } });
  try {
    nb.ss.trace = [];
    nb.run(`var R = { data: '' };
      require('http').get({ host: 'www.example.test', port: 8080, path: '/' }, function (res) {
        res.on('data', function (d) { R.data += d; });
        res.on('close', function () { R.closed = true; });
      });`);
    // create() returned a socket at once, before any DNS query could have been answered
    assert.deepEqual(calls(nb, 'create').map((c) => [c.args[0], c.result]), [['www.example.test', 0]]);
    await waitFor(() => nb.g.R.closed, W, 'the response to close');
    assert.equal(nb.g.R.data, 'named');
    assert.deepEqual(dns.queries.map((q) => q.name), ['www.example.test']);
  } finally {
    await nb.dispose();
    await closed(srv);
    await dns.close();
  }
});

test('a name that does not resolve: error -6 (not found) on the socket, which is released', async () => {
  const dns = await ScriptedDns.start();
  dns.serve({});
  const nb = await startNetworkJsBoard({ routes: { [`${DNS_IP}:53`]: `127.0.0.1:${dns.port}` } });
  try {
    nb.run(`var R = {};
      var c = require('net').connect({ host: 'nowhere.test', port: 1234 }, function () { R.connected = true; });
      c.on('error', function (e) { R.error = e; });
      c.on('close', function (hadError) { R.closed = hadError; });`);
    await waitFor(() => nb.g.R.closed !== undefined, W, 'close');
    assert.deepEqual(plain(nb.g.R), { error: { code: SOCKET_ERR.NOT_FOUND, message: 'not found' }, closed: true });
  } finally {
    await nb.dispose();
    await dns.close();
  }
});

test('a TCP server on the board answers clients on the host, one after another', async () => {
  const nb = await startNetworkJsBoard();
  try {
    nb.ss.trace = [];
    nb.run(`var R = { conns: 0 };
      require('net').createServer(function (c) {
        R.conns++;
        c.on('data', function (d) { c.write('echo:' + d.toUpperCase()); if (d.indexOf('.') >= 0) c.end(); });
      }).listen(8080);`);
    assert.deepEqual(calls(nb, 'create')[0].args.slice(0, 3), [undefined, 8080, 0]);
    const port = await nb.sim.chip.hostPort('tcp', 8080);
    assert.equal(await tcpExchange(port, 'hello.'), 'echo:HELLO.');
    // accept() listened again: a second client is served too
    assert.equal(await tcpExchange(port, 'again.'), 'echo:AGAIN.');
    assert.equal(nb.g.R.conns, 2);
    const accepted = calls(nb, 'accept').filter((c) => (c.result as number) >= 0);
    assert.equal(accepted.length, 2);
  } finally {
    await nb.dispose();
  }
});

test('an HTTP server on the board answers a Node http.get', async () => {
  const nb = await startNetworkJsBoard();
  try {
    nb.run(`require('http').createServer(function (req, res) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('board says ' + req.method + ' ' + req.url);
      }).listen(80);`);
    const port = await nb.sim.chip.hostPort('tcp', 80);
    const reply = await new Promise<{ status?: number; type?: string; body: string }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/hi?q=1', timeout: W }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
      });
      req.on('timeout', () => req.destroy(new Error('no answer')));
      req.on('error', reject);
    });
    assert.deepEqual(reply, { status: 200, type: 'text/plain', body: 'board says GET /hi?q=1' });
  } finally {
    await nb.dispose();
  }
});

test('dgram: datagrams both ways, with the sender address, through a bound and an unbound socket', async () => {
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', () => resolve()));
  const peerPort = peer.address().port;
  const got: { msg: string; port: number }[] = [];
  peer.on('message', (msg, rinfo) => {
    got.push({ msg: msg.toString('latin1'), port: rinfo.port });
    if (msg.toString() === 'ping') peer.send('pong', rinfo.port, rinfo.address);
  });
  const nb = await startNetworkJsBoard({ routes: [{ from: `${SERVER_IP}:7000`, to: `127.0.0.1:${peerPort}`, proto: 'udp' }] });
  try {
    nb.ss.trace = [];
    nb.run(`var R = { client: [], bound: [] };
      var u = require('dgram').createSocket('udp4');
      u.on('message', function (m, r) { R.client.push([m, r.address, r.port, r.size]); });
      u.send('ping', 7000, '${SERVER_IP}');
      var b = require('dgram').createSocket({ type: 'udp4' });
      b.bind(5000, function () { R.bound.ok = true; });
      b.on('message', function (m, r) { R.bound.push([m, r.address, r.port]); b.send('ack:' + m, r.port, r.address); });`);
    await waitFor(() => nb.g.R.client.length, W, 'the pong');
    assert.deepEqual(plain(nb.g.R.client), [['pong', SERVER_IP, 7000, 4]]);
    // The host sends to the board's bound port 5000 (from the routed address); the board answers
    const hostPort = await nb.sim.chip.hostPort('udp', 5000);
    peer.send(Buffer.from([0, 1, 2, 255]), hostPort, '127.0.0.1');
    await waitFor(() => got.length === 2, W, 'the ack');
    assert.deepEqual(plain(nb.g.R.bound), [['\u0000\u0001\u0002\u00ff', SERVER_IP, 7000]]);
    assert.equal(got[1].msg, 'ack:\u0000\u0001\u0002\u00ff');
    // UDP create(): the unbound socket on port 0, the bound one on 5000, both type 2
    assert.deepEqual(calls(nb, 'create').map((c) => c.args.slice(1, 3)), [[0, 2], [5000, 2]]);
    // send() takes one datagram behind Espruino's 8-byte header (IP, then port and length little-endian)
    const first = calls(nb, 'send')[0];
    assert.equal(first.args[1], String.fromCharCode(192, 168, 1, 10, 7000 & 255, 7000 >> 8, 4, 0) + 'ping');
    assert.equal(first.result, 12);
  } finally {
    await nb.dispose();
    peer.close();
  }
});

test('sockets exhausted: create() returns -7 (max sockets) at once, keeping one for DHCP/DNS; a name still resolves', async () => {
  const dns = await ScriptedDns.start();
  dns.serve({ 'last.test': SERVER_IP });
  const held: net.Socket[] = [];
  const srv = net.createServer((s) => held.push(s));
  const port = await listening(srv);
  const nb = await startNetworkJsBoard({ routes: { [`${SERVER_IP}:9000`]: `127.0.0.1:${port}`, [`${DNS_IP}:53`]: `127.0.0.1:${dns.port}` } });
  try {
    nb.ss.trace = [];
    nb.run(`var R = { up: 0, errors: [] }; var S = [];
      for (var i = 0; i < 6; i++) S.push(require('net').connect({ host: '${SERVER_IP}', port: 9000 }, function () { R.up++; }));`);
    await waitFor(() => nb.g.R.up === 6, W, 'six connections');
    // The seventh by name: its DNS lookup needs the eighth chip socket, which stays free for it
    nb.run(`S.push(require('net').connect({ host: 'last.test', port: 9000 }, function () { R.up++; }));`);
    await waitFor(() => nb.g.R.up === 7, W, 'the seventh connection');
    nb.run(`try { require('net').connect({ host: '${SERVER_IP}', port: 9000 }); } catch (e) { R.thrown = e.message; }`);
    assert.equal(nb.g.R.thrown, 'Unable to create socket');
    assert.equal(calls(nb, 'create').at(-1)!.result, SOCKET_ERR.MAX_SOCK);
    // The device says so directly, too, for UDP and servers
    assert.equal(nb.g.ETH.create(undefined, 5000, 2), SOCKET_ERR.MAX_SOCK);
    assert.equal(nb.g.ETH.create(undefined, 80, 0), SOCKET_ERR.MAX_SOCK);
    // One closed: its socket comes back once the chip has closed it
    nb.run(`S[0].end();`);
    await waitFor(() => { try { nb.run(`S.push(require('net').connect({ host: '${SERVER_IP}', port: 9000 }, function () { R.up++; }));`); return true; } catch { return false; } },
      W, 'a socket to come free');
    await waitFor(() => nb.g.R.up === 8, W, 'the new connection');
  } finally {
    await nb.dispose();
    for (const s of held) s.destroy();
    await closed(srv);
    await dns.close();
  }
});

test('a socket closed by the peer: recv() delivers the data, then -1; Espruino closes it and the socket is free again', async () => {
  // The server answers the board's first bytes with 'bye' and its FIN
  const srv = net.createServer((s) => s.once('data', () => s.end('bye')));
  const port = await listening(srv);
  const nb = await startNetworkJsBoard({ routes: { [`${SERVER_IP}:9000`]: `127.0.0.1:${port}` } });
  try {
    nb.ss.trace = [];
    nb.run(`var R = { ev: [] };
      var c = require('net').connect({ host: '${SERVER_IP}', port: 9000 }, function () { R.ev.push('connect'); c.write('hi'); });
      c.on('data', function (d) { R.ev.push('data:' + d); });
      c.on('end', function () { R.ev.push('end'); });
      c.on('error', function (e) { R.ev.push('error:' + e.code); });
      c.on('close', function (hadError) { R.ev.push('close:' + hadError); });`);
    await waitFor(() => nb.g.R.ev.some((e: string) => e.startsWith('close')), W, 'close');
    assert.deepEqual(plain(nb.g.R.ev), ['connect', 'data:bye', 'end', 'close:false']);
    const results = calls(nb, 'recv').map((c) => c.result);
    // -11 (not connected yet) while connecting, then the data, then -1
    assert.equal(results[0], SOCKET_ERR.NO_CONN);
    assert.ok(results.indexOf('bye') < results.indexOf(SOCKET_ERR.CLOSED));
    assert.deepEqual(calls(nb, 'close').map((c) => c.args[0]), [0]);
    assert.equal(nb.g.ETH.recv(0, 536, 0), SOCKET_ERR.CLOSED, 'the number is no longer in use');
    // the chip socket went back to CLOSED, and the number is handed out again
    await waitFor(() => [0, 1, 2, 3, 4, 5, 6, 7].every((n) => nb.sim.chip.inspect(n).state === 0), W, 'every chip socket closed');
    assert.equal(nb.g.ETH.create(SERVER_IP, 9000, 0), 0);
  } finally {
    await nb.dispose();
    await closed(srv);
  }
});
