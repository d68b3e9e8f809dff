// The simulated Espruino runtime (sim/espruino.ts) behaves as the real interpreter does. Expected
// values marked "2v29" were measured on Espruino 2v29's Linux build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Board } from '../sim/espruino.ts';
import { ABSENT_GLOBALS, ABSENT_PROTOTYPE, ABSENT_STATICS } from '../sim/espruino-absent.ts';
import type { SpiDevice } from '../sim/spi.ts';

/** Waits until `check()` is true; fails after `ms`. */
async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for the board');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** An array from the board's realm as a host array, so deepEqual compares values, not prototypes. */
const arr = (v: unknown): unknown[] => Array.from(v as ArrayLike<unknown>);

/** One pass of the board's main loop (queued watch events and emits run). */
const tick = (): Promise<void> => new Promise((r) => setImmediate(() => setImmediate(r)));

function withBoard(fn: (b: Board) => unknown, opts?: ConstructorParameters<typeof Board>[0]) {
  return async () => {
    const b = new Board(opts);
    try {
      await fn(b);
    } finally {
      b.dispose();
    }
  };
}

/** An SPI slave that records what it sees and answers each MOSI byte with its complement. */
class RecordingDevice implements SpiDevice {
  events: string[] = [];
  select(): void { this.events.push('select'); }
  deselect(): void { this.events.push('deselect'); }
  exchange(mosi: Uint8Array): Uint8Array {
    this.events.push('x:' + Array.from(mosi).join(','));
    return mosi.map((b) => b ^ 0xff);
  }
}

function spiBoard(b: Board): RecordingDevice {
  const dev = new RecordingDevice();
  b.attachSpi('SPI2', dev, 'B10');
  return dev;
}

// --- SPI ---

test('SPI.send returns a number for a number, a string for a string, a Uint8Array otherwise', withBoard((b) => {
  spiBoard(b);
  const r = b.run(`[
    SPI2.send(0x12, B10),
    SPI2.send('ab', B10),
    SPI2.send([1, 2], B10),
    SPI2.send(new Uint8Array([3]), B10),
    SPI2.send({data: [7], count: 2}, B10),
  ]`) as unknown[];
  assert.equal(r[0], 0xed);
  assert.equal(r[1], '\x9e\x9d');
  assert.equal(b.run('SPI2.send([1, 2], B10) instanceof Uint8Array'), true, 'a Uint8Array of the firmware realm');
  assert.deepEqual(Array.from(r[2] as Uint8Array), [0xfe, 0xfd]);
  assert.deepEqual(Array.from(r[3] as Uint8Array), [0xfc]);
  assert.deepEqual(Array.from(r[4] as Uint8Array), [0xf8, 0xf8]);
}));

test('SPI.send truncates numbers to bytes and rejects what is not data (2v29)', withBoard((b) => {
  const dev = spiBoard(b);
  b.run('SPI2.send(300, B10); SPI2.send([1.9, -1, 256], B10); SPI2.send(true, B10)');
  assert.deepEqual(dev.events.filter((e) => e.startsWith('x:')), ['x:44', 'x:1,255,0', 'x:1']);
  assert.throws(() => b.run('SPI2.send(undefined, B10)'), /Expecting Number or iterable, got undefined/);
}));

test('SPI.send holds nss_pin low for the whole call: one select, one exchange, one deselect', withBoard((b) => {
  const dev = spiBoard(b);
  b.run('SPI2.send([0, 0x39, 0, 0], B10); SPI2.send(5, B10)');
  assert.deepEqual(dev.events, ['select', 'x:0,57,0,0', 'deselect', 'select', 'x:5', 'deselect']);
  assert.equal(b.pin('B10').level, 1);
}));

test('a frame framed by digitalWrite spans several SPI.send calls', withBoard((b) => {
  const dev = spiBoard(b);
  b.run('digitalWrite(B10, 0); SPI2.send([1, 2]); SPI2.send(3); digitalWrite(B10, 1);');
  assert.deepEqual(dev.events, ['select', 'x:1,2', 'x:3', 'deselect']);
}));

