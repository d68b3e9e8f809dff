// DNS queries and answers as the resolver builds and reads them, against an independent codec
// (test/helpers/scripted-dns.ts) and RFC 1035.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installE } from './helpers/espruino-e.ts';
import { buildQuery, parseResponse } from '../src/net/dns.ts';
import { A, AAAA, CNAME, buildResponse, parseQuery } from './helpers/scripted-dns.ts';

installE();

const DNS_BADNAME = 'DNS_BADNAME', DNS_MALFORMED = 'DNS_MALFORMED', DNS_NXDOMAIN = 'DNS_NXDOMAIN', DNS_SERVFAIL = 'DNS_SERVFAIL',
  DNS_TRUNCATED = 'DNS_TRUNCATED';

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.length);
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

function answer(name: string, spec: Omit<Parameters<typeof buildResponse>[0], 'id' | 'question'>, id = 0x1234) {
  const q = buildQuery(id, name);
  const question = parseQuery(Buffer.from(q)).raw;
  return { q, b: u8(buildResponse({ id, question, ...spec })) };
}

test('a query: id, recursion desired, one question for the A record in class IN', () => {
  const q = Buffer.from(buildQuery(0xbeef, 'broker.example.com'));
  const p = parseQuery(q);
  assert.equal(p.id, 0xbeef);
  assert.equal(p.flags, 0x0100);
  assert.equal(q.readUInt16BE(4), 1);
  assert.equal(q.readUInt16BE(6) + q.readUInt16BE(8) + q.readUInt16BE(10), 0);
  assert.equal(p.name, 'broker.example.com');
  assert.equal(p.qtype, A);
  assert.equal(p.qclass, 1);
  assert.equal(q.length, 12 + p.raw.length);
});

test('names with an empty or over-long label, or over 253 characters, are refused', () => {
  assert.equal(codeOf(() => buildQuery(1, 'a..b')), DNS_BADNAME);
  assert.equal(codeOf(() => buildQuery(1, 'x'.repeat(64) + '.com')), DNS_BADNAME);
  assert.equal(codeOf(() => buildQuery(1, ('abcdefghi.').repeat(26) + 'com')), DNS_BADNAME);
  assert.equal(codeOf(() => buildQuery(1, 'x'.repeat(63) + '.com')), 'no error');
});

test('an A record whose owner is a compression pointer to the question', () => {
  const { q, b } = answer('broker.example.com', { answers: [{ name: 'broker.example.com', type: A, ttl: 300, data: '10.1.2.3' }] });
  assert.ok(b.length < q.length + 20, 'the owner name is a 2-byte pointer');
  assert.deepEqual(parseResponse(b, q, 'broker.example.com'), { name: 'broker.example.com', ip: '10.1.2.3', ttl: 300 });
});

test('a CNAME chain is followed by name, through pointers into earlier records, with the smallest TTL', () => {
  const { b, q } = answer('mqtt.example.com', { answers: [
    { name: 'mqtt.example.com', type: CNAME, ttl: 600, data: 'lb.cdn.example.com' },
    { name: 'lb.cdn.example.com', type: CNAME, ttl: 120, data: 'node1.cdn.example.com' },
    { name: 'other.example.com', type: A, ttl: 5, data: '10.9.9.9' }, // not on the chain
    { name: 'node1.cdn.example.com', type: A, ttl: 900, data: '10.0.0.7' },
  ] });
  assert.deepEqual(parseResponse(b, q, 'mqtt.example.com'), { name: 'node1.cdn.example.com', ip: '10.0.0.7', ttl: 120 });
});

test('a CNAME without the address of its target reports where the chain ends', () => {
  const { b, q } = answer('www.example.com', { answers: [{ name: 'www.example.com', type: CNAME, ttl: 60, data: 'edge.example.net' }] });
  assert.deepEqual(parseResponse(b, q, 'www.example.com'), { name: 'edge.example.net', ttl: 60 });
});

test('records of other types and a wrong-length A are skipped', () => {
  const { b, q } = answer('h.example', { answers: [
    { name: 'h.example', type: AAAA, ttl: 60, data: Buffer.alloc(16, 1) },
    { name: 'h.example', type: A, ttl: 60, data: Buffer.from([1, 2, 3]) },
    { name: 'h.example', type: A, ttl: 60, data: '10.0.0.1' },
  ] });
  assert.equal(parseResponse(b, q, 'h.example')!.ip, '10.0.0.1');
});

test('rcode 3 is NXDOMAIN, other rcodes are server failures, TC is truncation', () => {
  assert.equal(codeOf(() => { const a = answer('nope.example', { rcode: 3 }); parseResponse(a.b, a.q, 'nope.example'); }), DNS_NXDOMAIN);
  assert.equal(codeOf(() => { const a = answer('x.example', { rcode: 2 }); parseResponse(a.b, a.q, 'x.example'); }), DNS_SERVFAIL);
  assert.equal(codeOf(() => { const a = answer('x.example', { tc: true }); parseResponse(a.b, a.q, 'x.example'); }), DNS_TRUNCATED);
});

test('not an answer to our query: another id, another question, or a query instead of a response', () => {
  const ok = { answers: [{ name: 'h.example', type: A, ttl: 1, data: '10.0.0.1' }] };
  const q = buildQuery(0x1234, 'h.example');
  assert.equal(parseResponse(answer('h.example', ok, 0x1235).b, q, 'h.example'), null);
  assert.equal(parseResponse(answer('g.example', ok).b, q, 'h.example'), null);
  const query = answer('h.example', ok).b;
  query[2] &= 0x7f;
  assert.equal(parseResponse(query, q, 'h.example'), null);
});

test('the question echo may differ in letter case (DNS 0x20)', () => {
  const q = buildQuery(0x4321, 'h.example');
  const question = Buffer.from(parseQuery(Buffer.from(q)).raw);
  question[1] = 'H'.charCodeAt(0);
  const b = u8(buildResponse({ id: 0x4321, question, answers: [{ name: 'H.example', type: A, ttl: 9, data: '10.0.0.2' }] }));
  assert.equal(parseResponse(b, q, 'h.example')!.ip, '10.0.0.2');
});

test('malformed answers: missing records, a record past the end, a pointer loop, a reserved label type', () => {
  const c = answer('h.example', { answers: [{ name: 'h.example', type: CNAME, ttl: 1, data: 'g.example' }] });
  const more = Uint8Array.from(c.b);
  more[7] = 2; // ANCOUNT 2, one record present
  assert.equal(codeOf(() => parseResponse(more, c.q, 'h.example')), DNS_MALFORMED);
  const { b, q } = answer('h.example', { answers: [{ name: 'h.example', type: A, ttl: 1, data: '10.0.0.1' }] });
  assert.equal(codeOf(() => parseResponse(b.subarray(0, b.length - 2), q, 'h.example')), DNS_MALFORMED);
  const loop = Uint8Array.from(b);
  loop[q.length] = 0xc0; // the owner name points at itself
  loop[q.length + 1] = q.length;
  assert.equal(codeOf(() => parseResponse(loop, q, 'h.example')), DNS_MALFORMED);
  const reserved = Uint8Array.from(b);
  reserved[q.length] = 0x80;
  assert.equal(codeOf(() => parseResponse(reserved, q, 'h.example')), DNS_MALFORMED);
});
