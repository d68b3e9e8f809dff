#!/usr/bin/env node
// The Espruino compatibility gate: parses each bundle with acorn and reports, with file:line, every
// construct or global that ../shared/espruino-compat.md measured as missing on Espruino, and every
// use of a function declaration before the point where it is declared (Espruino does not hoist).
import { parse } from 'acorn';
import { analyze } from 'eslint-scope';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ABSENT_GLOBALS = ['Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'Symbol', 'Proxy', 'Reflect', 'BigInt',
  'TextEncoder', 'TextDecoder', 'Buffer', 'globalThis', 'queueMicrotask', 'structuredClone'];
const ABSENT_MEMBERS = {
  Math: ['imul', 'trunc', 'log2', 'clz32', 'sign', 'cbrt', 'hypot', 'fround'],
  Number: ['isInteger', 'isNaN', 'isFinite', 'isSafeInteger'],
  Object: ['freeze', 'isFrozen', 'seal', 'fromEntries', 'getOwnPropertySymbols'],
  Array: ['from', 'of'],
  process: ['nextTick'],
};
const ASSIGN_LOGICAL = ['||=', '&&=', '??='];

function child(node, visit, parent) {
  for (const key of Object.keys(node)) {
    if (key === 'parent') continue;
    const v = node[key];
    if (Array.isArray(v)) { for (const c of v) if (c && typeof c.type === 'string') visit(c, node); }
    else if (v && typeof v.type === 'string') visit(v, node);
  }
}

function walk(root, fn) {
  const visit = (node, parent) => { node.parent = parent; fn(node); child(node, visit); };
  visit(root, null);
}

// `this` inside an arrow, not counting nested non-arrow functions (they have their own `this`).
function usesLexicalThis(arrow) {
  let found = false;
  const visit = (n) => {
    if (found || n.type === 'FunctionExpression' || n.type === 'FunctionDeclaration') return;
    if (n.type === 'ThisExpression') { found = true; return; }
    child(n, visit);
  };
  child(arrow, visit);
  return found;
}

// esbuild's arrow lowering puts `var _this = this` first in a derived constructor, before super():
// that throws. Report any `this` that a derived constructor reaches before its super() call.
function checkThisBeforeSuper(cls, report) {
  const ctor = cls.body.body.find((m) => m.type === 'MethodDefinition' && m.kind === 'constructor');
  if (!ctor) return;
  let superSeen = false;
  const visit = (n) => {
    if (superSeen || n.type === 'FunctionExpression' || n.type === 'FunctionDeclaration' || n.type === 'ClassExpression') return;
    if (n.type === 'CallExpression' && n.callee.type === 'Super') { child(n, visit); superSeen = true; return; }
    if (n.type === 'ThisExpression') report(n, 'this-before-super', '`this` before super() in a derived constructor throws; do not use arrows with `this` in such constructors');
    child(n, visit);
  };
  for (const stmt of ctor.value.body.body) visit(stmt);
}

// Espruino's regex engine (2v29, measured) silently fails to match with these: the pattern compiles
// and Node tests pass, but on the board it never matches.
function regexUnsupported(pattern) {
  let inClass = false, depth = 0, topAlt = false, caret = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i], next = pattern[i + 1];
    if (c === '\\') { if (!inClass && (next === 'b' || next === 'B')) return '\\b word boundary'; i++; continue; }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') inClass = true;
    else if (c === '(') { if (next === '?') return '(?…) group or lookaround'; depth++; }
    else if (c === ')') { depth--; if (next && '*+?{'.includes(next)) return 'a quantified group'; }
    else if (c === '?') return 'the ? quantifier';
    else if (c === '{' && /^\d/.test(pattern.slice(i + 1))) return 'a {n} quantifier';
    else if (c === '|' && depth === 0) topAlt = true;
    else if (c === '^' && depth === 0) caret = true;
  }
  return topAlt && caret ? '^ in a top-level alternation' : '';
}

const memberName = (n) => (n.computed ? (n.property.type === 'Literal' ? String(n.property.value) : null) : n.property.name);

