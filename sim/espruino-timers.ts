// setTimeout/setInterval as Espruino keeps them, on Node's real-time timers. Measured on 2v29:
// timeouts and intervals share one table; a new id is one more than the highest live id (so ids are
// reused once the table empties, and a running timeout still counts); a cleared or unknown id is
// ignored; changeInterval on a timeout turns it into an interval; an interval is rescheduled from
// its due time, not from when its callback ended.
import { performance } from 'node:perf_hooks';
// Node's own timers, so the board keeps working while install() has replaced the globals.
import { clearTimeout, setTimeout } from 'node:timers';

const MIN_INTERVAL_MS = 0.1; // TIMER_MIN_INTERVAL in jsinteractive.h

interface Timer {
  id: number;
  due: number; // performance.now() ms
  interval: number | undefined;
  run: () => void;
  handle: NodeJS.Timeout | undefined;
  generation: number;
}

export class Timers {
  private table = new Map<number, Timer>();
  private closed = false;

  constructor(private invoke: (run: () => void) => void) {}

  add(run: () => void, ms: number, repeat: boolean): number {
    let id = 1;
    for (const k of this.table.keys()) id = Math.max(id, k + 1);
    const period = clampMs(ms);
    const t: Timer = { id, due: performance.now() + period, interval: repeat ? period : undefined, run, handle: undefined, generation: 0 };
    this.table.set(id, t);
    if (!this.closed) this.schedule(t);
    return id;
  }

  /** Returns false for an unknown id. */
  change(id: number, ms: number): boolean {
    const t = this.table.get(id);
    if (!t) return false;
    t.interval = clampMs(ms);
    t.due = performance.now() + t.interval;
    t.generation++;
    this.schedule(t);
    return true;
  }

  remove(id: number): void {
    const t = this.table.get(id);
    if (!t) return;
    clearTimeout(t.handle);
    this.table.delete(id);
  }

  clear(): void {
    for (const t of this.table.values()) clearTimeout(t.handle);
    this.table.clear();
  }

  /** Clears every timer; later ones are recorded but never run (the board was disposed). */
  close(): void {
    this.closed = true;
    this.clear();
  }

  get size(): number {
    return this.table.size;
  }

  private schedule(t: Timer): void {
    clearTimeout(t.handle);
    if (this.closed) return;
    t.handle = setTimeout(() => this.fire(t), Math.max(0, t.due - performance.now()));
  }

  private fire(t: Timer): void {
    if (this.table.get(t.id) !== t) return;
    const generation = t.generation;
    this.invoke(t.run);
    if (this.table.get(t.id) !== t || t.generation !== generation) return; // cleared or changed meanwhile
    if (t.interval === undefined) {
      this.table.delete(t.id);
      return;
    }
    t.due += t.interval;
    this.schedule(t);
  }
}

function clampMs(ms: number): number {
  return Number.isNaN(ms) || ms < MIN_INTERVAL_MS ? MIN_INTERVAL_MS : ms;
}
