// What a fresh node:vm context has and Espruino lacks, measured on Espruino 2v29 (Linux build, with and
// without unicode: the same list) by probing every global, static and prototype member of the
// context with `typeof`; regenerate with `node --import tsx sim/espruino-probe.ts`. Members that are
// data (Function#name, Error#message, RegExp flag getters, BYTES_PER_ELEMENT) are not listed: V8's
// own built-ins read them, and V8 cannot delete the constants.

export const ABSENT_GLOBALS = [
  'Symbol', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Proxy', 'Reflect', 'BigInt',
  'BigInt64Array', 'BigUint64Array', 'AggregateError', 'EvalError', 'RangeError', 'URIError', 'Intl',
  'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'decodeURI', 'encodeURI', 'escape', 'unescape',
  // Present on 2v29, but absent from older firmware and banned by the bundle gate: keep code off it.
  'globalThis',
];

export const ABSENT_STATICS: Record<string, string[]> = {
  Object: ['getOwnPropertySymbols', 'hasOwn', 'is', 'preventExtensions', 'seal', 'freeze', 'isExtensible', 'isFrozen',
    'isSealed'],
  Array: ['from', 'of'],
  String: ['fromCodePoint', 'raw'],
  Number: ['isFinite', 'isInteger', 'isNaN', 'isSafeInteger', 'parseFloat', 'parseInt', 'MAX_SAFE_INTEGER',
    'MIN_SAFE_INTEGER', 'EPSILON'],
  Math: ['acosh', 'asinh', 'atanh', 'cbrt', 'expm1', 'clz32', 'cosh', 'fround', 'hypot', 'imul', 'log1p', 'log2',
    'log10', 'sinh', 'tanh', 'trunc'],
  Promise: ['allSettled', 'any', 'race'],
  Date: ['UTC'],
  ArrayBuffer: ['isView'],
  TypedArray: ['from', 'of'], // %TypedArray%, the parent of Uint8Array and the others
};

export const ABSENT_PROTOTYPE: Record<string, string[]> = {
  Array: ['at', 'copyWithin', 'findLast', 'findLastIndex', 'lastIndexOf', 'keys', 'entries', 'values', 'flat',
    'flatMap', 'reduceRight', 'toLocaleString', 'toReversed', 'toSorted', 'toSpliced', 'with'],
  String: ['anchor', 'at', 'big', 'blink', 'bold', 'codePointAt', 'fontcolor', 'fontsize', 'fixed', 'isWellFormed',
    'italics', 'link', 'localeCompare', 'matchAll', 'normalize', 'search', 'small', 'strike', 'sub', 'sup',
    'toWellFormed', 'trimStart', 'trimLeft', 'trimEnd', 'trimRight', 'toLocaleLowerCase', 'toLocaleUpperCase'],
  Number: ['toExponential', 'toPrecision', 'toLocaleString'],
  Object: ['isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString'],
  Date: ['toDateString', 'toTimeString', 'toGMTString', 'setUTCDate', 'setUTCFullYear', 'setUTCHours',
    'setUTCMilliseconds', 'setUTCMinutes', 'setUTCMonth', 'setUTCSeconds', 'getYear', 'setYear', 'toLocaleString',
    'toLocaleDateString', 'toLocaleTimeString'],
  Promise: ['finally'],
  ArrayBuffer: ['slice', 'maxByteLength', 'resizable', 'resize'],
  DataView: ['getBigInt64', 'setBigInt64', 'getBigUint64', 'setBigUint64'],
  TypedArray: ['entries', 'keys', 'values', 'at', 'copyWithin', 'findLast', 'findLastIndex', 'lastIndexOf',
    'reduceRight', 'toLocaleString', 'toReversed', 'toSorted', 'with'],
};

type Bag = Record<string, unknown>;

/**
 * Deletes from a context's global object what Espruino lacks. Returns the names that could not be
 * deleted (non-configurable in V8), so the caller can document them.
 */
export function removeAbsent(global: Bag): string[] {
  const kept: string[] = [];
  const remove = (owner: Bag, key: string, label: string): void => {
    if (!(key in owner)) return;
    Reflect.deleteProperty(owner, key);
    if (Object.prototype.hasOwnProperty.call(owner, key)) kept.push(label);
  };
  const typedArray = Object.getPrototypeOf(global.Uint8Array) as Bag & { prototype: Bag };
  const holder = (name: string): Bag & { prototype: Bag } =>
    (name === 'TypedArray' ? typedArray : global[name]) as Bag & { prototype: Bag };
  for (const name of Object.keys(ABSENT_STATICS)) {
    for (const key of ABSENT_STATICS[name]) remove(holder(name), key, `${name}.${key}`);
  }
  for (const name of Object.keys(ABSENT_PROTOTYPE)) {
    for (const key of ABSENT_PROTOTYPE[name]) remove(holder(name).prototype, key, `${name}.prototype.${key}`);
  }
  for (const name of ABSENT_GLOBALS) remove(global, name, name);
  return kept;
}
