// The MQTT client as firmware: src/mqtt/simple + the W5500 driver built as flashed (./firmware.ts),
// evaluated in the simulated board's Espruino context, with the W5500 emulator on SPI2 carrying its
// TCP to a broker on 127.0.0.1. Tests drive the firmware objects from Node.
import { createSimBoard } from '../../sim/board.ts';
import type { Board } from '../../sim/espruino.ts';
import type { W5500 as ChipEmulator } from '../../sim/w5500/index.ts';
import { buildFirmware, startDriver } from './firmware.ts';

/** The board's IP, and the virtual broker address routed to the real broker. */
export const BOARD_NET = { ip: '192.168.1.2', subnet: '255.255.255.0', gateway: '192.168.1.1' };
export const BROKER_IP = '192.168.1.10';

export interface MqttBoard {
  board: Board;
  chip: ChipEmulator;
  /** The firmware's driver (initialised, IP set) and exports; objects of the board's realm. */
  driver: any;
  fw: { W5500: any; MQTTClient: any };
  /** A firmware MQTTClient with a fresh W5500 TCP socket per connection. */
  client(opts: Record<string, unknown>): any;
  dispose(): Promise<void>;
}

/** Board + chip; `ports` maps virtual broker ports (on BROKER_IP) to real ports on 127.0.0.1. */
export async function startMqttBoard(ports: Record<number, number>, log?: (line: string) => void): Promise<MqttBoard> {
  // _tr: simple-board.test.ts closes a client's transport under it
  const code = await buildFirmware('FW', ["W5500 from './src/net/w5500'", "MQTTClient from './src/mqtt/simple'"], { keep: ['_tr'] });
  const routes: Record<string, string> = {};
  for (const [virtual, real] of Object.entries(ports)) routes[`${BROKER_IP}:${virtual}`] = `127.0.0.1:${real}`;
  const sim = createSimBoard({ board: { log }, chip: { network: { mode: 'map', routes } } });
  const { board, chip } = sim;
  sim.run(code, 'mqtt.js');
  const g = board.global as any;
  const fw = g.FW;
  const driver = await startDriver(fw, g, { retryTime: 50, retryCount: 2 }, { ip: BOARD_NET, dispose: sim.dispose });
  const clients: any[] = [];
  return {
    board, chip, driver, fw,
    async dispose() {
      for (const c of clients) if (c.connected) c.disconnect();
      await new Promise((r) => setTimeout(r, 20));
      driver.close();
      await sim.dispose();
    },
    client(opts) {
      const c = new fw.MQTTClient({ host: BROKER_IP, ...opts }, () => driver.tcp());
      clients.push(c);
      return c;
    },
  };
}
