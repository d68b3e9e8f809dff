// A simulated Espruino board (Pico-like) for Node: the Espruino globals our firmware uses, either in
// a node:vm context stripped of what Espruino lacks (run) or put into the Node test realm (install).
// See sim/README.md for what is faithful and what is not.
import { performance } from 'node:perf_hooks';
// Node's own timers, so the board keeps working while install() has replaced the globals.
import { clearImmediate, clearTimeout, setImmediate, setTimeout } from 'node:timers';
import { types } from 'node:util';
import vm from 'node:vm';
import { removeAbsent } from './espruino-absent';
import { createGlobals, nativeEvents } from './espruino-globals';
import { defineHidden, type Host, type MemoryInfo, type Realm } from './espruino-host';
import { PIN_ALIASES, PIN_NAMES, PinState, Watches, type SimPin } from './espruino-pins';
import { Timers } from './espruino-timers';
import { fromByteString, inspect, toByteSource } from './espruino-values';
import { PICO_SPI_PINS, SpiBus, type HardwareSpi, type SpiDevice, type SpiWires } from './spi';

export type { SimPin, Level, PinMode } from './espruino-pins';

export interface BoardOptions {
  /** getSerial(); default is a Pico-like id. */
  serial?: string;
  /** E.getTemperature() in °C. */
  temperature?: number;
  /** Receives every line the board prints (print, console.log, Uncaught …). */
  log?: (line: string) => void;
  /** process.version. */
  version?: string;
  /** process.memory() in variable blocks; free = total - usage. Pico: about 5100 in total. */
  memory?: { total?: number; usage?: number };
  /**
   * false (default): run() treats source as the Pico, WiFi and ESP32 builds do, as bytes, so
   * '温度'.length is 6. true: as the unicode builds do, where it is 2.
   */
  unicode?: boolean;
}

export interface InstallOptions {
  /**
   * Replace setTimeout, setInterval, clearTimeout, clearInterval and changeInterval with the
   * board's (numeric ids, Espruino semantics). Default true. Pass false when Node libraries in the
   * same realm need Node's timers (they call .unref() on them).
   */
  timers?: boolean;
}

const TIMER_GLOBALS = ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'changeInterval'];
const OUTPUT_LINES_KEPT = 1000;

interface VmRealm extends Realm {
  context: vm.Context;
  global: Record<string, unknown>;
}

export class Board implements Host {
  serial: string;
  temperature: number;
  version: string;
  readonly memory: { total: number; usage: number };
  /** The last lines printed, as a terminal would show them. */
  readonly output: string[] = [];
  /** Every exception a callback threw (also printed as `Uncaught …`). */
  readonly uncaught: unknown[] = [];
  /** Built-ins V8 will not let the vm context lose (see README). Filled by the first run(). */
  notRemoved: string[] = [];
  readonly timers: Timers;
  readonly watches: Watches;

