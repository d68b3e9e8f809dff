// The network layer running as firmware on the simulated board, against the W5500 emulator: src/net
// (driver, DHCP, DNS) built as flashed (./firmware.ts) and evaluated in the board's Espruino
// context, so what runs is what would be flashed; the test drives it from Node through the objects.
import { createSimBoard } from '../../sim/board.ts';
import type { Board } from '../../sim/espruino.ts';
import type { W5500 as ChipEmulator, NetworkOptions } from '../../sim/w5500/index.ts';
import { buildFirmware, startDriver, type Fw } from './firmware.ts';

export type { Fw };

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
  const code = await buildFirmware('NET', ["W5500 from './src/net/w5500'", "Dhcp from './src/net/dhcp'", "Dns from './src/net/dns'"]);
  const sim = createSimBoard({ chip: { network: o.network } });
  const { board, chip } = sim;
  sim.run(code, 'net.js');
  const g = board.global as Fw;
  const net = g.NET;
  const driver = await startDriver(net, g, {
    mac: o.mac ?? '02:00:00:5e:10:01', retryTime: o.retryTime ?? 50, retryCount: o.retryCount ?? 2, pollMs: 20,
  }, { dispose: sim.dispose });
  const dispose = async () => {
    try {
      driver.close();
    } catch { /* already closed */ }
    await sim.dispose();
  };
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