test('without CS low, on the wrong SPI or on the wrong pins the device hears nothing and MISO reads 0xFF', withBoard((b) => {
  const dev = spiBoard(b);
  assert.equal(b.run('SPI2.send(1)'), 0xff, 'CS idles high');
  assert.equal(b.run('SPI1.send(1, B10)'), 0xff, 'SPI1 is not wired to the device');
  assert.equal(b.run('var s = new SPI(); s.setup({sck: A5, miso: A6, mosi: A7}); s.send(1, B10)'), 0xff);
  assert.deepEqual(dev.events.filter((e) => e.startsWith('x:')), []);
  assert.equal(b.run('var s2 = new SPI(); s2.setup({sck: B13, miso: B14, mosi: B15}); s2.send(1, B10)'), 0xfe,
    'software SPI on the same wires reaches the device');
}));

test('SPI.write sends every argument, takes a trailing pin as nss_pin and returns undefined', withBoard((b) => {
  const dev = spiBoard(b);
  assert.equal(b.run("SPI2.write(1, [2, 3], 'a', B10)"), undefined);
  assert.deepEqual(dev.events, ['select', 'x:1,2,3,97', 'deselect']);
}));

// --- Pins ---

test('pins are values: names, aliases and new Pin() give the same object', withBoard((b) => {
  assert.equal(b.run("LED1 === B2 && new Pin('B2') === B2 && Pin('LED1') === B2 && new Pin(16) === B0"), true);
  assert.equal(b.run("String(LED2) + ' ' + JSON.stringify({p: BTN1})"), 'B12 {"p":"C13"}');
  assert.throws(() => b.run("new Pin('Z9')"), /Invalid pin/);
  assert.throws(() => b.run('digitalWrite(undefined, 1)'), /Invalid pin/);
}));

test('digitalWrite, Pin.write/set/reset/toggle drive the wire; the host sees each write', withBoard((b) => {
  const seen: number[] = [];
  b.pin('A1').onOutput((l) => seen.push(l));
  b.run('digitalWrite(A1, 1); A1.reset(); A1.set(); A1.write(false); A1.toggle(); digitalWrite(A1, 0.5)');
  assert.deepEqual(seen, [1, 0, 1, 0, 1, 0], 'digitalWrite(0.5) is 0: the value is truncated to an integer');
  assert.equal(b.run("getPinMode(A1)"), 'output');
  b.run("[A2, A3, A4].forEach(function (p) { pinMode(p, 'output'); }); digitalWrite([A2, A3, A4], 6)");
  assert.deepEqual([b.pin('A2').level, b.pin('A3').level, b.pin('A4').level], [1, 1, 0], 'last pin is the LSB');
  assert.equal(b.run('digitalRead([A2, A3, A4])'), 6);
}));

test('digitalRead turns an automatic output into an input, unless pinMode fixed it', withBoard((b) => {
  b.run('digitalWrite(A0, 1)');
  assert.equal(b.run('digitalRead(A0)'), 0, 'input now, undriven');
  assert.equal(b.run('getPinMode(A0)'), 'input');
  b.run("pinMode(A1, 'output'); digitalWrite(A1, 1)");
  assert.equal(b.run('digitalRead(A1)'), 1);
  assert.equal(b.run("getPinMode(A1)"), 'output');
  b.run("pinMode(A2, 'input_pullup')");
  assert.equal(b.run('A2.read()'), true);
  b.pin('A2').drive(0);
  assert.equal(b.run('A2.read()'), false);
  assert.throws(() => b.run("pinMode(A3, 'sideways')"), /Unknown pin mode/);
}));

test('digitalPulse drives the level, then the opposite after the time', withBoard(async (b) => {
  const seen: number[] = [];
  b.pin('B3').onOutput((l) => seen.push(l));
  b.run('digitalPulse(B3, 0, 5)');
  assert.deepEqual(seen, [0]);
  await until(() => seen.length === 2);
  assert.deepEqual(seen, [0, 1]);
}));

// --- setWatch ---

test('setWatch calls back from the main loop, not inside drive(), with state, time and lastTime', withBoard(async (b) => {
  b.run("var ev = []; setWatch(function (e) { ev.push(e); }, A8, {repeat: true, edge: 'both'});");
  const t0 = b.now();
  b.pin('A8').drive(1);
  assert.equal(b.run('ev.length'), 0);
  b.pin('A8').drive(0);
  await tick();
  const ev = arr(b.run('ev')) as { state: boolean; time: number; lastTime?: number; pin: unknown }[];
  assert.deepEqual(ev.map((e) => e.state), [true, false]);
  assert.ok(ev[0].time >= t0 && ev[1].time >= ev[0].time);
  assert.equal(ev[1].lastTime, ev[0].time);
  assert.equal(b.run('ev[0].pin === A8'), true);
}));

