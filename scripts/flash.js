// npm run flash -- <app> --port <port> [--board BOARD] [--baud N] [--no-watch] [--no-build]
//
// Builds the bundles, uploads dist/<app>.js to an Espruino with the `espruino` CLI, saves it (so it
// starts on power-up through E.on('init')), and stays connected showing the board's REPL log
// (type into it; Ctrl-C twice exits). The port is a serial device (/dev/ttyACM0, COM3) or a REPL
// over TCP (tcp://host:port: an Espruino with a telnet console, or the simulated board from
// sim/serve-board.ts). --no-watch exits once the upload is saved (CI, tests); --file flashes any
// bundle instead of an app.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'node_modules', 'espruino', 'bin', 'espruino-cli.js');
// The CLI only reports an upload finished when it sent more than one 512-byte block; a smaller
// upload hangs it. Whitespace inside save()'s brackets pads it and costs the board nothing.
const CLI_BLOCK = 512;
const PAD_TO = CLI_BLOCK + 64;

const USAGE = `usage: npm run flash -- <app> --port <port> [options]
  <app>            one of the apps in src/apps (${listApps().join(', ') || 'none found'})
  --port, -p P     serial port (/dev/ttyACM0, /dev/ttyUSB0, COM3) or tcp://host:port
  --board B        board name (PICO, ESPRUINOWIFI, ESP32…) or board JSON file, passed to the espruino CLI
  --baud, -b N     serial baud rate (USB boards ignore it)
  --no-watch       exit after the upload is saved instead of showing the board's log
  --no-build       flash the existing dist/<app>.js without running npm run build
  --file F         flash the bundle F instead of an app (no build)`;

function listApps() {
  const dir = join(ROOT, 'src', 'apps');
  if (!existsSync(dir)) return [];
  // The same rule as rollup.config.js: one bundle per app file.
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.includes('config'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
}

function fail(message) {
  process.stderr.write(`flash: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { watch: true, build: true };
  const value = (i, flag) => {
    const v = argv[i];
    if (v === undefined || v.startsWith('-')) fail(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port' || a === '-p') opts.port = value(++i, a);
    else if (a === '--board') opts.board = value(++i, a);
    else if (a === '--baud' || a === '-b') opts.baud = value(++i, a);
    else if (a === '--no-watch') opts.watch = false;
    else if (a === '--no-build') opts.build = false;
    else if (a === '--file') opts.file = value(++i, a);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option '${a}'\n${USAGE}`);
    else if (opts.app === undefined) opts.app = a;
    else fail(`one app at a time (got '${opts.app}' and '${a}')`);
  }
  return opts;
}

function checkPort(port) {
  if (port === undefined) {
    fail('missing --port: give the board\'s serial port (--port /dev/ttyACM0 on Linux, /dev/tty.usbmodem… ' +
      'on macOS, COM3 on Windows) or a REPL over TCP (--port tcp://127.0.0.1:2323)');
  }
  if (port.startsWith('tcp://')) {
    if (!/^tcp:\/\/[^:/\s]+:\d{1,5}$/.test(port)) fail(`bad port '${port}': expected tcp://host:port`);
  } else if (port.startsWith('/dev/') && !existsSync(port)) {
    fail(`serial port ${port} does not exist: is the board plugged in? (ls /dev/ttyACM* /dev/ttyUSB*)`);
  }
}

// The bundle to flash: --file as given, or dist/<app>.js once the app name is known to be valid.
function target(opts) {
  if (opts.file !== undefined) {
    if (opts.app !== undefined) fail('give an app or --file, not both');
    if (!existsSync(opts.file)) fail(`no such bundle: ${opts.file}`);
    return { bundle: resolve(opts.file), build: false };
  }
  const apps = listApps();
  if (opts.app === undefined) fail(`which app? one of: ${apps.join(', ')}\n${USAGE}`);
  if (!apps.includes(opts.app)) fail(`unknown app '${opts.app}': the apps are ${apps.join(', ')} (src/apps)`);
  return { bundle: join(ROOT, 'dist', `${opts.app}.js`), build: opts.build };
}

function build(bundle) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const built = spawnSync(npm, ['run', 'build'], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
  if (built.status !== 0) fail('npm run build failed (see above); nothing was flashed');
  if (!existsSync(bundle)) fail(`the build did not produce ${bundle}`);
}

// Lines of the CLI's output that mean it never reached the board (it still exits 0).
const CONNECT_FAILURES = [/RECEIVE ERROR:.*/, /Unable to connect!?/, /Error: No Ports Found/, /Port named .* not found/];

function flash(opts, bundle) {
  // Upload a private copy: in watch mode the CLI re-uploads its file whenever it changes, and a
  // later `npm run build` must not re-flash the board behind the user's back.
  const dir = mkdtempSync(join(tmpdir(), 'flash-'));
  const copy = join(dir, 'app.js');
  copyFileSync(bundle, copy);
  const size = statSync(copy).size;
  const save = `save(${' '.repeat(Math.max(0, PAD_TO - size))})`;
  const args = [CLI, '--no-ble', '-p', opts.port];
  if (opts.baud !== undefined) {
    if (!/^\d+$/.test(opts.baud)) fail(`--baud wants a number, got '${opts.baud}'`);
    args.push('-b', opts.baud);
  }
  if (opts.board !== undefined) args.push('--board', opts.board);
  if (opts.watch) args.push('-w');
  args.push(copy, '-e', save);

  const what = opts.app ?? bundle;
  process.stdout.write(`flash: sending ${what} (${size} bytes) to ${opts.port} and saving it` +
    (opts.watch ? '; then showing the board\'s log (Ctrl-C twice to exit)\n' : '\n'));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: [opts.watch ? 'inherit' : 'ignore', 'pipe', 'pipe'] });
  let uploaded = false;
  let failure;
  const scan = (text) => {
    if (text.includes('Upload Complete')) uploaded = true;
    for (const re of CONNECT_FAILURES) {
      const m = re.exec(text);
      if (m && failure === undefined) {
        failure = m[0];
        child.kill();
      }
    }
  };
  child.stdout.on('data', (d) => { process.stdout.write(d); scan(d.toString()); });
  child.stderr.on('data', (d) => { process.stderr.write(d); scan(d.toString()); });
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('close', (code) => {
    rmSync(dir, { recursive: true, force: true });
    if (failure !== undefined) fail(`could not reach the board on ${opts.port} (${failure.trim()})`);
    if (!uploaded) fail(`the upload to ${opts.port} did not complete (espruino CLI exited with ${code})`);
    process.exit(code ?? 1);
  });
}

const opts = parseArgs(process.argv.slice(2));
const { bundle, build: needsBuild } = target(opts);
checkPort(opts.port);
if (needsBuild) build(bundle);
else if (!existsSync(bundle)) fail(`${bundle} is missing: run npm run build (or drop --no-build)`);
flash(opts, bundle);
