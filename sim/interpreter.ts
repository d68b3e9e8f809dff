// The interpreter of a simulated board: runs REPL lines in the board's context, owns its flash, and
// restarts the board on reset(), load() and power-up, with E 'kill' and E 'init' as Espruino fires them.
//
// Flash is modelled as source text, not a memory image: save() stores every line run since the last
// reset/load/power-up, and load()/power-up start a fresh board, run that text again with its output
// muted (a board restores its saved state silently), then fire E 'init' and onInit(). The difference
// from a board shows only with top-level code that has side effects beyond the interpreter (SPI
// traffic, sockets): the board restores the state it had, the replay redoes the work. reset(),
// load() and power-up replace the whole simulated board (a new vm context and a new W5500 emulator,
// whose host sockets close), like a firmware restart followed by the app's chip reset.
import { renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Board } from './espruino';

/** What the interpreter runs on: a board and whatever is wired to it (createSimBoard() gives one). */
export interface PoweredBoard {
  board: Board;
  /** Power off: stop the board, close the peripherals' host sockets. */
  dispose(): Promise<void> | void;
}

export interface InterpreterOptions<T extends PoweredBoard> {
  /** Shown in logs (serve-board prefixes every line with it). */
  name?: string;
  /** Builds a powered-up board whose printed lines go to `log`. Called again on every reset(), load() and boot(). */
  create(log: (line: string) => void): T;
}

/** Hooks a console passes while it runs a line: echo(0)/echo(1) from the firmware. */
export interface ConsoleHooks {
  echo(on: boolean): void;
}

// Built-in modules a Pico reports in process.env.MODULES: the CLI fetches any other required module
// from espruino.com, which a simulated board must not need.
const BUILTIN_MODULES = 'Flash,Storage,heatshrink,net,dgram,http,NetworkJS,Wiznet,CC3000,neopixel';

// The CLI loads the board description from process.env.JSON_URL when set, else from espruino.com.
// A local file keeps flashing the simulated board offline.
let boardJsonPath: string | undefined;
function localBoardJson(): string {
  if (boardJsonPath) return boardJsonPath;
  boardJsonPath = join(tmpdir(), 'w5500-mqtt-sim-board.json');
  const info = { info: { name: 'Simulated Espruino Pico with W5500', builtin_modules: BUILTIN_MODULES.split(',') } };
  const partial = `${boardJsonPath}.${process.pid}`; // other processes may read it meanwhile
  writeFileSync(partial, JSON.stringify(info));
  renameSync(partial, boardJsonPath);
  return boardJsonPath;
}

type Deferred = 'save' | 'load' | 'reset';

/**
 * The interpreter of one simulated board as its REPL sees it: runs lines, owns the flash, and
 * restarts the board on reset(), load() and power-up. Output listeners get every printed line.
 */
export class Interpreter<T extends PoweredBoard = PoweredBoard> {
  readonly name: string;
  private readonly create: (log: (line: string) => void) => T;
  private powered: T;
  private ran: string[] = []; // lines run since the last restart: what save() writes
  private flash: string[] | undefined;
  private muted = false;
  private replaying = false;
  private deferred: Deferred | undefined;
  private hooks: ConsoleHooks | undefined;
  private readonly listeners = new Set<(line: string) => void>();
  private readonly poweringOff = new Set<Promise<void>>();
  private closed = false;
  private readonly power = new WeakMap<T, { on: boolean }>();

  constructor(opts: InterpreterOptions<T>) {
    this.name = opts.name ?? 'board';
    this.create = opts.create;
    this.powered = this.powerUp();
  }

  /** The board (and peripherals) running now; replaced by reset(), load() and boot(). */
  get current(): T {
    return this.powered;
  }

  get board(): Board {
    return this.powered.board;
  }

  /** The code save() wrote, or undefined when the flash is empty. */
  get saved(): string | undefined {
    return this.flash?.join('\n');
  }

