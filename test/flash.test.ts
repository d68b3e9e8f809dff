// Flashing the simulated board through its TCP REPL with the real `espruino` CLI, as a user flashes
// a board: the upload runs in the board's context and its log comes back; `npm run flash` saves it,
// so after reset() and a power-up E.on('init') starts it again; and its errors are clear.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveBoard, type ServedBoard } from '../sim/serve-board';

const CLI = 'node_modules/espruino/bin/espruino-cli.js';
const FLASH = 'scripts/flash.js';
const RUN_MS = 20_000;

// Espruino-compatible: declared before use, no hoisting, ES5 plus what 2v29 has.
const APP = `var flashTest = { inits: 0 };
function flashTestInit() {
  flashTest.inits++;
  print('FLASH-TEST init ' + flashTest.inits);
  setTimeout(function () { print('FLASH-TEST later'); }, 1000);
}
E.on('init', flashTestInit);
print('FLASH-TEST uploaded');
`;
// The CLI only finishes an upload of more than 512 bytes; scripts/flash.js pads smaller ones itself.
const BIG_APP = APP + `var flashTestNotes = [
${Array.from({ length: 12 }, (_, i) => `  'note ${i}: padding that takes this upload past the CLI block of 512 bytes'`).join(',\n')}
];
`;

interface Ran { code: number | null; stdout: string; stderr: string }

/** Runs node with `args`, killed after RUN_MS; `stdinUntil` keeps stdin open until its output matches. */
function runNode(args: string[], stdinUntil?: RegExp): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    if (!stdinUntil) child.stdin.end();
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdinUntil?.test(stdout)) child.stdin.end();
    });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_MS); // flash.js passes it on to the CLI
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function waitForLine(lines: string[], wanted: string, from: number, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (lines.slice(from).includes(wanted)) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`no '${wanted}' in the board log within ${timeoutMs} ms: ${JSON.stringify(lines.slice(from))}`));
      }
    }, 20);
  });
}

describe('flashing the simulated board with the espruino CLI', () => {
  let served: ServedBoard;
  let dir: string;
  let bigApp: string;
  let smallApp: string;
  const log: string[] = [];

  before(async () => {
    served = await serveBoard({ name: 'sim', log: (line) => log.push(line) });
    dir = mkdtempSync(join(tmpdir(), 'flash-test-'));
    bigApp = join(dir, 'big-app.js');
    smallApp = join(dir, 'small-app.js');
    writeFileSync(bigApp, BIG_APP);
    writeFileSync(smallApp, APP);
  });

  after(async () => {
    await served.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('espruino --no-ble -p tcp://… uploads into the board context and shows its log', async () => {
    const ran = await runNode([CLI, '--no-ble', '-p', served.url, bigApp]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /Upload Complete/);
    assert.match(ran.stdout, /--\] FLASH-TEST uploaded/);
    assert.ok(log.includes('[sim] FLASH-TEST uploaded'));
    assert.deepEqual(served.interpreter.board.run('flashTest.inits'), 0);
    assert.equal(served.interpreter.saved, undefined, 'nothing saved without save()');
  });

  test("npm run flash saves the upload: after reset() and power-up, E.on('init') starts it", async () => {
    const ran = await runNode([FLASH, '--file', smallApp, '--port', served.url, '--no-watch']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /--\] [^\n]*FLASH-TEST init 1/, 'save() fires init');
    assert.match(served.interpreter.saved ?? '', /FLASH-TEST init/);

    const interp = served.interpreter;
    interp.reset();
    assert.equal(interp.board.global.flashTest, undefined, 'reset() clears the board context');

    let from = log.length;
    interp.boot();
    await waitForLine(log, '[sim] FLASH-TEST init 1', from);
    assert.ok(!log.slice(from).includes('[sim] FLASH-TEST uploaded'), 'restoring saved code prints nothing');

    // load() typed on the REPL does the same.
    from = log.length;
    const sock = net.connect(served.port, '127.0.0.1');
    sock.on('error', () => undefined);
    sock.write('\x10load()\n');
    try {
      await waitForLine(log, '[sim] FLASH-TEST init 1', from);
    } finally {
      sock.destroy();
    }
  });

  test("npm run flash leaves the user watching the board's log", async () => {
    const ran = await runNode([FLASH, '--file', smallApp, '--port', served.url], /FLASH-TEST later/);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /FLASH-TEST init 1/);
    assert.match(ran.stdout, /FLASH-TEST later/, 'output printed a second after the upload still arrives');
  });

  test('npm run flash builds the app and flashes dist/<app>.js', async () => {
    const ran = await runNode([FLASH, 'pub', '--port', served.url, '--no-watch']);
    assert.equal(ran.code, 0, ran.stderr);
    // The board stores source as bytes (a non-ASCII character is its UTF-8 bytes), so compare bytes.
    const bundle = readFileSync('dist/pub.js', 'latin1').trim();
    assert.ok((served.interpreter.saved ?? '').includes(bundle), 'the saved code is the built bundle');
  });

  test('npm run flash explains an unknown app, a missing port and an unreachable board', async () => {
    const unknown = await runNode([FLASH, 'nosuchapp', '--port', served.url, '--no-watch']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown app 'nosuchapp': the apps are .*pub.*sub/);

    const noPort = await runNode([FLASH, 'pub', '--no-build']);
    assert.equal(noPort.code, 1);
    assert.match(noPort.stderr, /missing --port/);

    const closed = await freePort();
    const unreachable = await runNode([FLASH, '--file', smallApp, '--port', `tcp://127.0.0.1:${closed}`, '--no-watch']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /could not reach the board on tcp:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED/);
  });
});
