// Benchmark of the MQTT codec (not a test): `node --import tsx bench/codec.ts`
// 1. encode and decode time of a 16-byte and a 1 KB QoS 1 PUBLISH in Node, next to mqtt-packet
//    (the codec runs on E.toUint8Array / E.toString as the simulated board installs them);
// 2. minified size of the codec (codec.ts with its imports, all 14 types both ways, budget 3,000
//    bytes), and of the part a client importing encode and Decoder flashes;
// 3. when the Linux build of Espruino is at /work/espruino-bin (or $ESPRUINO_BIN), the codec bundled
//    as for the board runs there, on the builds with and without unicode
//    strings: round trips checked against Node's results (non-ASCII topics included), then the
//    same two timings.
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, relative } from 'node:path';
import { rollup } from 'rollup';
import mqtt from 'mqtt-packet';
import { installE } from '../test/helpers/espruino-e.ts';
import { encode, Decoder, type Packet } from '../src/mqtt/codec.ts';
// @ts-expect-error plain JavaScript module without types
import { bundleSize } from '../scripts/bundle-size.js';
// @ts-expect-error plain JavaScript module without types
import { compileTs, minifyJs } from '../scripts/esbuild-espruino.js';

const BUDGET = 3000;
const CODEC = 'src/mqtt/codec.ts';

installE();
const ESPRUINO_DIR = process.env.ESPRUINO_BIN || '/work/espruino-bin';

function publish(size: number): Packet {
  return { cmd: 'publish', topic: 'sensors/board-1/temperature', qos: 1, messageId: 4242, payload: new Uint8Array(size).fill(0x41) };
}

/** Nanoseconds per call of fn, best of 5 rounds after a warm-up. */
function time(fn: () => void, n: number): number {
  for (let i = 0; i < n; i++) fn();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  return best;
}

function benchNode(): void {
  console.log('Node ' + process.version + ' (ns per packet, best of 5)');
  console.log('packet           ours encode  mqtt-packet generate  ours decode  mqtt-packet parse');
  for (const size of [16, 1024]) {
    const p = publish(size);
    const theirs = { ...p, payload: Buffer.from((p as any).payload) };
    const bytes = encode(p);
    const buf = Buffer.from(bytes);
    let got = 0;
    const dec = new Decoder({ packet: () => got++, oversize: () => {} });
    const parser = mqtt.parser({ protocolVersion: 4 });
    parser.on('packet', () => got++);
    const n = 100000;
    const row = [
      time(() => encode(p), n),
      time(() => mqtt.generate(theirs as any), n),
      time(() => dec.push(bytes), n),
      time(() => parser.parse(buf), n),
    ];
    if (got != 2 * 6 * n) throw new Error('decoders lost packets');
    console.log(`QoS 1, ${String(size).padStart(4)} B   ${row.map((x) => x.toFixed(0).padStart(10)).join('          ')}`);
  }
}

// ---- Espruino ----