/** Returns [{line, column, rule, message}] for one JavaScript source. */
export function checkSource(code) {
  const problems = [];
  let ast;
  try {
    ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script', locations: true, ranges: true, allowReturnOutsideFunction: true });
  } catch (e) {
    return [{ line: e.loc ? e.loc.line : 0, column: e.loc ? e.loc.column : 0, rule: 'syntax', message: e.message }];
  }
  const report = (node, rule, message) => problems.push({ line: node.loc.start.line, column: node.loc.start.column + 1, rule, message });

  walk(ast, (n) => {
    switch (n.type) {
      case 'ObjectPattern': case 'ArrayPattern':
        report(n, 'destructuring', 'destructuring is a syntax error on Espruino'); break;
      case 'SpreadElement': report(n, 'spread', 'spread (...x) is a syntax error on Espruino'); break;
      case 'RestElement': report(n, 'rest', 'rest parameters/elements are a syntax error on Espruino'); break;
      case 'AssignmentPattern': report(n, 'default-param', 'default parameters are a syntax error on Espruino'); break;
      case 'LabeledStatement': report(n, 'label', 'labels are not supported on Espruino'); break;
      case 'YieldExpression': report(n, 'generator', 'generators are not supported on Espruino'); break;
      case 'AwaitExpression': report(n, 'async', 'async/await is not supported on Espruino'); break;
      case 'ChainExpression': report(n, 'optional-chain', 'optional chaining (?.) is not supported on Espruino'); break;
      case 'TaggedTemplateExpression': report(n, 'tagged-template', 'tagged templates are not supported on Espruino'); break;
      case 'ForOfStatement': report(n, 'for-of', 'for...of has no iterator protocol on Espruino; use an index loop'); break;
      case 'PrivateIdentifier': report(n, 'private-field', '#private members are not supported on Espruino'); break;
      case 'MetaProperty': report(n, 'new-target', `${n.meta.name}.${n.property.name} is not supported on Espruino`); break;
      case 'BinaryExpression':
        if (n.operator === '**') report(n, 'exponent', '** is not supported on Espruino; use Math.pow'); break;
      case 'AssignmentExpression':
        if (n.operator === '**=') report(n, 'exponent', '**= is not supported on Espruino; use Math.pow');
        if (ASSIGN_LOGICAL.includes(n.operator)) report(n, 'logical-assignment', `${n.operator} is not supported on Espruino`);
        break;
      case 'Property': case 'MethodDefinition': case 'PropertyDefinition':
        if (n.computed) report(n, 'computed-key', 'computed keys ({[k]: v}) are not supported on Espruino'); break;
      case 'Literal':
        if (n.regex && /\[(?:[^\]\\]|\\.)*(?<!\\)\//.test(n.regex.pattern))
          report(n, 'regex-slash', 'unescaped / inside a regex character class is a syntax error on Espruino; write \\/');
        if (n.regex) { const why = regexUnsupported(n.regex.pattern); if (why) report(n, 'regex-feature', `${why} never matches on Espruino 2v29's regex engine`); }
        if (n.bigint !== undefined) report(n, 'absent-global', 'BigInt literals are not supported on Espruino'); break;
      case 'ClassDeclaration': case 'ClassExpression':
        if (n.superClass) checkThisBeforeSuper(n, report);
        if (n.superClass && n.superClass.type === 'Identifier' && /Error$/.test(n.superClass.name))
          report(n, 'extends-error', `class extends ${n.superClass.name} loses .message on Espruino; build the error from new Error(msg)`);
        break;
      case 'ArrowFunctionExpression':
        if (usesLexicalThis(n))
          report(n, 'arrow-this', 'arrow function using `this`: Espruino 2v29 aborts (ASSERT jsvHasChildren) when it skips one (untaken ?:, && / ||, switch case); build with scripts/esbuild-espruino.js, which lowers arrows');
        // falls through
      case 'FunctionDeclaration': case 'FunctionExpression':
        if (n.generator) report(n, 'generator', 'generators are not supported on Espruino');
        if (n.async) report(n, 'async', 'async functions are not supported on Espruino');
        break;
      case 'MemberExpression': {
        const name = memberName(n);
        if (n.object.type === 'Identifier' && ABSENT_MEMBERS[n.object.name] && ABSENT_MEMBERS[n.object.name].includes(name))
          report(n, 'absent-global', `${n.object.name}.${name} is absent on Espruino`);
        if (n.object.type === 'Identifier' && (n.object.name === 'Array' || n.object.name === 'String') && name === 'prototype'
            && n.parent && n.parent.type === 'MemberExpression' && n.parent.object === n)
          report(n, 'prototype-call', `${n.object.name}.prototype.x reads as undefined on Espruino; call the method on an instance ([].slice.call(x))`);
        if (n.object.type === 'MemberExpression' && !n.object.computed && n.object.object.type === 'Identifier'
            && n.object.object.name === 'String' && n.object.property.name === 'fromCharCode' && name === 'apply')
          report(n, 'fromcharcode-apply', 'String.fromCharCode.apply takes at most 256 arguments on Espruino; use E.toString(bytes)');
        break;
      }
      case 'CallExpression':
        if (n.callee.type === 'Identifier' && n.callee.name === 'require' && n.arguments[0] && n.arguments[0].value === 'events')
          report(n, 'absent-global', "require('events') is absent on Espruino; objects have on/emit natively");
        break;
    }
  });

  const scopes = analyze(ast, { ecmaVersion: 2022, sourceType: 'script', nodejsScope: false });
  for (const ref of scopes.globalScope.through) {
    if (ABSENT_GLOBALS.includes(ref.identifier.name)) report(ref.identifier, 'absent-global', `${ref.identifier.name} is absent on Espruino`);
  }
  checkHoisting(scopes, report);
  checkLoopClosures(scopes, report);
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return problems;
}

// The function scope a reference runs in, and the outermost function between it and `scope`.
function enclosingFunctionBelow(scope, fromScope) {
  let s = fromScope, below = null;
  while (s && s !== scope) {
    if (s.type === 'function') below = s;
    s = s.upper;
  }
  return s === scope ? below : undefined;
}

function checkHoisting(scopes, report) {
  for (const scope of scopes.scopes) {
    const decls = scope.variables.filter((v) => v.defs.some((d) => d.type === 'FunctionName' && d.node.type === 'FunctionDeclaration'));
    if (!decls.length) continue;
    const declStart = new Map(decls.map((v) => [v, v.defs[0].node.range[0]]));
    const byNode = new Map(decls.map((v) => [v.defs[0].node, v]));
    // uses(g): declarations of this scope that calling g needs (it references them, at any depth).
    const uses = new Map(decls.map((v) => [v, new Set()]));
    const direct = [];
    for (const v of decls) {
      for (const ref of v.references) {
        const below = enclosingFunctionBelow(scope.variableScope === scope ? scope : scope, ref.from);
        if (below === undefined) continue;
        if (below === null) { direct.push({ v, ref }); continue; }
        const owner = byNode.get(below.block);
        if (owner && owner !== v) uses.get(owner).add(v);
        else if (!owner && below.block.parent && below.block.parent.type === 'CallExpression' && below.block.parent.callee === below.block)
          direct.push({ v, ref }); // an immediately invoked function runs where it stands
      }
    }
    for (const { v, ref } of direct) {
      const at = ref.identifier.range[0];
      const seen = new Set([v]);
      const todo = [v];
      while (todo.length) {
        const g = todo.pop();
        if (declStart.get(g) > at) {
          const via = g === v ? '' : ` (through ${v.name}(), which uses ${g.name})`;
          report(ref.identifier, 'hoisting', `${g.name} is used before its function declaration${via}; Espruino does not hoist functions`);
          break;
        }
        for (const h of uses.get(g)) if (!seen.has(h)) { seen.add(h); todo.push(h); }
      }
    }
  }
}

// A closure made inside `for (let i…)` sees the last value of i on Espruino, not its own copy.
function checkLoopClosures(scopes, report) {
  for (const scope of scopes.scopes) {
    if (scope.type !== 'for') continue;
    for (const v of scope.variables) {
      for (const ref of v.references) {
        if (ref.from.variableScope !== scope.variableScope) {
          report(ref.identifier, 'loop-closure', `closure captures loop variable ${v.name}; on Espruino every closure sees its last value`);
          break;
        }
      }
    }
  }
}

function bundlesIn(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path).filter((f) => f.endsWith('.js')).sort().map((f) => join(path, f));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2).flatMap(bundlesIn);
  if (!files.length) { console.error('espruino-gate: no bundles found (run npm run build first)'); process.exit(2); }
  let bad = 0;
  for (const f of files) {
    const problems = checkSource(readFileSync(f, 'utf8'));
    for (const p of problems) console.log(`${f}:${p.line}:${p.column}  ${p.rule}  ${p.message}`);
    bad += problems.length;
    if (!problems.length) console.log(`${f}: ok`);
  }
  if (bad) { console.log(`espruino-gate: ${bad} problem(s)`); process.exit(1); }
}