test('setWatch edges: rising, falling, and both is the default for pins', withBoard(async (b) => {
  b.run(`var r = 0, f = 0, a = 0;
    setWatch(function () { r++; }, A8, {repeat: true, edge: 'rising'});
    setWatch(function () { f++; }, A8, {repeat: true, edge: -1});
    setWatch(function () { a++; }, A8, true);`);
  for (const l of [1, 0, 1, 0, 1] as const) b.pin('A8').drive(l);
  await tick();
  assert.deepEqual(arr(b.run('[r, f, a]')), [3, 2, 5]);
  assert.throws(() => b.run("setWatch(function () {}, A8, {edge: 'up'})"), /'edge' in setWatch should be/);
}));

test('a watch without repeat fires once and is gone; clearWatch stops one or all', withBoard(async (b) => {
  b.run('var n = 0, m = 0; var once = setWatch(function () { n++; }, A0); var w = setWatch(function () { m++; }, A0, {repeat: true});');
  b.pin('A0').drive(1);
  b.pin('A0').drive(0);
  await tick();
  assert.deepEqual(arr(b.run('[n, m]')), [1, 2]);
  assert.throws(() => b.run('clearWatch(once)'), /Unknown Watch/);
  b.run('clearWatch(w)');
  b.pin('A0').drive(1);
  await tick();
  assert.equal(b.run('m'), 2);
  b.run('setWatch(function () { m++; }, A0, {repeat: true}); clearWatch();');
  b.pin('A0').drive(0);
  await tick();
  assert.equal(b.run('m'), 2);
  assert.throws(() => b.run('clearWatch(undefined)'), /clearWatch\(undefined\) not allowed/);
}));

test('watch ids are one more than the highest live id, as timer ids are (2v29)', withBoard((b) => {
  const ids = b.run(`var f = function () {};
    var a = setWatch(f, A3, true), c = setWatch(f, A4, true); clearWatch(a);
    var d = setWatch(f, A5, true); clearWatch(); [a, c, d, setWatch(f, A6, true), getPinMode(A7)]`);
  assert.deepEqual(arr(ids), [1, 2, 3, 1, undefined]);
}));

test('setWatch debounce: a bouncing contact gives one callback once the level has held', withBoard(async (b) => {
  b.run("var ev = []; setWatch(function (e) { ev.push(e); }, A5, {repeat: true, edge: 'rising', debounce: 20});");
  const p = b.pin('A5');
  p.drive(1); p.drive(0); p.drive(1); // contact bounce, all within microseconds
  const lastEdge = b.now();
  await until(() => (b.run('ev.length') as number) > 0);
  const ev = b.run('ev[0]') as { state: boolean; time: number };
  assert.equal(ev.state, true);
  assert.ok(ev.time <= lastEdge, 'time is when the last edge happened, not when the debounce ended');
  p.drive(0); p.drive(1); // a glitch shorter than the debounce: back to the same state, no callback
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(b.run('ev.length'), 1);
}));

test('BTN1 watches default to the rising edge (the button has a pull-down)', withBoard(async (b) => {
  assert.equal(b.run('BTN1.read()'), false);
  b.run('var presses = 0; setWatch(function () { presses++; }, BTN1, {repeat: true});');
  b.pin('BTN1').drive(1);
  await new Promise((r) => setTimeout(r, 40));
  b.pin('BTN1').drive(0);
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(b.run('presses'), 1);
}));

// --- Timers ---

test('setTimeout passes extra arguments; setInterval repeats until cleared', withBoard(async (b) => {
  b.run("var got, n = 0; setTimeout(function (x, y) { got = x + y; }, 1, 'a', 'b'); var iv = setInterval(function () { if (++n === 3) clearInterval(iv); }, 1);");
  await until(() => b.run('got') === 'ab' && b.run('n') === 3);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(b.run('n'), 3);
  assert.equal(b.timers.size, 0);
}));

