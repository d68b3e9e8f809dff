// The W5500 driver (src/net/w5500.ts) on the simulated board, talking to the register-level
// emulator over SPI2 (CS B10, RST B1, INT A8), which carries TCP/UDP to servers on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { W5500, type W5500Options, type TcpSocket } from '../src/net/w5500.ts';

const NO_CHIP = 'no W5500: check SPI wiring, CS, mode';
import { rig, until, echoServer, pattern, collect, type Rig } from './helpers/w5500-rig.ts';

const NET = { ip: '192.168.1.2', subnet: '255.255.255.0', gateway: '192.168.1.1' };

/** A ready driver (init done, IP set) on a fresh rig. */
async function ready(r: Rig, opts: Partial<W5500Options> = {}): Promise<W5500> {
  const w = r.driver(opts);
  const err = await new Promise<Error | undefined>((res) => w.init(res));
  assert.equal(err, undefined);
  w.setIP(NET);
  return w;
}

function connected(sock: TcpSocket, host: string, port: number, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no connect event')), ms);
    sock.on('connect', () => { clearTimeout(t); resolve(); });
    sock.on('error', (e: Error) => { clearTimeout(t); reject(e); });
    sock.connect(host, port);
  });
}

/** The first 'error' and the 'close' that must follow it. */
function failure(sock: TcpSocket, ms = 5000): Promise<{ err: { code: string; message: string }; hadError: boolean }> {
  return new Promise((resolve, reject) => {
    let err: any;
    const t = setTimeout(() => reject(new Error('no error/close within ' + ms + ' ms')), ms);
    sock.on('error', (e: any) => { if (!err) err = e; });
    sock.on('close', (hadError: boolean) => { clearTimeout(t); resolve({ err, hadError }); });
  });
}

test('init resets and detects the chip, and reports the link', async () => {
  const r = await rig();
  try {
    let resets = 0;
    r.board.pin('B1').onOutput((l) => { if (l === 0) resets++; });
    const w = await ready(r);
    assert.equal(resets, 1, 'one RSTn pulse');
    assert.equal(w.linkUp(), true);
    const ip = w.getIP();
    assert.equal(ip.ip, NET.ip);
    assert.equal(ip.gateway, NET.gateway);
    // The chip holds what setIP wrote: SIPR/GAR/SUBR/SHAR in one burst
    const mac = ip.mac.split(':').map((h) => parseInt(h, 16));
    assert.equal(mac.length, 6);
    assert.equal(mac[0] & 3, 2, 'locally administered, unicast');
    assert.deepEqual(r.anomalies(), {});
    w.close();
  } finally {
    await r.dispose();
  }
});

test('the default MAC is derived from getSerial(): stable per board, different between boards', async () => {
  const macs: string[] = [];
  for (const serial of ['33FFD605-41573033-15720843', '33FFD605-41573033-15720843', '48FF6B06-49825152-37160667']) {
    const r = await rig({ serial });
    try {
      const w = await ready(r);
      macs.push(w.getIP().mac);
      w.close();
    } finally {
      await r.dispose();
    }
  }
  assert.equal(macs[0], macs[1]);
  assert.notEqual(macs[0], macs[2]);
});

test('a configured MAC is used as given', async () => {
  const r = await rig();
  try {
    const w = await ready(r, { mac: '02:00:00:12:34:56' });
    assert.equal(w.getIP().mac, '02:00:00:12:34:56');
    w.close();
  } finally {
    await r.dispose();
  }
});

for (const [name, fault] of [['absent', 'chipAbsent'], ['miswired', 'miswired']] as const) {
  test(`a chip that is ${name} gives the clear "no W5500" error`, async () => {
    const r = await rig();
    try {
      r.chip.faults[fault]();
      const w = r.driver();
      const err = await new Promise<any>((res) => w.init(res));
      assert.equal(err.code, 'ENOCHIP');
      assert.equal(err.message, NO_CHIP);
      w.close();
    } finally {
      await r.dispose();
    }
  });
}

test('the wrong CS pin gives the clear "no W5500" error', async () => {
  const r = await rig();
  try {
    const w = r.driver({ cs: r.g.B9 });
    const err = await new Promise<any>((res) => w.init(res));
    assert.equal(err.code, 'ENOCHIP');
    assert.equal(err.message, NO_CHIP);
    w.close();
  } finally {
    await r.dispose();
  }
});

