// The DHCP client as firmware on the simulated board, through the W5500 emulator's map mode, against
// a loopback server whose every answer the test scripts. Protocol durations run at timeScale 0.05
// (a 4 s retransmission takes 0.2 s, a 20 s lease 1 s); every wait has a deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNetBoard, nextEvent, plain, type Fw, type NetBoard } from './helpers/net-board.ts';
import {
  ACK, DECLINE, DISCOVER, NAK, OFFER, RELEASE, REQUEST, ScriptedDhcp, buildReply, optIp, type DhcpPacket, type ReplySpec,
} from './helpers/scripted-dhcp.ts';

const SCALE = 0.05;
const SERVER = '10.0.0.1';
const FALLBACK = { ip: '192.168.7.20', subnet: '255.255.255.0', gateway: '192.168.7.1', dns: ['192.168.7.1'] };

interface Rig {
  srv: ScriptedDhcp;
  nb: NetBoard;
  dhcp: Fw;
}

async function rig(opts: object, routes: { from: string; to: string }[] = []): Promise<Rig> {
  const srv = await ScriptedDhcp.start();
  let nb: NetBoard | undefined;
  try {
    nb = await startNetBoard({ network: { mode: 'map', routes: [...srv.routes(SERVER), ...routes] } });
    const dhcp = new nb.net.Dhcp(nb.driver, { hostname: 'node-7', timeScale: SCALE, ...opts });
    return { srv, nb, dhcp };
  } catch (e) {
    await nb?.dispose();
    await srv.close();
    throw e;
  }
}

async function teardown(r: Rig): Promise<void> {
  r.dhcp.stop();
  await r.nb.dispose();
  await r.srv.close();
}

/** GAR, SUBR, SIPR as the chip holds them (one SPI read frame, common block). */
function chipNet(nb: NetBoard): { ip: string; subnet: string; gateway: string } {
  const frame = new Uint8Array(3 + 18);
  frame[1] = 0x01; // address 0x0001 (GAR), control 0x00: common block, read
  const miso = nb.chip.transfer(frame);
  const ip = (at: number) => Array.from(miso.subarray(3 + at, 7 + at)).join('.');
  return { gateway: ip(0), subnet: ip(4), ip: ip(14) };
}

function reply(p: DhcpPacket, type: number, extra: Partial<ReplySpec> = {}): Buffer {
  return buildReply({
    type, xid: p.xid, chaddr: p.chaddr, yiaddr: '10.0.0.42', server: SERVER, lease: 3600, subnet: '255.255.255.0',
    router: '10.0.0.254', dns: ['10.0.0.53', '10.0.0.54'], broadcast: true, ...extra,
  });
}

/** Offers `ip` to every DISCOVER and ACKs every REQUEST for it. */
function plainServer(srv: ScriptedDhcp, extra: Partial<ReplySpec> = {}): void {
  srv.onRequest = (p, send) => {
    if (p.type === DISCOVER) send(reply(p, OFFER, extra));
    else if (p.type === REQUEST) send(reply(p, ACK, extra));
  };
}

test('acquires a lease: DISCOVER, OFFER, REQUEST, ACK; address, mask, router and DNS applied to the chip', async () => {
  const r = await rig({});
  try {
    plainServer(r.srv, { domain: 'lan.test' });
    const got = nextEvent(r.dhcp, 'lease', 3000);
    r.dhcp.start();
    const [lease] = await got;
    assert.deepEqual(plain(lease), {
      type: ACK, ip: '10.0.0.42', subnet: '255.255.255.0', gateway: '10.0.0.254', dns: ['10.0.0.53', '10.0.0.54'],
      domain: 'lan.test', server: SERVER, lease: 3600, t1: 1800, t2: 3150,
    });
    assert.deepEqual(chipNet(r.nb), { ip: '10.0.0.42', subnet: '255.255.255.0', gateway: '10.0.0.254' });
    assert.deepEqual(plain(r.nb.driver.getIP().dns), ['10.0.0.53', '10.0.0.54']);
    const [discover, request] = r.srv.received;
    assert.equal(discover.packet.type, DISCOVER);
    assert.equal(discover.via, 'broadcast');
    assert.equal(discover.packet.flags, 0x8000, 'broadcast flag: the chip has no address yet');
    assert.equal(discover.packet.options.get(12)!.toString(), 'node-7');
    assert.deepEqual([...discover.packet.chaddr], [2, 0, 0, 0x5e, 0x10, 1]);
    assert.equal(request.packet.type, REQUEST);
    assert.equal(request.via, 'broadcast');
    assert.equal(request.packet.xid, discover.packet.xid, 'the REQUEST echoes the OFFER\'s xid');
    assert.equal(optIp(request.packet, 50), '10.0.0.42');
    assert.equal(optIp(request.packet, 54), SERVER);
    assert.equal(request.packet.ciaddr, '0.0.0.0');
    const udpOpen = [0, 1, 2, 3, 4, 5, 6, 7].filter((n) => r.nb.chip.inspect(n).state === 0x22);
    assert.deepEqual(udpOpen, [], 'no chip socket held while bound');
  } finally {
    await teardown(r);
  }
});

