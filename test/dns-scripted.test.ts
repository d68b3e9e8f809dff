// The DNS resolver as firmware on the simulated board, through the W5500 emulator's map mode, against
// loopback servers whose answers the test scripts. Servers 10.0.0.53 and 10.0.0.54 are mapped to
// them; each answer waits at most timeoutMs = 200 ms, tried twice per server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNetBoard, type Fw, type NetBoard } from './helpers/net-board.ts';
import { A, CNAME, ScriptedDns, buildResponse } from './helpers/scripted-dns.ts';

const S1 = '10.0.0.53', S2 = '10.0.0.54', SPOOFER = '10.0.0.66';

interface Rig {
  s1: ScriptedDns;
  s2: ScriptedDns;
  spoofer: ScriptedDns;
  nb: NetBoard;
  dns: Fw;
}

async function rig(opts: object = {}): Promise<Rig> {
  const [s1, s2, spoofer] = await Promise.all([ScriptedDns.start(), ScriptedDns.start(), ScriptedDns.start()]);
  let nb: NetBoard | undefined;
  try {
    nb = await startNetBoard({ network: { mode: 'map', routes: [
      { from: `${S1}:53`, to: `127.0.0.1:${s1.port}` },
      { from: `${S2}:53`, to: `127.0.0.1:${s2.port}` },
      { from: `${SPOOFER}:53`, to: `127.0.0.1:${spoofer.port}` },
    ] } });
    const driver = nb.driver;
    driver.setIP({ ip: '10.0.0.20', subnet: '255.255.255.0', gateway: '10.0.0.254', dns: [S1, S2] });
    const dns = new nb.net.Dns(driver, () => driver.getIP().dns, { timeoutMs: 200, retries: 1, ...opts });
    return { s1, s2, spoofer, nb, dns };
  } catch (e) {
    await nb?.dispose();
    await Promise.all([s1.close(), s2.close(), spoofer.close()]);
    throw e;
  }
}

async function teardown(r: Rig): Promise<void> {
  await r.nb.dispose();
  await Promise.all([r.s1.close(), r.s2.close(), r.spoofer.close()]);
}

/** resolve() as a promise: { ip } or { code }, with a deadline well past the resolver's own bound. */
function resolve(r: Rig, name: string, ms = 3000): Promise<{ ip?: string; code?: string }> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`resolve(${name}) did not call back within ${ms} ms`)), ms);
    r.dns.resolve(name, (err: Fw, ip?: string) => {
      clearTimeout(t);
      res(err ? { code: err.code } : { ip });
    });
  });
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

test('resolves an A record; the next lookup is served from the cache; an IP literal never queries', async () => {
  const r = await rig();
  try {
    r.s1.serve({ 'broker.test': '10.0.0.77' });
    assert.deepEqual(await resolve(r, 'broker.test'), { ip: '10.0.0.77' });
    assert.deepEqual(await resolve(r, 'Broker.Test.'), { ip: '10.0.0.77' });
    assert.deepEqual(await resolve(r, '10.1.2.3'), { ip: '10.1.2.3' });
    assert.equal(r.s1.queries.length, 1);
    assert.equal(r.s1.queries[0].name, 'broker.test');
    assert.equal(r.s2.queries.length, 0);
  } finally {
    await teardown(r);
  }
});

test('NXDOMAIN is final: DNS_NXDOMAIN, and the second server is not asked', async () => {
  const r = await rig();
  try {
    r.s1.serve({});
    r.s2.serve({ 'nope.test': '10.0.0.1' });
    assert.deepEqual(await resolve(r, 'nope.test'), { code: 'DNS_NXDOMAIN' });
    assert.equal(r.s2.queries.length, 0);
  } finally {
    await teardown(r);
  }
});

test('a silent server is tried retries + 1 times, then the next server answers', async () => {
  const r = await rig();
  try {
    r.s2.serve({ 'broker.test': '10.0.0.77' });
    assert.deepEqual(await resolve(r, 'broker.test'), { ip: '10.0.0.77' });
    assert.equal(r.s1.queries.length, 2);
    assert.equal(r.s2.queries.length, 1);
  } finally {
    await teardown(r);
  }
});

test('every server silent: DNS_TIMEOUT after a bounded number of tries', async () => {
  const r = await rig();
  try {
    assert.deepEqual(await resolve(r, 'broker.test'), { code: 'DNS_TIMEOUT' });
    assert.equal(r.s1.queries.length, 2);
    assert.equal(r.s2.queries.length, 2);
    const udpOpen = [0, 1, 2, 3, 4, 5, 6, 7].filter((n) => r.nb.chip.inspect(n).state === 0x22);
    assert.deepEqual(udpOpen, [], 'the query socket is closed afterwards');
  } finally {
    await teardown(r);
  }
});

