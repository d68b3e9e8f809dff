// The simulated board's REPL over TCP behaves like Espruino's console: prompt, echo, `=value`,
// `Uncaught …`, DLE lines, multi-line input, Ctrl-C, board output, and save()/reset()/load()/power-up
// with E.on('init'). Byte sequences are the ones Espruino 2v29 sends (captured on its Linux build).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createSimBoard, type SimBoard } from '../sim/board';
import { Interpreter, ReplServer } from '../sim/repl';
import { countBrackets, formatResult } from '../sim/repl-text';

const WAIT_MS = 3000;

/** A raw TCP client of the REPL that waits, with a deadline, for what it expects. */
class ReplClient {
  private received = '';
  private onData: (() => void) | undefined;

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.received += d.toString('latin1');
      this.onData?.();
    });
    sock.on('error', () => undefined);
  }

  static async connect(port: number): Promise<ReplClient> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    const client = new ReplClient(sock);
    await client.until('>');
    return client;
  }

  send(text: string): void {
    this.sock.write(text, 'latin1');
  }

  /** Waits until `text` has arrived; returns everything up to and including it, and forgets it. */
  until(text: string, timeoutMs = WAIT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const at = this.received.indexOf(text);
        if (at < 0) return false;
        const got = this.received.slice(0, at + text.length);
        this.received = this.received.slice(at + text.length);
        this.onData = undefined;
        clearTimeout(timer);
        resolve(got);
        return true;
      };
      const timer = setTimeout(() => {
        this.onData = undefined;
        reject(new Error(`no ${JSON.stringify(text)} within ${timeoutMs} ms; got ${JSON.stringify(this.received)}`));
      }, timeoutMs);
      if (!check()) this.onData = () => { check(); };
    });
  }

  /** Sends a line and returns what came back up to the next prompt. */
  async line(text: string): Promise<string> {
    this.send(text + '\n');
    return this.until('\r\n>');
  }

  close(): void {
    this.sock.destroy();
  }
}

