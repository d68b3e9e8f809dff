// Lints src/ for what Espruino cannot run (see ../shared/espruino-compat.md), so mistakes show in the
// editor; scripts/espruino-gate.js checks the same rules again on the bundles.
import tseslint from 'typescript-eslint';

const espruinoSyntax = [
  ['ObjectPattern', 'destructuring is a syntax error on Espruino'],
  ['ArrayPattern', 'destructuring is a syntax error on Espruino'],
  ['SpreadElement', 'spread is a syntax error on Espruino'],
  ['RestElement', 'rest parameters are a syntax error on Espruino'],
  ['AssignmentPattern', 'default parameters are a syntax error on Espruino'],
  ['LabeledStatement', 'labels are not supported on Espruino'],
  ['ForOfStatement', 'for...of has no iterator protocol on Espruino; use an index loop'],
  ['FunctionDeclaration[generator=true], FunctionExpression[generator=true]', 'generators are not supported on Espruino'],
  [':function[async=true]', 'async is not supported on Espruino'],
  ["BinaryExpression[operator='**'], AssignmentExpression[operator='**=']", '** is not supported on Espruino; use Math.pow'],
  ["AssignmentExpression[operator=/^(\\|\\||&&|\\?\\?)=$/]", 'logical assignment is not supported on Espruino'],
  ['ChainExpression', 'optional chaining is not supported on Espruino'],
  ['TaggedTemplateExpression', 'tagged templates are not supported on Espruino'],
  ['Property[computed=true], MethodDefinition[computed=true], PropertyDefinition[computed=true]', 'computed keys are not supported on Espruino'],
  ['MetaProperty', 'new.target / import.meta are not supported on Espruino'],
  ['PrivateIdentifier', '#private members are not supported on Espruino'],
  ['ClassDeclaration[superClass.name=/Error$/], ClassExpression[superClass.name=/Error$/]', 'extending Error loses .message on Espruino; use codedError()'],
  ['Literal[bigint]', 'BigInt is absent on Espruino'],
  ["CallExpression[callee.name='require'][arguments.0.value='events']", "require('events') is absent on Espruino"],
  ["MemberExpression[object.name=/^(Array|String)$/][property.name='prototype']", 'X.prototype.y reads as undefined on Espruino; call the method on an instance'],
  ["ImportDeclaration[source.value=/^node:|^(fs|path|net|os|events|crypto|buffer)$/]", 'src/ runs on Espruino: no Node modules'],
].map(([selector, message]) => ({ selector, message }));

const absentGlobals = ['Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Proxy', 'Reflect', 'BigInt', 'TextEncoder',
  'TextDecoder', 'Buffer', 'globalThis', 'queueMicrotask'].map((name) => ({ name, message: `${name} is absent on Espruino` }));

const absentMembers = [
  ['Math', 'imul'], ['Math', 'trunc'], ['Math', 'log2'], ['Math', 'clz32'], ['Number', 'isInteger'], ['Number', 'isNaN'],
  ['Object', 'freeze'], ['Array', 'from'], ['Array', 'of'], ['process', 'nextTick'], ['String', 'fromCharCode'],
].map(([object, property]) => ({ object, property, message: `${object}.${property} is absent or limited on Espruino` }));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'sim/**', 'test/**', 'bench/**', 'scripts/**', '*.js'] },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.d.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      'no-restricted-syntax': ['error', ...espruinoSyntax],
      'no-restricted-globals': ['error', ...absentGlobals],
      'no-restricted-properties': ['error', ...absentMembers],
      // Espruino does not hoist function declarations: declare before use, everywhere.
      'no-use-before-define': ['error', { functions: true, classes: true, variables: true }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-function-type': 'off',
    },
  },
);