test('two offers: the first is requested by its server id, and an ACK from the other server is ignored', async () => {
  const r = await rig({});
  try {
    r.srv.onRequest = (p, send) => {
      if (p.type === DISCOVER) {
        send(reply(p, OFFER));
        send(reply(p, OFFER, { yiaddr: '10.0.0.99', server: '10.0.0.9' }));
      } else if (p.type === REQUEST) {
        send(reply(p, ACK, { yiaddr: '10.0.0.99', server: '10.0.0.9' }));
        setTimeout(() => send(reply(p, ACK)), 100);
      }
    };
    const leases: unknown[] = [];
    r.dhcp.on('lease', (l: unknown) => leases.push(plain(l)));
    const got = nextEvent(r.dhcp, 'lease', 3000);
    r.dhcp.start();
    const [lease] = await got;
    assert.equal(lease.ip, '10.0.0.42');
    assert.equal(lease.server, SERVER);
    const requests = r.srv.received.filter((x) => x.packet.type === REQUEST);
    assert.equal(requests.length, 1);
    assert.equal(optIp(requests[0].packet, 54), SERVER);
    assert.equal(optIp(requests[0].packet, 50), '10.0.0.42');
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(leases.length, 1);
    assert.equal(chipNet(r.nb).ip, '10.0.0.42');
  } finally {
    await teardown(r);
  }
});

test('replies with a foreign xid or another MAC are ignored', async () => {
  const r = await rig({});
  try {
    r.srv.onRequest = (p, send) => {
      if (p.type === DISCOVER) {
        send(reply({ ...p, xid: (p.xid + 1) >>> 0 }, OFFER, { yiaddr: '10.0.0.66' }));
        send(reply({ ...p, chaddr: Buffer.from([2, 9, 9, 9, 9, 9]) }, OFFER, { yiaddr: '10.0.0.67' }));
        setTimeout(() => send(reply(p, OFFER)), 150);
      } else if (p.type === REQUEST) {
        send(reply({ ...p, xid: (p.xid ^ 0x80000000) >>> 0 }, NAK));
        send(reply({ ...p, xid: (p.xid + 7) >>> 0 }, ACK, { yiaddr: '10.0.0.66' }));
        setTimeout(() => send(reply(p, ACK)), 100);
      }
    };
    const got = nextEvent(r.dhcp, 'lease', 3000);
    r.dhcp.start();
    const [lease] = await got;
    assert.equal(lease.ip, '10.0.0.42');
    const requests = r.srv.received.filter((x) => x.packet.type === REQUEST);
    assert.deepEqual(requests.map((x) => optIp(x.packet, 50)), ['10.0.0.42']);
  } finally {
    await teardown(r);
  }
});

test('no server: the static config is applied within timeoutMs, DHCP keeps trying, and a later lease takes over', async () => {
  const r = await rig({ fallback: FALLBACK, timeoutMs: 300 });
  try {
    const fellBack = nextEvent(r.dhcp, 'fallback', 2000);
    r.dhcp.start();
    const [cfg] = await fellBack;
    assert.equal(cfg.ip, FALLBACK.ip);
    assert.deepEqual(chipNet(r.nb), { ip: FALLBACK.ip, subnet: FALLBACK.subnet, gateway: FALLBACK.gateway });
    const since = r.srv.received.length;
    await r.srv.waitFor((p) => p.type === DISCOVER, 2000, since); // still trying, in the background
    const xids = new Set(r.srv.received.map((x) => x.packet.xid));
    assert.equal(xids.size, 1, 'retransmissions keep the xid');
    plainServer(r.srv);
    const [lease] = await nextEvent(r.dhcp, 'lease', 5000);
    assert.equal(lease.ip, '10.0.0.42');
    assert.deepEqual(chipNet(r.nb), { ip: '10.0.0.42', subnet: '255.255.255.0', gateway: '10.0.0.254' });
  } finally {
    await teardown(r);
  }
});

