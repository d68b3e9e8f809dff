// UDP sockets of the W5500 driver through the emulator: datagrams out (unicast and broadcast) and
// in, with the sender's address; ARP failure, size limit, close with sends queued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import type { W5500, UdpSocket } from '../src/net/w5500.ts';
import { rig, pattern, type Rig } from './helpers/w5500-rig.ts';

const NET = { ip: '192.168.1.2', subnet: '255.255.255.0', gateway: '192.168.1.1' };

async function ready(r: Rig, int = true): Promise<W5500> {
  const w = r.driver(int ? { int: r.g.A8 } : { pollMs: 5 });
  await new Promise<void>((res, rej) => w.init((e) => (e ? rej(e) : res())));
  w.setIP(NET);
  return w;
}

/** A UDP server on 127.0.0.1; echo=true sends each datagram back. */
async function udpServer(echo: boolean): Promise<{ port: number; got: Buffer[]; close(): Promise<void> }> {
  const s = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (m, rinfo) => {
    got.push(m);
    if (echo) s.send(m, rinfo.port, rinfo.address);
  });
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
  return { port: (s.address() as net.AddressInfo).port, got, close: () => new Promise<void>((res) => s.close(() => res())) };
}

function sent(u: UdpSocket, ip: string, port: number, data: Uint8Array): Promise<any> {
  return new Promise((res) => u.send(ip, port, data, res));
}

function messages(u: UdpSocket, n: number, ms = 5000): Promise<{ data: Uint8Array; from: { ip: string; port: number } }[]> {
  return new Promise((resolve, reject) => {
    const out: { data: Uint8Array; from: { ip: string; port: number } }[] = [];
    const t = setTimeout(() => reject(new Error(`got ${out.length} of ${n} datagrams`)), ms);
    u.on('message', (data: Uint8Array, from: { ip: string; port: number }) => {
      out.push({ data: data.slice(), from });
      if (out.length === n) {
        clearTimeout(t);
        resolve(out);
      }
    });
  });
}

// 'at once': a chip that has taken every command by the next frame (a real W5500 at Espruino speeds)
for (const mode of ['INT', 'polled', 'INT, commands taken at once'] as const) {
  test(`UDP echo: datagrams keep their boundaries, order and sender address (${mode})`, async () => {
    const srv = await udpServer(true);
    const r = await rig({
      routes: { '192.168.1.20:7': '127.0.0.1:' + srv.port }, chip: mode === 'INT, commands taken at once' ? { commandReads: 0 } : {},
    });
    try {
      const w = await ready(r, mode !== 'polled');
      const u = w.udp(0);
      assert.ok(u.port >= 49152);
      const sizes = [1, 100, 1472, 7, 512];
      const data = sizes.map((n, i) => pattern(n + i).subarray(i));
      const back = messages(u, sizes.length);
      const results = await Promise.all(data.map((d) => sent(u, '192.168.1.20', 7, d)));
      assert.deepEqual(results, sizes.map(() => undefined), 'every send completed without error');
      const got = await back;
      assert.deepEqual(got.map((m) => m.data), data);
      for (const m of got) assert.deepEqual(m.from, { ip: '192.168.1.20', port: 7 });
      assert.deepEqual(r.anomalies(), {});
      u.close();
    } finally {
      await r.dispose();
      await srv.close();
    }
  });
}

test('UDP to 255.255.255.255 goes out as a broadcast, on a fixed local port', async () => {
  const srv = await udpServer(false);
  const r = await rig({ routes: { '255.255.255.255:67': '127.0.0.1:' + srv.port } });
  try {
    const w = await ready(r);
    w.setIP({ ip: '0.0.0.0', subnet: '0.0.0.0', gateway: '0.0.0.0' }); // as DHCP starts
    const u = w.udp(68);
    assert.equal(u.port, 68);
    assert.equal(await sent(u, '255.255.255.255', 67, new Uint8Array([1, 2, 3])), undefined);
    const t0 = Date.now();
    while (srv.got.length === 0 && Date.now() - t0 < 2000) await new Promise((res) => setTimeout(res, 5));
    assert.deepEqual(srv.got.map((b) => [...b]), [[1, 2, 3]]);
    u.close();
  } finally {
    await r.dispose();
    await srv.close();
  }
});