  /** Receives every line the board prints, and the interpreter's own messages. Returns an unsubscribe. */
  onOutput(fn: (line: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Prints a line as the board's console would (to every console and output listener). */
  print(line: string): void {
    if (this.muted) return;
    for (const fn of this.listeners) fn(line);
  }

  /**
   * Runs one REPL line in the board's context and returns its value; throws what the line throws.
   * A save(), load() or reset() it calls happens in afterLine(), as Espruino does them once the
   * line has finished.
   */
  evaluate(line: string, hooks?: ConsoleHooks): unknown {
    if (this.closed) throw new Error(`board ${this.name} is closed`);
    this.ran.push(line);
    this.hooks = hooks;
    try {
      return this.board.run(line, 'REPL');
    } finally {
      this.hooks = undefined;
    }
  }

  /** Carries out the save(), load() or reset() the last line asked for. */
  afterLine(): void {
    const todo = this.deferred;
    this.deferred = undefined;
    if (todo === 'save') this.save();
    else if (todo === 'load') this.load();
    else if (todo === 'reset') this.reset();
  }

  /** save(): fires E 'kill', writes the code run since the last restart to flash, then fires E 'init' and onInit(). */
  save(): void {
    this.board.emit('kill');
    this.flash = this.ran.slice();
    this.print(`Saved ${this.saved!.length} bytes of code to flash`);
    this.board.boot();
  }

  /** reset(): E 'kill', then a fresh interpreter, flash kept; reset(true) also erases the flash. */
  reset(eraseFlash = false): void {
    if (eraseFlash) this.flash = undefined;
    this.restart(true);
    this.print('');
    this.print(`Espruino ${this.board.version} (simulated Pico, W5500 on SPI2)`);
    this.print('');
  }

  /** load(): E 'kill', then a fresh interpreter running the saved code, then E 'init' and onInit(). */
  load(): void {
    this.restart(true);
    this.loadFlash();
  }

  /**
   * Power-cycles the board: everything restarts (the W5500 too; no E 'kill', the power just goes),
   * then the saved code runs as after load().
   */
  boot(): void {
    this.restart(false);
    this.loadFlash();
  }

  /** Powers the board off for good. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.powerOff(this.powered, false);
    await Promise.all([...this.poweringOff]);
  }

  private restart(kill: boolean): void {
    if (this.closed) throw new Error(`board ${this.name} is closed`);
    this.powerOff(this.powered, kill);
    this.powered = this.powerUp();
    this.ran = [];
  }

  private loadFlash(): void {
    if (!this.flash) return;
    this.print(`Loading ${this.saved!.length} bytes from flash...`);
    this.replay();
  }

  private replay(): void {
    const code = this.flash ?? [];
    this.muted = true;
    this.replaying = true;
    try {
      for (const line of code) {
        this.ran.push(line);
        try {
          this.board.run(line, 'flash');
        } catch {
          // The board printed this error when the line first ran; restoring state prints nothing.
        }
      }
    } finally {
      this.muted = false;
      this.replaying = false;
    }
    this.board.boot();
  }

  private powerUp(): T {
    const power = { on: true };
    const powered = this.create((line) => {
      if (power.on) this.print(line);
    });
    this.power.set(powered, power);
    const g = powered.board.global;
    const request = (what: Deferred) => () => {
      if (!this.replaying) this.deferred = what;
    };
    g.save = request('save');
    g.load = request('load');
    g.reset = (erase?: unknown) => {
      if (this.replaying) return;
      if (erase) {
        this.flash = undefined;
        this.print('Erasing saved code.');
        this.print('Done!');
      }
      this.deferred = 'reset';
    };
    g.echo = (on: unknown) => this.hooks?.echo(Boolean(on));
    const env = (g.process as { env?: Record<string, unknown> } | undefined)?.env;
    if (env) Object.assign(env, { MODULES: BUILTIN_MODULES, JSON_URL: localBoardJson() });
    return powered;
  }

  // With `kill`, E 'kill' listeners run first: they are queued on the old board, which keeps running
  // until its queue has drained (the new board is already the current one by then).
  private powerOff(p: T, kill: boolean): void {
    if (kill) p.board.emit('kill');
    const done = new Promise<void>((resolve) => (kill ? setImmediate(resolve) : resolve()))
      .then(() => {
        this.power.get(p)!.on = false;
        return p.dispose();
      })
      .catch((e: unknown) => this.print(`power-off of ${this.name} failed: ${String(e)}`))
      .finally(() => this.poweringOff.delete(done));
    this.poweringOff.add(done);
  }
}