test('a CNAME chain in one answer is followed; a CNAME without its address is asked for next', async () => {
  const r = await rig();
  try {
    r.s1.serve({ 'mqtt.test': 'cname:lb.test', 'lb.test': 'cname:node1.test', 'node1.test': '10.0.0.71' });
    assert.deepEqual(await resolve(r, 'mqtt.test'), { ip: '10.0.0.71' });
    assert.equal(r.s1.queries.length, 1);
    // A server that gives only the CNAME record.
    r.s1.onQuery = (q, reply) => {
      const answers = q.name === 'www.test' ? [{ name: 'www.test', type: CNAME, ttl: 60, data: 'edge.test' }]
        : q.name === 'edge.test' ? [{ name: 'edge.test', type: A, ttl: 60, data: '10.0.0.72' }] : [];
      reply(buildResponse({ id: q.id, question: q.raw, answers }));
    };
    assert.deepEqual(await resolve(r, 'www.test'), { ip: '10.0.0.72' });
    assert.deepEqual(r.s1.queries.slice(1).map((q) => q.name), ['www.test', 'edge.test']);
  } finally {
    await teardown(r);
  }
});

test('a truncated answer is DNS_TRUNCATED unless another server answers', async () => {
  const r = await rig();
  try {
    r.s1.onQuery = (q, reply) => reply(buildResponse({ id: q.id, question: q.raw, tc: true }));
    assert.deepEqual(await resolve(r, 'big.test'), { code: 'DNS_TRUNCATED' });
    assert.equal(r.s1.queries.length, 1, 'a truncated answer is not retried on the same server');
    r.s2.serve({ 'big2.test': '10.0.0.73' });
    assert.deepEqual(await resolve(r, 'big2.test'), { ip: '10.0.0.73' });
  } finally {
    await teardown(r);
  }
});

test('a malformed answer is DNS_MALFORMED unless another server answers', async () => {
  const r = await rig();
  try {
    r.s1.onQuery = (q, reply) => {
      const b = buildResponse({ id: q.id, question: q.raw, answers: [{ name: q.name, type: A, ttl: 60, data: '10.0.0.1' }] });
      reply(b.subarray(0, b.length - 3)); // the A record's data cut short
    };
    assert.deepEqual(await resolve(r, 'bad.test'), { code: 'DNS_MALFORMED' });
    r.s2.serve({ 'bad2.test': '10.0.0.74' });
    assert.deepEqual(await resolve(r, 'bad2.test'), { ip: '10.0.0.74' });
  } finally {
    await teardown(r);
  }
});

test('answers with a wrong id, or from an address that was not asked, are ignored', async () => {
  const r = await rig();
  try {
    r.s1.onQuery = (q, reply, from) => {
      reply(buildResponse({ id: q.id ^ 1, question: q.raw, answers: [{ name: q.name, type: A, ttl: 60, data: '6.6.6.1' }] }));
      r.spoofer.sendTo(buildResponse({ id: q.id, question: q.raw, answers: [{ name: q.name, type: A, ttl: 60, data: '6.6.6.2' }] }), from);
      setTimeout(() => reply(buildResponse({ id: q.id, question: q.raw, answers: [{ name: q.name, type: A, ttl: 60, data: '10.0.0.75' }] })), 50);
    };
    assert.deepEqual(await resolve(r, 'victim.test'), { ip: '10.0.0.75' });
    assert.equal(r.s1.queries.length, 1);
  } finally {
    await teardown(r);
  }
});

test('the cache honours the TTL, and serves the last known good answer when every server fails', async () => {
  const r = await rig();
  try {
    r.s1.serve({ 'broker.test': '10.0.0.77' }, 1);
    assert.deepEqual(await resolve(r, 'broker.test'), { ip: '10.0.0.77' });
    await sleep(1100);
    r.s1.serve({ 'broker.test': '10.0.0.78' }, 1);
    assert.deepEqual(await resolve(r, 'broker.test'), { ip: '10.0.0.78' }, 'expired: asked again');
    assert.equal(r.s1.queries.length, 2);
    await sleep(1100);
    r.s1.onQuery = () => {}; // every server silent now
    assert.deepEqual(await resolve(r, 'broker.test'), { ip: '10.0.0.78' }, 'last known good');
    assert.equal(r.s1.queries.length, 4);
    r.s1.serve({});
    assert.deepEqual(await resolve(r, 'broker.test'), { code: 'DNS_NXDOMAIN' }, 'a definite NXDOMAIN is not papered over');
  } finally {
    await teardown(r);
  }
});

test('no server configured, or a bad name: an error at once, no query', async () => {
  const r = await rig();
  try {
    const none = new r.nb.net.Dns(r.nb.driver, () => [], {});
    const got = await new Promise<string>((res) => none.resolve('x.test', (err: Fw) => res(err.code)));
    assert.equal(got, 'DNS_SERVFAIL');
    assert.deepEqual(await resolve(r, 'a..b'), { code: 'DNS_BADNAME' });
    assert.equal(r.s1.queries.length, 0);
  } finally {
    await teardown(r);
  }
});
