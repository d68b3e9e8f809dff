// The network layer running as firmware on the simulated board, against the W5500 emulator: src/net
// (driver, DHCP, DNS) is bundled with the flashing settings and evaluated in the board's Espruino
// context, so what runs is what would be flashed; the test drives it from Node through the objects.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JavaScript module without types
import { espruinoTarget } from '../../scripts/esbuild-espruino.js';
import { createSimBoard } from '../../sim/board.ts';
import type { Board } from '../../sim/espruino.ts';
import type { W5500 as ChipEmulator, NetworkOptions } from '../../sim/w5500/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let firmware: Promise<string> | undefined;

/** src/net as one script that leaves `NET = { W5500, Dhcp, Dns }` on the board. Built once per process. */
export function netFirmware(): Promise<string> {
  firmware ??= build({
    ...espruinoTarget,
    stdin: {
      contents: "export { W5500 } from './src/net/w5500'; export { Dhcp } from './src/net/dhcp'; export { Dns } from './src/net/dns';",
      resolveDir: ROOT, loader: 'ts', sourcefile: 'net-entry.ts',
    },
    bundle: true, format: 'iife', globalName: 'NET', write: false, logLevel: 'silent',
  }).then((r) => r.outputFiles![0].text);
  return firmware;
}

/** Firmware-side objects, typed loosely: they live in the board's realm. */
export type Fw = any;

export interface NetBoard {
  board: Board;
  chip: ChipEmulator;
  /** The board's `NET` exports. */
  net: { W5500: Fw; Dhcp: Fw; Dns: Fw };
  /** The driver, initialised. */
  driver: Fw;
  dispose(): Promise<void>;
}

export interface NetBoardOptions {
  network: NetworkOptions;
  mac?: string;
  /** Chip ARP/TCP retry time (ms) and count: an ARP probe takes about their product. */
  retryTime?: number;
  retryCount?: number;
}

export async function startNetBoard(o: NetBoardOptions): Promise<NetBoard> {
  const code = await netFirmware();
  const sim = createSimBoard({ chip: { network: o.network } });
  const { board, chip } = sim;
  sim.run(code, 'net.js');
  const g = board.global as Fw;
  const net = g.NET;
  // Wired as the app config is (sim/board.ts): CS B10, RSTn B1, INTn A8.
  const driver = new net.W5500(g.SPI2, {
    cs: g.B10, rst: g.B1, int: g.A8, mac: o.mac ?? '02:00:00:5e:10:01',
    retryTime: o.retryTime ?? 50, retryCount: o.retryCount ?? 2, pollMs: 20,
  });
  const dispose = async () => {
    try {
      driver.close();
    } catch { /* already closed */ }
    await sim.dispose();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('driver init did not finish within 5 s')), 5000);
      driver.init((err: Error | undefined) => {
        clearTimeout(t);
        if (err) reject(err);
        else resolve();
      });
    });
  } catch (e) {
    await dispose();
    throw e;
  }
  return { board, chip, net, driver, dispose };
}

/** A copy of a firmware object in this realm (for deepEqual). */
export function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v));
}

/** Resolves with the arguments of the next `event` on a firmware emitter, or rejects after `ms`. */
export function nextEvent(emitter: Fw, event: string, ms: number): Promise<any[]> {
  return new Promise((resolve, reject) => {
    let done = false;
    const t = setTimeout(() => {
      done = true;
      reject(new Error(`no '${event}' event within ${ms} ms`));
    }, ms);
    emitter.on(event, (a: unknown, b: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      resolve([a, b]);
    });
  });
}
