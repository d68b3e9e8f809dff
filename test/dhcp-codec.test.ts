// DHCP messages as the client builds and reads them, checked against an independent codec
// (test/helpers/scripted-dhcp.ts) and RFC 2131 / RFC 2132.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installE } from './helpers/espruino-e.ts';
import { buildRequest, parseReply } from '../src/net/dhcp.ts';
import { ACK, DECLINE, DISCOVER, OFFER, RELEASE, REQUEST, buildReply, optIp, parseDhcp } from './helpers/scripted-dhcp.ts';

installE();

const MAC = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const XID = 0xdeadbeef;
const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.length);
const parse = (u: Uint8Array) => parseDhcp(Buffer.from(u));
// Replies are matched against the request they answer: its xid and MAC.
const OURS = buildRequest(DISCOVER, XID, MAC, '', '', '', 'sensor-7');

test('DISCOVER: BOOTREQUEST header, broadcast flag, client id, hostname, parameter list, padded to 300 bytes', () => {
  const p = parse(buildRequest(DISCOVER, XID, MAC, '', '', '', 'sensor-7'));
  assert.equal(p.op, 1);
  assert.equal(p.xid, XID);
  assert.equal(p.flags, 0x8000);
  assert.equal(p.ciaddr, '0.0.0.0');
  assert.deepEqual([...p.chaddr], MAC);
  assert.equal(p.type, DISCOVER);
  assert.deepEqual(p.order, [53, 61, 12, 55]);
  assert.deepEqual([...p.options.get(61)!], [1, ...MAC]);
  assert.equal(p.options.get(12)!.toString('latin1'), 'sensor-7');
  assert.deepEqual([...p.options.get(55)!], [1, 3, 6, 15, 51, 58, 59]);
  assert.ok(p.length >= 300, 'RFC 1542 minimum BOOTP size');
});

test('REQUEST while selecting names the offered address (50) and the chosen server (54), ciaddr 0', () => {
  const p = parse(buildRequest(REQUEST, XID, MAC, '', '10.0.0.42', '10.0.0.1', 'h'));
  assert.equal(p.type, REQUEST);
  assert.equal(p.ciaddr, '0.0.0.0');
  assert.equal(p.flags, 0x8000);
  assert.equal(optIp(p, 50), '10.0.0.42');
  assert.equal(optIp(p, 54), '10.0.0.1');
  assert.ok(p.options.has(55));
});

test('REQUEST while renewing carries ciaddr, no broadcast flag, and neither 50 nor 54 (RFC 2131 table 5)', () => {
  const p = parse(buildRequest(REQUEST, 7, MAC, '10.0.0.42'));
  assert.equal(p.xid, 7);
  assert.equal(p.ciaddr, '10.0.0.42');
  assert.equal(p.flags, 0);
  assert.ok(!p.options.has(50) && !p.options.has(54) && !p.options.has(12));
});

test('DECLINE carries 50 and 54 and no parameter list or hostname; RELEASE carries ciaddr and 54', () => {
  const d = parse(buildRequest(DECLINE, XID, MAC, '', '10.0.0.42', '10.0.0.1', 'h'));
  assert.equal(d.type, DECLINE);
  assert.deepEqual(d.order, [53, 61, 50, 54]);
  const r = parse(buildRequest(RELEASE, XID, MAC, '10.0.0.42', '', '10.0.0.1', 'h'));
  assert.equal(r.type, RELEASE);
  assert.equal(r.ciaddr, '10.0.0.42');
  assert.deepEqual(r.order, [53, 61, 54]);
});

test('a long hostname still fits, with the end option after it', () => {
  const name = 'a'.repeat(63);
  const p = parse(buildRequest(REQUEST, XID, MAC, '', '10.0.0.42', '10.0.0.1', name));
  assert.equal(p.options.get(12)!.toString('latin1'), name);
  assert.ok(p.options.has(55));
});

const ackSpec = {
  type: ACK, xid: XID, chaddr: Buffer.from(MAC), yiaddr: '10.0.0.42', server: '10.0.0.1', lease: 3600, t1: 1000,
  t2: 2000, subnet: '255.255.0.0', router: '10.0.0.254', dns: ['10.0.0.53', '10.0.0.54'], domain: 'lan.example', pads: true,
};

test('an ACK is read whatever the option order, with pad options between them', () => {
  const m = parseReply(u8(buildReply(ackSpec)), OURS);
  assert.deepEqual(m, {
    type: ACK, ip: '10.0.0.42', subnet: '255.255.0.0', gateway: '10.0.0.254', dns: ['10.0.0.53', '10.0.0.54'],
    domain: 'lan.example', server: '10.0.0.1', lease: 3600, t1: 1000, t2: 2000,
  });
});

test('T1 and T2 default to 1/2 and 7/8 of the lease (RFC 2131 §4.4.5)', () => {
  const m = parseReply(u8(buildReply({ type: OFFER, xid: XID, chaddr: Buffer.from(MAC), yiaddr: '10.0.0.9', lease: 800 })), OURS)!;
  assert.equal(m.t1, 400);
  assert.equal(m.t2, 700);
  assert.equal(m.type, OFFER);
});

test('a reply for another transaction, another MAC, a BOOTREQUEST, or a bad cookie is not ours', () => {
  assert.equal(parseReply(u8(buildReply({ ...ackSpec, xid: XID + 1 })), OURS), null);
  assert.equal(parseReply(u8(buildReply({ ...ackSpec, chaddr: Buffer.from([2, 0, 0, 0, 0, 1]) })), OURS), null);
  const req = buildReply(ackSpec);
  req[0] = 1;
  assert.equal(parseReply(u8(req), OURS), null);
  const cookie = buildReply(ackSpec);
  cookie[239] = 0;
  assert.equal(parseReply(u8(cookie), OURS), null);
});

test('an option running past the end of the packet makes the reply invalid', () => {
  const b = buildReply({ type: ACK, xid: XID, chaddr: Buffer.from(MAC), yiaddr: '10.0.0.42' });
  const cut = Buffer.concat([b.subarray(0, b.length - 1), Buffer.from([6, 40, 10, 0])]);
  assert.equal(parseReply(u8(cut), OURS), null);
  assert.equal(parseReply(new Uint8Array(100), OURS), null);
});
