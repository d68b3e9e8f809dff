// Firmware for the simulated board, built as the flashed bundles are (scripts/esbuild-espruino.js:
// espruinoTarget, minified, members named _x shortened), so tests exercise what ships; and the W5500
// driver of such firmware, wired as the app config is (sim/board.ts: SPI2, CS B10, RSTn B1, INTn A8).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JavaScript module without types
import { espruinoTarget } from '../../scripts/esbuild-espruino.js';
import { withTimeout } from './client-util.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const built = new Map<string, Promise<string>>();

export interface FirmwareOptions {
  /** `_` members the host reads on firmware objects: left unshortened so tests can name them. */
  keep?: string[];
}

/**
 * One script that leaves `globalName = { ...exports }` on the board, built once per process and key.
 * `exports`: lines like "W5500 from './src/net/w5500'" (paths from the repository root).
 */
export function buildFirmware(globalName: string, exports: string[], o: FirmwareOptions = {}): Promise<string> {
  const keep = o.keep ?? [];
  const key = JSON.stringify([globalName, exports, keep]);
  let code = built.get(key);
  if (!code) {
    code = build({
      ...espruinoTarget,
      stdin: {
        contents: exports.map((e) => `export { ${e.replace(/ from /, ' } from ')};`).join('\n'),
        resolveDir: ROOT, loader: 'ts', sourcefile: `${globalName}-entry.ts`,
      },
      bundle: true, minify: true, legalComments: 'none', mangleProps: /^_/,
      reserveProps: keep.length ? new RegExp(`^(${keep.join('|')})$`) : undefined,
      // Espruino's built-in modules stay require() calls, as in the rollup bundles
      external: ['NetworkJS'],
      format: 'iife', globalName, write: false, logLevel: 'silent',
    }).then((r) => r.outputFiles![0].text);
    built.set(key, code);
  }
  return code;
}

/** Firmware objects (the board's realm), typed loosely. */
export type Fw = any;

export interface StartDriverOptions {
  /** Static address, set once initialised. */
  ip?: Record<string, unknown>;
  /** Called (and awaited) if init fails, before the error is thrown: e.g. the board's dispose. */
  dispose?: () => Promise<void>;
  /** Bound on init (default 5 s). */
  ms?: number;
}

/**
 * A firmware W5500 (`fw.W5500`) on the board whose context global is `global`, created with `opts`
 * (retryTime, mac, pollMs...), initialised within a bounded wait, then given `o.ip` if set. On
 * failure the driver is closed, `o.dispose` awaited and the error thrown.
 */
export async function startDriver(fw: Fw, global: Fw, opts: Record<string, unknown>, o: StartDriverOptions = {}): Promise<Fw> {
  const driver = new fw.W5500(global.SPI2, { cs: global.B10, rst: global.B1, int: global.A8, ...opts });
  try {
    await withTimeout('driver init', o.ms ?? 5000, (resolve, reject) => {
      driver.init((err: Error | undefined) => (err ? reject(err) : resolve(undefined)));
    });
  } catch (e) {
    try {
      driver.close();
    } catch { /* never initialised */ }
    await o.dispose?.();
    throw e;
  }
  if (o.ip) driver.setIP(o.ip);
  return driver;
}
