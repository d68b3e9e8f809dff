// The input/output globals: Pin and the pin names, digitalWrite/digitalRead/pinMode/digitalPulse,
// setWatch/clearWatch, and SPI with SPI1..SPI3. Argument handling and error messages follow
// Espruino's jswrap_io.c, jswrap_pin.c and jswrap_spi_i2c.c (2v29).
import { performance } from 'node:perf_hooks';
import { defineHidden, invoke, isCallback, realmObject, type Host, type Realm } from './espruino-host';
import { PIN_ALIASES, PIN_MODES, PIN_NAMES, type Level, type PinMode, type PinState } from './espruino-pins';
import { bytesToString, inspect, markPin, toBytes } from './espruino-values';
import { PICO_SPI_PINS, type HardwareSpi, type SpiWires } from './spi';

type Bag = Record<string, unknown>;

export function createIo(host: Host, realm: Realm): Bag {
  const error = (m: string): Error => new realm.Error(m);
  const typeError = (m: string): Error => new realm.TypeError(m);
  const states = new WeakMap<object, PinState>();
  const objects = new Map<string, object>();

  // Pins are values on Espruino (`new Pin('B2') === LED1`), so each pin has one object.
  const Pin = function Pin(value: unknown): object {
    return pinObject(need(value));
  } as unknown as { new (value: unknown): object; prototype: Bag };

  function pinObject(s: PinState): object {
    let p = objects.get(s.name);
    if (!p) {
      p = Object.create(Pin.prototype) as object;
      states.set(p, s);
      markPin(p);
      objects.set(s.name, p);
    }
    return p;
  }

  function resolve(v: unknown): PinState | undefined {
    if (v !== null && typeof v === 'object') return states.get(v);
    if (typeof v === 'string') return host.pinState(v);
    if (typeof v === 'number' && v >= 0 && v < PIN_NAMES.length) return host.pinState(PIN_NAMES[v | 0]);
    return undefined;
  }

  function need(v: unknown): PinState {
    const s = resolve(v);
    if (!s) throw error('Invalid pin');
    return s;
  }

  function setMode(s: PinState, mode: unknown, automatic: unknown): void {
    if (typeof mode === 'string' && (PIN_MODES as readonly string[]).includes(mode)) {
      s.manual = !automatic;
      s.setMode(mode as PinMode);
      return;
    }
    s.manual = false;
    if (mode !== undefined && mode !== 'auto') throw error('Unknown pin mode');
  }

  defineHidden(Pin.prototype, {
    read(this: object): boolean { return need(this).read() === 1; },
    write(this: object, v: unknown): void { need(this).write(v ? 1 : 0); },
    set(this: object): void { need(this).write(1); },
    reset(this: object): void { need(this).write(0); },
    toggle(this: object): boolean {
      const s = need(this);
      s.write(s.level ? 0 : 1);
      return s.level === 1;
    },
    mode(this: object, mode: unknown): void { setMode(need(this), mode, false); },
    getMode(this: object): string | undefined { return need(this).mode; },
    toString(this: object): string { return need(this).name; },
    toJSON(this: object): string { return need(this).name; },
  });

  function digitalWrite(pins: unknown, value: unknown): void {
    let v = typeof value === 'boolean' ? (value ? -1 : 0) : Number(value) | 0;
    if (Array.isArray(pins)) {
      for (let i = pins.length - 1; i >= 0; i--, v >>= 1) need(pins[i]).write((v & 1) as Level);
      return;
    }
    const s = resolve(pins);
    if (s) return s.write(v !== 0 ? 1 : 0);
    const custom = pins as { write?: unknown } | null;
    if (custom && typeof custom === 'object' && typeof custom.write === 'function') return void custom.write(v);
    throw error('Invalid pin');
  }

  function digitalRead(pins: unknown): number {
    if (Array.isArray(pins)) return pins.reduce((acc: number, p) => (acc << 1) | need(p).read(), 0);
    const s = resolve(pins);
    if (s) return s.read();
    const custom = pins as { read?: unknown } | null;
    if (custom && typeof custom === 'object' && typeof custom.read === 'function') return Number(custom.read()) | 0;
    throw error('Invalid pin');
  }

  // Espruino times pulses in hardware and returns at once; a pulse asked for while one is still
  // running on the pin starts when that one ends.
  const pulseEnds = new Map<PinState, number>();
  function digitalPulse(pin: unknown, value: unknown, times: unknown): void {
    const s = need(pin);
    let level: Level = value ? 1 : 0;
    const now = performance.now();
    let at = pulseEnds.get(s) ?? 0;
    if (at <= now) {
      at = now;
      s.write(level);
    }
    const list = typeof times === 'number' ? [times] : Array.isArray(times) || ArrayBuffer.isView(times)
      ? Array.from(times as ArrayLike<number>, Number) : undefined;
    if (!list) throw error(`Expecting Number or Array, got ${typeof times}`);
    if (typeof times === 'number' && (times < 0 || Number.isNaN(times))) {
      throw error('Pulse Time is less than 0 or not a number');
    }
    for (const ms of list) {
      level = level ? 0 : 1;
      if (!(ms > 0)) continue;
      at += ms;
      const edge = level;
      host.later(() => s.write(edge), at - now);
    }
    pulseEnds.set(s, at);
  }

  function setWatch(fn: unknown, pin: unknown, options: unknown): number {
    const s = need(pin);
    const isButton = s.name === PIN_ALIASES.BTN1;
    let edge: -1 | 0 | 1 = isButton ? 1 : 0;
    let debounceMs = isButton ? 25 : 0;
    let repeat = false;
    if (options !== null && typeof options === 'object') {
      const o = options as Bag;
      if (o.repeat !== undefined) repeat = !!o.repeat;
      if (o.debounce !== undefined) {
        debounceMs = Number(o.debounce);
        if (Number.isNaN(debounceMs) || debounceMs < 0) debounceMs = 0;
      }
      if (o.edge !== undefined) {
        const e = o.edge;
        if (typeof e === 'number' || typeof e === 'boolean') edge = Number(e) > 0 ? 1 : Number(e) < 0 ? -1 : 0;
        else if (e === 'rising') edge = 1;
        else if (e === 'falling') edge = -1;
        else if (e === 'both') edge = 0;
        else throw typeError("'edge' in setWatch should be 1, -1, 0, 'rising', 'falling' or 'both'");
      }
    } else {
      repeat = !!options;
    }
    if (!isCallback(fn)) throw error('Function or String not supplied!');
    return host.watches.add(s, { edge, repeat, debounceMs }, (e) => {
      invoke(realm, fn, [realmObject(realm, { ...e, pin: pinObject(s) })]);
    });
  }

  function clearWatch(...ids: unknown[]): void {
    if (ids.length === 0) return host.watches.clear();
    if (ids[0] === undefined) throw error('clearWatch(undefined) not allowed. Use clearWatch() instead');
    if (!host.watches.remove(Number(ids[0]))) throw error(`Unknown Watch ${inspect(ids[0])}`);
  }

  const spi = createSpi(host, realm, resolve);
  const globals: Bag = {
    Pin, digitalWrite, digitalRead, digitalPulse, setWatch, clearWatch, ...spi,
    pinMode: (pin: unknown, mode: unknown, automatic: unknown): void => setMode(need(pin), mode, automatic),
    getPinMode: (pin: unknown): string | undefined => need(pin).mode,
  };
  for (const name of [...PIN_NAMES, ...Object.keys(PIN_ALIASES)]) globals[name] = pinObject(need(name));
  return globals;
}

