// npm run demo: the pub and sub apps on two simulated boards, flashed through their REPL with the
// espruino CLI, talking MQTT through emulated W5500s to a broker on this machine, until the
// ten-message exchange completes. Exits 0 on success, 1 with the reason otherwise.
//
//   npm run demo [-- --faults] [--broker HOST:PORT] [--interval MS] [--set NAME=VALUE]... [--no-dhcp]
//                  [--timeout S] [--no-build] [--quiet]
//
// Each board's W5500 emulator maps the apps' broker address (BROKER:PORT in their settings) to the
// broker on loopback, and DHCP (broadcast to 255.255.255.255:67) to a small DHCP server here.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Aedes } from 'aedes';
import memoryPersistence from 'aedes-persistence';
import { literal, settingsOf } from './app-settings';
import { DhcpServer } from './dhcp-server';
import { serveBoard, type ServedBoard } from './serve-board';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FLASH = join(ROOT, 'scripts', 'flash.js');
const ROLLUP = join(ROOT, 'node_modules', 'rollup', 'dist', 'bin', 'rollup');
// The demo's virtual LAN: the DHCP server is its router and DNS server, and leases from .100 up.
const LAN = { server: '192.168.1.1', first: '192.168.1.100', subnet: '255.255.255.0' };
// Distinct serial numbers: the apps derive their MAC address and MQTT client id from getSerial().
const SERIALS = { pub: '33FFD605-41573033-15720843', sub: '47A1C3D2-39383331-0E6F0731' };

export interface DemoOptions {
  /** An external broker (host:port) instead of the embedded aedes. */
  broker?: string;
  /** Pull each board's cable and restart the broker midway. */
  faults?: boolean;
  /** Settings changed in both bundles where they exist (NAME -> JS source text). */
  set?: Record<string, string>;
  /** No DHCP server: the apps fall back to their static settings after DHCP_TIMEOUT. */
  dhcp?: boolean;
  /** Overall deadline, seconds (default from COUNT x INTERVAL). */
  timeoutS?: number;
  /** Run `rollup -c` first (default true). */
  build?: boolean;
  /** Where the demo's lines go (default stdout). */
  out?: (line: string) => void;
  /** Show the espruino CLI's output while flashing. */
  verbose?: boolean;
}

export interface DemoResult {
  ok: boolean;
  reason?: string;
  /** The `n` of every reading the subscriber received, in order. */
  received: number[];
  sent: number;
}

class DemoError extends Error {}

const fail = (why: string): never => {
  throw new DemoError(why);
};

function run(args: string[], echo?: (line: string) => void): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (d: Buffer) => {
      output += d.toString();
      if (echo) for (const l of d.toString().split(/\r?\n/)) if (l.trim()) echo(l);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('close', (code) => done({ code, output }));
  });
}

/**
 * aedes-persistence 11's memory store, with one fix. Its outgoingUpdate() finds the entry for a
 * PUBREL by brokerId/brokerCounter first, and a PUBREL has neither, so the PUBREL of a second QoS 2
 * flow matches the first flow's PUBREL entry and overwrites its packet id: aedes then sends the
 * second PUBREL twice and never the first, and the first message is delivered again after a
 * reconnect (seen when a board's cable comes back with two QoS 2 flows at PUBREC). Here a PUBREL
 * replaces its flow's entry by packet id, queued in the order the PUBRECs came [MQTT-4.6.0-3].
 */
function fixedPersistence(): ReturnType<typeof memoryPersistence> {
  const p = memoryPersistence();
  // The promise forms (no callback), which aedes itself calls; the typings only know the callback forms.
  const q = p as unknown as Record<string, (client: unknown, packet: unknown) => Promise<unknown>>;
  const update = q.outgoingUpdate.bind(p);
  q.outgoingUpdate = async (client, packet) => {
    if ((packet as { cmd: string }).cmd !== 'pubrel') return update(client, packet);
    await q.outgoingClearMessageId(client, packet);
    return q.outgoingEnqueue({ clientId: (client as { id: string }).id }, packet);
  };
  return p;
}

/** The embedded broker; restart() keeps its sessions (same persistence), like mosquitto with persistence on. */
class Broker {
  port = 0;
  private aedes: Aedes | undefined;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly persistence = fixedPersistence();

  constructor(private readonly log: (line: string) => void) {}