for (const mode of ['polled', 'INT'] as const) {
  test(`link pulled and restored gives 'link' events (${mode})`, async () => {
    const r = await rig();
    try {
      const w = await ready(r, mode === 'INT' ? { int: r.g.A8 } : { pollMs: 10 });
      const seen: boolean[] = [];
      w.on('link', (up: boolean) => seen.push(up));
      r.chip.faults.linkDown();
      await until(() => seen.length === 1, 3000);
      assert.equal(w.linkUp(), false);
      r.chip.faults.linkUp();
      await until(() => seen.length === 2, 3000);
      assert.deepEqual(seen, [false, true]);
      assert.equal(w.linkUp(), true);
      w.close();
    } finally {
      await r.dispose();
    }
  });
}

// 'at once': a chip that has taken every command by the next frame (a real W5500 at Espruino
// speeds); by default the emulator holds Sn_CR for one more read, as a busy chip would
for (const mode of ['INT', 'polled', 'INT, commands taken at once'] as const) {
  test(`TCP echo of 100 KB through the chip is byte-exact (${mode})`, async () => {
    const echo = await echoServer();
    const r = await rig({
      routes: { '192.168.1.10:7': '127.0.0.1:' + echo.port }, chip: mode === 'polled' ? {} : { commandReads: mode === 'INT' ? 1 : 0 },
    });
    try {
      const w = await ready(r, mode === 'polled' ? { pollMs: 2 } : { int: r.g.A8 });
      const sock = w.tcp();
      await connected(sock, '192.168.1.10', 7);
      const data = pattern(100 * 1024);
      const got = collect(sock, data.length);
      // Uneven writes, most larger than what the TX buffer has free: queued, drained as FSR allows
      for (let i = 0, k = 1; i < data.length; i += k, k = (k * 7 + 13) % 3001 + 1) {
        assert.equal(sock.write(data.subarray(i, Math.min(data.length, i + k))), true);
      }
      assert.deepEqual(await got, data);
      const closed = new Promise<boolean>((res) => sock.on('close', res));
      sock.close();
      assert.equal(await closed, false);
      await until(() => echo.ended === 1, 3000); // the peer saw our FIN, not a RST
      assert.deepEqual(r.anomalies(), {});
      w.close();
    } finally {
      await r.dispose();
      await echo.close();
    }
  });
}

test('torn RSR/FSR reads, a slow Sn_CR and moved TX pointers: the echo is still byte-exact', async () => {
  const echo = await echoServer();
  const r = await rig({ routes: { '192.168.1.10:7': '127.0.0.1:' + echo.port } });
  try {
    r.chip.faults.tornReads();
    r.chip.faults.slowCommand(6);
    r.chip.faults.randomTxPointers();
    const w = await ready(r, { int: r.g.A8 });
    const sock = w.tcp();
    await connected(sock, '192.168.1.10', 7);
    const data = pattern(40 * 1024);
    const got = collect(sock, data.length);
    for (let i = 0; i < data.length; i += 700) sock.write(data.subarray(i, i + 700));
    assert.deepEqual(await got, data);
    assert.deepEqual(r.anomalies(), {});
    w.close();
  } finally {
    await r.dispose();
    await echo.close();
  }
});

test('a Sn_CR that never clears (broken SPI) is a typed error, not a hang', async () => {
  const r = await rig({ routes: { '192.168.1.10:7': '127.0.0.1:1' } });
  try {
    const w = await ready(r);
    r.chip.faults.slowCommand(100000);
    const sock = w.tcp();
    const f = failure(sock);
    sock.connect('192.168.1.10', 7);
    const { err, hadError } = await f;
    assert.equal(err.code, 'ESPI');
    assert.equal(hadError, true);
    assert.throws(() => w.udp(0), (e: any) => e.code === 'ESPI');
    w.close();
  } finally {
    await r.dispose();
  }
});