test('timer ids are one more than the highest live id, so they are reused (2v29)', withBoard((b) => {
  assert.deepEqual(arr(b.run('var f = function () {}; [setTimeout(f, 1e4), setTimeout(f, 1e4), setTimeout(f, 1e4)]')), [1, 2, 3]);
  assert.equal(b.run('clearTimeout(2); setTimeout(f, 1e4)'), 4);
  assert.equal(b.run('clearTimeout(); setInterval(f, 1e4)'), 1, 'clearTimeout() with no argument clears everything');
  assert.throws(() => b.run('clearTimeout(undefined)'), /clearTimeout\(undefined\) not allowed/);
  assert.doesNotThrow(() => b.run('clearTimeout(99)'), 'an unknown id is ignored');
}));

test('changeInterval reschedules an interval, and rejects an unknown id', withBoard(async (b) => {
  b.run('var n = 0; var iv = setInterval(function () { n++; }, 1e6); changeInterval(iv, 1);');
  await until(() => (b.run('n') as number) >= 2);
  assert.throws(() => b.run('changeInterval(77, 10)'), /Unknown Interval/);
  assert.throws(() => b.run('setTimeout()'), /Function or String not supplied!/);
}));

test('a string callback is evaluated in the board context', withBoard(async (b) => {
  b.run("var hit = 0; setTimeout('hit = 1', 1);");
  await until(() => b.run('hit') === 1);
}));

test('dispose() stops every timer and watch, and later ones never run', async () => {
  const b = new Board();
  b.run('var n = 0; setInterval(function () { n++; }, 1); setWatch(function () { n += 100; }, A0, true);');
  b.dispose();
  b.pin('A0').drive(1);
  b.run('setTimeout(function () { n += 1000; }, 1);');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(b.run('n'), 0);
});

// --- Uncaught exceptions ---

test('an exception in a timer, watch or listener prints Uncaught and the board carries on', withBoard(async (b) => {
  b.run(`var later = 0;
    setTimeout(function () { throw new Error('boom'); }, 1);
    setTimeout(function () { throw 'plain'; }, 2);
    setWatch(function () { null.x; }, A0, true);
    E.on('init', function () { throw new TypeError('in listener'); });
    setTimeout(function () { later = 1; }, 10);`);
  b.pin('A0').drive(1);
  b.boot();
  await until(() => b.run('later') === 1 && b.uncaught.length === 4);
  assert.ok(b.output.includes('Uncaught Error: boom'));
  assert.ok(b.output.includes('Uncaught plain'));
  assert.ok(b.output.includes('Uncaught TypeError: in listener'));
  assert.ok(b.output.some((l) => /^Uncaught TypeError: Cannot read properties of null/.test(l)));
}));

test('a top-level exception propagates from run()', withBoard((b) => {
  assert.throws(() => b.run("throw new RangeError('x')"), /RangeError is not defined/, 'RangeError is absent too');
  assert.throws(() => b.run("throw new TypeError('top')"), { name: 'TypeError', message: 'top' });
}));

// --- E ---

test('E.toUint8Array and E.toString iterate like Espruino (2v29)', withBoard((b) => {
  const cases: [string, number[]][] = [
    ["'abc'", [97, 98, 99]],
    ['[1, 2, [3, 4]], 300', [1, 2, 3, 4, 44]],
    ['1.9, -1, 255.5', [1, 255, 255]],
    ["NaN, Infinity, -256, 257, '5'", [0, 0, 0, 1, 53]],
    ['3e9 + 5, 2147483648, -2147483649, 4294967297', [5, 0, 255, 1]],
    ["{data: [1, {data: 'ab', count: 2}], count: 2}", [1, 97, 98, 97, 98, 1, 97, 98, 97, 98]],
    ['{callback: function () { return 7; }}', [7]],
    ['new Float32Array([1.5, 300]), new Uint16Array([0x4142])', [1, 44, 0x42]],
    ['new ArrayBuffer(2), true, false', [0, 0, 1, 0]],
    ["'\\u6e29'", [0x29]],
    ['', []],
  ];
  for (const [args, bytes] of cases) {
    assert.deepEqual(Array.from(b.run(`E.toUint8Array(${args})`) as Uint8Array), bytes, args);
    assert.equal(b.run(`E.toString(${args})`), String.fromCharCode(...bytes), args);
  }
  assert.equal(b.run('E.toUint8Array([1]) instanceof Uint8Array'), true);
  assert.throws(() => b.run('E.toString(null)'), /Expecting Number or iterable, got null/);
  assert.throws(() => b.run('E.toUint8Array({a: 1})'), /must be of the form \{data : \.\.\., count : N\}/);
}));