  private readonly logFn?: (line: string) => void;
  readonly unicode: boolean;
  private readonly pins = new Map<string, PinState>();
  private readonly bus = new SpiBus();
  private readonly modules = new Map<string, { exports: unknown }>();
  private readonly emitters: { target: object; emit: (this: object, event: string, ...args: unknown[]) => void }[] = [];
  private readonly hostTimers = new Set<NodeJS.Timeout>();
  private queue: (() => void)[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private timeOrigin: number; // getTime() at performance.now() === 0
  private vmRealm: VmRealm | undefined;
  private disposed = false;

  constructor(opts: BoardOptions = {}) {
    this.serial = opts.serial ?? '33FFD605-41573033-15720843';
    this.temperature = opts.temperature ?? 25;
    this.version = opts.version ?? '2v29';
    this.memory = { total: opts.memory?.total ?? 5100, usage: opts.memory?.usage ?? 1000 };
    this.logFn = opts.log;
    this.unicode = opts.unicode ?? false;
    this.timeOrigin = Date.now() / 1000 - performance.now() / 1000;
    for (const name of PIN_NAMES) this.pins.set(name, new PinState(name));
    this.pins.get(PIN_ALIASES.BTN1)!.setMode('input_pulldown');
    this.timers = new Timers((run) => run());
    this.watches = new Watches((task) => this.defer(task), () => this.now(), (fn) => this.guard(fn));
  }

  /** A pin by name (A0…C15, LED1, LED2, BTN1), for the host side: drive it, watch what firmware does. */
  pin(name: string): SimPin {
    const p = this.pinState(name);
    if (!p) throw new Error(`No pin "${name}" on the simulated board (A0-A15, B0-B15, C0-C15, LED1, LED2, BTN1)`);
    return p;
  }

  /**
   * Wires an SPI slave to a hardware SPI's default pins, selected while `csPin` is low. CS idles
   * high (a pull-up, as on W5500 modules) until the firmware drives it.
   */
  attachSpi(spi: HardwareSpi, device: SpiDevice, csPin: string): void {
    const cs = this.pin(csPin) as PinState;
    cs.drive(1);
    cs.onChange((level) => (level === 0 ? device.select() : device.deselect()));
    if (cs.level === 0) device.select();
    this.bus.attach(device, PICO_SPI_PINS[spi], () => cs.level === 0);
  }

  /** Makes `require(name)` return `exports` (Espruino's built-in modules, such as 'net'). */
  addModule(name: string, exports: unknown): void {
    this.modules.set(name, { exports });
  }

  /** Evaluates firmware source in the board's context; a top-level exception is thrown from here. */
  run(code: string, filename = 'board.js'): unknown {
    const realm = this.context();
    return vm.runInContext(this.unicode ? code : toByteSource(code), realm.context, { filename });
  }

  /** The board's context global, for tests that inspect firmware state. */
  get global(): Record<string, unknown> {
    return this.context().global;
  }

  /**
   * Puts the Espruino globals into a Node realm (default globalThis) so src/ modules can be tested
   * directly. Node's own globals stay, except those Espruino redefines; console, process and an
   * existing require are left alone (process gains memory()). Returns a function that undoes it.
   */
  install(target: object = globalThis, opts: InstallOptions = {}): () => void {
    const realm: Realm = { Uint8Array, Object, Error, TypeError, evaluate: (code) => (0, eval)(code) };
    const events = nativeEvents(this, realm);
    const globals = createGlobals(this, realm, events);
    const bag = target as Record<string, unknown>;
    const skip = new Set(['console', 'process']);
    if (opts.timers === false) for (const k of TIMER_GLOBALS) skip.add(k);
    if ('require' in bag) skip.add('require');
    const saved: [object, string, PropertyDescriptor | undefined][] = [];
    const put = (owner: object, key: string, value: unknown): void => {
      saved.push([owner, key, Object.getOwnPropertyDescriptor(owner, key)]);
      Object.defineProperty(owner, key, { value, writable: true, configurable: true, enumerable: false });
    };
    for (const [key, value] of Object.entries(globals)) if (!skip.has(key)) put(target, key, value);
    const proc = bag.process as Record<string, unknown> | undefined;
    if (proc && !('memory' in proc)) put(proc, 'memory', (globals.process as Record<string, unknown>).memory);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const [owner, key, desc] of saved.reverse()) {
        if (desc) Object.defineProperty(owner, key, desc);
        else delete (owner as Record<string, unknown>)[key];
      }
    };
  }

  /** Fires an E event from the host, as the firmware's E.emit would (queued): 'init', 'kill', … */
  emit(event: string, ...args: unknown[]): void {
    for (const e of this.emitters) e.emit.call(e.target, event, ...args);
  }

  /** Power-up after save(): E 'init' listeners, then onInit() if the firmware defined one. */
  boot(): void {
    this.emit('init');
    const onInit = this.vmRealm?.global.onInit;
    if (typeof onInit === 'function') this.defer(() => this.guard(() => onInit()));
  }

  /** Stops every timer, watch and queued callback. The board does nothing afterwards. */
  dispose(): void {
    this.disposed = true;
    this.timers.close();
    this.watches.clear();
    for (const t of this.hostTimers) clearTimeout(t);
    this.hostTimers.clear();
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.queue = [];
  }

  // --- Host: what the Espruino globals call ---

  pinState(name: string): PinState | undefined {
    return this.pins.get(PIN_ALIASES[name] ?? name);
  }

  transfer(wires: Partial<SpiWires>, mosi: Uint8Array): Uint8Array {
    return this.bus.transfer(wires, mosi);
  }

  log(line: string): void {
    const shown = this.unicode ? line : fromByteString(line);
    this.output.push(shown);
    if (this.output.length > OUTPUT_LINES_KEPT) this.output.shift();
    this.logFn?.(shown);
  }

  now(): number {
    return this.timeOrigin + performance.now() / 1000;
  }

  setTime(seconds: number): void {
    this.timeOrigin = seconds - performance.now() / 1000;
  }

  defer(task: () => void): void {
    if (this.disposed) return;
    this.queue.push(task);
    this.immediate ??= setImmediate(() => this.drain());
  }

  guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.uncaught.push(e);
      this.log(`Uncaught ${types.isNativeError(e) ? String(e) : inspect(e)}`);
    }
  }

  later(fn: () => void, ms: number): void {
    if (this.disposed) return;
    const t = setTimeout(() => {
      this.hostTimers.delete(t);
      this.guard(fn);
    }, ms);
    this.hostTimers.add(t);
  }

  memoryInfo(): MemoryInfo {
    const { total, usage } = this.memory;
    return { free: total - usage, usage, total, history: 0, gc: 0, gctime: 0 };
  }

  module(name: string): { exports: unknown } | undefined {
    return this.modules.get(name);
  }

  addEmitter(target: object, emit: (this: object, event: string, ...args: unknown[]) => void): void {
    this.emitters.push({ target, emit });
  }

  private drain(): void {
    this.immediate = undefined;
    const tasks = this.queue;
    this.queue = [];
    for (const task of tasks) if (!this.disposed) task();
  }

  private context(): VmRealm {
    if (this.vmRealm) return this.vmRealm;
    const context = vm.createContext({});
    const global = vm.runInContext('this', context) as Record<string, unknown>;
    const intrinsics = vm.runInContext('({ Uint8Array, Object, Error, TypeError })', context) as Realm;
    const realm: VmRealm = {
      ...intrinsics,
      context,
      global,
      evaluate: (code) => vm.runInContext(this.unicode ? code : toByteSource(code), context),
    };
    this.notRemoved = removeAbsent(global);
    const events = nativeEvents(this, realm);
    defineHidden((global.Object as { prototype: object }).prototype, events);
    for (const [key, value] of Object.entries(createGlobals(this, realm, events))) global[key] = value;
    global.global = global;
    this.vmRealm = realm;
    return realm;
  }
}