test('renewal at T1 is unicast to the server: ACK renews, a new address is a change, NAK loses the lease', async () => {
  const r = await rig({ fallback: FALLBACK, timeoutMs: 60_000 });
  try {
    let renewals = 0;
    r.srv.onRequest = (p, send) => {
      if (p.type === DISCOVER) send(reply(p, OFFER, { lease: 20 }));
      else if (p.type === REQUEST && p.ciaddr === '0.0.0.0') send(reply(p, ACK, { lease: 20 }));
      else if (p.type === REQUEST) {
        renewals++;
        if (renewals === 1) send(reply(p, ACK, { lease: 20, broadcast: false }));
        else if (renewals === 2) send(reply(p, ACK, { lease: 20, yiaddr: '10.0.0.77', broadcast: false }));
        else send(reply(p, NAK, { yiaddr: '0.0.0.0', broadcast: false }));
      }
    };
    const events: string[] = [];
    for (const e of ['lease', 'renewed', 'changed', 'lost']) r.dhcp.on(e, (l: Fw) => events.push(`${e} ${l.ip}`));
    const lost = nextEvent(r.dhcp, 'lost', 5000);
    r.dhcp.start();
    await lost;
    assert.equal(chipNet(r.nb).ip, '0.0.0.0', 'the address is dropped at once');
    assert.deepEqual(events, ['lease 10.0.0.42', 'renewed 10.0.0.42', 'changed 10.0.0.77', 'lost 10.0.0.77']);
    const renews = r.srv.received.filter((x) => x.packet.type === REQUEST && x.packet.ciaddr !== '0.0.0.0');
    assert.deepEqual(renews.map((x) => [x.via, x.packet.ciaddr, x.packet.flags]),
      [['unicast', '10.0.0.42', 0], ['unicast', '10.0.0.42', 0], ['unicast', '10.0.0.77', 0]]);
    for (const x of renews) assert.ok(!x.packet.options.has(50) && !x.packet.options.has(54), 'RENEWING: no 50/54');
    assert.equal(new Set(renews.map((x) => x.packet.xid)).size, 3, 'a new xid per renewal');
    const after = await r.srv.waitFor((p) => p.type === DISCOVER, 2000, r.srv.received.indexOf(renews[2]));
    assert.equal(after.flags, 0x8000);
  } finally {
    await teardown(r);
  }
});

test('unanswered renewals: rebinding by broadcast at T2, then at expiry the address is dropped and discovery restarts', async () => {
  const r = await rig({ mode: 'dhcp-only' });
  try {
    let acked = false;
    r.srv.onRequest = (p, send) => {
      if (acked) return;
      if (p.type === DISCOVER) send(reply(p, OFFER, { lease: 40, t1: 20, t2: 30 }));
      else if (p.type === REQUEST) {
        acked = true;
        send(reply(p, ACK, { lease: 40, t1: 20, t2: 30 }));
      }
    };
    const got = nextEvent(r.dhcp, 'lease', 3000);
    r.dhcp.start();
    await got;
    const bound = r.srv.received.length;
    const [lost] = await nextEvent(r.dhcp, 'lost', 5000);
    assert.equal(lost.ip, '10.0.0.42');
    assert.equal(chipNet(r.nb).ip, '0.0.0.0');
    const later = r.srv.received.slice(bound);
    const kinds = later.map((x) => (x.packet.type === DISCOVER ? 'discover' : `${x.via} ${x.packet.ciaddr}`));
    const firstRebind = kinds.indexOf('broadcast 10.0.0.42');
    assert.ok(kinds[0] === 'unicast 10.0.0.42', `renewing first: ${kinds}`);
    assert.ok(firstRebind > 0, `then rebinding: ${kinds}`);
    assert.ok(kinds.slice(0, firstRebind).every((k) => k === 'unicast 10.0.0.42'), `${kinds}`);
    await r.srv.waitFor((p) => p.type === DISCOVER, 2000, bound);
  } finally {
    await teardown(r);
  }
});

