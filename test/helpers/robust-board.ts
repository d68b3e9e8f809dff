// The robust MQTT client as firmware: src/mqtt/robust + the network layer (W5500 driver, DHCP, DNS)
// built as flashed (./firmware.ts), evaluated in the simulated board's Espruino context, the W5500
// emulator carrying its TCP/UDP to servers on 127.0.0.1 through map-mode routes. Tests inject
// faults through the emulator (chip.faults) and the broker process, and watch the firmware objects.
import { createSimBoard } from '../../sim/board.ts';
import type { Board } from '../../sim/espruino.ts';
import type { W5500 as ChipEmulator, RouteList } from '../../sim/w5500/index.ts';
import { withTimeout } from './client-util.ts';
import { buildFirmware, startDriver, type Fw } from './firmware.ts';

export type { Fw };

export const BOARD_NET = { ip: '192.168.1.2', subnet: '255.255.255.0', gateway: '192.168.1.1' };
export const BROKER_IP = '192.168.1.10';

export interface RobustBoardOptions {
  /** Map-mode routes, e.g. { '192.168.1.10:1883': '127.0.0.1:41234' } or a RouteList. */
  routes: Record<string, string> | RouteList;
  /** Static address for the chip (default BOARD_NET); null: none (DHCP sets it). */
  ip?: typeof BOARD_NET | null;
  /** Chip TCP retransmission: RTR ms and RCR (default 50 ms × 2: a dead peer is found in ~0.4 s). */
  retryTime?: number;
  retryCount?: number;
  log?: (line: string) => void;
}

export interface RobustBoard {
  board: Board;
  chip: ChipEmulator;
  driver: Fw;
  fw: Fw;
  /** A firmware RobustClient: a fresh W5500 TCP socket per attempt (tcpOpts, e.g. a resolver),
   *  the driver as its link source; `made` counts the sockets it asked for. */
  client(opts: Record<string, unknown>, tcpOpts?: Record<string, unknown>): Fw;
  /** Sockets made for each client (attempts), in client order. */
  made: Map<Fw, number>;
  /** The chip socket number of a client's current connection. */
  socketOf(c: Fw): number;
  dispose(): Promise<void>;
}

export async function startRobustBoard(o: RobustBoardOptions): Promise<RobustBoard> {
  // Leaves `FW = { W5500, Dhcp, Dns, MQTTClient, RobustClient }` on the board. The host reads the
  // transport, in-flight table and queues (socketOf, pending, robust-link/-soak tests): keep those names.
  const code = await buildFirmware('FW', [
    "W5500 from './src/net/w5500'", "Dhcp from './src/net/dhcp'", "Dns from './src/net/dns'",
    "MQTTClient from './src/mqtt/simple'", "RobustClient from './src/mqtt/robust'",
  ], { keep: ['_tr', '_fl', '_q', '_qb', '_q2'] });
  const sim = createSimBoard({ board: { log: o.log }, chip: { network: { mode: 'map', routes: o.routes } } });
  const { board, chip } = sim;
  sim.run(code, 'robust.js');
  const g = board.global as Fw;
  const fw = g.FW;
  const driver = await startDriver(fw, g, {
    mac: '02:00:00:5e:10:07', retryTime: o.retryTime ?? 50, retryCount: o.retryCount ?? 2, pollMs: 50,
  }, { ip: o.ip === null ? undefined : o.ip ?? BOARD_NET, dispose: sim.dispose });
  const clients: Fw[] = [];
  const made = new Map<Fw, number>();
  const dispose = async () => {
    for (const c of clients) {
      try {
        c.disconnect();
      } catch { /* already gone */ }
    }
    await new Promise((r) => setTimeout(r, 20));
    try {
      driver.close();
    } catch { /* already closed */ }
    await sim.dispose();
  };
  return {
    board, chip, driver, fw, made, dispose,
    client(opts, tcpOpts) {
      const c: Fw = new fw.RobustClient({ host: BROKER_IP, link: driver, ...opts }, () => {
        made.set(c, (made.get(c) ?? 0) + 1);
        return driver.tcp(tcpOpts);
      });
      clients.push(c);
      made.set(c, 0);
      return c;
    },
    socketOf(c) {
      return c._tr.n;
    },
  };
}

export interface Happening { t: number; ev: string; a?: any; b?: any }

/** Records a client's events (with their first two arguments) and lets a test wait for one. */
export class Recorder {
  readonly log: Happening[] = [];
  private waiters: (() => void)[] = [];
  /** checkMsg() as seen from inside each 'connected' handler. */
  readonly checkOnConnect: boolean[] = [];

  constructor(c: Fw, events = ['connected', 'disconnected', 'reconnect', 'error', 'giveup', 'kicked']) {
    for (const ev of events) {
      c.on(ev, (a: any, b: any) => {
        if (ev == 'connected') this.checkOnConnect.push(c.checkMsg());
        this.log.push({ t: Date.now(), ev, a, b });
        for (const w of this.waiters.slice()) w();
      });
    }
  }

  count(ev: string): number {
    return this.log.filter((h) => h.ev == ev).length;
  }

  /** Wait until `ev` has happened n times in all. */
  wait(ev: string, n = 1, ms = 10000): Promise<Happening> {
    return withTimeout(`${n} × '${ev}' (have ${this.count(ev)})`, ms, (resolve) => {
      const check = () => {
        const l = this.log.filter((h) => h.ev == ev);
        if (l.length < n) return;
        this.waiters = this.waiters.filter((x) => x !== check);
        resolve(l[n - 1]);
      };
      this.waiters.push(check);
      check();
    });
  }
}

/** Poll `cond` every 20 ms until true, or fail after ms. */
export function until(what: string, cond: () => boolean, ms = 10000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (cond()) return resolve();
    const iv = setInterval(() => {
      if (!cond()) return;
      clearInterval(iv);
      clearTimeout(t);
      resolve();
    }, 20);
    const t = setTimeout(() => {
      clearInterval(iv);
      reject(new Error(`timed out after ${ms} ms: ${what}`));
    }, ms);
  });
}

/** The in-flight table and queue of a firmware client, as counts. */
export function pending(c: Fw): { inflight: number; queued: number; queuedBytes: number } {
  return { inflight: Object.keys(c._fl).length, queued: c._q.length, queuedBytes: c._qb };
}
