// The robust client as firmware on the simulated board with the network services failing under it:
// the DHCP server gone when the lease is to be renewed, and the DNS server gone when the client
// reconnects (the resolver then serves the last known address). Scripted DHCP and DNS servers on
// loopback; a real mosquitto; DHCP times at timeScale 0.05 (a 40 s lease lasts 2 s).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mosquitto } from './helpers/mosquitto.ts';
import { startRobustBoard, Recorder, until, pending, BROKER_IP, BOARD_NET, type Fw } from './helpers/robust-board.ts';
import { Observer } from './helpers/robust-observer.ts';
import { ScriptedDhcp, buildReply, DISCOVER, OFFER, REQUEST, ACK, type DhcpPacket } from './helpers/scripted-dhcp.ts';
import { ScriptedDns } from './helpers/scripted-dns.ts';
import { withTimeout, sleep } from './helpers/client-util.ts';

let broker: Mosquitto;

before(async () => { broker = await Mosquitto.start({ extraConfig: ['max_queued_messages 0'] }); });
after(async () => { await broker.dispose(); });

const FAST = { keepalive: 2, pingTimeout: 1000, connectTimeout: 3000, reconnectMin: 100, reconnectMax: 1000, clean: false };
const BROKER_ROUTE = { from: `${BROKER_IP}:1883`, to: `127.0.0.1:0` };

function connected(c: Fw, ms = 5000): Promise<boolean> {
  return withTimeout('connect', ms, (resolve, reject) => c.connect((err: any, sp: boolean) => (err ? reject(err) : resolve(!!sp))));
}

function nextEvent(emitter: Fw, ev: string, ms: number): Promise<any> {
  return withTimeout(`'${ev}'`, ms, (resolve) => {
    let done = false;
    emitter.on(ev, (a: any) => { if (!done) { done = true; resolve(a); } });
  });
}

test('DHCP server gone at renewal: the connection carries on while the lease lasts, no message is lost, the lease comes back', async () => {
  const SERVER = '10.0.0.1';
  const LEASED = '10.0.0.42';
  const srv = await ScriptedDhcp.start();
  const r = await startRobustBoard({ ip: null, routes: [...srv.routes(SERVER), { from: '10.0.0.10:1883', to: `127.0.0.1:${broker.port}` }] });
  const obs = await Observer.start(broker.port, 'rn-obs1', [{ topic: 'rn/dhcp', qos: 1 }]);
  const dhcp = new r.fw.Dhcp(r.driver, { mode: 'dhcp-only', timeScale: 0.05 });
  let gone = false;
  let renewals = 0;
  const reply = (p: DhcpPacket, type: number) => buildReply({
    type, xid: p.xid, chaddr: p.chaddr, yiaddr: LEASED, server: SERVER, lease: 40, t1: 20, t2: 30,
    subnet: '255.255.255.0', router: '10.0.0.254', dns: [], broadcast: true,
  });
  srv.onRequest = (p, send) => {
    if (p.type === REQUEST && p.ciaddr !== '0.0.0.0' && !renewals++) gone = true; // away from the first renewal on
    if (gone) return;
    if (p.type === DISCOVER) send(reply(p, OFFER));
    else if (p.type === REQUEST) send(reply(p, ACK));
  };
  const pub = r.client({ ...FAST, host: '10.0.0.10', clientId: 'rn-dhcp' });
  const rec = new Recorder(pub);
  let n = 0;
  const results: Promise<any>[] = [];
  const ticker = setInterval(() => {
    const payload = `m${n++}`;
    results.push(withTimeout(payload, 20000, (resolve) => pub.publish('rn/dhcp', payload, 1, (err: any) => resolve(err))));
  }, 50);
  try {
    const leased = nextEvent(dhcp, 'lease', 3000);
    dhcp.start();
    await leased;
    await connected(pub);
    await until('the first renewal, unanswered', () => gone, 5000);
    const lost = await nextEvent(dhcp, 'lost', 5000);
    assert.equal(lost.ip, LEASED);
    assert.equal(rec.count('disconnected'), 0, 'renewals failing do not touch the connection while the lease is valid');
    await sleep(500);
    gone = false; // the server is back: discovery gets a lease again
    await nextEvent(dhcp, 'lease', 5000);
    await sleep(500);
    clearInterval(ticker);
    const errs = (await Promise.all(results)).filter((e) => e);
    assert.deepEqual(errs, [], 'every publish completed');
    await obs.waitFor(`all ${n} messages`, () => [...Array(n).keys()].every((i) => obs.counts.has(`m${i}`)), 10000);
    assert.equal(pub.connected, true);
    assert.deepEqual(pending(pub), { inflight: 0, queued: 0, queuedBytes: 0 });
    assert.ok(rec.checkOnConnect.every((x) => x === true));
  } finally {
    clearInterval(ticker);
    pub.disconnect();
    dhcp.stop();
    obs.close();
    await r.dispose();
    await srv.close();
  }
});

test('DNS failing on reconnect: the name is asked again, and the last known address is used', async () => {
  const DNS_IP = '192.168.1.53';
  const dnsSrv = await ScriptedDns.start();
  const r = await startRobustBoard({
    ip: null, routes: [{ from: `${DNS_IP}:53`, to: `127.0.0.1:${dnsSrv.port}` }, { ...BROKER_ROUTE, to: `127.0.0.1:${broker.port}` }],
  });
  r.driver.setIP({ ...BOARD_NET, dns: [DNS_IP] });
  const dns = new r.fw.Dns(r.driver, () => r.driver.getIP().dns, { timeoutMs: 200, retries: 0 });
  dnsSrv.serve({ 'broker.test': BROKER_IP }, 0); // TTL 0: every connection asks again
  const pub = r.client({ ...FAST, host: 'broker.test', clientId: 'rn-dns' }, { resolve: dns.resolve });
  const rec = new Recorder(pub);
  const obs = await Observer.start(broker.port, 'rn-obs2', [{ topic: 'rn/dns', qos: 1 }]);
  try {
    await connected(pub);
    assert.equal(dnsSrv.queries.length, 1);
    dnsSrv.onQuery = () => {}; // the DNS server stops answering
    r.chip.faults.peerReset(r.socketOf(pub));
    await rec.wait('connected', 2, 8000);
    assert.ok(dnsSrv.queries.length >= 2, 'the name was resolved again for the new connection');
    assert.equal(rec.count('error'), 0, 'no attempt failed: the last known address was used');
    await withTimeout('publish', 3000, (resolve, reject) => pub.publish('rn/dns', 'via last known', 1, (e: any) => (e ? reject(e) : resolve(null))));
    await obs.waitFor('the message', () => obs.counts.has('via last known'), 3000);
  } finally {
    pub.disconnect();
    obs.close();
    await r.dispose();
    await dnsSrv.close();
  }
});
