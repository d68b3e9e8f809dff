// The apps check their settings at start: a bad value is reported by the setting's name, and the app
// then touches nothing (no SPI traffic, no timer, no socket). Runs the built, minified bundles on the
// simulated board with one setting changed at a time, as a user editing the constants would.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { appBoard, appBundle, buildApps, liveWatches, waitForLine } from './helpers/app-rig.ts';
import { settingsOf } from '../sim/app-settings.ts';

// One wrong value per setting (JS source text), and what the log must say is expected.
const BAD: [string, string, string][] = [
  ['BROKER', '""', 'nonempty'],
  ['BROKER', '42', 'nonempty'],
  ['PORT', '0', '1-65535'],
  ['PORT', '65536', '1-65535'],
  ['PORT', '"1883"', '1-65535'],
  ['CLIENT_ID', '7', 'text'],
  ['USER', 'undefined', 'text'],
  ['PASSWORD', 'null', 'text'],
  ['TOPIC', '""', 'nonempty'],
  ['REPLY_TOPIC', '""', 'nonempty'],
  ['QOS', '3', '0-2'],
  ['QOS', '1.5', '0-2'],
  ['KEEPALIVE', '-1', '0-65535'],
  ['KEEPALIVE', '65536', '0-65535'],
  ['COUNT', '-1', '0-1e6'],
  ['INTERVAL', '0', '10-864e5'],
  ['DHCP', '1', 'bool'],
  ['DHCP_TIMEOUT', '-5', '0-864e5'],
  ['IP', '"192.168.1.300"', 'IPv4'],
  ['IP', '"192.168.1"', 'IPv4'],
  ['SUBNET', '"255.255.255.0.0"', 'IPv4'],
  ['GATEWAY', '"gateway"', 'IPv4'],
  ['DNS', '""', 'IPv4'],
  ['SPI', 'B13', 'SPI'],
  ['SCK', '"B13"', 'pin'],
  ['MISO', 'undefined', 'pin'],
  ['MOSI', '15', 'pin'],
  ['BAUD', '1000', '1e5-8e7'],
  ['CS', 'undefined', 'pin'],
  ['RST', '"B1"', 'pin|undefined'],
  ['INT', '8', 'pin|undefined'],
  ['DEBUG', '"yes"', 'bool'],
];

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** TypeScript's errors for src/apps/<app>.ts with its source edited (a virtual file beside it, so
 *  its imports resolve; the tree is not touched). */
function typeErrors(app: 'pub' | 'sub', edit: (src: string) => string): string[] {
  const cfg = ts.getParsedCommandLineOfConfigFile(`${ROOT}tsconfig.json`, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!cfg) throw new Error('cannot read tsconfig.json');
  const file = `${ROOT}src/apps/${app}-edited.ts`;
  const text = edit(readFileSync(`${ROOT}src/apps/${app}.ts`, 'utf8'));
  const host = ts.createCompilerHost(cfg.options);
  const read = host.getSourceFile.bind(host), exists = host.fileExists.bind(host);
  host.getSourceFile = (f, lang, ...rest) => (f === file ? ts.createSourceFile(f, text, lang) : read(f, lang, ...rest));
  host.fileExists = (f) => f === file || exists(f);
  const program = ts.createProgram([...cfg.fileNames, file], cfg.options, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
}

async function bootWith(app: 'pub' | 'sub', changes: Record<string, string>) {
  const b = appBoard(appBundle(app, changes), []);
  b.sim.board.boot();
  return b;
}

describe('settings checked at start', () => {
  before(() => buildApps());

  for (const [name, value, want] of BAD) {
    test(`pub: ${name} = ${value} is reported as "setting ${name} must be ${want}" and nothing starts`, async () => {
      const b = await bootWith('pub', { [name]: value });
      try {
        const line = await waitForLine(b.lines, /^pub: setting /, 2000);
        assert.equal(line, `pub: setting ${name} must be ${want}`);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(b.sim.chip.counters.frames, 0, 'no SPI frame reached the W5500');
        assert.equal(b.sim.board.timers.size, 0, 'no timer left running');
        assert.equal(liveWatches(b.sim), 0, 'no pin watched');
        assert.deepEqual(b.sim.board.uncaught, []);
        assert.deepEqual(b.lines, [line], 'the app says nothing else');
      } finally {
        await b.dispose();
      }
    });
  }

  // Each app states its settings' kinds as one letter per setting, in the block's order: every
  // setting of sub (which has no INTERVAL) must line up with its own kind too.
  test('sub checks every setting by name too (its kinds line up with its block)', async () => {
    for (const [name, value, want] of BAD.filter(([n]) => n !== 'INTERVAL')) {
      const b = await bootWith('sub', { [name]: value });
      try {
        assert.equal(await waitForLine(b.lines, /^sub: setting /, 2000), `sub: setting ${name} must be ${want}`);
        assert.equal(b.sim.chip.counters.frames, 0);
      } finally {
        await b.dispose();
      }
    }
  });

  test('the settings as shipped pass, and RST/INT may be left unwired', async () => {
    for (const app of ['pub', 'sub'] as const) {
      for (const changes of [{}, { RST: 'undefined', INT: 'undefined' }] as Record<string, string>[]) {
        const b = await bootWith(app, changes);
        try {
          await waitForLine(b.lines, new RegExp(`^${app}: W5500 up, MAC 02:`), 3000);
          assert.ok(!b.lines.some((l) => /setting/.test(l)), b.lines.join('\n'));
        } finally {
          await b.dispose();
        }
      }
    }
  });

  test('both apps have every setting the issue asks for, in one block', () => {
    const wanted = ['BROKER', 'PORT', 'CLIENT_ID', 'USER', 'PASSWORD', 'TOPIC', 'REPLY_TOPIC', 'QOS', 'KEEPALIVE', 'COUNT',
      'DHCP', 'DHCP_TIMEOUT', 'IP', 'SUBNET', 'GATEWAY', 'DNS', 'SPI', 'SCK', 'MISO', 'MOSI', 'BAUD', 'CS', 'RST', 'INT', 'DEBUG'];
    for (const app of ['pub', 'sub'] as const) {
      const names = [...settingsOf(appBundle(app)).values.keys()];
      for (const w of wanted) assert.ok(names.includes(w), `${app} lacks ${w}`);
    }
    assert.ok(settingsOf(appBundle('pub')).values.has('INTERVAL'));
  });

  // The check reads each setting's kind by its place in the block, so a name the app does not know
  // must not get that far: the block's type refuses it when the app is built.
  test('a misspelt or extra setting name, or a QOS other than 0-2, in the block is refused by TypeScript', () => {
    for (const app of ['pub', 'sub'] as const) {
      assert.deepEqual(typeErrors(app, (src) => src), [], `${app} as shipped type-checks`);
      const typo = typeErrors(app, (src) => src.replace(/^  BROKER:/m, '  BROKR:'));
      assert.ok(typo.some((m) => /'BROKR' does not exist/.test(m)), typo.join('\n'));
      const extra = typeErrors(app, (src) => src.replace(/^  PORT: 1883,/m, '  PORT: 1883,\n  PORT2: 1884,'));
      assert.ok(extra.some((m) => /'PORT2' does not exist/.test(m)), extra.join('\n'));
      const qos = typeErrors(app, (src) => src.replace(/^  QOS: 2,/m, '  QOS: 3,'));
      assert.ok(qos.some((m) => /Type '3' is not assignable/.test(m)), qos.join('\n'));
    }
  });
});