describe('REPL of the simulated board', () => {
  let interp: Interpreter<SimBoard>;
  let server: ReplServer;
  let client: ReplClient;
  const hostLog: string[] = [];

  before(async () => {
    interp = new Interpreter<SimBoard>({
      name: 'repl-test',
      create: (log) => createSimBoard({ board: { log }, chip: { network: { mode: 'map', routes: {} } } }),
    });
    interp.onOutput((line) => hostLog.push(line));
    server = await ReplServer.listen(interp);
    client = await ReplClient.connect(server.port);
  });

  after(async () => {
    client.close();
    await server.close();
    await interp.close();
  });

  test('echoes a typed line and prints its value as =value', async () => {
    assert.equal(await client.line('1+2'), '1+2\r\n=3\r\n>');
    assert.equal(await client.line('[1,"a",{x:1}]'), '[1,"a",{x:1}]\r\n=[ 1, \r\n  "a", \r\n  { x: 1 }\r\n ]\r\n>');
  });

  test('a line starting with DLE runs without echo and without its value', async () => {
    client.send('\x10var dleVar = 5\n');
    assert.equal(await client.line('dleVar * 2'), 'dleVar * 2\r\n=10\r\n>');
  });

  test('input accumulates until its brackets balance, ignoring brackets in strings', async () => {
    client.send('function twice(x) {\n');
    assert.equal(await client.until(':'), 'function twice(x) {\r\n:');
    await client.line('  return x * 2; }');
    assert.match(await client.line('twice(21)'), /=42\r\n>$/);
    assert.match(await client.line("'(' + ')(' + `${'{'}`"), /="\(\)\(\{"\r\n>$/);
  });

  test('ESC LF continues a line and ESC [ n d line numbers are ignored, as the CLI sends them', async () => {
    client.send('\x10\x1b[2dvar cont = 1 +\x1b\n 2;\n');
    assert.match(await client.line('cont'), /^cont\r\n=3\r\n>$/);
  });

  test('Ctrl-C clears the input line', async () => {
    client.send('abc\x03');
    assert.equal(await client.until('>'), 'abc\r\x1b[J>');
    assert.equal(await client.line('1'), '1\r\n=1\r\n>');
  });

  test('an uncaught error is printed and the board carries on', async () => {
    assert.match(await client.line('noSuchThing.x'), /^noSuchThing\.x\r\nUncaught ReferenceError: noSuchThing is not defined\r\n>$/);
    client.send("setTimeout(function () { throw new Error('later'); }, 1)\n");
    await client.until('\r\x1b[JUncaught Error: later\r\n>');
    assert.match(await client.line('2+2'), /=4\r\n>$/);
    assert.ok(hostLog.includes('Uncaught Error: later'));
  });

  test("the board's printed lines reach every client and the host log", async () => {
    const other = await ReplClient.connect(server.port);
    try {
      client.send("setTimeout(function () { print('tick', 7); }, 1)\n");
      // The prompt is erased, the line printed, the prompt shown again.
      await client.until('\r\x1b[Jtick 7\r\n>');
      await other.until('\r\x1b[Jtick 7\r\n>');
      assert.ok(hostLog.includes('tick 7'));
    } finally {
      other.close();
    }
  });

  test('echo(0) turns echo and values off, echo(1) back on', async () => {
    client.send('echo(0)\n');
    await client.until('echo(0)\r\n');
    client.send('12345\n');
    client.send('echo(1)\n');
    assert.equal(await client.until('>'), '=undefined\r\n>');
  });

  test("save() stores the code and fires E.on('init'); reset() forgets; load() restores and fires it again", async () => {
    // As the CLI does before an upload: what save() writes is only what runs after this.
    assert.match(await client.line('reset()'), /Espruino 2v29/);
    await client.line('var n = 42;');
    await client.line("E.on('init', function () { print('init ' + n); });");
    client.send('save()\n');
    await client.until('init 42\r\n>');
    assert.match(interp.saved ?? '', /var n = 42/);

    assert.match(await client.line('reset()'), /Espruino 2v29/);
    assert.equal(await client.line('typeof n'), 'typeof n\r\n="undefined"\r\n>');

    client.send('load()\n');
    const loaded = await client.until('init 42\r\n>');
    assert.match(loaded, /Loading \d+ bytes from flash\.\.\./);
    assert.match(await client.line('n'), /=42\r\n>$/);
  });

  test('power-cycling from the host restarts the board and the W5500, then runs the saved code', async () => {
    const chipBefore = interp.current.chip;
    interp.reset();
    assert.equal(interp.board.global.n, undefined);
    const inits = hostLog.filter((l) => l === 'init 42').length;
    interp.boot();
    assert.notEqual(interp.current.chip, chipBefore);
    assert.equal(interp.board.global.n, 42);
    await client.until('init 42\r\n>');
    assert.equal(hostLog.filter((l) => l === 'init 42').length, inits + 1);
  });

  test('reset(true) erases the saved code: load() then starts an empty board', async () => {
    assert.match(await client.line('reset(true)'), /Erasing saved code\.\r\nDone!/);
    assert.equal(interp.saved, undefined);
    await client.line('load()');
    assert.equal(await client.line('typeof n'), 'typeof n\r\n="undefined"\r\n>');
  });

  test("reset() fires E.on('kill') first; a power cut does not", async () => {
    await client.line("E.on('kill', function () { print('killed'); });");
    let from = hostLog.length;
    await client.line('reset()');
    await client.until('killed\r\n>');
    assert.deepEqual(hostLog.slice(from).filter((l) => l === 'killed'), ['killed']);

    await client.line("E.on('kill', function () { print('killed'); });");
    from = hostLog.length;
    interp.boot();
    assert.equal(await client.line('1'), '1\r\n=1\r\n>');
    assert.ok(!hostLog.slice(from).includes('killed'));
  });

  test('refuses to serve anywhere but loopback', async () => {
    await assert.rejects(ReplServer.listen(interp, { host: '0.0.0.0' }), /loopback only/);
  });
});

describe('REPL text rules', () => {
  test('brackets count outside strings, templates, comments and regular expressions', () => {
    assert.equal(countBrackets('function f(x) {'), 2 - 1);
    assert.equal(countBrackets("'(' + \"[\" + `{${'('}`"), 0);
    assert.equal(countBrackets('var r = /\\(/.test(s); // ('), 0);
    assert.equal(countBrackets('x = a / (b'), 1);
    assert.equal(countBrackets('/* { */ f(1)'), 0);
  });

  test('values print as Espruino prints them after =', () => {
    assert.equal(formatResult({}), '{  }');
    assert.equal(formatResult([]), '[  ]');
    assert.equal(formatResult({ a: 1, b: [1, 2], c: { d: 'e' } }), '{ a: 1, \n  b: [ 1, 2 ], \n  c: { \n    d: "e"\n   }\n }');
    assert.equal(formatResult(function (a: number, b: number) { return a + b; }), 'function (a,b) { ... }');
    assert.equal(formatResult('a\nb'), '"a\\nb"');
    assert.equal(formatResult(undefined), 'undefined');
  });
});
