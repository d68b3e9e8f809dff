// The pub and sub apps as built (dist/*.js, minified, what gets flashed), with some settings changed
// as a user would edit them, running on simulated boards against an aedes broker and the demo's DHCP
// server, all on loopback.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { settingsOf } from '../../sim/app-settings.ts';
import { createSimBoard, type SimBoard } from '../../sim/board.ts';
import type { RouteSpec } from '../../sim/w5500/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let built = false;

/** Builds dist/ once per process (rollup -c, as npm run build does). */
export function buildApps(): void {
  if (built) return;
  const r = spawnSync(process.execPath, ['node_modules/rollup/dist/bin/rollup', '-c', '--silent'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rollup -c failed: ${r.stderr}`);
  built = true;
}

/** dist/<app>.js with settings replaced (NAME -> JS source text). */
export function appBundle(app: 'pub' | 'sub', changes: Record<string, string> = {}): string {
  buildApps();
  return settingsOf(readFileSync(`${ROOT}/dist/${app}.js`, 'utf8')).with(changes);
}

export const BROKER_VIRTUAL = '192.168.1.10:1883';

/** aedes on 127.0.0.1; records which client ids connected and disconnected. */
export class TestBroker {
  readonly events: string[] = [];
  port = 0;
  private aedes!: Aedes;
  private server!: net.Server;
  private readonly socks = new Set<net.Socket>();

  static async start(): Promise<TestBroker> {
    const b = new TestBroker();
    b.aedes = await Aedes.createBroker();
    b.aedes.on('client', (c) => b.events.push(`connect ${c.id}`));
    b.aedes.on('clientDisconnect', (c) => b.events.push(`disconnect ${c.id}`));
    b.server = net.createServer((s) => {
      b.socks.add(s);
      s.on('close', () => b.socks.delete(s));
      b.aedes.handle(s);
    });
    await new Promise<void>((ok) => b.server.listen(0, '127.0.0.1', () => ok()));
    b.port = (b.server.address() as net.AddressInfo).port;
    return b;
  }

  get connected(): number {
    return this.aedes.connectedClients;
  }

  route(): RouteSpec {
    return { from: BROKER_VIRTUAL, to: `127.0.0.1:${this.port}`, proto: 'tcp' };
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((ok) => this.server.close(() => ok()));
    for (const s of this.socks) s.destroy();
    await new Promise<void>((ok) => this.aedes.close(() => ok()));
    await closed;
  }
}

/** Resolves when `lines` (from index `from`) has a line matching `re`; rejects after `ms`. */
export function waitForLine(lines: string[], re: RegExp, ms: number, from = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = setInterval(() => {
      const hit = lines.slice(from).find((l) => re.test(l));
      if (hit !== undefined || Date.now() - t0 > ms) {
        clearInterval(poll);
        if (hit !== undefined) resolve(hit);
        else reject(new Error(`no line matching ${re} within ${ms} ms; the log:\n${lines.join('\n')}`));
      }
    }, 10);
  });
}

export interface AppBoard {
  sim: SimBoard;
  lines: string[];
  dispose(): Promise<void>;
}

/** A simulated board (sim/board.ts) with `code` loaded, not yet booted. */
export function appBoard(code: string, routes: RouteSpec[], serial?: string): AppBoard {
  const lines: string[] = [];
  const sim = createSimBoard({ board: { serial, log: (l) => lines.push(l) }, chip: { network: { mode: 'map', routes } } });
  sim.run(code, 'app.js');
  return { sim, lines, dispose: () => sim.dispose() };
}

/** Watches the firmware set and has not cleared (the simulator keeps them privately). */
export function liveWatches(sim: SimBoard): number {
  return (sim.board.watches as unknown as { watches: unknown[] }).watches.length;
}

/** Chip sockets not CLOSED. */
export function openSockets(sim: SimBoard): number[] {
  return [0, 1, 2, 3, 4, 5, 6, 7].filter((n) => sim.chip.inspect(n).state !== 0);
}
