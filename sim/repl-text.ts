// What Espruino's REPL does with text: when a typed line is complete (its brackets balance), and how
// a line's value is printed after `=`. Read in Espruino's source (jsinteractive.c
// jsiCountBracketsInInput, jswrap_json.c jsfGetJSONWithCallback with JSON_SOME_NEWLINES |
// JSON_PRETTY | JSON_DROP_QUOTES | JSON_SHOW_OBJECT_NAMES) and checked on the Linux build (2v29).
import { types } from 'node:util';
import { inspect } from './espruino-values';

const OPENING = '([{';
const CLOSING = ')]}';
// After one of these tokens a '/' starts a regular expression, otherwise it divides.
const REGEX_AFTER = /[(,=:[!&|?{};+\-*%<>~^]$|^$|\b(return|typeof|case|do|else|in|of|new|delete|void|throw)$/;

/**
 * Open brackets minus closed ones, outside strings, template literals, comments and regular
 * expressions. The REPL runs a line when this is <= 0 and otherwise waits for more (the `:` prompt).
 */
export function countBrackets(code: string): number {
  let depth = 0;
  let last = ''; // the significant text before the current position (for the regex guess)
  let i = 0;
  while (i < code.length) {
    const c = code[i];
    const next = code[i + 1];
    if (c === '/' && next === '/') {
      const end = code.indexOf('\n', i);
      i = end < 0 ? code.length : end;
    } else if (c === '/' && next === '*') {
      const end = code.indexOf('*/', i + 2);
      i = end < 0 ? code.length : end + 2;
    } else if (c === '"' || c === "'" || c === '`' || (c === '/' && REGEX_AFTER.test(last.trimEnd()))) {
      i = skipQuoted(code, i);
      last = 'x';
    } else {
      if (OPENING.includes(c)) depth++;
      else if (CLOSING.includes(c)) depth--;
      if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') last = (last + c).slice(-8);
      i++;
    }
  }
  return depth;
}

// Index just past the string, template or regex literal starting at `start` (unterminated: the end).
function skipQuoted(code: string, start: number): number {
  const quote = code[start];
  let i = start + 1;
  let inClass = false; // inside [...] of a regex, where '/' does not end it
  while (i < code.length) {
    const c = code[i];
    if (c === '\\') i += 2;
    else if (quote === '`' && c === '$' && code[i + 1] === '{') i = skipTemplateExpression(code, i + 2);
    else if (quote === '/' && c === '[') { inClass = true; i++; }
    else if (quote === '/' && c === ']') { inClass = false; i++; }
    else if (c === quote && !inClass) return i + 1;
    else if (c === '\n' && quote !== '`') return i; // an unterminated string ends at the line
    else i++;
  }
  return i;
}

function skipTemplateExpression(code: string, start: number): number {
  let depth = 1;
  let i = start;
  while (i < code.length && depth > 0) {
    const c = code[i];
    if (c === '"' || c === "'" || c === '`') { i = skipQuoted(code, i); continue; }
    if (c === '{') depth++;
    else if (c === '}') depth--;
    i++;
  }
  return i;
}

const ITEMS_ON_LINE = 4; // JSON_ITEMS_ON_LINE_OBJECT: simple values per line before a break
const INDENT = '  ';
const MAX_DEPTH = 8;

// Numbers, booleans, undefined and null stay on the line; anything else starts a new one.
const needsNewLine = (v: unknown): boolean =>
  !(v === undefined || v === null || typeof v === 'number' || typeof v === 'boolean');

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A value as the REPL prints it after `=`: `[ 1, 2 ]`, `{ a: 1, \n  b: "x"\n }`, `function (a,b) { ... }`. */
export function formatResult(v: unknown, indent = 0): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'function') return `function (${parameters(v)}) { ... }`;
  if (v === null || typeof v !== 'object') return String(v);
  if (indent > MAX_DEPTH) return ' ... ';
  if (types.isNativeError(v) || types.isTypedArray(v) || types.isAnyArrayBuffer(v)) return inspect(v);
  const ctor = (v as { constructor?: { name?: string } }).constructor;
  if (ctor?.name === 'Pin') return inspect(v);
  const isArray = Array.isArray(v);
  const entries: [string, unknown][] = isArray
    ? (v as unknown[]).map((x, i) => [String(i), x])
    : Object.keys(v).map((k) => [IDENTIFIER.test(k) || /^\d+$/.test(k) ? k : JSON.stringify(k), (v as Record<string, unknown>)[k]]);
  let out = isArray ? '[ ' : '{ ';
  let pendingNewLine = false;
  let sinceNewLine = 0;
  entries.forEach(([key, item], n) => {
    if (n > 0) out += ', ';
    sinceNewLine++;
    const itemNeedsNewLine = needsNewLine(item);
    if (pendingNewLine || itemNeedsNewLine || (!isArray && sinceNewLine > ITEMS_ON_LINE)) {
      out += '\n' + INDENT.repeat(indent + 1);
      sinceNewLine = 0;
    }
    out += (isArray ? '' : `${key}: `) + formatResult(item, indent + 1);
    pendingNewLine = itemNeedsNewLine;
  });
  if (pendingNewLine) out += '\n' + INDENT.repeat(indent);
  out += isArray ? ' ]' : ' }';
  const named = !isArray && ctor && ctor !== Object && ctor.name && ctor.name !== 'Object' ? `${ctor.name}: ` : '';
  return named + out;
}

function parameters(fn: Function): string {
  const src = Function.prototype.toString.call(fn);
  const arrow = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (arrow) return arrow[1];
  const list = /^[^(]*\(([^)]*)\)/.exec(src);
  return list ? list[1].replace(/\s+/g, '') : '';
}
