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
    const copy = l.slice(); // a listener may add or remove listeners
    for (let i = 0; i < copy.length; i++) copy[i].call(this, a, b);
  }
}
