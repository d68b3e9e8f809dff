// A minimal event emitter. Espruino objects have native on/emit, but Node (where the tests and the
// simulated board's host side run) does not, and one small base class is cheaper than two paths.
type Listener = (a?: any, b?: any) => void;

export class Emitter {
  private _ev: { [name: string]: Listener[] } = {};

  on(name: string, fn: Listener): this {
    (this._ev[name] || (this._ev[name] = [])).push(fn);
    return this;
  }

  removeAllListeners(name?: string): void {
    if (name === undefined) this._ev = {};
    else delete this._ev[name];
  }

  // At most two arguments: Espruino has no rest parameters, and no event here needs more.
  emit(name: string, a?: any, b?: any): void {
    const l = this._ev[name];
    if (!l) return;
    // a listener may add or remove listeners: a copy, unless the one listener is called before it can
    for (let i = 0, n = l.length, copy = n > 1 ? l.slice() : l; i < n; i++) copy[i].call(this, a, b);
  }
}