/** The test program for the board: JavaScript that imports the codec; run through the app bundler settings. */
function boardProgram(): string {
  const cases: any[] = [
    { cmd: 'publish', topic: '温度/é/😀', payload: [1, 2, 3], qos: 1, messageId: 7 },
    { cmd: 'publish', topic: 'plain/ascii', payload: 'héllo', qos: 0, retain: true },
    { cmd: 'connect', clientId: 'board-ü', keepalive: 60, username: 'ユーザー', password: [0, 255, 128], will: { topic: 'status/温', payload: [1], qos: 1, retain: true } },
    { cmd: 'connack', returnCode: 0, sessionPresent: true },
    { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a/+/温', qos: 1 }, { topic: '#', qos: 2 }] },
    { cmd: 'suback', messageId: 3, granted: [1, 0x80] },
    { cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['a/+/温'] },
    { cmd: 'pubrel', messageId: 65535 },
    { cmd: 'pingreq' },
  ];
  const toBytes = (x: any) => (Array.isArray(x) ? new Uint8Array(x) : x);
  const prepared = (c: any) => {
    const p = { ...c, payload: toBytes(c.payload), password: toBytes(c.password) };
    if (c.will) p.will = { ...c.will, payload: toBytes(c.will.payload) };
    for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
    return p;
  };
  const normal = (x: any): any => (x instanceof Uint8Array ? Array.from(x) : Array.isArray(x) ? x.map(normal)
    : x && typeof x == 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, normal(v)])) : x);
  const expected = cases.map((c) => {
    const bytes = encode(prepared(c));
    const out: any[] = [];
    new Decoder({ packet: (p) => out.push(p), oversize() {} }).push(bytes);
    return { bytes: Array.from(bytes), decoded: normal(out[0]) };
  });
  return `
import { encode, Decoder, validateTopic } from ${JSON.stringify(resolve(CODEC))};
var cases = ${JSON.stringify(cases)};
var expected = ${JSON.stringify(expected)};
var failures = 0;
function check(ok, what) { if (!ok) { failures++; print('FAIL ' + what); } }
function arr(u) { var a = []; for (var i = 0; i < u.length; i++) a.push(u[i]); return a; }
function bytes(x) { return Array.isArray(x) ? new Uint8Array(x) : x; }
function normal(x) {
  if (x instanceof Uint8Array) return arr(x);
  if (Array.isArray(x)) return x.map(normal);
  if (x && typeof x == 'object') { var o = {}; Object.keys(x).forEach(function (k) { o[k] = normal(x[k]); }); return o; }
  return x;
}
function decodeAll(b, step, max) {
  var out = [];
  var d = new Decoder({ packet: function (p) { out.push(p); }, oversize: function (i) { out.push(i); } }, max);
  for (var i = 0; i < b.length; i += step) d.push(b.subarray(i, Math.min(b.length, i + step)));
  return out;
}
function same(a, b) {
  if (a && typeof a == 'object') {
    var ka = Object.keys(a), kb = Object.keys(b || 0);
    return ka.length == kb.length && ka.every(function (k) { return same(a[k], b[k]); });
  }
  return a === b;
}
function lengthOf(s) { return s.length; } // not 'literal'.length: esbuild folds that with UTF-16 lengths
function codeOf(fn) { try { fn(); return 'none'; } catch (e) { return e.code; } }
cases.forEach(function (c, i) {
  var p = {};
  Object.keys(c).forEach(function (k) { p[k] = k == 'payload' || k == 'password' ? bytes(c[k]) : c[k]; });
  if (c.will) p.will = { topic: c.will.topic, payload: bytes(c.will.payload), qos: c.will.qos, retain: c.will.retain };
  var b = encode(p);
  check(arr(b).join() == expected[i].bytes.join(), c.cmd + ' ' + i + ' encode: ' + arr(b).join());
  [1, 3, 1000].forEach(function (step) {
    var got = decodeAll(new Uint8Array(expected[i].bytes), step);
    check(got.length == 1 && same(normal(got[0]), expected[i].decoded), c.cmd + ' ' + i + ' decode in ' + step + '-byte chunks: ' + JSON.stringify(normal(got[0])));
  });
});
var pub = decodeAll(new Uint8Array(expected[0].bytes), 2)[0];
check(pub.topic == '温度/é/😀', 'non-ASCII topic equals the literal');
check(pub.topic.length == lengthOf('温度/é/😀'), 'non-ASCII topic length ' + pub.topic.length);
check(codeOf(function () { decodeAll(new Uint8Array([0x30, 4, 0, 2, 0xc0, 0x80]), 1); }) == 'MQTT_STRING', 'overlong UTF-8 refused');
check(codeOf(function () { decodeAll(new Uint8Array([0x30, 3, 0, 1, 0]), 1); }) == 'MQTT_STRING', 'U+0000 refused');
check(codeOf(function () { decodeAll(new Uint8Array([0x30, 5, 0, 3, 0xed, 0xa0, 0x80]), 5); }) == 'MQTT_STRING', 'surrogate refused');
check(codeOf(function () { encode({ cmd: 'publish', topic: 'a/+', payload: '' }); }) == 'MQTT_TOPIC', 'wildcard topic refused');
check(codeOf(function () { encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#/b', qos: 0 }] }); }) == 'MQTT_TOPIC', 'bad filter refused');
check(codeOf(function () { encode({ cmd: 'publish', topic: 'a', payload: 5 }); }) == 'MQTT_PAYLOAD', 'number payload refused');
check(codeOf(function () { decodeAll(new Uint8Array([0x30, 0x80, 0x80, 0x80, 0x80, 1]), 1); }) == 'MQTT_MALFORMED', '5-byte length refused');
var over = decodeAll(new Uint8Array([0x32, 0xe8, 0x07, 0, 2, 0x61, 0x62, 1, 2]), 4, 100)[0];
check(over.cmd == 'publish' && over.length == 1000 && over.qos == 1 && over.messageId == 258, 'oversize: ' + JSON.stringify(over));
// the byte 0xE9 alone: not UTF-8 without unicode support (a string is its bytes), but U+00E9 with it
var e9 = E.toString(new Uint8Array([0xe9]));
var unicode = (function () { try { E.asUTF8(''); return true; } catch (e) { return false; } })();
var e9code = codeOf(function () { validateTopic(e9); });
check(unicode ? e9code == 'none' && arr(validateTopic(e9)).join() == '195,169' : e9code == 'MQTT_STRING', 'string of byte 0xE9: ' + e9code);
print('RESULT ' + (failures ? failures + ' FAILED' : 'all checks passed') + (unicode ? ' (unicode build)' : ' (no unicode)'));
[16, 1024].forEach(function (size) {
  var pl = new Uint8Array(size); pl.fill(65);
  var p = { cmd: 'publish', topic: 'sensors/board-1/temperature', qos: 1, messageId: 4242, payload: pl };
  var n = 200, b, i, t0 = getTime();
  for (i = 0; i < n; i++) b = encode(p);
  var te = (getTime() - t0) / n;
  var got = 0, d = new Decoder({ packet: function () { got++; }, oversize: function () {} });
  t0 = getTime();
  for (i = 0; i < n; i++) d.push(b);
  var td = (getTime() - t0) / n;
  print('TIME QoS 1 ' + size + ' B: encode ' + (te * 1e6).toFixed(0) + ' us, decode ' + (td * 1e6).toFixed(0) + ' us' + (got == n ? '' : ' LOST'));
});
`;
}

