// `npm run demo` as a user runs it, in a child process: two simulated boards flashed with pub and sub
// through the espruino CLI, a real DHCP lease, the ten-message exchange over an embedded broker; with
// --faults each board's cable is pulled and the broker restarted, and the exchange still completes.
// The publish interval is shortened (--interval) to keep the test quick; nothing else changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

interface Ran { code: number | null; out: string }

function demo(args: string[], killAfterMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sim/demo.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

/** The `n` of each reading the subscriber logged, in order. */
function readings(out: string): number[] {
  return [...out.matchAll(/\] sub: got \d+ on w5500\/demo\/data: (\{.*\})/g)].map((m) => JSON.parse(m[1]).n);
}

const ONE_TO_TEN = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

test('npm run demo: both boards flashed, a DHCP lease each, ten readings exchanged, exit 0', async () => {
  const r = await demo(['--interval', '250', '--timeout', '60'], 90_000);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /\[demo\] ok: pub sent 10 readings, sub received 10; every reading arrived exactly once; both apps disconnected and released/);
  assert.deepEqual(readings(r.out), ONE_TO_TEN);
  for (const app of ['pub', 'sub']) {
    assert.match(r.out, new RegExp(`\\[board\\d\\] ${app}: DHCP lease 192\\.168\\.1\\.1\\d\\d`), `${app} got a lease from the demo's DHCP server`);
    assert.match(r.out, new RegExp(`\\[board\\d\\] ${app}: connected to 192\\.168\\.1\\.10:1883`));
    assert.match(r.out, new RegExp(`\\[board\\d\\] ${app}: done`));
  }
  assert.match(r.out, /\[board\d\] Saved \d+ bytes of code to flash/, 'flashed and saved through the REPL');
  // the subscriber answers each reading with its running count on the publisher's reply topic
  const replies = [...r.out.matchAll(/\] pub: reply (\d+)/g)].map((m) => Number(m[1]));
  assert.ok(replies.length >= 9, r.out);
  assert.deepEqual(replies, replies.map((_, i) => i + 1));
  assert.doesNotMatch(r.out, /Uncaught/);
});

test('npm run demo -- --faults: cables pulled and the broker restarted midway, every reading still arrives once', async () => {
  const r = await demo(['--faults', '--interval', '250', '--timeout', '90'], 120_000);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /\[demo\] fault: pulling the cable of board1 \(pub\)/);
  assert.match(r.out, /\[demo\] fault: pulling the cable of board2 \(sub\)/);
  assert.match(r.out, /\[demo\] fault: restarting the broker/);
  assert.match(r.out, /\[board1\] pub: link down[\s\S]*\[board1\] pub: link up/);
  assert.match(r.out, /\[board2\] sub: link down[\s\S]*\[board2\] sub: link up/);
  assert.match(r.out, /\] (pub|sub): reconnect \d+ in [\d.]+ s/, 'the robust client reconnected');
  // QoS 2 (the apps' default): exactly once, whatever happened on the way
  assert.deepEqual(readings(r.out), ONE_TO_TEN);
  assert.match(r.out, /\[demo\] ok: pub sent 10 readings, sub received 10; every reading arrived exactly once; both apps disconnected and released/);
});

test('npm run demo exits non-zero with the reason when the exchange cannot happen', async () => {
  const r = await demo(['--set', 'PORT=0', '--timeout', '30'], 60_000);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /\[demo\] FAILED: sub: setting PORT must be 1-65535/);

  const bad = await demo(['--set', 'NOPE=1'], 30_000);
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.out, /FAILED: --set NOPE: neither app has that setting/);
});
