// The Espruino conversions the network code uses (E.toUint8Array, E.toString, E.asUTF8), installed
// into Node for unit tests of pure functions, with the simulated board's semantics: a unicode build,
// since Node's strings are text (see UTF8_FLAG).
import { asUTF8, bytesToString, toBytes } from '../../sim/espruino-values.ts';

export function installE(): void {
  const g = globalThis as any;
  if (g.E) return;
  const err = (m: string) => new TypeError(m);
  g.E = {
    toUint8Array: (...a: unknown[]) => toBytes(a, err),
    toString: (...a: unknown[]) => bytesToString(toBytes(a, err)),
    asUTF8,
  };
}

// on import, so that it comes before the modules imported after it (src/mqtt/utf8.ts reads E.asUTF8 once, when loaded)
installE();