async function boardBundle(): Promise<string> {
  const entry = boardProgram();
  const bundle = await rollup({
    input: 'entry',
    onwarn: () => {},
    plugins: [{
      name: 'entry',
      resolveId(source: string, importer?: string) {
        if (source == 'entry') return source;
        if (!importer || !source.startsWith('.') && !source.startsWith('/')) return null;
        const base = importer == 'entry' ? source : resolve(dirname(importer), source);
        for (const f of [base, base + '.ts']) if (f.endsWith('.ts') && existsSync(f)) return f;
        return null;
      },
      load: (id: string) => (id == 'entry' ? entry : null),
      async transform(code: string, id: string) { return id.endsWith('.ts') ? { code: (await compileTs(code, id)).code, map: null } : null; },
    }],
  });
  const out = await bundle.generate({ format: 'iife', strict: false });
  await bundle.close();
  return (await minifyJs(out.output[0].code)).code;
}

async function benchEspruino(): Promise<void> {
  const builds = ['espruino', 'espruino-unicode'].map((b) => join(ESPRUINO_DIR, b)).filter((b) => existsSync(b));
  if (!builds.length) {
    console.log(`\nEspruino: no binary in ${ESPRUINO_DIR}; board figures not measured`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'codec-bench-'));
  try {
    const file = join(dir, 'codec-board.js');
    writeFileSync(file, await boardBundle());
    for (const bin of builds) {
      let out: string;
      try {
        out = execFileSync(bin, [file], { cwd: dir, timeout: 120000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e: any) {
        out = String(e.stdout || '') + String(e.stderr || e.message);
      }
      console.log(`\nEspruino ${bin} (x86 Linux build, not a microcontroller):`);
      for (const line of out.split(/\r?\n/)) if (/^(RESULT|TIME|FAIL|Uncaught|ERROR)/.test(line)) console.log('  ' + line);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Minified size of what a client pulls in: encode and Decoder, the rest tree-shaken. */
async function clientSize(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'codec-size-'));
  try {
    const entry = join(dir, 'client.ts');
    writeFileSync(entry, `export { encode, Decoder } from ${JSON.stringify(relative(dir, resolve(CODEC)))};\n`);
    return await bundleSize(entry);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

benchNode();
const size = await bundleSize(CODEC);
console.log(`\n${CODEC} (+ its imports, every export kept) minified: ${size} bytes; budget ${BUDGET}: ${size <= BUDGET ? 'within' : 'OVER by ' + (size - BUDGET)}`);
console.log(`  of which a client importing encode and Decoder flashes: ${await clientSize()} bytes`);
await benchEspruino();