  async start(): Promise<void> {
    const aedes = await Aedes.createBroker({ persistence: this.persistence });
    aedes.on('client', (c) => this.log(`${c.id} connected`));
    aedes.on('clientDisconnect', (c) => this.log(`${c.id} disconnected`));
    const server = net.createServer((sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
      aedes.handle(sock);
    });
    await new Promise<void>((ok, ko) => {
      server.once('error', ko);
      server.listen(this.port, '127.0.0.1', () => ok());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.aedes = aedes;
    this.server = server;
  }

  async stop(): Promise<void> {
    const { aedes, server } = this;
    this.aedes = this.server = undefined;
    if (!server || !aedes) return;
    const closed = new Promise<void>((ok) => server.close(() => ok()));
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((ok) => aedes.close(() => ok()));
    await closed;
  }
}

/** Loopback relay to a broker elsewhere: the emulator only ever connects to 127.0.0.0/8. */
async function relay(host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const socks = new Set<net.Socket>();
  const server = net.createServer((a) => {
    const b = net.connect(port, host);
    for (const s of [a, b]) {
      socks.add(s);
      s.on('error', () => { a.destroy(); b.destroy(); });
      s.on('close', () => { socks.delete(s); a.destroy(); b.destroy(); });
    }
    a.pipe(b).pipe(a);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((ok) => {
      for (const s of socks) s.destroy();
      server.close(() => ok());
    }),
  };
}

function waitFor(cond: () => boolean, ms: number, what: string, abort: () => string | undefined): Promise<void> {
  return new Promise((ok, ko) => {
    const t0 = Date.now();
    const poll = setInterval(() => {
      const why = abort();
      if (why || cond() || Date.now() - t0 > ms) {
        clearInterval(poll);
        if (why) ko(new DemoError(why));
        else if (cond()) ok();
        else ko(new DemoError(`${what} within ${Math.round(ms / 1000)} s`));
      }
    }, 25);
  });
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const say = (line: string) => out(`[demo] ${line}`);
  const cleanups: (() => Promise<void> | void)[] = [];
  const received: number[] = [];
  let sent = 0, pubDone = false, subDone = false, subscribed = false, fatal: string | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'w5500-demo-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

  try {
    // ---- the bundles, with the settings asked for ----
    if (o.build !== false) {
      say('building the apps (rollup -c)');
      const b = await run([ROLLUP, '-c', '--silent']);
      if (b.code !== 0) fail(`the build failed:\n${b.output}`);
    }
    const bundles: Record<'pub' | 'sub', string> = { pub: '', sub: '' };
    const settings: Record<'pub' | 'sub', Map<string, string>> = { pub: new Map(), sub: new Map() };
    const set = o.set ?? {};
    for (const name of Object.keys(set)) {
      if (!['pub', 'sub'].some((app) => settingsOf(readFileSync(join(ROOT, 'dist', `${app}.js`), 'utf8')).values.has(name))) {
        fail(`--set ${name}: neither app has that setting`);
      }
    }
    for (const app of ['pub', 'sub'] as const) {
      const code = readFileSync(join(ROOT, 'dist', `${app}.js`), 'utf8');
      const block = settingsOf(code);
      const mine = Object.fromEntries(Object.entries(set).filter(([k]) => block.values.has(k)));
      bundles[app] = block.with(mine);
      settings[app] = settingsOf(bundles[app]).values;
    }
    const get = (app: 'pub' | 'sub', name: string) => literal(settings[app].get(name) ?? 'undefined');
    const count = Number(get('sub', 'COUNT'));
    const interval = Number(get('pub', 'INTERVAL'));
    if (!(count > 0) || Number(get('pub', 'COUNT')) !== count) {
      fail(`the demo needs COUNT > 0 and the same in both apps (pub ${get('pub', 'COUNT')}, sub ${get('sub', 'COUNT')})`);
    }
    const targets = new Set(['pub', 'sub'].map((a) => `${get(a as 'pub', 'BROKER')}:${get(a as 'pub', 'PORT')}`));
    for (const t of targets) if (!/^\d+\.\d+\.\d+\.\d+:\d+$/.test(t)) fail(`BROKER must be an IP address for the demo (got ${t})`);

    // ---- broker and DHCP on loopback ----
    let brokerPort: number;
    let broker: Broker | undefined;
    if (o.broker) {
      const m = /^(.+):(\d+)$/.exec(o.broker) ?? fail(`--broker wants host:port, got '${o.broker}'`);
      const host = m[1], port = Number(m[2]);
      if (/^127\./.test(host) || host === 'localhost') brokerPort = port;
      else {
        const r = await relay(host, port);
        cleanups.push(() => r.close());
        brokerPort = r.port;
        say(`relaying 127.0.0.1:${r.port} to ${o.broker}`);
      }
      say(`broker: ${o.broker}`);
    } else {
      broker = new Broker((line) => out(`[broker] ${line}`));
      await broker.start();
      const b = broker;
      cleanups.push(() => b.stop());
      brokerPort = broker.port;
      say(`broker: aedes on 127.0.0.1:${brokerPort}`);
    }
    const routes: { from: string; to: string; proto?: 'tcp' | 'udp' }[] = [...targets].map((t) => ({ from: t, to: `127.0.0.1:${brokerPort}`, proto: 'tcp' }));
    if (o.dhcp !== false) {
      const dhcp = await DhcpServer.start({ ...LAN, log: (line) => out(`[dhcp] ${line}`) });
      cleanups.push(() => dhcp.close());
      routes.push(...dhcp.routes());
      say(`DHCP server for ${LAN.server}/24 on 127.0.0.1:${dhcp.port}`);
    } else say('no DHCP server: the apps use their static settings after DHCP_TIMEOUT');
    say(`the boards reach ${[...targets].join(' and ')} (the apps' BROKER) at 127.0.0.1:${brokerPort}`);

    // ---- two boards ----
    const boards = {} as Record<'pub' | 'sub', ServedBoard>;
    const watch = (app: 'pub' | 'sub') => (line: string) => {
      const text = line.replace(/^\[[^\]]*\] ?/, '');
      if (text === '') return; // the blank lines around the reset banner
      out(line);
      let m: RegExpExecArray | null;
      if (/^Uncaught /.test(text)) fatal = `${app} board: ${text}`;
      else if ((m = /^(pub|sub): (setting .*|no W5500.*)$/.exec(text))) fatal = `${m[1]}: ${m[2]}`;
      else if ((m = /^pub: (?:sent|queued) (\d+)$/.exec(text))) sent = Math.max(sent, Number(m[1]));
      else if (text === 'pub: done') pubDone = true;
      else if (/^sub: subscribed to /.test(text)) subscribed = true;
      else if ((m = /^sub: got \d+ on [^:]*: (.*)$/.exec(text))) {
        let n = NaN;
        try {
          n = Number(JSON.parse(m[1]).n);
        } catch { /* not a reading */ }
        received.push(n);
        onReceived(received.length);
      } else if (text === 'sub: done') subDone = true;
    };
    for (const [app, id] of [['pub', 1], ['sub', 2]] as const) {
      boards[app] = await serveBoard({ name: `board${id}`, routes, board: { serial: SERIALS[app] }, log: watch(app) });
      const b = boards[app];
      cleanups.push(() => b.close());
      say(`board${id} (${app}): REPL on ${b.url}`);
    }

    // ---- faults: each board's cable pulled in turn, then the broker restarted ----
    const outage = Math.max(3000, 2 * interval);
    const faults: { at: number; what: string; act: () => Promise<void> }[] = [];
    const cable = (app: 'pub' | 'sub') => async () => {
      const chip = () => boards[app].interpreter.current.chip;
      chip().faults.linkDown();
      await sleep(outage);
      chip().faults.linkUp();
      say(`cable of ${boards[app].name} (${app}) plugged back in`);
    };
    if (o.faults) {
      faults.push({ at: Math.max(1, Math.floor(count * 0.3)), what: `pulling the cable of board1 (pub) for ${outage / 1000} s`, act: cable('pub') });
      faults.push({ at: Math.max(1, Math.floor(count * 0.5)), what: `pulling the cable of board2 (sub) for ${outage / 1000} s`, act: cable('sub') });
      if (broker) {
        const b = broker;
        faults.push({
          at: Math.max(1, Math.floor(count * 0.7)), what: 'restarting the broker (sessions kept)', act: async () => {
            await b.stop();
            await sleep(1000);
            await b.start();
            say(`broker back on 127.0.0.1:${b.port}`);
          },
        });
      } else say('--faults with an external broker: the cable is pulled, the broker is not restarted');
    }
    const pending: Promise<void>[] = [];
    function onReceived(k: number): void {
      for (const f of faults.filter((x) => x.at === k && x.at > 0)) {
        f.at = -1;
        say(`fault: ${f.what}`);
        pending.push(f.act().catch((e: Error) => { fatal = `fault injection failed: ${e.message}`; }));
      }
    }

    // ---- flash: the subscriber first, so no reading goes out before it listens ----
    const deadline = Date.now() + 1000 * (o.timeoutS ?? 60 + (count * interval * 2) / 1000 + (o.faults ? 3 * outage / 1000 + 30 : 0));
    const left = () => Math.max(0, deadline - Date.now());
    const flash = async (app: 'pub' | 'sub') => {
      const file = join(tmp, `${app}.js`);
      writeFileSync(file, bundles[app]);
      say(`flashing ${app} (${bundles[app].length} bytes) to ${boards[app].name} with the espruino CLI, then save()`);
      const echo = o.verbose ? (l: string) => out(`[flash ${app}] ${l}`) : undefined;
      const r = await run([FLASH, '--file', file, '--port', boards[app].url, '--no-watch'], echo);
      if (r.code !== 0) fail(`flashing ${app} failed (exit ${r.code}):\n${r.output.trim().split('\n').slice(-15).join('\n')}`);
    };
    const abort = () => fatal;
    await flash('sub');
    await waitFor(() => subscribed, left(), 'the subscriber did not subscribe', abort);
    await flash('pub');
    await waitFor(() => pubDone && subDone, left(), `the exchange did not complete (pub sent ${sent}, sub received ${received.length} of ${count})`, abort);
    await Promise.all(pending);

    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !received.includes(n));
    const dups = received.length - new Set(received).size;
    // QoS 2 end to end promises each reading exactly once; at QoS 1 duplicates are allowed (and a
    // duplicate counted by the subscriber leaves a later reading unseen), at QoS 0 losses too.
    const exact = get('pub', 'QOS') === 2 && get('sub', 'QOS') === 2;
    if (exact && (dups || missing.length)) {
      fail(`QoS 2 broken: the subscriber received readings ${received.join(', ')}`);
    }
    // Both apps said done: nothing of theirs may be left running on the boards.
    await sleep(200);
    for (const app of ['pub', 'sub'] as const) {
      const sim = boards[app].interpreter.current;
      const watches = (sim.board.watches as unknown as { watches: unknown[] }).watches.length;
      const open = [0, 1, 2, 3, 4, 5, 6, 7].filter((n) => sim.chip.inspect(n).state !== 0);
      if (sim.board.timers.size || watches || open.length) {
        fail(`${app} left ${sim.board.timers.size} timers, ${watches} watches and sockets [${open.join(', ')}] open after 'done'`);
      }
    }
    say(`ok: pub sent ${sent} readings, sub received ${received.length}` +
      (dups ? ` (${dups} duplicate${dups > 1 ? 's' : ''}, allowed at QoS 1)` : '') +
      (missing.length ? `; readings not seen: ${missing.join(', ')}` : exact ? '; every reading arrived exactly once' : '; every reading arrived') +
      '; both apps disconnected and released their timers, watches and sockets');
    return { ok: true, received, sent };
  } catch (e) {
    const reason = e instanceof DemoError ? e.message : (e as Error).stack ?? String(e);
    say(`FAILED: ${reason}`);
    return { ok: false, reason, received, sent };
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch { /* keep cleaning up */ }
    }
  }
}

