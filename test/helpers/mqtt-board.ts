// The MQTT client as firmware: src/mqtt/simple + the W5500 driver bundled and minified with the
// flashing settings, evaluated in the simulated board's Espruino context, with the W5500 emulator on
// SPI2 carrying its TCP to a broker on 127.0.0.1. Tests drive the firmware objects from Node.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JavaScript module without types
import { espruinoTarget } from '../../scripts/esbuild-espruino.js';
import { Board } from '../../sim/espruino.ts';
import { W5500 as ChipEmulator } from '../../sim/w5500/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let firmware: Promise<string> | undefined;

/** One script leaving `FW = { W5500, MQTTClient }` on the board. Built once per process. */
export function mqttFirmware(): Promise<string> {
  firmware ??= build({
    ...espruinoTarget,
    stdin: {
      contents: "export { W5500 } from './src/net/w5500'; export { MQTTClient } from './src/mqtt/simple';",
      resolveDir: ROOT, loader: 'ts', sourcefile: 'mqtt-entry.ts',
    },
    bundle: true, minify: true, format: 'iife', globalName: 'FW', write: false, logLevel: 'silent',
  }).then((r) => r.outputFiles![0].text);
  return firmware;
}

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
  const code = await mqttFirmware();
  const board = new Board({ log });
  const routes: Record<string, string> = {};
  for (const [virtual, real] of Object.entries(ports)) routes[`${BROKER_IP}:${virtual}`] = `127.0.0.1:${real}`;
  const chip = new ChipEmulator({ network: { mode: 'map', routes } });
  board.attachSpi('SPI2', chip, 'B10');
  board.pin('B1').onOutput((level) => { if (level === 0) chip.hardwareReset(); });
  board.pin('A8').drive(chip.intLevel);
  chip.onInt((level) => board.pin('A8').drive(level));
  board.run(code, 'mqtt.js');
  const g = board.global as any;
  const fw = g.FW;
  const driver = new fw.W5500(g.SPI2, { cs: g.B10, rst: g.B1, int: g.A8, retryTime: 50, retryCount: 2 });
  const clients: any[] = [];
  const dispose = async () => {
    for (const c of clients) if (c.connected) c.disconnect();
    await new Promise((r) => setTimeout(r, 20));
    driver.close();
    board.dispose();
    await chip.close();
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
  driver.setIP(BOARD_NET);
  return {
    board, chip, driver, fw, dispose,
    client(opts) {
      const c = new fw.MQTTClient({ host: BROKER_IP, ...opts }, () => driver.tcp());
      clients.push(c);
      return c;
    },
  };
}
