// The two Espruino conversions the network code uses (E.toUint8Array, E.toString), installed into
// Node for unit tests of pure functions, with the simulated board's byte semantics.
import { bytesToString, toBytes } from '../../sim/espruino-values.ts';

export function installE(): void {
  const g = globalThis as any;
  if (g.E) return;
  const err = (m: string) => new TypeError(m);
  g.E = {
    toUint8Array: (...a: unknown[]) => toBytes(a, err),
    toString: (...a: unknown[]) => bytesToString(toBytes(a, err)),
  };
}
