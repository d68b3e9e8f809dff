// The simulated board's Espruino REPL over TCP, so the `espruino` CLI flashes it exactly as it flashes
// a real board (`espruino --no-ble -p tcp://127.0.0.1:PORT app.js -e "save()"`), and save(),
// load(), reset() and power-up (E.on('init')) behave as a board's do.
//
// Console bytes follow Espruino 2v29 (the Linux build with --telnet, captured while the CLI uploaded
// to it, and jsinteractive.c): a `>` prompt; typed characters echoed; a line runs when its brackets
// balance (else `:` and more input); its value printed as `=value`; an exception as `Uncaught …`;
// DLE (0x10) at the start of a line turns echo, and the `=value`, off for that line (the CLI sends
// every line of an upload so); ESC LF is a newline that does not run the line; ESC [ n d (the CLI's
// line numbers) and other escape sequences are ignored; Ctrl-C clears the line; output printed while
// a prompt is shown erases it (`\r ESC[J`), prints, then shows the prompt again.
//
// The interpreter behind the console (flash, save/load/reset, power-up) is sim/interpreter.ts.
import * as net from 'node:net';
import { types } from 'node:util';
import { fromByteString, inspect } from './espruino-values';
import type { ConsoleHooks, Interpreter } from './interpreter';
import { countBrackets, formatResult } from './repl-text';

export { Interpreter, type ConsoleHooks, type InterpreterOptions, type PoweredBoard } from './interpreter';

// ---- one console (a TCP connection) ----

const DLE = 0x10;
const ESC = 0x1b;
const CTRL_C = 0x03;
const CTRL_E = 0x05;
const ERASE_LINE = '\r\x1b[J'; // back to column 0 (past the '>'), erase to the end of the screen
const CURSOR_UP = '\x1b[A';

type EscState = 'none' | 'esc' | 'csi' | 'csi-number' | 'ss3';

/** A string of bytes (one char each) as UTF-8 text, when it is valid UTF-8. */
const bytesToText = (s: string): string => fromByteString(s);
const textToBytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

export function describeError(e: unknown): string {
  return `Uncaught ${types.isNativeError(e) ? String(e) : inspect(e)}`;
}

/** The line editor and prompt of one connection, as Espruino's console behaves. */
export class ConsoleSession {
  private line = '';
  private removed = true; // the prompt and input line are not on the screen now
  private echoOn = true;
  private echoOffForLine = false;
  private esc: EscState = 'none';
  private hadCR = false;
  private returning: NodeJS.Immediate | undefined;
  private batch: string | undefined;
  private readonly hooks: ConsoleHooks = { echo: (on) => { this.echoOn = on; } };

  constructor(private readonly interp: Interpreter, private readonly send: (bytes: string) => void) {
    this.returnInputLine();
  }

  /** Bytes typed (or sent by the CLI), one char per byte. */
  input(bytes: string): void {
    this.batch = ''; // one socket write per chunk, not per echoed character
    try {
      for (let i = 0; i < bytes.length; i++) this.handle(bytes.charCodeAt(i), bytes[i]);
      this.returnInputLine();
    } finally {
      const out = this.batch;
      this.batch = undefined;
      if (out) this.send(out);
    }
  }

  /** A line the board printed. */
  output(line: string): void {
    this.removeInputLine();
    this.write(textToBytes(line) + '\n');
    this.returning ??= setImmediate(() => {
      this.returning = undefined;
      this.returnInputLine();
    });
  }

  close(): void {
    if (this.returning) clearImmediate(this.returning);
    this.returning = undefined;
  }

  private get echo(): boolean {
    return this.echoOn && !this.echoOffForLine;
  }

  private get showInputLine(): boolean {
    return this.echo && !this.removed;
  }

  private write(s: string): void {
    const bytes = s.replace(/\r?\n/g, '\r\n');
    if (this.batch !== undefined) this.batch += bytes;
    else this.send(bytes);
  }

