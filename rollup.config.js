// One single-file bundle per app in src/apps: dist/NAME.js (minified, what gets flashed) and
// dist/NAME.debug.js (readable, same code) for reading stack traces on the REPL.
import { readdirSync, existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { compileTs, minifyJs } from './scripts/esbuild-espruino.js';

function typescriptForEspruino() {
  return {
    name: 'typescript-for-espruino',
    resolveId(source, importer) {
      if (!importer || !source.startsWith('.')) return null;
      const base = resolve(dirname(importer), source);
      for (const f of [base, base + '.ts', base + '/index.ts']) if (f.endsWith('.ts') && existsSync(f)) return f;
      return null;
    },
    async transform(code, id) {
      if (!id.endsWith('.ts')) return null;
      const out = await compileTs(code, id);
      return { code: out.code, map: null };
    },
  };
}

function minified() {
  return {
    name: 'minify-for-espruino',
    async renderChunk(code) {
      return { code: (await minifyJs(code)).code, map: null };
    },
  };
}

const apps = readdirSync('src/apps').filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.includes('config'));

export default apps.map((f) => {
  const name = f.replace(/\.ts$/, '');
  return {
    input: 'src/apps/' + f,
    plugins: [typescriptForEspruino()],
    output: [
      { file: `dist/${name}.debug.js`, format: 'iife', strict: false },
      { file: `dist/${name}.js`, format: 'iife', strict: false, plugins: [minified()] },
    ],
  };
});