test('address conflict: the ARP probe finds the offered address taken, DECLINE, and later another address', async () => {
  // A route naming 10.0.0.42 means a host there answers ARP.
  const r = await rig({}, [{ from: '10.0.0.42:*', to: '127.0.0.1:9' }]);
  try {
    let offers = 0;
    r.srv.onRequest = (p, send) => {
      const yiaddr = offers > 1 ? '10.0.0.43' : '10.0.0.42';
      if (p.type === DISCOVER) {
        offers++;
        send(reply(p, OFFER, { yiaddr: offers > 1 ? '10.0.0.43' : '10.0.0.42' }));
      } else if (p.type === REQUEST) send(reply(p, ACK, { yiaddr }));
    };
    const declined = nextEvent(r.dhcp, 'declined', 3000);
    const got = nextEvent(r.dhcp, 'lease', 5000);
    r.dhcp.start();
    const [ip] = await declined;
    assert.equal(ip, '10.0.0.42');
    const decline = await r.srv.waitFor((p) => p.type === DECLINE, 1000);
    assert.equal(optIp(decline, 50), '10.0.0.42');
    assert.equal(optIp(decline, 54), SERVER);
    assert.equal(decline.ciaddr, '0.0.0.0');
    assert.equal(chipNet(r.nb).ip, '0.0.0.0', 'the declined address is never applied');
    const [lease] = await got;
    assert.equal(lease.ip, '10.0.0.43');
    assert.equal(chipNet(r.nb).ip, '10.0.0.43');
  } finally {
    await teardown(r);
  }
});

test('a conflict while the static fallback runs: the static config is back after the DECLINE', async () => {
  const r = await rig({ fallback: FALLBACK, timeoutMs: 100 }, [{ from: '10.0.0.42:*', to: '127.0.0.1:9' }]);
  try {
    let fellBack = false, offers = 0;
    r.dhcp.on('fallback', () => (fellBack = true));
    r.srv.onRequest = (p, send) => {
      if (!fellBack) return; // no server until the static config is in use
      const yiaddr = offers > 1 ? '10.0.0.43' : '10.0.0.42';
      if (p.type === DISCOVER) {
        offers++;
        send(reply(p, OFFER, { yiaddr: offers > 1 ? '10.0.0.43' : '10.0.0.42' }));
      } else if (p.type === REQUEST) send(reply(p, ACK, { yiaddr }));
    };
    const declined = nextEvent(r.dhcp, 'declined', 3000);
    const got = nextEvent(r.dhcp, 'lease', 5000);
    r.dhcp.start();
    await declined;
    assert.deepEqual(chipNet(r.nb), { ip: FALLBACK.ip, subnet: FALLBACK.subnet, gateway: FALLBACK.gateway });
    const [lease] = await got;
    assert.equal(lease.ip, '10.0.0.43');
    assert.equal(chipNet(r.nb).ip, '10.0.0.43');
  } finally {
    await teardown(r);
  }
});

test('link down and up: the lease is confirmed by an INIT-REBOOT REQUEST; a NAK to it loses the lease', async () => {
  const r = await rig({ mode: 'dhcp-only' });
  try {
    let reboots = 0;
    r.srv.onRequest = (p, send) => {
      const rebooting = p.type === REQUEST && !p.options.has(54) && p.ciaddr === '0.0.0.0';
      if (p.type === DISCOVER) send(reply(p, OFFER));
      else if (!rebooting) send(reply(p, ACK));
      else if (++reboots === 1) send(reply(p, ACK));
      else send(reply(p, NAK, { yiaddr: '0.0.0.0' }));
    };
    const got = nextEvent(r.dhcp, 'lease', 3000);
    r.dhcp.start();
    await got;
    const cycle = async () => {
      r.nb.chip.faults.linkDown();
      await new Promise((res) => setTimeout(res, 100));
      r.nb.chip.faults.linkUp();
    };
    const renewed = nextEvent(r.dhcp, 'renewed', 3000);
    await cycle();
    await renewed;
    const reboot = r.srv.received.find((x) => x.packet.type === REQUEST && optIp(x.packet, 50) && !x.packet.options.has(54))!;
    assert.ok(reboot, 'an INIT-REBOOT REQUEST');
    assert.equal(reboot.via, 'broadcast');
    assert.equal(optIp(reboot.packet, 50), '10.0.0.42');
    assert.equal(reboot.packet.ciaddr, '0.0.0.0');
    assert.equal(reboot.packet.flags, 0x8000);
    const lost = nextEvent(r.dhcp, 'lost', 3000);
    await cycle();
    await lost;
    assert.equal(chipNet(r.nb).ip, '0.0.0.0');
  } finally {
    await teardown(r);
  }
});

