// Boots one simulated board (a Pico wired to an emulated W5500, sim/board.ts) and serves its Espruino
// REPL on a loopback port, so the `espruino` CLI can flash it like a real board:
//
//   node --import tsx sim/serve-board.ts --name pub --route 192.168.1.10:1883=127.0.0.1:1883
//   [pub] REPL on tcp://127.0.0.1:40113
//   espruino --no-ble -p tcp://127.0.0.1:40113 dist/pub.js -e "save()"
//
// Every line the board prints goes to stdout as `[name] line`. SIGHUP power-cycles the board (the
// saved code starts again through E.on('init')); SIGINT/SIGTERM power it off and exit.
import { pathToFileURL } from 'node:url';
import { createSimBoard, type SimBoard, type SimBoardOptions } from './board';
import type { BoardOptions } from './espruino';
import { Interpreter } from './interpreter';
import { ReplServer } from './repl';
import type { RouteList, RouteSpec, W5500Options } from './w5500/index';

export interface ServeBoardOptions {
  /** Prefix of the log lines (default 'board'). */
  name?: string;
  /** REPL port on 127.0.0.1 (default 0: a free one). */
  port?: number;
  /** The emulator's route map (map mode): virtual 'ip:port' to loopback 'ip:port'. */
  routes?: RouteList;
  /** Board options (serial, temperature, …); its log is the interpreter's. */
  board?: Omit<BoardOptions, 'log'>;
  /** Chip options other than the network. */
  chip?: Omit<W5500Options, 'network' | 'log'>;
  /** Where printed lines go, already prefixed (default: stdout). */
  log?: (line: string) => void;
}

export interface ServedBoard {
  readonly name: string;
  readonly interpreter: Interpreter<SimBoard>;
  readonly repl: ReplServer;
  /** tcp://127.0.0.1:PORT, for `espruino -p`. */
  readonly url: string;
  readonly port: number;
  /** Stops the REPL and powers the board off. */
  close(): Promise<void>;
}

// The espruino CLI asks for process.env on connecting (print("<","<<",JSON.stringify(…),">>",">")):
// REPL traffic, not the board's log.
const CLI_QUERY = /^< << .* >> >$/;

export async function serveBoard(opts: ServeBoardOptions = {}): Promise<ServedBoard> {
  const name = opts.name ?? 'board';
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const simOptions = (boardLog: (line: string) => void): SimBoardOptions => ({
    board: { ...opts.board, log: boardLog },
    chip: { ...opts.chip, network: { mode: 'map', routes: opts.routes ?? [] }, log: (line) => log(`[${name}] w5500: ${line}`) },
  });
  const interpreter = new Interpreter<SimBoard>({ name, create: (boardLog) => createSimBoard(simOptions(boardLog)) });
  const unsubscribe = interpreter.onOutput((line) => {
    if (!CLI_QUERY.test(line)) log(`[${name}] ${line}`);
  });
  let repl: ReplServer;
  try {
    repl = await ReplServer.listen(interpreter, { port: opts.port });
  } catch (e) {
    await interpreter.close();
    throw e;
  }
  return {
    name,
    interpreter,
    repl,
    url: repl.url,
    port: repl.port,
    async close() {
      await repl.close();
      await interpreter.close();
      unsubscribe();
    },
  };
}

// ---- command line ----

const USAGE = `usage: node --import tsx sim/serve-board.ts [--name NAME] [--port PORT] [--route FROM=TO]... [--serial ID]
  --route 192.168.1.10:1883=127.0.0.1:1883   the emulated W5500 reaches FROM at loopback TO (repeatable)`;

function parseArgs(argv: string[]): ServeBoardOptions {
  const opts: ServeBoardOptions = {};
  const routes: RouteSpec[] = [];
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--name') opts.name = value(++i, a);
    else if (a === '--port') opts.port = Number(value(++i, a));
    else if (a === '--serial') opts.board = { ...opts.board, serial: value(++i, a) };
    else if (a === '--route') {
      const spec = value(++i, a);
      const eq = spec.indexOf('=');
      if (eq < 0) throw new Error(`--route wants FROM=TO, got '${spec}'\n${USAGE}`);
      routes.push({ from: spec.slice(0, eq), to: spec.slice(eq + 1) });
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument '${a}'\n${USAGE}`);
  }
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 0 && opts.port <= 65535)) {
    throw new Error(`--port wants a TCP port number, got '${String(opts.port)}'`);
  }
  opts.routes = routes;
  return opts;
}

async function main(argv: string[]): Promise<void> {
  const served = await serveBoard(parseArgs(argv));
  process.stdout.write(`[${served.name}] REPL on ${served.url}\n`);
  const stop = () => {
    served.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);
  process.on('SIGHUP', () => {
    process.stdout.write(`[${served.name}] power cycle\n`);
    served.interpreter.boot();
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`serve-board: ${e.message}\n`);
    process.exit(1);
  });
}
