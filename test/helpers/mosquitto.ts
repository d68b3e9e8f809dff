// A private mosquitto for tests: its own temporary directory, generated config and loopback ports.
// Two listeners: `port` (anonymous) and `authPort` (username/password only). Facts about the Debian
// broker that shape the config are in /work/shared/mosquitto-notes.md.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

export interface MosquittoOptions {
  /** Users of the password listener; default { user: 'secret' }. */
  users?: Record<string, string>;
  /** Keep sessions across restarts (persistence_location in the temp dir). */
  persistence?: boolean;
  /** More lines for the config file (global settings, or more listeners). */
  extraConfig?: string[];
  /** Milliseconds to wait for the listeners; default 5000. */
  startTimeout?: number;
}

const MOSQUITTO = existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';

/** A free TCP port on 127.0.0.1 (the kernel picks it; closed again before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function waitListening(port: number, ms: number, proc: ChildProcess, log: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited (${proc.exitCode}):\n${log()}`);
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`mosquitto did not listen on ${port} within ${ms} ms:\n${log()}`);
}

export class Mosquitto {
  readonly dir: string;
  readonly port: number;
  readonly authPort: number;
  readonly users: Record<string, string>;
  private proc: ChildProcess | null = null;
  private readonly opts: MosquittoOptions;

  private constructor(dir: string, port: number, authPort: number, opts: MosquittoOptions) {
    this.dir = dir;
    this.port = port;
    this.authPort = authPort;
    this.opts = opts;
    this.users = opts.users ?? { user: 'secret' };
  }

  /** Write the config and password file, start the broker and wait until both listeners accept. */
  static async start(opts: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = mkdtempSync(join(tmpdir(), 'mosq-'));
    const port = await freePort();
    let authPort = await freePort();
    while (authPort === port) authPort = await freePort();
    const m = new Mosquitto(dir, port, authPort, opts);
    m.writeConfig();
    await m.launch();
    return m;
  }

  get configFile(): string { return join(this.dir, 'mosquitto.conf'); }
  get logFile(): string { return join(this.dir, 'mosquitto.log'); }

  /** Everything the broker logged so far (`log_type all`: every packet with d/q/r/m flags). */
  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  get running(): boolean { return this.proc !== null && this.proc.exitCode === null; }

  private writeConfig(): void {
    const pw = join(this.dir, 'passwd');
    let first = true;
    for (const [user, pass] of Object.entries(this.users)) {
      execFileSync('mosquitto_passwd', first ? ['-c', '-b', pw, user, pass] : ['-b', pw, user, pass], { stdio: 'ignore' });
      first = false;
    }
    const lines = [
      // Started as root the broker would switch to the `mosquitto` user, which cannot read our temp dir.
      ...(process.getuid && process.getuid() === 0 ? ['user root'] : []),
      'per_listener_settings true',
      `log_dest file ${this.logFile}`,
      'log_type all',
      'connection_messages true',
      `listener ${this.port} 127.0.0.1`,
      'allow_anonymous true',
      `listener ${this.authPort} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${pw}`,
    ];
    if (this.opts.persistence) {
      lines.unshift('persistence true', `persistence_location ${this.dir}/`, 'autosave_interval 1');
    }
    if (this.opts.extraConfig) lines.push(...this.opts.extraConfig);
    writeFileSync(this.configFile, lines.join('\n') + '\n');
  }

  private async launch(): Promise<void> {
    const proc = spawn(MOSQUITTO, ['-c', this.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    this.proc = proc;
    const ms = this.opts.startTimeout ?? 5000;
    await waitListening(this.port, ms, proc, () => stderr + this.log());
    await waitListening(this.authPort, ms, proc, () => stderr + this.log());
  }

  /** Stop the broker: SIGTERM (writes the persistence database) or SIGKILL (a crash). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) { this.proc = null; return; }
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    this.proc = null;
  }

  /** Stop and start again on the same ports, with the same config (sessions kept with persistence). */
  async restart(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    await this.launch();
  }

  /** Stop the broker and delete its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
