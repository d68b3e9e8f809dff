// DHCP and DNS against a real dnsmasq. Two network namespaces made for this run, joined by a veth
// pair: dnsmasq serves 10.231.0.1 in one; in the other the board and the W5500 emulator run in
// 'real' mode (test/helpers/dnsmasq-client.ts), so the chip's sockets are that namespace's host
// sockets. No address outside the pair is ever used, and both namespaces are deleted afterwards.
//
// Renewal in seconds: dnsmasq will not lease for less than 2 minutes, but it sends the T1 it is
// given (option 58), so T1 = 3 s makes the client renew 3 s after the ACK, on real time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NetnsPair, SERVER_IP } from './helpers/netns.ts';

const LEASE_IP = '10.231.0.50';
const MAC = '02:00:00:5e:10:99';
const HOSTNAME = 'w5-node';
const CLIENT = fileURLToPath(new URL('./helpers/dnsmasq-client.ts', import.meta.url));

interface Line { event: string; [k: string]: any }

test('dnsmasq in a network namespace: lease, router and DNS applied, names resolved, renewal at T1, release', async () => {
  // The kernel of the client namespace is the emulated chip's host stack: it owns the address the chip
  // will be given, so dnsmasq's unicast replies to it (renewal) reach the chip's port-68 socket.
  const pair = NetnsPair.create([LEASE_IP]);
  try {
    await pair.startDnsmasq({
      range: `${LEASE_IP},${LEASE_IP},255.255.255.0,2m`,
      args: ['--dhcp-option=option:T1,3', '--local=/test/', '--domain=test',
        '--host-record=broker.test,10.231.0.77', '--cname=mqtt.test,broker.test'],
    });
    const child = pair.clientCommand(process.execPath, ['--import', 'tsx', CLIENT], {
      MAC, LEASE_IP, HOSTNAME_OPT: HOSTNAME, RESOLVE: `broker.test,mqtt.test,${HOSTNAME},missing.test`,
    });
    const lines: Line[] = [];
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    const context = `\nclient: ${JSON.stringify(lines)}\n${stderr}\ndnsmasq:\n${pair.dnsmasqLog()}`;
    assert.equal(code, 0, `client exit code${context}`);

    const lease = lines.find((l) => l.event === 'lease')!;
    assert.ok(lease, `a lease${context}`);
    assert.equal(lease.lease.ip, LEASE_IP);
    assert.equal(lease.lease.subnet, '255.255.255.0');
    assert.equal(lease.lease.gateway, SERVER_IP, 'router (option 3)');
    assert.deepEqual(lease.lease.dns, [SERVER_IP], 'DNS server (option 6)');
    assert.equal(lease.lease.domain, 'test', 'domain name (option 15)');
    assert.equal(lease.lease.server, SERVER_IP);
    assert.equal(lease.lease.lease, 120);
    assert.equal(lease.lease.t1, 3);
    assert.deepEqual(lease.chip, { ip: LEASE_IP, subnet: '255.255.255.0', gateway: SERVER_IP }, 'applied to the chip');

    const resolved = Object.fromEntries(lines.filter((l) => l.event === 'resolved').map((l) => [l.name, l.ip ?? l.code]));
    assert.deepEqual(resolved, {
      'broker.test': '10.231.0.77', // --host-record
      'mqtt.test': '10.231.0.77', // --cname, followed
      [HOSTNAME]: LEASE_IP, // our option 12, registered by dnsmasq with the lease
      'missing.test': 'DNS_NXDOMAIN',
    }, context);

    const renewed = lines.find((l) => l.event === 'renewed');
    assert.ok(renewed, `renewed at T1${context}`);
    assert.equal(renewed.lease.ip, LEASE_IP);
    assert.ok(!lines.some((l) => ['changed', 'lost', 'deadline'].includes(l.event)), context);
    const log = pair.dnsmasqLog();
    assert.equal((log.match(/DHCPACK\(/g) ?? []).length, 2, `ACK to the first REQUEST and to the renewal${context}`);
    assert.match(log, new RegExp(`DHCPREQUEST\\(\\S+\\) ${LEASE_IP.replace(/\./g, '\\.')} ${MAC}`));
    assert.match(log, /DHCPRELEASE\(/, 'RELEASE on stop(true)');
    assert.deepEqual(lines.find((l) => l.event === 'released')!.chip.ip, '0.0.0.0');
    assert.doesNotMatch(pair.leases(), new RegExp(MAC), 'dnsmasq dropped the released lease');
  } finally {
    await pair.close();
  }
});