// ---- command line ----

const USAGE = `usage: npm run demo [-- options]
  --faults              pull each board's cable and restart the broker midway; the exchange must still complete
  --broker HOST:PORT    use this broker instead of the embedded aedes
  --interval MS         the publisher's INTERVAL (default: the app's, 3000)
  --set NAME=VALUE      change an app setting before flashing (JS literal, e.g. --set QOS=2 --set TOPIC='"t/x"')
  --no-dhcp             no DHCP server: the apps fall back to their static addresses
  --timeout S           overall deadline in seconds
  --no-build            flash the existing dist/ bundles
  --verbose             show the espruino CLI's output`;

function parseArgs(argv: string[]): DemoOptions {
  const o: DemoOptions = { set: {} };
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--faults') o.faults = true;
    else if (a === '--broker') o.broker = value(++i, a);
    else if (a === '--interval') {
      const v = value(++i, a);
      if (!/^\d+$/.test(v)) throw new Error(`--interval wants milliseconds, got '${v}'`);
      o.set!.INTERVAL = v;
    } else if (a === '--set') {
      const v = value(++i, a);
      const m = /^([A-Z_][A-Z0-9_]*)=(.+)$/.exec(v);
      if (!m) throw new Error(`--set wants NAME=VALUE, got '${v}'`);
      o.set![m[1]] = m[2];
    } else if (a === '--no-dhcp') o.dhcp = false;
    else if (a === '--timeout') {
      o.timeoutS = Number(value(++i, a));
      if (!(o.timeoutS > 0)) throw new Error('--timeout wants seconds');
    } else if (a === '--no-build') o.build = false;
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option '${a}'`);
  }
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let opts: DemoOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`demo: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  runDemo(opts).then((r) => process.exit(r.ok ? 0 : 1), (e: Error) => {
    process.stderr.write(`demo: ${e.stack ?? e}\n`);
    process.exit(1);
  });
}