test('connect to an address nobody answers fails with ETIMEDOUT by the deadline', async () => {
  const r = await rig();
  try {
    // Chip's own ARP timeout (retries long) would come after ours: the driver's deadline decides
    const w = await ready(r, { connectMs: 300, retryTime: 1000, retryCount: 5 });
    const sock = w.tcp();
    const t0 = Date.now();
    const f = failure(sock, 3000);
    sock.connect('192.168.1.99', 1883);
    const { err, hadError } = await f;
    assert.equal(err.code, 'ETIMEDOUT');
    assert.equal(hadError, true);
    assert.ok(Date.now() - t0 < 3000);
    // The socket is free again: the next connect may start
    assert.equal(w._s.filter(Boolean).length, 0);
    w.close();
  } finally {
    await r.dispose();
  }
});

test('the chip\'s ARP timeout (short RTR/RCR) also ends a connect with ETIMEDOUT', async () => {
  const r = await rig();
  try {
    const w = await ready(r, { connectMs: 5000, retryTime: 20, retryCount: 2 });
    const sock = w.tcp();
    const f = failure(sock, 4000);
    sock.connect('192.168.1.99', 1883);
    const { err } = await f;
    assert.equal(err.code, 'ETIMEDOUT');
    w.close();
  } finally {
    await r.dispose();
  }
});