test('an unanswered INIT-REBOOT keeps the lease after its retransmissions and frees the socket (RFC 2131 §3.2)', async () => {
  const r = await rig({ mode: 'dhcp-only' });
  try {
    let bound = false;
    r.srv.onRequest = (p, send) => {
      if (bound) return; // silent once the lease is given
      if (p.type === DISCOVER) send(reply(p, OFFER));
      else if (p.type === REQUEST) {
        bound = true;
        send(reply(p, ACK));
      }
    };
    const lost: unknown[] = [];
    r.dhcp.on('lost', (l: unknown) => lost.push(l));
    const got = nextEvent(r.dhcp, 'lease', 3000);
    r.dhcp.start();
    await got;
    const since = r.srv.received.length;
    r.nb.chip.faults.linkDown();
    await new Promise((res) => setTimeout(res, 100));
    r.nb.chip.faults.linkUp();
    await r.srv.waitFor((p) => p.type === REQUEST, 2000, since);
    const udpOpen = () => [0, 1, 2, 3, 4, 5, 6, 7].filter((n) => r.nb.chip.inspect(n).state === 0x22);
    const deadline = Date.now() + 6000; // 4 sends, then a wait: 0.2 + 0.4 + 0.8 + 1.6 s at this scale
    while (udpOpen().length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(udpOpen(), [], 'the socket is freed once the retransmissions are over');
    const reboots = r.srv.received.slice(since).filter((x) => x.packet.type === REQUEST);
    assert.equal(reboots.length, 4, 'the INIT-REBOOT REQUEST and three retransmissions');
    for (const x of reboots) assert.equal(optIp(x.packet, 50), '10.0.0.42');
    assert.deepEqual(lost, []);
    assert.equal(r.dhcp.lease.ip, '10.0.0.42');
    assert.equal(chipNet(r.nb).ip, '10.0.0.42', 'the address stays in use');
  } finally {
    await teardown(r);
  }
});

test('stop(true) sends RELEASE to the server and drops the address', async () => {
  const r = await rig({});
  try {
    plainServer(r.srv);
    const got = nextEvent(r.dhcp, 'lease', 3000);
    r.dhcp.start();
    await got;
    r.dhcp.stop(true);
    const release = await r.srv.waitFor((p) => p.type === RELEASE, 2000);
    const via = r.srv.received.find((x) => x.packet === release)!.via;
    assert.equal(via, 'unicast');
    assert.equal(release.ciaddr, '10.0.0.42');
    assert.equal(optIp(release, 54), SERVER);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(chipNet(r.nb).ip, '0.0.0.0');
    assert.equal(r.dhcp.lease, null);
  } finally {
    await teardown(r);
  }
});

test('static mode applies the static config at once and sends nothing; dhcp-only never falls back', async () => {
  const s = await rig({ mode: 'static', fallback: FALLBACK });
  try {
    const events: string[] = [];
    s.dhcp.on('fallback', () => events.push('fallback'));
    s.dhcp.start();
    assert.deepEqual(events, ['fallback']);
    assert.equal(chipNet(s.nb).ip, FALLBACK.ip);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(s.srv.received.length, 0);
  } finally {
    await teardown(s);
  }
  const d = await rig({ mode: 'dhcp-only', fallback: FALLBACK, timeoutMs: 100 });
  try {
    const events: string[] = [];
    d.dhcp.on('fallback', () => events.push('fallback'));
    d.dhcp.start();
    await d.srv.waitFor((p) => p.type === DISCOVER, 1000);
    await new Promise((res) => setTimeout(res, 300)); // well past the 100 ms
    assert.deepEqual(events, []);
    assert.equal(chipNet(d.nb).ip, '0.0.0.0');
  } finally {
    await teardown(d);
  }
});

test('retransmissions back off (4, 8, 16 … s, scaled) and keep the xid', async () => {
  const r = await rig({ mode: 'dhcp-only' });
  try {
    r.dhcp.start();
    // Sends at about 0, 0.2, 0.6 and 1.4 s; a fixed 4 s (0.2 s) interval would give 8 or more.
    await new Promise((res) => setTimeout(res, 1600));
    const discovers = r.srv.received.filter((x) => x.packet.type === DISCOVER);
    assert.ok(discovers.length >= 2 && discovers.length <= 4, `${discovers.length} DISCOVERs in 1.6 s`);
    assert.equal(new Set(discovers.map((x) => x.packet.xid)).size, 1);
  } finally {
    await teardown(r);
  }
});
