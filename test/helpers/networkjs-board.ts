// The W5500 registered as Espruino's NetworkJS device, on the simulated board: src/net (driver, DNS,
// networkjs), the MQTT client and the net/tls transport, built as flashed (./firmware.ts), run in the
// board's context; sim/networkjs.ts is Espruino's socket layer and its net/http/dgram/tls modules.
// Tests run firmware snippets with run().
import { createSimBoard, type SimBoard } from '../../sim/board.ts';
import { addNetworkJS, type SocketServer } from '../../sim/networkjs.ts';
import type { RouteList } from '../../sim/w5500/index.ts';
import { buildFirmware, startDriver } from './firmware.ts';

export const BOARD_IP = '192.168.1.2';
/** A host on the board's subnet: routes send its ports to servers on 127.0.0.1. */
export const SERVER_IP = '192.168.1.10';
export const DNS_IP = '192.168.1.53';

export interface NjsBoard {
  sim: SimBoard;
  /** Espruino's socket layer (trace its device calls with `ss.trace = []`). */
  ss: SocketServer;
  /** The board's global object (firmware values live here). */
  g: any;
  run(code: string): unknown;
  dispose(): Promise<void>;
}

export interface NjsBoardOptions {
  routes?: RouteList;
  log?: (line: string) => void;
  /** W5500 socket buffer sizes (KB each). */
  bufferKB?: number[];
}

/** Board + chip + driver (initialised, static IP, DNS at DNS_IP) + `ETH`, the registered device. */
export async function startNetworkJsBoard(o: NjsBoardOptions = {}): Promise<NjsBoard> {
  // Leaves `FW = { W5500, Dns, networkJs, MQTTClient, NetTransport }` on the board
  const code = await buildFirmware('FW', [
    "W5500 from './src/net/w5500'",
    "Dns from './src/net/dns'",
    "networkJs from './src/net/networkjs'",
    "MQTTClient from './src/mqtt/simple'",
    "NetTransport from './src/net/net-transport'",
  ]);
  const sim = createSimBoard({ board: { log: o.log }, chip: { network: { mode: 'map', routes: o.routes ?? {} } } });
  const ss = addNetworkJS(sim.board);
  sim.run(code, 'networkjs.js');
  const g = sim.board.global as any;
  const dispose = async () => {
    ss.stop();
    await sim.dispose();
  };
  g.DRV = await startDriver(g.FW, g, { retryTime: 50, retryCount: 2, closeMs: 500, bufferKB: o.bufferKB }, { dispose });
  sim.run(`DRV.setIP({ ip: '${BOARD_IP}', subnet: '255.255.255.0', gateway: '192.168.1.1', dns: ['${DNS_IP}'] });
    var DNS = new FW.Dns(DRV, function () { return DRV.getIP().dns; }, { timeoutMs: 500, retries: 0 });
    var ETH = FW.networkJs(DRV, { resolve: DNS.resolve });`);
  return {
    sim, ss, g, run: (c) => sim.run(c),
    async dispose() {
      try {
        g.DRV.close();
      } catch { /* already closed */ }
      await dispose();
    },
  };
}

/** Resolves once cond() is true (polled every 5 ms); rejects with `what` after ms. */
export function waitFor(cond: () => unknown, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      let ok = false;
      try {
        ok = !!cond();
      } catch { /* not yet */ }
      if (ok) resolve();
      else if (Date.now() > end) reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

/** A copy of a firmware value in this realm (for deepEqual). */
export function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v));
}