function createSpi(host: Host, realm: Realm, resolve: (v: unknown) => PinState | undefined): Bag {
  const typeError = (m: string): Error => new realm.TypeError(m);
  const hardware = new WeakMap<object, HardwareSpi>();
  const wiresOf = new WeakMap<object, Partial<SpiWires>>();

  function wires(spi: object): Partial<SpiWires> {
    const set = wiresOf.get(spi);
    const bus = hardware.get(spi);
    return set ?? (bus ? PICO_SPI_PINS[bus] : {});
  }

  // The frame: CS low, every byte clocked, CS high; like Espruino, only a valid pin is used as CS.
  function frame(spi: object, mosi: Uint8Array, nss: PinState | undefined): Uint8Array {
    nss?.write(0);
    try {
      return host.transfer(wires(spi), mosi);
    } finally {
      nss?.write(1);
    }
  }

  class SPI {
    setup(options?: unknown): void {
      const o = (options !== null && typeof options === 'object' ? options : {}) as Bag;
      const named = ['sck', 'miso', 'mosi'].some((k) => o[k] !== undefined);
      if (!named && hardware.has(this)) {
        wiresOf.delete(this);
        return;
      }
      // Espruino: if one or more pins are given, the others are not set up at all.
      const pin = (k: string): string | undefined => resolve(o[k])?.name;
      wiresOf.set(this, { sck: pin('sck'), miso: pin('miso'), mosi: pin('mosi') });
    }

    send(data: unknown, nssPin?: unknown): unknown {
      const single = typeof data === 'number' || typeof data === 'boolean';
      const mosi = toBytes([data], typeError);
      const miso = frame(this, mosi, resolve(nssPin));
      if (single) return miso[0];
      if (typeof data === 'string') return bytesToString(miso);
      return new realm.Uint8Array(miso);
    }

    write(...items: unknown[]): void {
      const last = items[items.length - 1];
      const nss = last !== null && typeof last === 'object' ? resolve(last) : undefined;
      if (nss) items.pop();
      frame(this, toBytes(items, typeError), nss);
    }
  }

  const globals: Bag = { SPI };
  for (const name of Object.keys(PICO_SPI_PINS) as HardwareSpi[]) {
    const port = new SPI();
    hardware.set(port, name);
    globals[name] = port;
  }
  return globals;
}
