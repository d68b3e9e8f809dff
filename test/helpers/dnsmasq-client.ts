// Runs inside the client network namespace (test/dhcp-dnsmasq.test.ts starts it with `ip netns exec`):
// the board and the W5500 emulator in 'real' mode, so the chip's UDP sockets are host sockets of this
// namespace (port 68 included). The DHCP client gets a lease from dnsmasq, resolves names through it,
// waits for a renewal, then releases. Each step is one JSON line on stdout; a hard deadline ends it.
import { startNetBoard, plain, type Fw } from './net-board.ts';

const DEADLINE_MS = 20_000;
const names = (process.env.RESOLVE ?? '').split(',').filter(Boolean);
const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
setTimeout(() => {
  out({ event: 'deadline' });
  process.exit(2);
}, DEADLINE_MS).unref();

const nb = await startNetBoard({ network: { mode: 'real' }, mac: process.env.MAC });
// Real mode cannot see ARP on the veth, so it answers every ARP; the lease address is free in this
// namespace pair (nothing but us is ever given it), which the chip must be told to see.
nb.chip.faults.hostDown(process.env.LEASE_IP!);

const frame = new Uint8Array(21);
frame[1] = 0x01; // GAR..SIPR, common block, read
const chipNet = () => {
  const m = nb.chip.transfer(frame);
  const ip = (at: number) => Array.from(m.subarray(3 + at, 7 + at)).join('.');
  return { gateway: ip(0), subnet: ip(4), ip: ip(14) };
};

const dhcp = new nb.net.Dhcp(nb.driver, { hostname: process.env.HOSTNAME_OPT, mode: 'dhcp-only' });
const dns = new nb.net.Dns(nb.driver, () => nb.driver.getIP().dns, { timeoutMs: 1000, retries: 1 });

function resolveAll(i: number, done: () => void): void {
  if (i >= names.length) return done();
  dns.resolve(names[i], (err: Fw, ip?: string) => {
    out({ event: 'resolved', name: names[i], ip, code: err && err.code });
    resolveAll(i + 1, done);
  });
}

dhcp.on('lease', (l: Fw) => {
  out({ event: 'lease', lease: plain(l), chip: chipNet() });
  resolveAll(0, () => out({ event: 'resolved-all' }));
});
dhcp.on('renewed', (l: Fw) => {
  out({ event: 'renewed', lease: plain(l), chip: chipNet() });
  dhcp.stop(true);
  setTimeout(async () => {
    out({ event: 'released', chip: chipNet() });
    await nb.dispose();
    process.exit(0);
  }, 300);
});
for (const e of ['changed', 'lost', 'fallback']) dhcp.on(e, (l: Fw) => out({ event: e, lease: plain(l) }));
dhcp.start();
