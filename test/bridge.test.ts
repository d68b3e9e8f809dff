// The SPI bridge (sim/bridge.ts, protocol in sim/BRIDGE.md): the Python client in
// test/bridge_client.py reads VERSIONR and runs a UDP echo through it, over the named pipes and over
// the Unix socket; the protocol's framing, ordering and error statuses are checked directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { W5500 } from '../sim/w5500/index.ts';
import { Op, startBridge } from '../sim/bridge.ts';
import { udpServer } from './w5500-fixtures.ts';

const CLIENT = fileURLToPath(new URL('./bridge_client.py', import.meta.url));

function python(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('python3', [CLIENT, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

async function setUp() {
  const dir = mkdtempSync(join(tmpdir(), 'w5500-bridge-'));
  const echo = await udpServer(true);
  const chip = new W5500({ network: { mode: 'map', routes: { '192.0.2.50:7': `127.0.0.1:${echo.port}` } } });
  const paths = { request: join(dir, 'req'), response: join(dir, 'resp'), socket: join(dir, 'sock') };
  const bridge = await startBridge(chip, { fifo: { request: paths.request, response: paths.response }, socketPath: paths.socket });
  return {
    chip, echo, bridge, paths,
    async close() {
      await bridge.close();
      await chip.close();
      await echo.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('the Python client reads VERSIONR and runs a UDP echo through the named pipes, then the Unix socket', async () => {
  const s = await setUp();
  try {
    assert.ok(statSync(s.paths.request).isFIFO() && statSync(s.paths.response).isFIFO(), 'FIFOs created');
    const viaFifo = await python(['--fifo', s.paths.request, s.paths.response, '--echo', '192.0.2.50:7']);
    assert.equal(viaFifo.code, 0, viaFifo.out);
    assert.match(viaFifo.out, /^ok version=0x04 echo=hello through the bridge from=192\.0\.2\.50:7$/m);
    const viaSocket = await python(['--unix', s.paths.socket, '--echo', '192.0.2.50:7', '--message', 'second']);
    assert.equal(viaSocket.code, 0, viaSocket.out);
    assert.match(viaSocket.out, /echo=second/);
    assert.equal(s.echo.messages.length, 2, 'both datagrams crossed the loopback echo server');
    assert.ok(s.bridge.requests > 40, 'every register access was a bridge request');
  } finally {
    await s.close();
  }
  assert.ok(!existsSync(s.paths.request) && !existsSync(s.paths.socket), 'close() removes what it created');
});

test('the Python client fails clearly when the echo host is absent (ARP timeout, no SENDOK)', async () => {
  const s = await setUp();
  try {
    const r = await python(['--unix', s.paths.socket, '--echo', '192.0.2.51:7']);
    assert.equal(r.code, 1);
    assert.match(r.out, /FAIL: SEND timed out: nobody at 192\.0\.2\.51:7 answers ARP/);
  } finally {
    await s.close();
  }
});

/** Raw protocol over the Unix socket: send bytes, collect `n` responses. */
async function exchange(path: string, chunks: Buffer[], n: number): Promise<{ status: number; payload: Buffer }[]> {
  const sock = net.connect(path);
  await new Promise<void>((r, j) => { sock.once('connect', () => r()); sock.once('error', j); });
  const out: { status: number; payload: Buffer }[] = [];
  let buf = Buffer.alloc(0);
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${n} responses`)), 5000);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 3 && buf.length >= 3 + buf.readUInt16BE(1)) {
        const len = buf.readUInt16BE(1);
        out.push({ status: buf[0], payload: buf.subarray(3, 3 + len) });
        buf = buf.subarray(3 + len);
      }
      if (out.length >= n) { clearTimeout(timer); resolve(); }
    });
  });
  for (const c of chunks) {
    sock.write(c);
    await new Promise((r) => setImmediate(r));
  }
  await done;
  sock.destroy();
  return out;
}

const req = (op: number, payload: number[] = []): Buffer => Buffer.from([op, payload.length >> 8, payload.length & 255, ...payload]);

test('bridge protocol: pipelined requests answered in order, split requests reassembled, errors carry a reason', async () => {
  const s = await setUp();
  try {
    const writeMr = req(Op.TRANSFER, [0x00, 0x00, 0x04, 0x08]);
    const readMr = req(Op.TRANSFER, [0x00, 0x00, 0x00, 0x00]);
    const enableInt = req(Op.TRANSFER, [0x00, 0x16, 0x04, 0x80]); // IMR.CONFLICT
    const all = Buffer.concat([writeMr, readMr, req(0x7f, [1, 2]), req(Op.INT), enableInt]);
    const split = [all.subarray(0, 2), all.subarray(2, 9), all.subarray(9)];
    const r = await exchange(s.paths.socket, split, 5);
    assert.deepEqual(r.map((x) => x.status), [0, 0, 1, 0, 0]);
    assert.deepEqual([...r[0].payload], [1, 2, 3, 0], 'MISO of the write, same length as MOSI');
    assert.deepEqual([...r[1].payload], [1, 2, 3, 0x08], 'the read sees the write before it');
    assert.equal(r[2].payload.toString(), 'unknown op 0x7f');
    assert.deepEqual([...r[3].payload], [1], 'INTn idle high');
    s.chip.faults.ipConflict();
    const after = await exchange(s.paths.socket, [Buffer.concat([req(Op.INT), req(Op.RESET), req(Op.INT), readMr])], 4);
    assert.deepEqual(after.map((x) => [x.status, ...x.payload]), [[0, 0], [0], [0, 1], [0, 1, 2, 3, 0]],
      'INTn asserted, then RESET clears every register');
  } finally {
    await s.close();
  }
});
