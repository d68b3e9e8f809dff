// Compiler settings shared by the bundler and the benchmarks. esbuild must either lower a construct
// Espruino lacks or refuse to build: it never emits destructuring, spread/rest, default parameters,
// generators, async, `**`, `?.`, logical assignment or class fields. Classes stay native, because
// TypeScript's ES5 class output needs function hoisting, which Espruino does not have.
import { transform } from 'esbuild';

export const espruinoTarget = {
  target: 'es2017',
  supported: {
    'destructuring': false, 'default-argument': false, 'rest-argument': false,
    'object-rest-spread': false, 'exponent-operator': false, 'optional-chain': false,
    'nullish-coalescing': true, 'logical-assignment': false, 'async-await': false,
    'generator': false, 'async-generator': false, 'for-await': false, 'for-of': false,
    'class-field': false, 'class-static-field': false, 'class-private-field': false,
    'class-private-method': false, 'class-static-blocks': false, 'new-target': false,
    'bigint': false, 'template-literal': true, 'arrow': false, 'class': true, 'const-and-let': true,
  },
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
  charset: 'utf8',
};

export function compileTs(code, file) {
  return transform(code, { ...espruinoTarget, loader: 'ts', format: 'esm', sourcefile: file });
}

// Members whose names start with `_` are internal to a bundle, so the minifier may shorten them:
// property names are stored as text on the board, so every long internal name costs RAM.
export function minifyJs(code) {
  return transform(code, { ...espruinoTarget, loader: 'js', minify: true, legalComments: 'none', mangleProps: /^_/, treeShaking: true });
}
