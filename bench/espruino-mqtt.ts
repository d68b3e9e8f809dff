// Our simple client next to Espruino's own MQTT module, on the real interpreter: µs per QoS 0 publish
// and per received PUBLISH (16 B and 1 KB payloads), and both modules' minified sizes. The standard:
// a publish and a receive cost at most half of what Espruino's module spends on the same interpreter.
//   node --import tsx bench/espruino-mqtt.ts <espruino-binary> <path-to-Espruino's-MQTT.js> [--n=500]
// MQTT.js is modules/MQTT.js of github.com/espruino/EspruinoDocs; it is reference material and is
// never copied into this repository: it is read from the path given and only inlined into a
// temporary script.
//
// One script runs both clients in the same interpreter process, operation by operation (ours, then
// theirs), with the same N: a warm-up of N/10 calls, then the best of ROUNDS rounds of N calls each.
// - ours: src/mqtt/simple.ts's MQTTClient bundled as flashed (espruinoTarget, minified, `_` members
//   shortened), on a fake Transport that records writes; incoming bytes are its 'data' listener
//   called with one encoded PUBLISH. Connected by delivering a CONNACK.
// - theirs: MQTT.js run as Espruino's require() would (in a function, with `exports`), connected
//   over a fake `net` socket (write(string), on('data'), end()); incoming bytes are its 'data'
//   handler called with the same PUBLISH as a string, as Espruino's net delivers it. Its 'message'
//   events go through Espruino's native emit(), which QUEUES them: a receive is timed from the first
//   delivery until the Nth 'message' listener call, so the queued work counts (the synchronous part
//   alone is printed too). It sends string payloads only (it calls message.toString()), so our
//   Uint8Array rows are compared with its string rows.
// Then sub-steps of ours (codec encode, Decoder.push, Emitter.emit...), from a second bundle of the
// codec, to show where the time goes.
import { readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
// @ts-expect-error plain JavaScript module without types
import { espruinoTarget, minifyJs } from '../scripts/esbuild-espruino.js';
// @ts-expect-error plain JavaScript module without types
import { bundleSize } from '../scripts/bundle-size.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = 3;
const TOPIC = 'bench/t';
const P16 = '0123456789abcdef';
const P1K = P16.repeat(64);

const args = process.argv.slice(2);
const nArg = args.find((a) => a.startsWith('--n='));
const N = nArg ? Number(nArg.slice(4)) : 500;
const [bin, theirsPath] = args.filter((a) => !a.startsWith('--'));
if (!bin || !theirsPath || !existsSync(bin) || !existsSync(theirsPath) || !(N > 0)) {
  console.error('usage: node --import tsx bench/espruino-mqtt.ts <espruino-binary> <path-to-MQTT.js> [--n=500]');
  process.exit(2);
}

/** A QoS 0 PUBLISH of payload (ASCII) to TOPIC, as bytes. */
function publishBytes(payload: string): number[] {
  const body = [0, TOPIC.length, ...Buffer.from(TOPIC), ...Buffer.from(payload)];
  const len: number[] = [];
  let n = body.length;
  do len.push(n > 127 ? n & 127 | 128 : n); while ((n >>= 7));
  return [0x30, ...len, ...body];
}

/** An IIFE leaving `globalName` = the exports listed, built as the flashed bundles are. */
async function bundle(globalName: string, contents: string): Promise<string> {
  const r = await build({
    ...espruinoTarget,
    stdin: { contents, resolveDir: ROOT, loader: 'ts', sourcefile: `${globalName}-entry.ts` },
    bundle: true, minify: true, legalComments: 'none', mangleProps: /^_/,
    format: 'iife', globalName, write: false, logLevel: 'silent',
  });
  return r.outputFiles![0].text;
}

function boardProgram(ours: string, prof: string, theirs: string): string {
  const cfg = { N, ROUNDS, T: TOPIC, P16, P1K, PUB16: publishBytes(P16), PUB1K: publishBytes(P1K) };
  return `${ours}
${prof}
var THEIRS = (function () { var exports = {};
${theirs}
;return exports; })();
var CFG = ${JSON.stringify(cfg)};
(function () {
var N = CFG.N, ROUNDS = CFG.ROUNDS, T = CFG.T, S16 = CFG.P16, S1K = CFG.P1K;
var U16 = E.toUint8Array(S16), U1K = E.toUint8Array(S1K);
var PUB16 = new Uint8Array(CFG.PUB16), PUB1K = new Uint8Array(CFG.PUB1K);
var PUB16S = E.toString(PUB16), PUB1KS = E.toString(PUB1K);
var R = {}, C = {}, M = [];

// µs per call of fn: N/10 calls to warm up, then the best of ROUNDS rounds of N calls
function measure(key, fn) {
  var i, t0, t, best = 1e9, w = Math.max(1, N / 10 | 0);
  for (i = 0; i < w; i++) fn();
  for (var r = 0; r < ROUNDS; r++) {
    t0 = getTime();
    for (i = 0; i < N; i++) fn();
    t = (getTime() - t0) / N * 1e6;
    if (t < best) best = t;
  }
  R[key] = best;
}

// ---- ours: MQTTClient on a fake Transport ----
var tr = { ev: {}, n: 0, last: 0,
  connect: function () {}, close: function () {},
  write: function (b) { this.n++; this.last = b; return true; },
  on: function (e, f) { this.ev[e] = f; } };
var ours = new OURS.MQTTClient({ host: 'bench', clientId: 'bench', keepalive: 60 }, tr);
var om = 0, oT, oP;
ours.on('message', function (t, p) { om++; oT = t; oP = p; });
ours.on('error', function (e) { C.oursError = String(e); });
ours.connect(function (err) { C.oursConnack = err ? String(err) : 'ok'; });
tr.ev.connect();
tr.ev.data(new Uint8Array([0x20, 2, 0, 0]));
C.oursConnected = ours.connected;
ours.publish(T, S16);
C.oursPub16 = E.toString(tr.last) == PUB16S;
ours.publish(T, U1K);
C.oursPub1K = E.toString(tr.last) == PUB1KS;
tr.ev.data(PUB16);
C.oursRecv16 = om == 1 && oT == T && E.toString(oP) == S16;
tr.ev.data(PUB1K);
C.oursRecv1K = om == 2 && oT == T && E.toString(oP) == S1K;

// ---- theirs: Espruino's MQTT module on a fake net socket ----
var nc = { h: {}, n: 0, last: '',
  write: function (s) { this.n++; this.last = s; },
  on: function (e, f) { this.h[e] = f; },
  end: function () {} };
var theirs = THEIRS.create('bench', { client_id: 'bench', keep_alive: 60 });
var tm = 0, tT, tP, want = 0, whenDone;
theirs.on('message', function (t, p) { tT = t; tP = p; if (++tm == want) whenDone(); });
theirs.on('connected', function () { C.theirsConnack = 'ok'; });
theirs.on('error', function (e) { C.theirsError = String(e); });
theirs.connect(nc);
nc.h.data(E.toString([0x20, 2, 0, 0]));
theirs.publish(T, S16);
C.theirsPub16 = nc.last == PUB16S;
theirs.publish(T, S1K);
C.theirsPub1K = nc.last == PUB1KS;

/** Their receive of packet string s: from the first delivery to the Nth 'message' listener call.
 *  Delivered in batches of BATCH, each started from the 'message' event that ends the previous one,
 *  so that the queue (and memory) stays small, as when packets arrive one by one. */
var BATCH = 10;
function theirsRecv(key, s, check, done) {
  var round = -1, best = 1e9, sync = 0, t0, total, sent;
  function batch() {
    var k = Math.min(BATCH, total - sent), t1 = getTime();
    tm = 0;
    want = k;
    for (var i = 0; i < k; i++) nc.h.data(s);
    sync += getTime() - t1;
    sent += k;
  }
  function go() {
    round++;
    total = round ? N : Math.max(1, N / 10 | 0);
    sent = 0;
    sync = 0;
    t0 = getTime();
    batch();
  }
  whenDone = function () {
    if (sent < total) return batch();
    var t = (getTime() - t0) / total * 1e6;
    if (round && t < best) {
      best = t;
      R[key + '_sync'] = sync / total * 1e6;
    }
    if (round < ROUNDS) setTimeout(go, 1);
    else {
      R[key] = best;
      C[check] = tT == T && tP == (key.indexOf('16') > 0 ? S16 : S1K);
      setTimeout(done, 1);
    }
  };
  go();
}

// ---- sub-steps of ours ----
var dec = new PROF.Decoder({ packet: function () {}, oversize: function () {} });
var em = new PROF.Emitter(), ec = 0;
em.on('message', function (t, p) { ec++; });
var no = {}, PINGRESP = new Uint8Array([0xd0, 0]);
function sketchPub(t, p) {
  var n = 2 + t.length + p.length;
  tr.write(E.toUint8Array(n < 128 ? [0x30, n, 0, t.length, t, p] : [0x30, n & 127 | 128, n >> 7, 0, t.length, t, p]));
}
function sketchRecv(d) {
  var k = d[1] > 127 ? 3 : 2, l = d[k] << 8 | d[k + 1];
  if ((d[0] & 0xf6) == 0x30) em.emit('message', E.toString(d.subarray(k + 2, k + 2 + l)), d.subarray(k + 2 + l));
}

var steps = [
  function (next) { measure('empty', function () {}); next(); },
  function (next) { measure('pub16s_ours', function () { ours.publish(T, S16); }); measure('pub16s_theirs', function () { theirs.publish(T, S16); }); next(); },
  function (next) { measure('pub16u_ours', function () { ours.publish(T, U16); }); next(); },
  function (next) { measure('pub1ks_ours', function () { ours.publish(T, S1K); }); measure('pub1ks_theirs', function () { theirs.publish(T, S1K); }); next(); },
  function (next) { measure('pub1ku_ours', function () { ours.publish(T, U1K); }); next(); },
  function (next) { var m0 = om; measure('recv16_ours', function () { tr.ev.data(PUB16); }); C.oursRecvCount16 = om - m0 == (ROUNDS * N + Math.max(1, N / 10 | 0)); next(); },
  function (next) { theirsRecv('recv16_theirs', PUB16S, 'theirsRecv16', next); },
  function (next) { var m0 = om; measure('recv1k_ours', function () { tr.ev.data(PUB1K); }); C.oursRecvCount1K = om - m0 == (ROUNDS * N + Math.max(1, N / 10 | 0)); next(); },
  function (next) { theirsRecv('recv1k_theirs', PUB1KS, 'theirsRecv1K', next); },
  function (next) {
    measure('p_encode16s', function () { PROF.encode({ cmd: 'publish', topic: T, payload: S16, qos: undefined, retain: undefined }); });
    measure('p_encode16u', function () { PROF.encode({ cmd: 'publish', topic: T, payload: U16, qos: undefined, retain: undefined }); });
    measure('p_encode1ks', function () { PROF.encode({ cmd: 'publish', topic: T, payload: S1K, qos: undefined, retain: undefined }); });
    measure('p_encode1ku', function () { PROF.encode({ cmd: 'publish', topic: T, payload: U1K, qos: undefined, retain: undefined }); });
    measure('p_validateTopic', function () { PROF.validateTopic(T); });
    measure('p_isAscii16', function () { PROF.isAscii(S16); });
    measure('p_toU8_16', function () { E.toUint8Array(S16); });
    measure('p_toU8_parts16', function () { E.toUint8Array([[48, 25], [0, 7], U16, U16]); });
    measure('p_toU8_1k', function () { E.toUint8Array(S1K); });
    measure('p_write', function () { tr.write(U16); });
    next();
  },
  function (next) {
    measure('p_decode16', function () { dec.push(PUB16); });
    measure('p_decode1k', function () { dec.push(PUB1K); });
    measure('p_decodePingresp', function () { dec.push(PINGRESP); });
    measure('p_utf8String', function () { PROF.utf8String(U16.subarray(0, 7)); });
    measure('p_newU8set16', function () { var b = new Uint8Array(25); b.set(PUB16.subarray(2, 27), 0); });
    measure('p_emit', function () { em.emit('message', T, U16); });
    measure('p_packetObj', function () { no = { cmd: 'publish', retain: false, qos: 0, dup: false, length: 25, topic: null, payload: null }; });
    // lower bounds: hand-written QoS 0 paths (topic already validated, whole packet in one chunk),
    // through the same fake write and the same Emitter
    measure('p_sketchPub16', function () { sketchPub(T, S16); });
    measure('p_sketchPub1k', function () { sketchPub(T, S1K); });
    measure('p_sketchRecv16', function () { sketchRecv(PUB16); });
    measure('p_sketchRecv1k', function () { sketchRecv(PUB1K); });
    next();
  },
];
function next() {
  var s = steps.shift();
  M.push(process.memory().usage);
  if (s) setTimeout(function () { s(next); }, 1);
  else {
    C.unicode = (function () { try { E.asUTF8(''); return true; } catch (e) { return false; } })();
    print('CHECKS ' + JSON.stringify(C));
    print('RESULT ' + JSON.stringify(R));
    print('MEMORY ' + M.join(','));
    setTimeout(function () { quit(); }, 50);
  }
}
next();
})();
`;
}

interface BoardOut { R: Record<string, number>; C: Record<string, unknown>; raw: string }

function run(file: string, dir: string): BoardOut {
  let raw: string;
  try {
    raw = execFileSync(bin, [file], { cwd: dir, timeout: 600000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  } catch (e: any) {
    raw = String(e.stdout || '') + String(e.stderr || e.message);
  }
  // a line printed from a callback comes after the prompt's leftovers ('>', ESC [J): match anywhere
  const r = /RESULT (\{[^\r\n]*\})/.exec(raw)?.[1];
  const c = /CHECKS (\{[^\r\n]*\})/.exec(raw)?.[1];
  return { R: r ? JSON.parse(r) : {}, C: c ? JSON.parse(c) : {}, raw };
}

const fmt = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(1)).padStart(9);

function table(R: Record<string, number>): void {
  const rows: [string, string, string, string?][] = [
    ['publish QoS 0, 16 B string', 'pub16s_ours', 'pub16s_theirs'],
    ['publish QoS 0, 16 B Uint8Array', 'pub16u_ours', 'pub16s_theirs', 'theirs: string'],
    ['publish QoS 0, 1 KB string', 'pub1ks_ours', 'pub1ks_theirs'],
    ['publish QoS 0, 1 KB Uint8Array', 'pub1ku_ours', 'pub1ks_theirs', 'theirs: string'],
    ['receive PUBLISH QoS 0, 16 B', 'recv16_ours', 'recv16_theirs'],
    ['receive PUBLISH QoS 0, 1 KB', 'recv1k_ours', 'recv1k_theirs'],
  ];
  console.log(`  ${'operation (µs per op)'.padEnd(32)}     ours    theirs   ours/theirs  target: ours ≤ 0.5 × theirs`);
  for (const [name, o, t, note] of rows) {
    const ratio = R[o] / R[t];
    console.log(`  ${name.padEnd(32)} ${fmt(R[o])} ${fmt(R[t])}   ${isFinite(ratio) ? ratio.toFixed(2).padStart(8) : '       —'}     ${ratio <= 0.5 ? 'met' : 'MISSED (needs ≤ ' + (R[t] / 2).toFixed(0) + ')'}${note ? ' (' + note + ')' : ''}`);
  }
  console.log(`  (their receive, synchronous part only, before the queued 'message' events: 16 B ${R.recv16_theirs_sync?.toFixed(1)} µs, 1 KB ${R.recv1k_theirs_sync?.toFixed(1)} µs)`);
  console.log(`  (harness: an empty call costs ${R.empty?.toFixed(1)} µs per iteration, included in every figure)`);
  const p = (k: string) => `${R[k]?.toFixed(1)}`;
  console.log('  where ours spends it (µs per call, harness included):');
  console.log(`    codec encode() of the PUBLISH: 16 B string ${p('p_encode16s')}, 16 B Uint8Array ${p('p_encode16u')}, 1 KB string ${p('p_encode1ks')}, 1 KB Uint8Array ${p('p_encode1ku')}`);
  console.log(`      of which validateTopic ${p('p_validateTopic')} (isAscii regex ${p('p_isAscii16')}); E.toUint8Array(16 B string) ${p('p_toU8_16')}, of 4 parts ${p('p_toU8_parts16')}, of 1 KB string ${p('p_toU8_1k')}`);
  console.log(`    publish() beyond encode (options object, _request, tx, trace, write): 16 B string ${(R.pub16s_ours - R.p_encode16s).toFixed(1)}, fake write alone ${p('p_write')}`);
  console.log(`    Decoder.push of the PUBLISH to an empty sink: 16 B ${p('p_decode16')}, 1 KB ${p('p_decode1k')}; of a PINGRESP (no body) ${p('p_decodePingresp')}`);
  console.log(`      of which utf8String(topic) ${p('p_utf8String')}, new Uint8Array + set ${p('p_newU8set16')}, the packet object ${p('p_packetObj')}`);
  console.log(`    Emitter.emit('message') to one listener ${p('p_emit')}`);
  console.log(`    lower bound, a hand-written QoS 0 path (topic validated once, whole packet in one chunk, same fake write / Emitter):`);
  console.log(`      publish 16 B ${p('p_sketchPub16')}, 1 KB ${p('p_sketchPub1k')}; receive 16 B ${p('p_sketchRecv16')}, 1 KB ${p('p_sketchRecv1k')}`);
  console.log(`    receive beyond Decoder.push (packet(), receive(), emit, 'data' listener): 16 B ${(R.recv16_ours - R.p_decode16).toFixed(1)}`);
}

const dir = mkdtempSync(join(tmpdir(), 'espruino-mqtt-bench-'));
try {
  const theirsSrc = readFileSync(theirsPath, 'utf8');
  const ours = await bundle('OURS', "export { MQTTClient } from './src/mqtt/simple';");
  const prof = await bundle('PROF', "export { encode, Decoder, validateTopic } from './src/mqtt/codec';\n" +
    "export { isAscii, utf8String } from './src/mqtt/utf8';\nexport { Emitter } from './src/events';");
  const file = join(dir, 'bench.js');
  writeFileSync(file, boardProgram(ours, prof, theirsSrc));

  const oursSize = await bundleSize([resolve(ROOT, 'src/mqtt/simple.ts')]);
  const theirsMin = Buffer.byteLength((await minifyJs(theirsSrc)).code);
  const theirsWrapped = Buffer.byteLength((await minifyJs(`Modules.addCached('MQTT',function(){${theirsSrc}\n});`)).code);

  const t0 = Date.now();
  const out = run(file, dir);
  if (process.env.BENCH_RAW) console.log(out.raw);
  console.log(`Espruino ${bin} (x86-64 Linux build, not a microcontroller); N = ${N}, best of ${ROUNDS} rounds after a warm-up; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (!Object.keys(out.C).length) console.log('  no CHECKS line from the board');
  const bad = Object.entries(out.C).filter(([k, v]) => v !== true && !/Connack|unicode|Error/.test(k));
  console.log(`  build: ${out.C.unicode ? 'unicode' : 'no unicode'}; checks: ${bad.length ? 'FAILED ' + JSON.stringify(bad) : 'packets sent and received as expected by both'}`);
  console.log(`  CONNACK: ours ${out.C.oursConnack ?? 'none'}${out.C.oursConnected ? ' (connected)' : ''}; theirs ${out.C.theirsConnack ?? 'not accepted'}${out.C.theirsError ? ' — ' + out.C.theirsError : ''}`);
  if (!Object.keys(out.R).length) {
    console.log('  no RESULT line from the board; its output:\n' + out.raw.slice(-3000));
    process.exitCode = 1;
  } else table(out.R);
  console.log('Sizes, minified with scripts/esbuild-espruino.js minifyJs:');
  console.log(`  ours: src/mqtt/simple.ts + codec + events + error, as flashed (scripts/bundle-size.js): ${oursSize} bytes; the IIFE run here: ${Buffer.byteLength(ours)} bytes`);
  console.log(`  theirs: MQTT.js ${Buffer.byteLength(theirsSrc)} bytes source; minified as a script ${theirsMin} bytes, as a module function (top-level names shortened, as the IDE's module wrapper allows) ${theirsWrapped} bytes (Espruino's docs: ~6.1 KB)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
