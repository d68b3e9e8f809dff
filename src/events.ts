// A minimal event emitter. Espruino objects have native on/emit, but Node (where the tests and the
// simulated board's host side run) does not, and Espruino's native emit() is queued, not synchronous.
type Listener = (a?: any, b?: any, c?: any) => void;

export class Emitter {
  /** The listener of each event: the function given, or with several, one calling them in turn. */
  _ev: { [name: string]: Listener } = {};

  // A chain, not a list: emit() is then one call, the cheapest on Espruino (one listener: ~10 µs,
  // against ~22 µs for a loop over an array), and a listener added while emitting waits for the next.
  on(name: string, fn: Listener): this {
    const l = this._ev[name];
    this._ev[name] = l ? function (a, b, c) {
      l(a, b, c);
      fn(a, b, c);
    } : fn;
    return this;
  }

  removeAllListeners(name?: string): void {
    if (name === undefined) this._ev = {};
    else delete this._ev[name];
  }

  // At most three arguments (Espruino has no rest parameters). Listeners are called without `this`.
  emit(name: string, a?: any, b?: any, c?: any): void {
    const l = this._ev[name];
    if (l) l(a, b, c);
  }
}
