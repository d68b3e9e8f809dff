// Objects of Espruino's network classes (Socket, Server, httpCRq, …) in the board's realm, with the
// event and stream behaviour Espruino gives them (src/jswrap_object.c, src/jswrap_stream.c):
// - events are queued (jsiQueueObjectCallbacks): listeners run from the main loop, `this` = the object;
// - 'data' is pushed synchronously (jswrap_stream_pushData) when a listener exists, else it goes to a
//   buffer of at most STREAM_MAX_BUFFER_SIZE bytes, read with available()/read(), and handed to the
//   first 'data' listener added later.
import type { Board } from './espruino';

/** src/jswrap_stream.h */
export const STREAM_MAX_BUFFER_SIZE = 512;

type Fn = (...args: unknown[]) => unknown;
export type EspObject = Record<string, unknown>;

interface Realmish {
  Object: ObjectConstructor;
  Error: ErrorConstructor;
}

export class EspObjects {
  private readonly listeners = new WeakMap<object, Map<string, Fn[]>>();
  private readonly buffers = new WeakMap<object, string>();
  /** Events whose listener Espruino stored as a lone function (a callback given to connect(),
   *  createServer(), bind()), not a list: adding a listener to them aborts Espruino 2v29. */
  private readonly lone = new WeakMap<object, Set<string>>();
  private readonly protos = new Map<string, object>();
  readonly realm: Realmish;

  constructor(private readonly board: Board) {
    this.realm = board.global as unknown as Realmish;
  }

  /** Declares a class: its methods (not enumerable, as Espruino's built-ins are) plus events and streams. */
  defineClass(name: string, methods: Record<string, Fn>): void {
    const proto = new this.realm.Object();
    const self = this;
    const common: Record<string, Fn> = {
      on(this: object, event: unknown, fn: unknown) { self.on(this, String(event), fn as Fn, false); },
      addListener(this: object, event: unknown, fn: unknown) { self.on(this, String(event), fn as Fn, false); },
      prependListener(this: object, event: unknown, fn: unknown) { self.on(this, String(event), fn as Fn, true); },
      emit(this: object, event: unknown, ...args: unknown[]) { self.queue(this, String(event), args); },
      removeListener(this: object, event: unknown, fn: unknown) {
        const list = self.list(this, String(event)).filter((f) => f !== fn);
        self.table(this).set(String(event), list);
        self.lone.get(this)?.delete(String(event));
      },
      removeAllListeners(this: object, event: unknown) {
        if (event === undefined) {
          self.listeners.delete(this);
          self.lone.delete(this);
        } else {
          self.table(this).delete(String(event));
          self.lone.get(this)?.delete(String(event));
        }
      },
    };
    for (const [key, value] of Object.entries({ ...common, ...methods })) {
      Object.defineProperty(proto, key, { value, writable: true, configurable: true, enumerable: false });
    }
    this.protos.set(name, proto);
  }

  /** A new object of a declared class (jspNewObject). */
  create(name: string, props: Record<string, unknown> = {}): EspObject {
    const proto = this.protos.get(name);
    if (!proto) throw new Error(`no class ${name}`);
    return Object.assign(this.realm.Object.create(proto), props) as EspObject;
  }

  /** A plain object of the board's realm. */
  object(props: Record<string, unknown> = {}): EspObject {
    return Object.assign(new this.realm.Object(), props) as EspObject;
  }

  /** An Error of the board's realm, as jsExceptionHere makes them (name set for InternalError). */
  error(message: string, name = 'Error'): Error {
    const e = new this.realm.Error(message);
    if (name !== 'Error') Object.defineProperty(e, 'name', { value: name, enumerable: false });
    return e;
  }

  /** The listener Espruino stores as the object's only one (jsvAddNamedChild / jsvObjectSetChild). */
  setCallback(o: object, event: string, fn: Fn): void {
    this.table(o).set(event, [fn]);
    if (!this.lone.has(o)) this.lone.set(o, new Set());
    this.lone.get(o)!.add(event);
  }

  on(o: object, event: string, fn: Fn, first: boolean): void {
    if (typeof fn !== 'function') throw this.error('Second argument must be a function', 'TypeError');
    if (this.lone.get(o)?.has(event)) {
      throw this.error(`on('${event}') after a callback for it was given: Espruino 2v29 aborts here ` +
        '(ASSERT(jsvIsArray(source)) in jswrap_object_on); use one or the other');
    }
    const list = this.list(o, event);
    this.table(o).set(event, first ? [fn, ...list] : [...list, fn]);
    // A 'data' listener added after data arrived gets the buffered data at once (jswrap_object_on)
    if (event === 'data' && this.buffers.has(o)) {
      const buf = this.buffers.get(o)!;
      this.buffers.delete(o);
      this.queue(o, 'data', [buf]);
    }
  }

  has(o: object, event: string): boolean {
    return this.list(o, event).length > 0;
  }

  /** Events queued and not yet run. Espruino runs its whole event queue (and what those events queue)
   *  before the next network idle (jsiIdle: jswIdle, then jsiExecuteEvents until empty). */
  pending = 0;

  /** jsiQueueObjectCallbacks: every listener of `event`, from the main loop. */
  queue(o: object, event: string, args: unknown[]): void {
    for (const fn of this.list(o, event)) {
      this.pending++;
      this.board.defer(() => {
        this.pending--;
        this.board.guard(() => { fn.apply(o, args); });
      });
    }
  }

  /** jswrap_stream_pushData: false when the buffer had no room (unless force, which keeps what fits). */
  pushData(o: object, data: string, force: boolean): boolean {
    const list = this.list(o, 'data');
    if (list.length) {
      for (const fn of list) this.board.guard(() => { fn.call(o, data); });
      return true;
    }
    const buf = this.buffers.get(o);
    if (buf === undefined) {
      this.buffers.set(o, data);
      return true;
    }
    const ok = buf.length + data.length <= STREAM_MAX_BUFFER_SIZE;
    if ((ok || force) && buf.length < STREAM_MAX_BUFFER_SIZE) {
      this.buffers.set(o, buf + data.substring(0, STREAM_MAX_BUFFER_SIZE - buf.length));
    }
    return ok;
  }

  /** Stream methods every readable network object has. */
  streamMethods(): Record<string, Fn> {
    const self = this;
    return {
      available(this: object) { return self.buffers.get(this)?.length ?? 0; },
      read(this: object, chars: unknown) {
        const buf = self.buffers.get(this);
        if (buf === undefined) return '';
        const n = Number(chars) | 0;
        if (n <= 0 || n >= buf.length) {
          self.buffers.delete(this);
          return buf;
        }
        self.buffers.set(this, buf.substring(n));
        return buf.substring(0, n);
      },
    };
  }

  private table(o: object): Map<string, Fn[]> {
    let t = this.listeners.get(o);
    if (!t) {
      t = new Map();
      this.listeners.set(o, t);
    }
    return t;
  }

  private list(o: object, event: string): Fn[] {
    return this.listeners.get(o)?.get(event) ?? [];
  }
}