test('datagrams arriving together are all delivered, each with its sender', async () => {
  const r = await rig();
  try {
    const w = await ready(r);
    const u = w.udp(5000);
    const back = messages(u, 3);
    r.chip.injectUdp({ port: 5000, srcIp: '192.168.1.7', srcPort: 53, payload: new Uint8Array([1]) });
    r.chip.injectUdp({ port: 5000, srcIp: '192.168.1.8', srcPort: 67, payload: new Uint8Array([2, 2]) });
    r.chip.injectUdp({ port: 5000, srcIp: '10.0.0.1', srcPort: 65535, payload: new Uint8Array(300).fill(3) });
    const got = await back;
    assert.deepEqual(got.map((m) => m.from), [
      { ip: '192.168.1.7', port: 53 }, { ip: '192.168.1.8', port: 67 }, { ip: '10.0.0.1', port: 65535 }]);
    assert.deepEqual(got.map((m) => m.data.length), [1, 2, 300]);
    u.close();
  } finally {
    await r.dispose();
  }
});

test('a datagram that comes while INTn is already low (no falling edge) is still served soon', async () => {
  const r = await rig();
  try {
    const w = r.driver({ int: r.g.A8, pollMs: 60000 }); // no periodic poll to fall back on
    await new Promise<void>((res, rej) => w.init((e) => (e ? rej(e) : res())));
    w.setIP(NET);
    const a = w.udp(5001), b = w.udp(5002);
    const gotA = messages(a, 1, 2000), gotB = messages(b, 1, 2000);
    // The datagram for b arrives while the driver serves a: after it read SIR, with INTn low already
    const exchange = r.chip.exchange.bind(r.chip);
    let sent = false;
    r.chip.exchange = (mosi: Uint8Array) => {
      const out = exchange(mosi);
      if (!sent && mosi[2] === (a.n * 4 + 1) << 3 && mosi[1] === 0x01) {
        sent = true;
        r.chip.injectUdp({ port: 5002, srcIp: '192.168.1.8', srcPort: 9, payload: new Uint8Array([2]) });
      }
      return out;
    };
    r.chip.injectUdp({ port: 5001, srcIp: '192.168.1.7', srcPort: 9, payload: new Uint8Array([1]) });
    assert.deepEqual([...(await gotA)[0].data], [1]);
    assert.deepEqual([...(await gotB)[0].data], [2]);
    assert.equal(sent, true);
    w.close();
  } finally {
    await r.dispose();
  }
});

test('an unanswered ARP fails that send with ETIMEDOUT; the socket stays usable', async () => {
  const srv = await udpServer(true);
  const r = await rig({ routes: { '192.168.1.20:7': '127.0.0.1:' + srv.port } });
  try {
    const w = r.driver({ int: r.g.A8, retryTime: 20, retryCount: 1 });
    await new Promise<void>((res, rej) => w.init((e) => (e ? rej(e) : res())));
    w.setIP(NET);
    const u = w.udp(0);
    const err = await sent(u, '192.168.1.99', 7, new Uint8Array([1]));
    assert.equal(err.code, 'ETIMEDOUT');
    const back = messages(u, 1);
    assert.equal(await sent(u, '192.168.1.20', 7, new Uint8Array([9])), undefined);
    assert.deepEqual([...(await back)[0].data], [9]);
    u.close();
  } finally {
    await r.dispose();
    await srv.close();
  }
});

test('a datagram over 1472 bytes (or empty) is refused with EMSGSIZE, asynchronously', async () => {
  const r = await rig();
  try {
    const w = await ready(r);
    const u = w.udp(0);
    let sync = true;
    const p = sent(u, '192.168.1.20', 7, new Uint8Array(1473)).then((e) => ({ e, sync }));
    sync = false;
    const { e, sync: wasSync } = await p;
    assert.equal(e.code, 'EMSGSIZE');
    assert.equal(wasSync, false);
    assert.equal((await sent(u, '192.168.1.20', 7, new Uint8Array(0))).code, 'EMSGSIZE');
    u.close();
  } finally {
    await r.dispose();
  }
});

test('closing with sends queued fails them with ECLOSED; sending after close too', async () => {
  const r = await rig();
  try {
    const w = await ready(r);
    const u = w.udp(0);
    const all = [1, 2, 3].map((i) => sent(u, '192.168.1.20', 7, new Uint8Array([i])));
    u.close();
    const errs = await Promise.all(all);
    // The first may already be out; the ones still queued fail
    assert.ok(errs.slice(1).every((e) => e && e.code === 'ECLOSED'), JSON.stringify(errs));
    assert.equal((await sent(u, '192.168.1.20', 7, new Uint8Array([4]))).code, 'ECLOSED');
    assert.equal(w._s.filter(Boolean).length, 0);
  } finally {
    await r.dispose();
  }
});
