// sim/board.ts's board (SPI2, CS B10, RST B1, INT A8, wired to the W5500 emulator) with the Espruino
// globals installed in this realm, so the driver runs as TypeScript here: for driver tests and the bench.
import net from 'node:net';
import { createSimBoard } from '../../sim/board.ts';
import type { Board } from '../../sim/espruino.ts';
import type { W5500 as Chip, W5500Options as ChipOptions } from '../../sim/w5500/index.ts';
import { W5500, type W5500Options } from '../../src/net/w5500.ts';

export interface RigOptions {
  /** Map-mode routes: virtual 'ip:port' → '127.0.0.1:port'. */
  routes?: Record<string, string>;
  serial?: string;
  chip?: Partial<ChipOptions>;
}

export interface Rig {
  board: Board;
  chip: Chip;
  /** The Espruino globals (SPI2, B10, A8...). */
  g: any;
  /** A driver on SPI2/B10 with RST on B1; opts added. Closed by dispose(). */
  driver(opts?: Partial<W5500Options>): W5500;
  /** What the emulator saw a driver do that a correct one does not. */
  anomalies(): Record<string, number>;
  dispose(): Promise<void>;
}

export async function rig(opts: RigOptions = {}): Promise<Rig> {
  const sim = createSimBoard({
    board: { serial: opts.serial },
    chip: { ...opts.chip, network: { mode: 'map', routes: opts.routes ?? {} } },
  });
  const { board, chip } = sim;
  // Node's timers stay: the emulator's host sockets run on them in this realm
  const uninstall = board.install(globalThis, { timers: false });
  const g = globalThis as any;
  const drivers: W5500[] = [];
  return {
    board, chip, g,
    driver(o = {}) {
      const w = new W5500(g.SPI2, { cs: g.B10, rst: g.B1, ...o });
      drivers.push(w);
      return w;
    },
    anomalies: () => ({ ...chip.anomalies.counts }),
    async dispose() {
      for (const w of drivers) w.close();
      await new Promise((r) => setTimeout(r, 5)); // 'close' events queued by the driver
      uninstall();
      await sim.dispose();
    },
  };
}

/** Waits until check() holds; rejects after ms. */
export async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A TCP echo server on 127.0.0.1; `ended` counts connections that got a FIN from the client. */
export async function echoServer(): Promise<{ port: number; ended: number; close(): Promise<void> }> {
  const conns = new Set<net.Socket>();
  const state = { port: 0, ended: 0, close: async () => {} };
  const server = net.createServer((s) => {
    conns.add(s);
    s.on('end', () => state.ended++);
    s.on('error', () => {});
    s.on('close', () => conns.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = () => new Promise<void>((r) => {
    for (const s of conns) s.destroy();
    server.close(() => r());
  });
  return state;
}

/** n bytes that do not repeat with any short period. */
export function pattern(n: number): Uint8Array {
  const d = new Uint8Array(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    d[i] = x >>> 24;
  }
  return d;
}

/** The first n bytes of 'data' events; rejects after ms. */
export function collect(sock: { on(e: string, fn: (d: Uint8Array) => void): unknown }, n: number, ms = 10000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const out = new Uint8Array(n);
    let at = 0;
    const t = setTimeout(() => reject(new Error(`got ${at} of ${n} bytes in ${ms} ms`)), ms);
    sock.on('data', (d: Uint8Array) => {
      if (at >= n) return;
      out.set(d.subarray(0, n - at), at);
      at += Math.min(d.length, n - at);
      if (at === n) {
        clearTimeout(t);
        resolve(out);
      }
    });
  });
}
