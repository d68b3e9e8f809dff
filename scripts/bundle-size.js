#!/usr/bin/env node
// Minified size of a module as it would be flashed: bundled with its imports, compiled and minified
// with the same settings as the apps. Used by the benchmarks to check the size budgets.
import { rollup } from 'rollup';
import { existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileTs, minifyJs } from './esbuild-espruino.js';

const tsResolver = {
  name: 'ts',
  resolveId(source, importer) {
    if (!importer || !source.startsWith('.')) return null;
    const base = resolve(dirname(importer), source);
    for (const f of [base, base + '.ts']) if (f.endsWith('.ts') && existsSync(f)) return f;
    return null;
  },
  async transform(code, id) { return id.endsWith('.ts') ? { code: (await compileTs(code, id)).code, map: null } : null; },
};

/** Bytes of the minified bundle of `entries` (all their exports kept). */
export async function bundleSize(entries) {
  const list = Array.isArray(entries) ? entries : [entries];
  const virtual = list.map((e, i) => `export * as m${i} from ${JSON.stringify(resolve(e))};`).join('\n');
  const bundle = await rollup({
    input: 'entry',
    plugins: [{ name: 'entry', resolveId: (s) => (s === 'entry' ? s : null), load: (id) => (id === 'entry' ? virtual : null) }, tsResolver],
    onwarn: () => {},
  });
  const out = await bundle.generate({ format: 'es' });
  await bundle.close();
  return Buffer.byteLength((await minifyJs(out.output[0].code)).code);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2);
  console.log(`${files.join(' + ')}: ${await bundleSize(files)} bytes minified`);
}
