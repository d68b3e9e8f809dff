// Two network namespaces joined by a veth pair, and dnsmasq running in one of them, for tests that
// talk to a real DHCP/DNS server. Nothing here touches the host's own network: both ends of the wire
// live in namespaces this run created, with addresses from 10.231.0.0/24, and no routes out.
//
// Cleanup is guaranteed: close() kills dnsmasq and deletes both namespaces (which removes the veth
// pair); a process 'exit' hook does the same if a test dies first; and namespaces left behind by an
// earlier run that was killed outright (its pid is gone) are deleted when the next one starts.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'w5t';
export const SERVER_IP = '10.231.0.1';
export const PREFIX_LEN = 24;

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** Kills what still runs in a namespace of ours (dnsmasq, a client), then deletes it. */
function removeNs(ns: string): void {
  try {
    for (const p of ip(['netns', 'pids', ns]).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch { /* gone */ }
    }
  } catch { /* no such namespace */ }
  try {
    ip(['netns', 'del', ns]);
  } catch { /* never created */ }
}

/** Removes namespaces left by earlier runs that were killed outright (their pid is gone). */
function reapStale(): void {
  for (const line of ip(['netns', 'list']).split('\n')) {
    const m = new RegExp(`^(${PREFIX}-(\\d+)-\\w+-[sc])\\b`).exec(line);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[2]), 0);
    } catch {
      alive = false;
    }
    if (!alive) removeNs(m[1]);
  }
}

export interface DnsmasqOptions {
  /** --dhcp-range, e.g. '10.231.0.50,10.231.0.50,2m'. */
  range: string;
  /** Extra arguments: --host-record, --dhcp-option, --cname … */
  args?: string[];
}

export class NetnsPair {
  /** Namespace of the server side (dnsmasq) and of the client side (the emulated board). */
  readonly serverNs: string;
  readonly clientNs: string;
  readonly serverIf: string;
  readonly clientIf: string;
  private dnsmasq: ChildProcess | null = null;
  private dir: string;
  private closed = false;
  private readonly onExit = () => this.closeSync();

  private constructor(id: string) {
    this.serverNs = `${PREFIX}-${process.pid}-${id}-s`;
    this.clientNs = `${PREFIX}-${process.pid}-${id}-c`;
    // Interface names: at most 15 characters.
    this.serverIf = `w5s${id}`;
    this.clientIf = `w5c${id}`;
    this.dir = mkdtempSync(join(tmpdir(), 'w5t-dnsmasq-'));
  }

  /**
   * Creates both namespaces and the veth pair: the server end gets SERVER_IP/24, the client end
   * `clientAddrs` (the kernel there stands in for the emulated chip's IP stack in 'real' mode).
   */
  static create(clientAddrs: string[]): NetnsPair {
    reapStale();
    const pair = new NetnsPair(Math.random().toString(36).slice(2, 8).padEnd(6, '0'));
    process.once('exit', pair.onExit);
    try {
      const { serverNs: s, clientNs: c, serverIf: si, clientIf: ci } = pair;
      ip(['netns', 'add', s]);
      ip(['netns', 'add', c]);
      ip(['link', 'add', si, 'netns', s, 'type', 'veth', 'peer', 'name', ci, 'netns', c]);
      ip(['-n', s, 'addr', 'add', `${SERVER_IP}/${PREFIX_LEN}`, 'dev', si]);
      ip(['-n', s, 'link', 'set', 'lo', 'up']);
      ip(['-n', s, 'link', 'set', si, 'up']);
      for (const a of clientAddrs) ip(['-n', c, 'addr', 'add', `${a}/${PREFIX_LEN}`, 'dev', ci]);
      ip(['-n', c, 'link', 'set', 'lo', 'up']);
      ip(['-n', c, 'link', 'set', ci, 'up']);
      // Limited broadcast (DHCP) leaves through the veth; besides it only 10.231.0.0/24 has a route.
      ip(['-n', c, 'route', 'add', '255.255.255.255/32', 'dev', ci]);
    } catch (e) {
      pair.closeSync();
      throw e;
    }
    return pair;
  }

  /** Starts dnsmasq on the server end (DHCP and DNS, no upstream, no system files); resolves once it serves. */
  async startDnsmasq(o: DnsmasqOptions): Promise<void> {
    const leases = join(this.dir, 'leases');
    writeFileSync(leases, '');
    const log = join(this.dir, 'log');
    const args = ['netns', 'exec', this.serverNs, '/usr/sbin/dnsmasq', '--keep-in-foreground', '--no-daemon',
      `--interface=${this.serverIf}`, '--bind-interfaces', '--except-interface=lo', '--no-resolv', '--no-hosts',
      '--no-poll', `--conf-file=/dev/null`, `--dhcp-leasefile=${leases}`, `--pid-file=${join(this.dir, 'pid')}`,
      `--dhcp-range=${o.range}`, '--no-ping', '--log-dhcp', '--log-queries', `--log-facility=${log}`,
      '--user=root', ...(o.args ?? [])];
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.dnsmasq = child;
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    // Ready when it listens on 67/udp and 53/udp in its namespace.
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`dnsmasq exited (${child.exitCode}): ${stderr}`);
      const socks = ip(['netns', 'exec', this.serverNs, 'ss', '-Hlun']);
      if (/:67\b/.test(socks) && /:53\b/.test(socks)) return;
      if (Date.now() > deadline) throw new Error(`dnsmasq not serving after 10 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** dnsmasq's log (DHCP and query lines), for assertions and failure messages. */
  dnsmasqLog(): string {
    try {
      return readFileSync(join(this.dir, 'log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** The lease file: '<expiry> <mac> <ip> <hostname> <client-id>' lines. */
  leases(): string {
    try {
      return readFileSync(join(this.dir, 'leases'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Runs a command in the client namespace. */
  clientCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.clientNs, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
  }

  async close(): Promise<void> {
    const d = this.dnsmasq;
    if (d && d.exitCode === null) {
      const exited = new Promise<void>((r) => d.once('exit', () => r()));
      d.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    }
    this.closeSync();
  }

  private closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    process.removeListener('exit', this.onExit);
    if (this.dnsmasq && this.dnsmasq.exitCode === null) this.dnsmasq.kill('SIGKILL');
    removeNs(this.serverNs);
    removeNs(this.clientNs);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
