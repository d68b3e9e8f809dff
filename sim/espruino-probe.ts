// Re-measures sim/espruino-absent.ts on a real Espruino interpreter (the Linux build): asks it, with
// `typeof`, for every global, static and prototype member a fresh node:vm context has, and prints
// what Espruino lacks that the tables miss, and what they list that Espruino has.
//   node --import tsx sim/espruino-probe.ts [/path/to/espruino]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { ABSENT_GLOBALS, ABSENT_PROTOTYPE, ABSENT_STATICS } from './espruino-absent';

const OWNERS = ['Object', 'Array', 'String', 'Number', 'Math', 'Promise', 'Date', 'ArrayBuffer', 'DataView', 'TypedArray'];
const SAMPLES: Record<string, string> = {
  Object: '({})', Array: '[]', String: '""', Number: '(1)', Date: '(new Date())', Promise: '(Promise.resolve())',
  ArrayBuffer: '(new ArrayBuffer(1))', DataView: '(new DataView(new ArrayBuffer(1)))', TypedArray: '(new Uint8Array(1))',
};
const SKIP = ['length', 'name', 'prototype', 'constructor', 'arguments', 'caller', 'BYTES_PER_ELEMENT'];

const names = JSON.parse(vm.runInContext(`JSON.stringify((function () {
  var own = function (o) { return Object.getOwnPropertyNames(o); };
  var T = Object.getPrototypeOf(Uint8Array), out = { globals: own(this), statics: {}, protos: {} };
  ${JSON.stringify(OWNERS)}.forEach(function (n) {
    var c = n === 'TypedArray' ? T : this[n];
    out.statics[n] = own(c);
    if (c.prototype) out.protos[n] = own(c.prototype);
  }, this);
  return out;
}).call(this))`, vm.createContext({}))) as { globals: string[]; statics: Record<string, string[]>; protos: Record<string, string[]> };

const probes: [string, string][] = [];
for (const g of names.globals) if (g !== 'undefined' && g !== 'console') probes.push([g, g]);
for (const o of OWNERS) {
  const ref = o === 'TypedArray' ? 'Uint8Array' : o;
  for (const k of names.statics[o]) if (!SKIP.includes(k)) probes.push([`${o}.${k}`, `${ref}[${JSON.stringify(k)}]`]);
  if (SAMPLES[o]) {
    for (const k of names.protos[o] ?? []) {
      if (!SKIP.includes(k) && !k.startsWith('__')) probes.push([`${o}.prototype.${k}`, `${SAMPLES[o]}[${JSON.stringify(k)}]`]);
    }
  }
}
const script = 'var R = [];\n' + probes.map(([label, expr]) =>
  `try { if (typeof ${expr} === 'undefined') R.push(${JSON.stringify(label)}); } catch (e) { R.push(${JSON.stringify(label)}); }`)
  .join('\n') + '\nprint("ABSENT:" + JSON.stringify(R));\n';

const dir = mkdtempSync(join(tmpdir(), 'espruino-probe-'));
try {
  const file = join(dir, 'probe.js');
  writeFileSync(file, script);
  const out = execFileSync(process.argv[2] ?? '/work/espruino-bin/espruino', [file], { encoding: 'latin1', timeout: 20000 });
  const line = out.split(/\r?\n/).find((l) => l.startsWith('ABSENT:'));
  if (!line) throw new Error('the interpreter printed no ABSENT: line:\n' + out);
  const measured = new Set(JSON.parse(line.slice(7)) as string[]);
  const listed = new Set([
    ...ABSENT_GLOBALS,
    ...Object.entries(ABSENT_STATICS).flatMap(([o, ks]) => ks.map((k) => `${o}.${k}`)),
    ...Object.entries(ABSENT_PROTOTYPE).flatMap(([o, ks]) => ks.map((k) => `${o}.prototype.${k}`)),
  ]);
  const missing = [...measured].filter((x) => !listed.has(x));
  const extra = [...listed].filter((x) => !measured.has(x));
  console.log('absent on Espruino but not removed by the simulator:', missing.length ? missing.join(', ') : 'none');
  console.log('removed by the simulator but present on Espruino:', extra.length ? extra.join(', ') : 'none');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