test('source is bytes as on the Pico, unless the board is a unicode build', async () => {
  const pico = new Board();
  const unicode = new Board({ unicode: true });
  try {
    assert.equal(pico.run("'温度'.length"), 6);
    assert.deepEqual(Array.from(pico.run("E.toUint8Array('é')") as Uint8Array), [0xc3, 0xa9]);
    pico.run("print('温度 °C')");
    assert.equal(pico.output.at(-1), '温度 °C', 'the log shows the bytes as a UTF-8 terminal does');
    assert.equal(unicode.run("'温度'.length"), 2);
  } finally {
    pico.dispose();
    unicode.dispose();
  }
});

test('E.on(init) runs on boot(), with onInit(); emit() only queues (2v29)', withBoard(async (b) => {
  b.run("var log = []; E.on('init', function () { log.push('E init'); }); function onInit() { log.push('onInit'); }");
  b.boot();
  assert.deepEqual(arr(b.run('log')), []);
  await tick();
  assert.deepEqual(arr(b.run('log')), ['E init', 'onInit']);
  b.run("var o = {}; o.on('x', function (a, b) { log.push('' + a + b + (this === o)); }); o.emit('x', 1, 2); log.push('after');");
  await tick();
  assert.deepEqual(arr(b.run('log')).slice(2), ['after', '12true']);
  assert.throws(() => b.run("o.emit('x', 1, 2, 3, 4, 5)"), /Too many arguments \(>4\)/);
  assert.equal(b.run('Object.keys({}).length'), 0, 'the native event methods are not enumerable');
  assert.equal(({} as { on?: unknown }).on, undefined, "the host realm's Object.prototype is untouched");
}));

test('getSerial, getTime, E.getTemperature, process.memory and process.version', withBoard((b) => {
  assert.equal(b.run('getSerial()'), '11223344-55667788-99AABBCC');
  assert.equal(b.run('E.getTemperature()'), 31.5);
  assert.equal(b.run('process.version'), '2v29');
  const m = b.run('process.memory()') as { free: number; usage: number; total: number };
  assert.equal(m.total, 5100);
  assert.equal(m.free + m.usage, m.total);
  const t = b.run('getTime()') as number;
  assert.ok(typeof t === 'number' && t % 1 !== 0, 'seconds as a float');
  b.run('setTime(100)');
  assert.ok(Math.abs((b.run('getTime()') as number) - 100) < 1);
}, { serial: '11223344-55667788-99AABBCC', temperature: 31.5 }));

test('print and console.log format values as Espruino does', withBoard((b) => {
  b.run("print('a', 1, [1, 'x'], {k: null}, new Uint8Array([1, 2]), LED1, {}); console.log(new Error('m'))");
  assert.deepEqual(b.output, ['a 1 [ 1, "x" ] { "k": null } new Uint8Array([1, 2]) B2 {  }', 'Error: Error: m']);
}));

test('require: registered built-in modules, and a clear error for others', withBoard((b) => {
  b.addModule('net', { connect: () => 'net.connect' });
  assert.equal(b.run("require('net').connect()"), 'net.connect');
  assert.throws(() => b.run("require('fs')"), /Module "fs" not found/);
}));

// --- The firmware context lacks what Espruino lacks ---

test('every global Espruino lacks is absent in run()', withBoard((b) => {
  const nodeOnly = ['Buffer', 'TextEncoder', 'TextDecoder', 'queueMicrotask', 'structuredClone', 'setImmediate',
    'module', 'exports', '__dirname'];
  for (const name of [...ABSENT_GLOBALS, ...nodeOnly]) {
    assert.equal(b.run(`typeof ${name}`), 'undefined', name);
  }
  assert.equal(b.run('typeof process.nextTick'), 'undefined');
  assert.equal(b.run('typeof global'), 'object', "Espruino's own global object stays");
}));

