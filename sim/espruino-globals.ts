// Every Espruino global the simulated board provides, built for one realm (a node:vm context or the
// Node test realm). I/O lives in espruino-io.ts; this file has the rest.
import { defineHidden, invoke, isCallback, realmObject, type Callback, type Host, type Realm } from './espruino-host';
import { createIo } from './espruino-io';
import { asUTF8, bytesToString, inspect, toBytes } from './espruino-values';

const MAX_TIMER_MS = 31536000001000; // TIMER_MAX_INTERVAL in jsinteractive.h
const MAX_EMIT_ARGS = 4;

type Bag = Record<string, unknown>;
type Method = (this: object, ...args: unknown[]) => unknown;

/**
 * Espruino's native events (on/emit on every object). Unlike Node's, emit() only queues: listeners
 * run from the main loop after the current code, with at most four arguments.
 */
export function nativeEvents(host: Host, realm: Realm): Record<string, Method> {
  const typeError = (m: string): Error => new realm.TypeError(m);
  const table = new WeakMap<object, Map<string, Callback[]>>();
  const listOf = (o: object, event: string): Callback[] => table.get(o)?.get(event) ?? [];
  const setList = (o: object, event: string, list: Callback[]): void => {
    if (!table.has(o)) table.set(o, new Map());
    table.get(o)!.set(event, list);
  };
  function add(o: object, event: unknown, fn: unknown, first: boolean): void {
    if (typeof event !== 'string') throw typeError('First argument must be String');
    if (!isCallback(fn)) throw typeError('Second argument must be a function or a String');
    const list = listOf(o, event);
    setList(o, event, first ? [fn, ...list] : [...list, fn]);
  }
  const on: Method = function (event, fn) { add(this, event, fn, false); };
  return {
    on,
    addListener: on,
    prependListener(this: object, event: unknown, fn: unknown) { add(this, event, fn, true); },
    emit(this: object, event: unknown, ...args: unknown[]) {
      if (typeof event !== 'string') throw typeError('First argument must be String');
      if (args.length > MAX_EMIT_ARGS) throw typeError(`Too many arguments (>${MAX_EMIT_ARGS})`);
      const target = this;
      for (const fn of listOf(target, event)) host.defer(() => host.guard(() => invoke(realm, fn, args, target)));
    },
    removeListener(this: object, event: unknown, fn: unknown) {
      const list = listOf(this, String(event)).slice();
      const i = list.indexOf(fn as Callback);
      if (i >= 0) list.splice(i, 1);
      setList(this, String(event), list);
    },
    removeAllListeners(this: object, event: unknown) {
      if (event === undefined) table.delete(this);
      else table.get(this)?.delete(String(event));
    },
  };
}

export function createGlobals(host: Host, realm: Realm, events: Record<string, Method>): Bag {
  const error = (m: string): Error => new realm.Error(m);
  const typeError = (m: string): Error => new realm.TypeError(m);

  function timer(repeat: boolean) {
    return (fn: unknown, ms?: unknown, ...args: unknown[]): number => {
      if (!isCallback(fn)) throw error('Function or String not supplied!');
      const period = Number(ms);
      if (period > MAX_TIMER_MS) throw error('Interval is too long (>100 years)');
      return host.timers.add(() => host.guard(() => invoke(realm, fn, args)), period, repeat);
    };
  }
  function clearer(kind: string) {
    return (...ids: unknown[]): void => {
      if (ids.length === 0) return host.timers.clear();
      if (ids[0] === undefined) throw error(`clear${kind}(undefined) not allowed. Use clear${kind}() instead`);
      host.timers.remove(Number(ids[0]));
    };
  }

  const print = (...args: unknown[]): void => host.log(args.map((a) => inspect(a)).join(' '));

  const E = realmObject(realm, {
    toUint8Array: (...args: unknown[]) => new realm.Uint8Array(toBytes(args, typeError)),
    toString: (...args: unknown[]) => bytesToString(toBytes(args, typeError)),
    getTemperature: () => host.temperature,
    ...(host.unicode ? { asUTF8 } : {}),
  });
  defineHidden(E, events);
  host.addEmitter(E, events.emit as (this: object, event: string, ...args: unknown[]) => void);

  const process = realmObject(realm, {
    version: host.version,
    env: realmObject(realm, { VERSION: host.version, BOARD: 'PICO', SERIAL: host.serial, CONSOLE: 'USB' }),
    memory: () => realmObject(realm, host.memoryInfo()),
  });
  defineHidden(process, events);

  // save(), load() and reset() need flash and a reboot; the simulator has neither yet.
  const notYet = (name: string) => (): never => {
    throw error(`${name}() is not simulated yet`);
  };

  return {
    ...createIo(host, realm),
    setTimeout: timer(false),
    setInterval: timer(true),
    clearTimeout: clearer('Timeout'),
    clearInterval: clearer('Interval'),
    changeInterval(id: unknown, ms: unknown): void {
      if (!host.timers.change(Number(id), Number(ms))) throw error('Unknown Interval');
    },
    getTime: () => host.now(),
    setTime: (t: unknown) => host.setTime(Number(t)),
    getSerial: () => host.serial,
    print,
    console: realmObject(realm, { log: print, info: print, warn: print, error: print, debug: print, trace: print }),
    E,
    process,
    require(name: unknown): unknown {
      const m = host.module(String(name));
      if (!m) throw error(`Module "${String(name)}" not found`);
      return m.exports;
    },
    save: notYet('save'),
    load: notYet('load'),
    reset: notYet('reset'),
  };
}
