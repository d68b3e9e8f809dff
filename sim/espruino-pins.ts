// Pins of the simulated board as wires, and setWatch on them. A pin's level is what the firmware
// drives when it is an output, otherwise what the outside world drives (SimPin.drive), otherwise its
// pull resistor; an undriven, unpulled input reads 0. Modes change as on Espruino: digitalWrite makes
// a pin an output and digitalRead/setWatch make it an input, unless pinMode() fixed the mode.
// Node's own timers, so the board keeps working while install() has replaced the globals.
import { clearTimeout, setTimeout } from 'node:timers';

export type Level = 0 | 1;

export const PIN_MODES = ['analog', 'input', 'input_pullup', 'input_pulldown', 'output', 'opendrain',
  'opendrain_pullup', 'af_output', 'af_opendrain'] as const;
export type PinMode = (typeof PIN_MODES)[number];

// The Espruino Pico's ports as the simulator names them (the index is what `new Pin(n)` takes), and
// its on-board LEDs and button (boards/PICO_R1_3.py).
export const PIN_NAMES: string[] = [];
for (const port of ['A', 'B', 'C']) for (let i = 0; i < 16; i++) PIN_NAMES.push(port + i);
export const PIN_ALIASES: Record<string, string> = { LED1: 'B2', LED2: 'B12', BTN1: 'C13' };

/** The host's view of one pin. */
export interface SimPin {
  readonly name: string;
  readonly level: Level;
  readonly mode: PinMode | undefined;
  /** The outside world drives the pin (a chip output, a button); setWatch sees the edges. */
  drive(level: Level): void;
  /** The outside world lets go: the pin floats to its pull or 0. */
  release(): void;
  /** Called with the value each time the firmware writes the pin. */
  onOutput(fn: (level: Level) => void): void;
  /** Called each time the level on the wire changes, whoever caused it. */
  onChange(fn: (level: Level) => void): void;
}

export class PinState implements SimPin {
  mode: PinMode | undefined;
  manual = false;
  private latch: Level = 0;
  private external: Level | undefined;
  private current: Level;
  private outputFns: ((level: Level) => void)[] = [];
  private changeFns: ((level: Level) => void)[] = [];

  constructor(readonly name: string, mode?: PinMode) {
    this.mode = mode;
    this.current = this.settle();
  }

  get level(): Level {
    return this.current;
  }

  drive(level: Level): void {
    this.external = level ? 1 : 0;
    this.update();
  }

  release(): void {
    this.external = undefined;
    this.update();
  }

  onOutput(fn: (level: Level) => void): void {
    this.outputFns.push(fn);
  }

  onChange(fn: (level: Level) => void): void {
    this.changeFns.push(fn);
  }

  /** Firmware output (Espruino's jshPinOutput). */
  write(level: Level): void {
    this.latch = level;
    if (!this.manual) this.mode = 'output';
    this.update();
    for (const fn of this.outputFns.slice()) fn(level);
  }

  /** Firmware input (Espruino's jshPinInput). */
  read(): Level {
    if (!this.manual) this.setMode('input');
    return this.current;
  }

  setMode(mode: PinMode | undefined): void {
    this.mode = mode;
    this.update();
  }

  private settle(): Level {
    const ext = this.external;
    switch (this.mode) {
      case 'output': case 'af_output': return this.latch;
      case 'opendrain': case 'af_opendrain': return this.latch === 0 ? 0 : ext ?? 0;
      case 'opendrain_pullup': return this.latch === 0 ? 0 : ext ?? 1;
      case 'input_pullup': return ext ?? 1;
      default: return ext ?? 0;
    }
  }

  private update(): void {
    const level = this.settle();
    if (level === this.current) return;
    this.current = level;
    for (const fn of this.changeFns.slice()) fn(level);
  }
}

export interface WatchEvent {
  state: boolean;
  time: number;
  lastTime: number | undefined;
}

export interface WatchOptions {
  edge: -1 | 0 | 1;
  repeat: boolean;
  debounceMs: number;
}

interface Watch extends WatchOptions {
  id: number;
  pin: PinState;
  deliver: (e: WatchEvent) => void;
  state: Level;
  lastTime: number | undefined;
  debounce?: { timer: NodeJS.Timeout; state: Level; time: number };
}

/**
 * setWatch/clearWatch. As on Espruino, an edge is recorded with its time when it happens and the
 * callback runs later from the main loop (`defer`), never inside the code that caused the edge.
 * With a debounce, the level must hold for that long; the callback gets the time of the last edge.
 */
export class Watches {
  private watches: Watch[] = [];
  private hooked = new Set<PinState>();

  constructor(
    private defer: (task: () => void) => void,
    private now: () => number,
    private guard: (fn: () => void) => void,
  ) {}

  add(pin: PinState, opts: WatchOptions, deliver: (e: WatchEvent) => void): number {
    const id = this.watches.reduce((max, w) => Math.max(max, w.id), 0) + 1;
    const state = pin.read();
    this.watches.push({ ...opts, id, pin, deliver, state, lastTime: undefined });
    if (!this.hooked.has(pin)) {
      this.hooked.add(pin);
      pin.onChange((level) => {
        const time = this.now();
        this.defer(() => this.edge(pin, level, time));
      });
    }
    return id;
  }

  /** Returns false for an unknown id. */
  remove(id: number): boolean {
    const w = this.watches.find((x) => x.id === id);
    if (!w) return false;
    this.drop(w);
    return true;
  }

  clear(): void {
    for (const w of this.watches.slice()) this.drop(w);
  }

  private drop(w: Watch): void {
    if (w.debounce) clearTimeout(w.debounce.timer);
    this.watches = this.watches.filter((x) => x !== w);
  }

  private edge(pin: PinState, level: Level, time: number): void {
    for (const w of this.watches.filter((x) => x.pin === pin)) {
      if (w.debounceMs <= 0) {
        w.state = level;
        this.fire(w, level, time);
        continue;
      }
      if (w.debounce) clearTimeout(w.debounce.timer);
      else if (level === w.state) continue;
      const wait = Math.max(0, time + w.debounceMs / 1000 - this.now()) * 1000;
      w.debounce = { timer: setTimeout(() => this.settled(w), wait), state: level, time };
    }
  }

  private settled(w: Watch): void {
    const d = w.debounce;
    if (!d) return;
    w.debounce = undefined;
    if (d.state === w.state) return;
    w.state = d.state;
    this.fire(w, d.state, d.time);
  }

  private fire(w: Watch, level: Level, time: number): void {
    const wanted = w.edge === 0 || (w.edge > 0) === (level === 1);
    if (wanted) {
      const lastTime = w.lastTime;
      if (!w.repeat) this.drop(w);
      this.guard(() => w.deliver({ state: level === 1, time, lastTime }));
    }
    w.lastTime = time;
  }
}
