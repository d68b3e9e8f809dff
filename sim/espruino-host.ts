// What the Espruino globals need from the board that owns them, and from the JavaScript realm they
// live in. Values handed to firmware code (Uint8Arrays, errors, callback objects) are built from the
// realm's own constructors, so `x instanceof Uint8Array` holds inside a node:vm context too.
import type { PinState, Watches } from './espruino-pins';
import type { Timers } from './espruino-timers';
import type { SpiWires } from './spi';

export interface Realm {
  Uint8Array: Uint8ArrayConstructor;
  Object: ObjectConstructor;
  Error: ErrorConstructor;
  TypeError: TypeErrorConstructor;
  /** Runs a string callback (setTimeout("code")) in the realm's global scope. */
  evaluate(code: string): unknown;
}

export interface MemoryInfo {
  free: number;
  usage: number;
  total: number;
  history: number;
  gc: number;
  gctime: number;
}

export interface Host {
  readonly serial: string;
  readonly temperature: number;
  readonly version: string;
  /** A build with unicode strings (E.asUTF8 exists). */
  readonly unicode: boolean;
  readonly timers: Timers;
  readonly watches: Watches;
  pinState(name: string): PinState | undefined;
  transfer(wires: Partial<SpiWires>, mosi: Uint8Array): Uint8Array;
  log(line: string): void;
  /** getTime(): seconds. */
  now(): number;
  setTime(seconds: number): void;
  /** Queue work for the main loop (Espruino's event queue). */
  defer(task: () => void): void;
  /** Run a callback; an exception is reported as `Uncaught …` and the board carries on. */
  guard(fn: () => void): void;
  /** A host-side timer (digitalPulse edges), cancelled by dispose(). */
  later(fn: () => void, ms: number): void;
  memoryInfo(): MemoryInfo;
  /** A built-in module's exports, or undefined when there is no such module. */
  module(name: string): { exports: unknown } | undefined;
  /** E objects, so the host can fire E events ('init', 'kill'). */
  addEmitter(target: object, emit: (this: object, event: string, ...args: unknown[]) => void): void;
}

export type Callback = ((...args: unknown[]) => unknown) | string;

/** Calls a function or evaluates a string, the two things Espruino accepts as a callback. */
export function invoke(realm: Realm, fn: Callback, args: unknown[], self?: unknown): void {
  if (typeof fn === 'string') realm.evaluate(fn);
  else fn.apply(self, args);
}

export function isCallback(fn: unknown): fn is Callback {
  return typeof fn === 'function' || typeof fn === 'string';
}

/** A plain object of the realm, with the given properties. */
export function realmObject(realm: Realm, props: object): Record<string, unknown> {
  return Object.assign(new realm.Object(), props) as Record<string, unknown>;
}

/** Adds methods as Espruino's built-ins are: not enumerable. */
export function defineHidden(target: object, methods: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(methods)) {
    Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