  private handle(code: number, ch: string): void {
    const wasCR = this.hadCR;
    this.hadCR = false;
    if (this.esc !== 'none') return this.escape(ch);
    if (code === ESC) this.esc = 'esc';
    else if (code === DLE) {
      if (this.line === '') this.echoOffForLine = true;
    } else if (code === CTRL_C) {
      if (this.line === '') return;
      this.removeInputLine();
      this.line = '';
    } else if (code === CTRL_E) {
      if (this.line === '') this.write(`Espruino ${this.interp.board.version} ${this.boardName()}\n`);
    } else if (code === 8 || code === 0x7f) {
      if (this.line === '' || this.line.endsWith('\n')) return;
      this.line = this.line.slice(0, -1);
      if (this.showInputLine) this.write('\b \b');
    } else if (ch === '\n' && wasCR) {
      // \r\n: the \r ran the line
    } else if (ch === '\r' || ch === '\n') {
      this.hadCR = ch === '\r';
      this.newLine(true);
    } else if (code >= 32 || ch === '\t') {
      const text = ch === '\t' ? '    ' : ch;
      this.line += text;
      if (this.showInputLine) this.write(text);
    }
  }

  private escape(ch: string): void {
    const state = this.esc;
    this.esc = 'none';
    if (state === 'esc') {
      if (ch === '[') this.esc = 'csi';
      else if (ch === 'O') this.esc = 'ss3';
      else if (ch === '\n') this.newLine(false); // Alt-Enter: a newline inside the line
    } else if (state === 'csi' || state === 'csi-number') {
      if (ch >= '0' && ch <= '9') this.esc = 'csi-number';
      // arrows, home/end, page keys and the CLI's ESC [ n d line numbers: no cursor editing here
    }
  }

  private newLine(run: boolean): void {
    if (!run || countBrackets(this.line) > 0) {
      if (this.showInputLine) this.write('\n:');
      this.line += '\n';
      return;
    }
    if (this.showInputLine) this.write('\n');
    if (!this.echoOffForLine) this.removed = true;
    const code = this.line.replace(/\s+$/, '');
    this.line = '';
    if (code !== '') {
      let value: unknown;
      let failed = false;
      try {
        value = this.interp.evaluate(bytesToText(code), this.hooks);
      } catch (e) {
        failed = true;
        this.interp.print(describeError(e));
      }
      if (!failed && this.echo) this.write(`=${textToBytes(fromByteString(formatResult(value)))}\n`);
    }
    this.echoOffForLine = false;
    this.interp.afterLine();
  }

  private removeInputLine(): void {
    if (this.removed) return;
    this.removed = true;
    if (!this.echo) return;
    const linesUp = (this.line.match(/\n/g) ?? []).length;
    this.write(CURSOR_UP.repeat(linesUp) + ERASE_LINE);
  }

  private returnInputLine(): void {
    if (!this.removed) return;
    this.removed = false;
    if (this.echo) this.write('>' + this.line.replace(/\n/g, '\n:'));
  }

  private boardName(): string {
    const env = (this.interp.board.global.process as { env?: { BOARD?: string } } | undefined)?.env;
    return env?.BOARD ?? 'PICO';
  }
}

// ---- the TCP server ----

export interface ReplServerOptions {
  /** A loopback address (default 127.0.0.1): the REPL runs any code it is sent. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** Serves an interpreter's console over TCP: any number of connections, each with its own input line. */
export class ReplServer {
  private readonly sessions = new Map<net.Socket, ConsoleSession>();
  private readonly unsubscribe: () => void;

  private constructor(private readonly server: net.Server, readonly host: string, readonly port: number,
    interp: Interpreter) {
    this.unsubscribe = interp.onOutput((line) => {
      for (const s of this.sessions.values()) s.output(line);
    });
    server.on('connection', (sock) => {
      sock.setNoDelay(true);
      const session = new ConsoleSession(interp, (bytes) => {
        if (!sock.destroyed) sock.write(bytes, 'latin1');
      });
      this.sessions.set(sock, session);
      sock.on('data', (chunk: Buffer) => session.input(chunk.toString('latin1')));
      sock.on('error', () => undefined);
      sock.on('close', () => {
        session.close();
        this.sessions.delete(sock);
      });
    });
  }

  static async listen(interp: Interpreter, opts: ReplServerOptions = {}): Promise<ReplServer> {
    const host = opts.host ?? '127.0.0.1';
    if (!LOOPBACK.test(host)) throw new Error(`the REPL runs any code it receives: serve it on loopback only, not ${host}`);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    return new ReplServer(server, host, port, interp);
  }

  /** What `espruino -p` takes: tcp://host:port. */
  get url(): string {
    return `tcp://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get connections(): number {
    return this.sessions.size;
  }

  /** Stops listening and drops every connection (the interpreter keeps running). */
  async close(): Promise<void> {
    this.unsubscribe();
    for (const [sock, session] of this.sessions) {
      session.close();
      sock.destroy();
    }
    this.sessions.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