test('every static and prototype member Espruino lacks is absent in run()', withBoard((b) => {
  const samples: Record<string, string> = {
    Object: '({})', Array: '[]', String: "''", Number: '(1)', Date: '(new Date())', Promise: '(Promise.resolve())',
    ArrayBuffer: '(new ArrayBuffer(1))', DataView: '(new DataView(new ArrayBuffer(1)))', TypedArray: '(new Uint8Array(1))',
  };
  b.run('0'); // creates the context
  const kept = new Set(b.notRemoved);
  for (const [owner, keys] of Object.entries(ABSENT_STATICS)) {
    for (const k of keys) {
      if (kept.has(`${owner}.${k}`)) continue;
      const ref = owner === 'TypedArray' ? 'Uint8Array' : owner;
      assert.equal(b.run(`typeof ${ref}.${k}`), 'undefined', `${owner}.${k}`);
    }
  }
  for (const [owner, keys] of Object.entries(ABSENT_PROTOTYPE)) {
    for (const k of keys) assert.equal(b.run(`typeof ${samples[owner]}.${k}`), 'undefined', `${owner}.prototype.${k}`);
  }
  assert.deepEqual(b.notRemoved, ['Number.MAX_SAFE_INTEGER', 'Number.MIN_SAFE_INTEGER', 'Number.EPSILON'],
    'only these constants survive (V8 makes them non-configurable); README lists them');
  for (const name of ['Math.imul', 'Math.trunc', 'Math.log2', 'Math.clz32', 'Number.isInteger', 'Number.isNaN',
    'Object.freeze', 'Array.from', 'Array.of']) {
    assert.equal(b.run(`typeof ${name}`), 'undefined', name);
  }
}));

test('what Espruino has still works in run(): typed arrays, JSON, Promise, classes, for-of on arrays', withBoard((b) => {
  const r = b.run(`
    class A { constructor(x) { this.x = x; } get twice() { return this.x * 2; } }
    var s = 0; for (var v of [1, 2, 3]) s += v;
    var u = new Uint8Array([1, 2, 3]).subarray(1);
    [new A(4).twice, s, u.length, JSON.stringify({a: [1]}), typeof Promise.all, 'x'.padStart(3, '-'), [1, 2].includes(2)]`);
  assert.deepEqual(arr(r), [8, 6, 2, '{"a":[1]}', 'function', '--x', true]);
}));

// --- install() ---

test('install() puts the Espruino globals into a realm and uninstall() restores it', async () => {
  const b = new Board();
  const nodeSetTimeout = globalThis.setTimeout;
  const uninstall = b.install();
  try {
    const g = globalThis as unknown as Record<string, any>;
    assert.equal(typeof g.E.toUint8Array, 'function');
    assert.equal(g.LED1, g.B2);
    assert.equal(typeof g.changeInterval, 'function');
    assert.notEqual(g.setTimeout, nodeSetTimeout);
    assert.equal(typeof g.setTimeout(() => {}, 1e4), 'number', 'Espruino timer ids are numbers');
    assert.equal(g.process.memory().total, 5100);
    assert.equal(typeof g.console.table, 'function', "Node's console stays");
    assert.equal(g.getSerial(), b.serial);
    const dev = new RecordingDevice();
    b.attachSpi('SPI2', dev, 'B10');
    assert.equal(g.SPI2.send(0x0f, g.B10), 0xf0);
    assert.ok(g.SPI2.send([1]) instanceof Uint8Array);
  } finally {
    uninstall();
    b.dispose();
  }
  const g = globalThis as unknown as Record<string, unknown>;
  assert.equal(globalThis.setTimeout, nodeSetTimeout);
  for (const name of ['E', 'SPI2', 'LED1', 'getSerial', 'changeInterval', 'print', 'setWatch']) {
    assert.equal(name in g, false, name);
  }
  assert.equal('memory' in process, false);
});

test('install({timers: false}) keeps Node timers; uncaught callback errors are still reported', async () => {
  const b = new Board();
  const target: Record<string, unknown> = { setTimeout: 'node' };
  const uninstall = b.install(target, { timers: false });
  try {
    assert.equal(target.setTimeout, 'node');
    assert.equal(typeof target.setWatch, 'function');
    (target.setWatch as (fn: () => void, pin: unknown, o: unknown) => number)(() => { throw new Error('w'); }, target.A3, true);
    b.pin('A3').drive(1);
    await tick();
    assert.equal(b.output.at(-1), 'Uncaught Error: w');
  } finally {
    uninstall();
    b.dispose();
  }
  assert.deepEqual(Object.keys(target), ['setTimeout']);
});