test('a host that answers without a listener refuses: ECONNREFUSED', async () => {
  const port = await new Promise<number>((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
  const r = await rig({ routes: { '192.168.1.10:1': '127.0.0.1:' + port } });
  try {
    const w = await ready(r);
    const sock = w.tcp();
    const f = failure(sock);
    sock.connect('192.168.1.10', 1);
    assert.equal((await f).err.code, 'ECONNREFUSED');
    w.close();
  } finally {
    await r.dispose();
  }
});

test('names go through the resolver option; without one, ENOTFOUND', async () => {
  const echo = await echoServer();
  const r = await rig({ routes: { '192.168.1.10:7': '127.0.0.1:' + echo.port } });
  try {
    const asked: string[] = [];
    const w = await ready(r, {
      resolve: (name, cb) => { asked.push(name); setTimeout(() => cb(undefined, '192.168.1.10'), 5); },
    });
    const sock = w.tcp();
    await connected(sock, 'echo.example', 7);
    assert.deepEqual(asked, ['echo.example']);
    const got = collect(sock, 5);
    sock.write(new Uint8Array([1, 2, 3, 4, 5]));
    assert.deepEqual(await got, new Uint8Array([1, 2, 3, 4, 5]));
    sock.close();

    const bare = w.tcp({ resolve: undefined });
    const f = failure(bare);
    bare.connect('echo.example', 7);
    assert.equal((await f).err.code, 'ENOTFOUND');

    const failing = w.tcp({ resolve: (_n, cb) => cb(Object.assign(new Error('NXDOMAIN'), { code: 'ENXDOMAIN' })) });
    const f2 = failure(failing);
    failing.connect('nowhere.example', 7);
    assert.equal((await f2).err.code, 'ENXDOMAIN');
    w.close();
  } finally {
    await r.dispose();
    await echo.close();
  }
});

test('the peer closing (CLOSE_WAIT) ends the connection cleanly, after its last bytes', async () => {
  const server = net.createServer({ allowHalfOpen: true }, (s) => { s.end(Buffer.from('bye')); s.resume(); });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const port = (server.address() as net.AddressInfo).port;
  const r = await rig({ routes: { '192.168.1.10:7': '127.0.0.1:' + port } });
  try {
    const w = await ready(r, { int: r.g.A8 });
    const sock = w.tcp();
    const chunks: number[] = [];
    sock.on('data', (d: Uint8Array) => chunks.push(...d));
    const closed = new Promise<boolean>((res) => sock.on('close', res));
    await connected(sock, '192.168.1.10', 7);
    assert.equal(await closed, false);
    assert.equal(Buffer.from(chunks).toString(), 'bye');
    assert.equal(sock.write(new Uint8Array([1])), false, 'no writes after close');
    assert.equal(w._s.filter(Boolean).length, 0, 'the hardware socket is free again');
    w.close();
  } finally {
    await r.dispose();
    await new Promise((res) => server.close(res));
  }
});

test('a peer RST is ECONNRESET, then close(true)', async () => {
  const echo = await echoServer();
  const r = await rig({ routes: { '192.168.1.10:7': '127.0.0.1:' + echo.port } });
  try {
    const w = await ready(r, { int: r.g.A8 });
    const sock = w.tcp();
    await connected(sock, '192.168.1.10', 7);
    const f = failure(sock);
    r.chip.faults.peerReset(sock.n);
    const { err, hadError } = await f;
    assert.equal(err.code, 'ECONNRESET');
    assert.equal(hadError, true);
    w.close();
  } finally {
    await r.dispose();
    await echo.close();
  }
});

test('keep-alive finds a dead peer: ETIMEDOUT', async () => {
  const echo = await echoServer();
  const r = await rig({ routes: { '192.168.1.10:7': '127.0.0.1:' + echo.port }, chip: { keepAliveUnitMs: 50 } });
  try {
    const w = await ready(r, { int: r.g.A8, keepAlive: 5, retryTime: 20, retryCount: 2 });
    const sock = w.tcp();
    await connected(sock, '192.168.1.10', 7);
    const got = collect(sock, 3);
    sock.write(new Uint8Array([7, 8, 9])); // keep-alive starts once data has flowed
    await got;
    const f = failure(sock, 5000);
    r.chip.faults.blackhole(sock.n);
    assert.equal((await f).err.code, 'ETIMEDOUT');
    w.close();
  } finally {
    await r.dispose();
    await echo.close();
  }
});

test('a graceful close whose FIN is never answered ends by its deadline', async () => {
  const echo = await echoServer();
  const r = await rig({ routes: { '192.168.1.10:7': '127.0.0.1:' + echo.port } });
  try {
    const w = await ready(r, { int: r.g.A8, closeMs: 200 });
    const sock = w.tcp();
    await connected(sock, '192.168.1.10', 7);
    r.chip.faults.blackhole(sock.n);
    const closed = new Promise<boolean>((res, rej) => {
      const t = setTimeout(() => rej(new Error('close did not end by its deadline')), 2000);
      sock.on('close', (h: boolean) => { clearTimeout(t); res(h); });
    });
    sock.close();
    assert.equal(await closed, false);
    assert.equal(w._s.filter(Boolean).length, 0);
    w.close();
  } finally {
    await r.dispose();
    await echo.close();
  }
});

test('all eight sockets taken: udp() throws ENOSOCK and connect() reports it', async () => {
  const r = await rig();
  try {
    const w = await ready(r);
    const socks = [];
    for (let i = 0; i < 8; i++) socks.push(w.udp(0));
    assert.equal(new Set(socks.map((s) => s.port)).size, 8, 'distinct ephemeral ports');
    for (const s of socks) assert.ok(s.port >= 49152 && s.port <= 65535);
    assert.throws(() => w.udp(0), (e: any) => e.code === 'ENOSOCK');
    const sock = w.tcp();
    const f = failure(sock);
    sock.connect('192.168.1.10', 7);
    assert.equal((await f).err.code, 'ENOSOCK');
    socks[3].close();
    assert.doesNotThrow(() => w.udp(0).close());
    w.close();
  } finally {
    await r.dispose();
  }
});

test('bufferKB must be valid sizes within 16 KB', async () => {
  const r = await rig();
  try {
    assert.throws(() => r.driver({ bufferKB: [3] }), (e: any) => e.code === 'ECONFIG');
    assert.throws(() => r.driver({ bufferKB: [16, 1] }), (e: any) => e.code === 'ECONFIG');
    // 8 KB for socket 0 only: one socket, and sockets without buffers are never handed out
    const w = r.driver({ bufferKB: [8] });
    await new Promise<void>((res, rej) => w.init((e) => (e ? rej(e) : res())));
    w.setIP(NET);
    const u = w.udp(0);
    assert.equal(u.n, 0);
    assert.throws(() => w.udp(0), (e: any) => e.code === 'ENOSOCK');
    w.close();
  } finally {
    await r.dispose();
  }
});

test('write() before connect returns false and sends nothing', async () => {
  const r = await rig();
  try {
    const w = await ready(r);
    const sock = w.tcp();
    r.chip.counters.reset();
    assert.equal(sock.write(new Uint8Array([1, 2, 3])), false);
    assert.equal(r.chip.counters.byBsb[2].frames, 0, 'nothing written to any TX buffer');
    w.close();
  } finally {
    await r.dispose();
  }
});
