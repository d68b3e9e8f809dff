// Espruino's value conversions: the byte iteration behind E.toUint8Array / E.toString / SPI.send, and
// the way print() shows values. Measured on the Linux build (2v29): numbers become bytes by ToInt32
// then the low 8 bits (1.9 → 1, -1 → 255, 300 → 44, NaN and Infinity → 0), string characters above
// 255 keep their low byte (the board's strings are byte strings), {data, count} repeats, and
// {callback} calls once.
import { types } from 'node:util';

export type ErrorFactory = (message: string) => Error;

class ByteWriter {
  private buf = new Uint8Array(64);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }

  bytes(src: Uint8Array): void {
    this.room(src.length);
    this.buf.set(src, this.length);
    this.length += src.length;
  }

  /** The bytes written, in an array of their own (no spare capacity behind `.buffer`). */
  result(): Uint8Array {
    return this.buf.length === this.length ? this.buf : this.buf.slice(0, this.length);
  }
}

/**
 * Unicode builds flag some strings as UTF-8 (E.asUTF8, or anything joined to such a string), and
 * E.toUint8Array gives a flagged string's UTF-8. Node strings carry no flag, so the simulated
 * unicode build starts the flagged empty string E.asUTF8('') returns with this character (a lone
 * low surrogate, never text); joined in front of a string it flags the result. Like the board's
 * flagged empty string it is truthy.
 */
export const UTF8_FLAG = '\udfff';

/** UTF-8 of a Node string; a lone surrogate gets the 3 bytes of its code point (ill-formed UTF-8). */
function utf8Of(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    const d = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
      c = 0x10000 + ((c - 0xd800) << 10) + d - 0xdc00;
      i++;
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | c >> 6, 0x80 | c & 63);
    else if (c < 0x10000) out.push(0xe0 | c >> 12, 0x80 | c >> 6 & 63, 0x80 | c & 63);
    else out.push(0xf0 | c >> 18, 0x80 | c >> 12 & 63, 0x80 | c >> 6 & 63, 0x80 | c & 63);
  }
  return new Uint8Array(out);
}

/** E.asUTF8 of a unicode build: the text whose UTF-8 the byte string s holds ('' gives the flag). */
export function asUTF8(s: string): string {
  return s === '' ? UTF8_FLAG : Buffer.from(s, 'latin1').toString('utf8');
}

function collect(v: unknown, w: ByteWriter, typeError: ErrorFactory): void {
  if (typeof v === 'number' || typeof v === 'boolean') return w.byte(Number(v) & 255);
  if (typeof v === 'string') return w.bytes(v[0] === UTF8_FLAG ? utf8Of(v.slice(1)) : Buffer.from(v, 'latin1'));
  if (types.isUint8Array(v) || types.isUint8ClampedArray(v) || types.isInt8Array(v)) {
    return w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.length));
  }
  if (types.isTypedArray(v)) {
    const a = v as unknown as ArrayLike<number>;
    for (let i = 0; i < a.length; i++) w.byte(a[i] & 255);
    return;
  }
  if (types.isDataView(v)) return w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (types.isAnyArrayBuffer(v)) return w.bytes(new Uint8Array(v));
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (i in v) collect(v[i], w, typeError);
    return;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as { data?: unknown; count?: unknown; callback?: unknown };
    if ('data' in o && 'count' in o) {
      for (let n = Number(o.count) | 0; n > 0; n--) collect(o.data, w, typeError);
      return;
    }
    if (typeof o.callback === 'function') return collect(o.callback(), w, typeError);
    throw typeError('If specifying an object, it must be of the form {data : ..., count : N} or {callback : fn} - got ' +
      inspect(v));
  }
  throw typeError(`Expecting Number or iterable, got ${inspect(v)}`);
}

/** The bytes of `values`, each iterated the way E.toUint8Array does. */
export function toBytes(values: unknown[], typeError: ErrorFactory): Uint8Array {
  const w = new ByteWriter();
  for (const v of values) collect(v, w, typeError);
  return w.result();
}

/** A byte string (one character per byte), as Espruino builds without unicode support hold text. */
export function bytesToString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** Source text as the board sees it: non-ASCII characters become their UTF-8 bytes. */
export function toByteSource(code: string): string {
  return /[^\x00-\x7f]/.test(code) ? Buffer.from(code, 'utf8').toString('latin1') : code;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What a terminal shows for a line of board output: valid UTF-8 bytes are decoded again. */
export function fromByteString(line: string): string {
  if (!/[\x80-\xff]/.test(line) || /[^\x00-\xff]/.test(line)) return line;
  try {
    return utf8.decode(Buffer.from(line, 'latin1'));
  } catch {
    return line;
  }
}

const PIN_OBJECTS = new WeakSet<object>();

/** Pins print as their name. */
export function markPin(pin: object): void {
  PIN_OBJECTS.add(pin);
}

function tagOf(v: object): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

// Espruino prints objects as JSON-like text with spaces inside brackets; only the pin name for pins.
export function inspect(v: unknown, depth = 0): string {
  if (typeof v === 'string') return depth === 0 ? v : JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  if (depth > 4) return '...';
  if (PIN_OBJECTS.has(v)) return String(v);
  if (types.isNativeError(v)) return `${(v as Error).name}: ${String(v)}`;
  if (types.isTypedArray(v)) return `new ${tagOf(v)}([${Array.prototype.join.call(v, ', ')}])`;
  if (types.isAnyArrayBuffer(v)) return `new ArrayBuffer(${v.byteLength})`;
  if (Array.isArray(v)) return `[ ${v.map((x) => inspect(x, depth + 1)).join(', ')} ]`;
  const keys = Object.keys(v);
  return `{ ${keys.map((k) => `${JSON.stringify(k)}: ${inspect((v as Record<string, unknown>)[k], depth + 1)}`).join(', ')} }`;
}
