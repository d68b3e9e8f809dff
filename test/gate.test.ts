// The Espruino gate must catch every construct espruino-compat.md lists as missing, and pass code
// that Espruino runs. Each bad snippet names the rule it must trigger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error plain JavaScript module without types
import { checkSource } from '../scripts/espruino-gate.js';

type Problem = { line: number; column: number; rule: string; message: string };
const rulesOf = (code: string): string[] => (checkSource(code) as Problem[]).map((p) => p.rule);

const bad: [string, string][] = [
  ['destructuring', 'var {a, b} = o;'],
  ['destructuring', 'var [a, b] = arr;'],
  ['destructuring', 'function f({a}) { return a; }'],
  ['spread', 'f(...args);'],
  ['spread', 'var o2 = {...o};'],
  ['rest', 'function f(a, ...r) { return r; }'],
  ['default-param', 'function f(a = 1) { return a; }'],
  ['label', 'outer: for (var i = 0; i < 2; i++) { break outer; }'],
  ['generator', 'function* g() { yield 1; }'],
  ['async', 'async function g() { await p; }'],
  ['async', 'var g = async () => 1;'],
  ['exponent', 'var x = 2 ** 8;'],
  ['exponent', 'x **= 2;'],
  ['optional-chain', 'var v = o?.a;'],
  ['logical-assignment', 'o.a ||= 1;'],
  ['logical-assignment', 'o.a ??= 1;'],
  ['computed-key', 'var o = {[k]: 1};'],
  ['computed-key', 'class A { [k]() {} }'],
  ['new-target', 'function F() { if (!new.target) throw 1; }'],
  ['private-field', 'class A { #x = 1; get() { return this.#x; } }'],
  ['tagged-template', 'var s = tag`x`;'],
  ['for-of', 'for (var x of xs) f(x);'],
  ['extends-error', 'class MyError extends Error {}'],
  ['absent-global', 'var m = new Map();'],
  ['absent-global', 'var s = new Set();'],
  ['absent-global', 'var w = new WeakMap();'],
  ['absent-global', 'var s = Symbol("x");'],
  ['absent-global', 'var p = new Proxy({}, {});'],
  ['absent-global', 'Reflect.ownKeys(o);'],
  ['absent-global', 'var b = BigInt(1);'],
  ['absent-global', 'var b = 1n;'],
  ['absent-global', 'var e = new TextEncoder();'],
  ['absent-global', 'var b = Buffer.from("x");'],
  ['absent-global', 'var n = Math.imul(a, b);'],
  ['absent-global', 'var n = Math.trunc(a);'],
  ['absent-global', 'Number.isInteger(a);'],
  ['absent-global', 'Object.freeze(o);'],
  ['absent-global', 'Array.from(x);'],
  ['absent-global', 'process.nextTick(f);'],
  ['absent-global', 'var EE = require("events");'],
  ['prototype-call', 'Array.prototype.slice.call(arguments);'],
  ['fromcharcode-apply', 'String.fromCharCode.apply(null, bytes);'],
  ['hoisting', 'f(); function f() {}'],
  ['hoisting', 'var g = f; function f() {}'],
  ['hoisting', 'function outer() { inner(); function inner() {} }'],
  ['hoisting', 'function a() { b(); } a(); function b() {}'],
  ['hoisting', '(function () { f(); })(); function f() {}'],
  ['arrow-this', 'class A { f(c) { return c ? 1 : (() => this.x)(); } }'],
  ['arrow-this', 'class A { f() { return () => { return this.x; }; } }'],
  ['regex-slash', 'var r = /[/]/;'],
  ['regex-slash', 'var r = /a[^/b]+/;'],
  ['this-before-super', 'class A extends B { constructor() { var _this = this; super(); } }'],
  ['regex-feature', 'var r = /ab?c/;'],
  ['regex-feature', 'var r = /a{3}/;'],
  ['regex-feature', 'var r = /^(\\d+\\.)+$/;'],
  ['regex-feature', 'var r = /^(?:ab)c$/;'],
  ['regex-feature', 'var r = /a(?=b)/;'],
  ['regex-feature', 'var r = /^#$|\\/#$/;'],
  ['regex-feature', 'var r = /\\bx/;'],
  ['regex-feature', 'var r = /(a)*b/;'],
  ['loop-closure', 'for (let i = 0; i < 3; i++) setTimeout(function () { print(i); }, 1);'],
];

for (const [rule, code] of bad) {
  test(`gate rejects ${rule}: ${code}`, () => {
    assert.ok(rulesOf(code).includes(rule), `expected ${rule} for ${code}, got ${JSON.stringify(rulesOf(code))}`);
  });
}

const good: string[] = [
  'function f() {} f();',
  'var h = function () { return g(); }; function g() { return 1; } h();',
  'function a() { return b(); } function b() { return 1; } a();',
  'class A extends B { constructor() { super(); this.x = 1; } static s() {} get y() { return 1; } }',
  'var f = (a, b) => a + b; var s = `x${f(1, 2)}`;',
  'class A { f() { var t = this; return [1].map((v) => function () { return this; }); } }',
  'let a = 1; const b = a ?? 2; var c = 0b101 + 0o7;',
  'try { f(); } catch { }',
  'var a = /[^\\/][+#]|[+#][^\\/]|#./, b = /^\\d+\\.\\d+$/, c = /[?{]x\\?/, d = /b$|c/;',
  'class A extends B { constructor() { super(); var t = this; t.x = function () { return this; }; } }',
  'var r = /[\\/]x\\/y/; var q = /a\\/[b]/;',
  'for (var i = 0; i < 3; i++) setTimeout(function () {}, i);',
  'for (let i = 0; i < 3; i++) total += i;',
  'var u = new Uint8Array(4); u.set([1], 0); var s = E.toString(u); [].slice.call(u);',
  'var m = {}; m.Map = 1; var o = { Set: 2 }; var x = o.Set + m.Map;',
  'function Map() {} var m = new Map();',
  'var e = new Error("x"); e.code = "E";',
];

for (const code of good) {
  test(`gate accepts: ${code}`, () => {
    assert.deepEqual(checkSource(code), []);
  });
}

test('gate reports the line of the problem', () => {
  const problems = checkSource('var a = 1;\nvar b = 2;\nvar {c} = o;\n') as Problem[];
  assert.equal(problems.length, 1);
  assert.equal(problems[0].line, 3);
  assert.equal(problems[0].rule, 'destructuring');
});

test('gate reports syntax errors instead of crashing', () => {
  assert.deepEqual(rulesOf('var = ;'), ['syntax']);
});
