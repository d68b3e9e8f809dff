// The publisher flashed onto the simulated board through its TCP REPL with the real espruino CLI
// (scripts/flash.js: upload, then save()): it starts from E 'init', publishes its readings, then
// unsubscribes, disconnects and gives back every timer, watch and socket. After reset() it is gone;
// load() and a power-up start it again from the flash.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DhcpServer } from '../sim/dhcp-server.ts';
import { serveBoard, type ServedBoard } from '../sim/serve-board.ts';
import { TestBroker, appBundle, liveWatches, openSockets, waitForLine } from './helpers/app-rig.ts';

const SERIAL = '33FFD605-41573033-15720843';
const CLIENT_ID = 'pubD6054157303315720843'; // the app's name + the last 20 characters of the serial, without dashes

function flash(file: string, port: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/flash.js', '--file', file, '--port', port, '--no-watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const t = setTimeout(() => child.kill('SIGTERM'), 30_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

/** The app's own lines (pub: …) printed since index `from`. */
function appLines(lines: string[], from: number): string[] {
  return lines.slice(from).map((l) => l.replace(/^\[sim\] /, '')).filter((l) => l.startsWith('pub: '));
}

describe('pub flashed with the espruino CLI', () => {
  let broker: TestBroker;
  let dhcp: DhcpServer;
  let served: ServedBoard;
  let dir: string;
  const lines: string[] = [];

  before(async () => {
    broker = await TestBroker.start();
    dhcp = await DhcpServer.start({ server: '192.168.1.1', first: '192.168.1.100' });
    served = await serveBoard({ name: 'sim', routes: [broker.route(), ...dhcp.routes()], board: { serial: SERIAL }, log: (l) => lines.push(l) });
    dir = mkdtempSync(join(tmpdir(), 'apps-flash-'));
  });

  after(async () => {
    await served.close();
    await dhcp.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('save() starts it: lease, connect, COUNT readings, unsubscribe, disconnect, every resource released', async () => {
    const file = join(dir, 'pub.js');
    writeFileSync(file, appBundle('pub', { INTERVAL: '150', COUNT: '3' }));
    const from = lines.length;
    const r = await flash(file, served.url);
    assert.equal(r.code, 0, r.out);
    await waitForLine(lines, /pub: done$/, 20_000, from);
    const log = appLines(lines, from);
    assert.match(log[0], /^pub: W5500 up, MAC 02:[0-9a-f:]{14}$/);
    assert.deepEqual(log.slice(1), [
      'pub: DHCP lease 192.168.1.100', 'pub: connected to 192.168.1.10:1883',
      'pub: sent 1', 'pub: sent 2', 'pub: sent 3', 'pub: disconnected', 'pub: done',
    ]);
    await new Promise((res) => setTimeout(res, 100));
    const sim = served.interpreter.current;
    assert.equal(sim.board.timers.size, 0, 'no timer left');
    assert.equal(liveWatches(sim), 0, 'the INT watch cleared');
    assert.deepEqual(openSockets(sim), [], 'every chip socket closed');
    assert.deepEqual(sim.board.uncaught, []);
    assert.equal(broker.connected, 0);
    assert.deepEqual(broker.events.slice(-2), [`connect ${CLIENT_ID}`, `disconnect ${CLIENT_ID}`]);
  });

  test('after reset() it does not run; load() starts it again from the flash, and so does a power-up', async () => {
    const interp = served.interpreter;
    let from = lines.length;
    interp.reset();
    await new Promise((res) => setTimeout(res, 600));
    assert.deepEqual(appLines(lines, from), [], 'reset() clears the program without running the flash');

    for (const restart of [() => interp.load(), () => interp.boot()]) {
      from = lines.length;
      restart();
      await waitForLine(lines, /pub: done$/, 20_000, from);
      const log = appLines(lines, from);
      assert.ok(log.includes('pub: sent 1') && log.includes('pub: sent 3') && !log.includes('pub: sent 4'), log.join('\n'));
      assert.ok(log.includes('pub: DHCP lease 192.168.1.100'), 'the same lease for the same MAC');
    }
  });

  test('reset() while it runs: it stops, and the broker sees the client leave', async () => {
    const file = join(dir, 'pub-forever.js');
    writeFileSync(file, appBundle('pub', { INTERVAL: '100', COUNT: '0' }));
    let from = lines.length;
    const r = await flash(file, served.url);
    assert.equal(r.code, 0, r.out);
    await waitForLine(lines, /pub: sent 3$/, 20_000, from);
    assert.equal(broker.connected, 1);
    from = lines.length;
    served.interpreter.reset();
    await new Promise((res) => setTimeout(res, 500));
    // E 'kill' disconnects: what was in flight is reported, nothing is published any more
    for (const l of appLines(lines, from)) assert.match(l, /^pub: (disconnected|lost \d+: disconnect\(\))$/);
    assert.equal(broker.connected, 0);
  });
});
