// The driver as it is flashed: src/net/w5500.ts bundled and minified like the apps, checked by the
// Espruino gate, then run inside the simulated board's context (Espruino-absent globals removed,
// Espruino timer and watch semantics) against the emulator and a loopback echo server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve, dirname } from 'node:path';
import { existsSync } from 'node:fs';
import { rollup } from 'rollup';
// @ts-expect-error plain JavaScript module without types
import { compileTs, minifyJs } from '../scripts/esbuild-espruino.js';
// @ts-expect-error plain JavaScript module without types
import { checkSource } from '../scripts/espruino-gate.js';
import { parse } from 'acorn';
import { rig, until, echoServer } from './helpers/w5500-rig.ts';

/** src/net/w5500.ts as a minified IIFE that defines the global `net`. */
async function bundle(): Promise<string> {
  const b = await rollup({
    input: 'src/net/w5500.ts',
    onwarn: () => {},
    plugins: [{
      name: 'ts',
      resolveId(source: string, importer?: string) {
        if (!importer || !source.startsWith('.')) return null;
        const base = resolve(dirname(importer), source);
        for (const f of [base, base + '.ts']) if (f.endsWith('.ts') && existsSync(f)) return f;
        return null;
      },
      async transform(code: string, id: string) {
        return id.endsWith('.ts') ? { code: (await compileTs(code, id)).code, map: null } : null;
      },
    }],
  });
  const out = await b.generate({ format: 'iife', name: 'net', strict: false });
  await b.close();
  return (await minifyJs(out.output[0].code)).code;
}

const code = await bundle();

test('the bundled driver passes the Espruino gate', () => {
  assert.deepEqual(checkSource(code), []);
});

// Espruino 2v29 fails an ASSERT (jspeArrowFunction) when it skips, without running it, an arrow
// function that uses `this`: `0 && (() => this)` inside any function. Minified code is full of
// skipped expressions (`if (a) {...}` becomes `a && (...)`), so the driver has no such arrows.
test('the bundled driver has no arrow function that uses `this`', () => {
  const found: string[] = [];
  const visit = (node: any, arrow: boolean): void => {
    if (!node || typeof node.type !== 'string') return;
    if (node.type === 'ThisExpression' && arrow) found.push(code.slice(node.start - 40, node.end + 10));
    const inArrow = node.type === 'ArrowFunctionExpression' ? true
      : node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration' ? false : arrow;
    for (const k of Object.keys(node)) {
      const v = node[k];
      if (Array.isArray(v)) v.forEach((c) => visit(c, inArrow));
      else if (v && typeof v === 'object' && k !== 'loc') visit(v, inArrow);
    }
  };
  visit(parse(code, { ecmaVersion: 'latest' }), false);
  assert.deepEqual(found, []);
});

test('the bundled driver echoes 8 KB over TCP inside the board context', async () => {
  const echo = await echoServer();
  const r = await rig({ routes: { '192.168.1.10:7': '127.0.0.1:' + echo.port } });
  try {
    r.board.run(code, 'w5500.min.js');
    r.board.run(`
      var result = { err: null, echoed: '', closed: null, connected: false };
      var sent = '';
      for (var i = 0; i < 8192; i++) sent += String.fromCharCode((i * 31 + (i >> 7)) & 255);
      var w = new net.W5500(SPI2, { cs: B10, rst: B1, int: A8 });
      w.init(function (err) {
        if (err) { result.err = err.code + ' ' + err.message; return; }
        w.setIP({ ip: '192.168.1.2', subnet: '255.255.255.0', gateway: '192.168.1.1' });
        var s = w.tcp();
        s.on('connect', function () {
          result.connected = true;
          for (var k = 0; k < sent.length; k += 1000) s.write(E.toUint8Array(sent.substr(k, 1000)));
        });
        s.on('data', function (d) {
          result.echoed += E.toString(d);
          if (result.echoed.length >= sent.length) s.close();
        });
        s.on('error', function (e) { result.err = e.code + ' ' + e.message; });
        s.on('close', function (hadError) { result.closed = hadError; w.close(); });
        s.connect('192.168.1.10', 7);
      });
    `, 'app.js');
    const g = r.board.global as any;
    await until(() => g.result.closed !== null || g.result.err !== null, 10000);
    assert.equal(g.result.err, null);
    assert.equal(g.result.connected, true);
    assert.equal(g.result.closed, false);
    assert.equal(g.result.echoed.length, 8192);
    assert.ok(g.result.echoed === g.sent, 'echo is byte-exact');
    assert.deepEqual(r.board.uncaught, []);
    assert.deepEqual(r.anomalies(), {});
  } finally {
    await r.dispose();
    await echo.close();
  }
});

test('the bundled driver reports a missing chip with the clear error inside the board context', async () => {
  const r = await rig();
  try {
    r.chip.faults.chipAbsent();
    r.board.run(code, 'w5500.min.js');
    r.board.run(`
      var result = null;
      new net.W5500(SPI2, { cs: B10 }).init(function (err) { result = err ? err.code + '|' + err.message : 'ok'; });
    `, 'app.js');
    const g = r.board.global as any;
    await until(() => g.result !== null, 3000);
    const [codeName, message] = String(g.result).split('|');
    assert.equal(codeName, 'ENOCHIP');
    assert.equal(message, 'no W5500: check SPI wiring, CS, mode');
    assert.deepEqual(r.board.uncaught, []);
  } finally {
    await r.dispose();
  }
});
