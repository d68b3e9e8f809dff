// Every fault the emulator can inject, observed at register level through SPI frames: link down/up,
// blackhole (half-open), keep-alive and SEND_KEEP on a dead path, peer RST/FIN, latency, a slow
// Sn_CR clear, torn RSR/FSR reads, random TX pointers, an absent or miswired chip, a vanished host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { W5500 } from '../sim/w5500/index.ts';
import { Cmd, Common, Sn, SnIr, Status } from '../sim/w5500/constants.ts';
import {
  BROKER, FAST, SpiMaster, bsb, chipRig, connectTcp, setDest, sleep, tcpServer, udpServer, until,
} from './w5500-fixtures.ts';

const route = (port: number) => ({ [`${BROKER}:1883`]: `127.0.0.1:${port}` });

test('link down: LNK = 0, data waits and is delivered if the link returns before TCPTO', async () => {
  const srv = await tcpServer();
  const { chip, m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    chip.faults.linkDown();
    assert.equal(m.read8(bsb.common, Common.PHYCFGR) & 1, 0);
    m.send(0, Buffer.from('held'));
    srv.conns[0].write('inbound');
    assert.equal(m.ir(0), SnIr.SENDOK, 'the chip still transmits (into nothing)');
    await sleep(FAST.tcpMs / 3);
    assert.equal(srv.received[0].length, 0, 'nothing crossed the wire');
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 0, 'nothing came in');
    assert.equal(m.read16(bsb.regs(0), Sn.TX_FSR), 2048 - 4, 'unacknowledged');
    chip.faults.linkUp();
    await until(() => srv.received[0].toString() === 'held', 2000, 'the retransmission');
    await until(() => m.read16(bsb.regs(0), Sn.RX_RSR) === 7, 2000, 'the held inbound bytes');
    await until(() => m.read16(bsb.regs(0), Sn.TX_FSR) === 2048, 2000, 'the ACK');
    assert.equal(m.sr(0), Status.ESTABLISHED);
  } finally {
    await close();
    await srv.close();
  }
});

test('link down with data pending: the connection times out per RTR/RCR; an idle one stays up', async () => {
  const srv = await tcpServer();
  const { chip, m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    await connectTcp(m, 1, BROKER, 1883);
    chip.faults.linkDown();
    m.send(0, [1, 2, 3]);
    await until(() => m.sr(0) === Status.CLOSED, 2000, 'TCPTO');
    assert.equal(m.ir(0) & SnIr.TIMEOUT, SnIr.TIMEOUT);
    assert.equal(m.sr(1), Status.ESTABLISHED, 'nothing to retransmit, nothing to time out');
    m.open(2, 0x02, 5000);
    setDest(m, 2, '192.0.2.20', 9);
    m.send(2, [1]);
    await until(() => m.ir(2) !== 0, 2000, 'ARP timeout');
    assert.equal(m.ir(2), SnIr.TIMEOUT, 'no ARP answer while the link is down');
    assert.deepEqual(srv.events, [], 'the peer heard nothing: no FIN, no RST');
  } finally {
    await close();
    await srv.close();
  }
});

test('blackhole: bytes vanish both ways with no RST or FIN; unacknowledged data ends in TIMEOUT', async () => {
  const srv = await tcpServer();
  const { chip, m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    chip.faults.blackhole(0);
    srv.conns[0].write('lost');
    m.send(0, Buffer.from('gone'));
    assert.equal(m.ir(0), SnIr.SENDOK);
    assert.equal(m.read16(bsb.regs(0), Sn.TX_FSR), 2048 - 4);
    await until(() => m.sr(0) === Status.CLOSED, 2000, 'TCPTO');
    assert.equal(m.ir(0), SnIr.SENDOK | SnIr.TIMEOUT);
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 0);
    assert.equal(srv.received[0].length, 0);
    await sleep(20);
    assert.deepEqual(srv.events, [], 'the peer still thinks the connection is open');
  } finally {
    await close();
    await srv.close();
  }
});

test('keep-alive (KPALVTR) detects a blackholed peer with no data pending', async () => {
  const srv = await tcpServer({ echo: true });
  const { chip, m, close } = chipRig(route(srv.port), { keepAliveUnitMs: 20 });
  try {
    await connectTcp(m, 0, BROKER, 1883);
    m.write8(bsb.regs(0), Sn.KPALVTR, 1);
    m.send(0, [1]); // probes start once data has moved
    await until(() => m.read16(bsb.regs(0), Sn.RX_RSR) === 1, 2000, 'echo');
    m.recv(0);
    m.write8(bsb.regs(0), Sn.IR, 0xff);
    chip.faults.blackhole(0);
    await until(() => m.sr(0) === Status.CLOSED, 3000, 'keep-alive timeout');
    assert.equal(m.ir(0), SnIr.TIMEOUT);
  } finally {
    await close();
    await srv.close();
  }
});

test('SEND_KEEP: one probe; TIMEOUT on a dead path, nothing on a live one; ignored while KPALVTR > 0', async () => {
  const srv = await tcpServer();
  const { chip, m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    await connectTcp(m, 1, BROKER, 1883);
    m.write8(bsb.regs(1), Sn.KPALVTR, 5);
    m.command(1, Cmd.SEND_KEEP);
    assert.equal(chip.anomalies.count('ignoredCommand'), 1);
    m.command(0, Cmd.SEND_KEEP);
    await sleep(2 * FAST.tcpMs);
    assert.equal(m.sr(0), Status.ESTABLISHED, 'the live peer answered');
    chip.faults.blackhole(0);
    m.command(0, Cmd.SEND_KEEP);
    await until(() => m.sr(0) === Status.CLOSED, 2000, 'the probe to time out');
    assert.equal(m.ir(0), SnIr.TIMEOUT);
  } finally {
    await close();
    await srv.close();
  }
});

test('peer RST and peer FIN faults', async () => {
  const srv = await tcpServer();
  const { chip, m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    await connectTcp(m, 1, BROKER, 1883);
    chip.faults.peerReset(0);
    assert.equal(m.sr(0), Status.CLOSED);
    assert.equal(m.ir(0), SnIr.DISCON);
    await until(() => srv.events.includes('error 0 ECONNRESET'), 2000, 'the real peer to be reset too');
    chip.faults.peerFin(1);
    assert.equal(m.sr(1), Status.CLOSE_WAIT);
    assert.equal(m.ir(1), SnIr.DISCON);
    srv.conns[1].write('after FIN');
    await sleep(20);
    assert.equal(m.read16(bsb.regs(1), Sn.RX_RSR), 0, 'nothing arrives after the peer\'s FIN');
    m.command(1, Cmd.DISCON);
    await until(() => m.sr(1) === Status.CLOSED, 2000, 'LAST_ACK → CLOSED');
  } finally {
    await close();
    await srv.close();
  }
});

test('added latency: the handshake and replies arrive later, in order', async () => {
  const srv = await tcpServer({ echo: true });
  const echo = await udpServer();
  const { chip, m, close } = chipRig({ ...route(srv.port), '192.0.2.20:7': `127.0.0.1:${echo.port}` });
  try {
    chip.faults.latency(40);
    m.open(0, 0x01, 40000);
    setDest(m, 0, BROKER, 1883);
    m.command(0, Cmd.CONNECT);
    await sleep(5);
    assert.equal(m.sr(0), Status.SYNSENT);
    await until(() => m.sr(0) === Status.ESTABLISHED, 2000, 'the delayed SYN/ACK');
    for (const s of ['a', 'b', 'c']) m.send(0, Buffer.from(s));
    await until(() => m.read16(bsb.regs(0), Sn.RX_RSR) === 3, 2000, 'the echo');
    assert.equal(Buffer.from(m.recv(0)).toString(), 'abc');
    m.open(1, 0x02, 5000);
    setDest(m, 1, '192.0.2.20', 7);
    m.send(1, [9]);
    await sleep(5);
    assert.equal(m.read16(bsb.regs(1), Sn.RX_RSR), 0, 'not back yet');
    await until(() => m.read16(bsb.regs(1), Sn.RX_RSR) === 9, 2000, 'the UDP echo');
  } finally {
    await close();
    await srv.close();
    await echo.close();
  }
});

test('slow Sn_CR clear: the command reads back N times before it applies', async () => {
  const { chip, m, close } = chipRig();
  try {
    chip.faults.slowCommand(7);
    m.write8(bsb.regs(0), Sn.MR, 0x02);
    assert.equal(m.command(0, Cmd.OPEN), 7);
    assert.equal(m.sr(0), Status.UDP);
    chip.faults.slowCommand();
    assert.equal(m.command(0, Cmd.CLOSE), 1, 'back to the commandReads option');
  } finally {
    await close();
  }
});

test('torn reads: the first 2-byte read of RX_RSR/TX_FSR after a change has the old high byte; the next is right', async () => {
  const { chip, m, close } = chipRig();
  try {
    m.open(0, 0x02, 5000);
    chip.faults.tornReads();
    chip.injectUdp({ port: 5000, srcIp: '192.0.2.9', srcPort: 9, payload: new Uint8Array(253) }); // RSR 0 → 0x0105
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 0x0005, 'old high byte 0x00, new low byte 0x05');
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 0x0105);
    assert.equal(m.stable16(bsb.regs(0), Sn.RX_RSR), 0x0105, 'read-until-stable gets the right value');
    m.write16(bsb.regs(0), Sn.TX_WR, 0x0105); // FSR 0x0800 → 0x06FB
    assert.equal(m.read16(bsb.regs(0), Sn.TX_FSR), 0x08fb);
    assert.equal(m.read16(bsb.regs(0), Sn.TX_FSR), 0x06fb);
    chip.faults.tornReads(false);
    chip.injectUdp({ port: 5000, srcIp: '192.0.2.9', srcPort: 9, payload: new Uint8Array(248) });
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 0x0205);
  } finally {
    await close();
  }
});

test('random TX pointers on ESTABLISHED: TX_RD = TX_WR jump, FSR stays full, sending at the new pointer works', async () => {
  const srv = await tcpServer();
  const { chip, m, close } = chipRig(route(srv.port), { seed: 42 });
  try {
    chip.faults.randomTxPointers();
    m.open(0, 0x01, 40000);
    assert.equal(m.read16(bsb.regs(0), Sn.TX_WR), 0, 'OPEN zeroes the pointers');
    setDest(m, 0, BROKER, 1883);
    m.command(0, Cmd.CONNECT);
    await until(() => m.sr(0) === Status.ESTABLISHED, 2000, 'ESTABLISHED');
    const wr = m.read16(bsb.regs(0), Sn.TX_WR);
    assert.notEqual(wr, 0);
    assert.equal(m.read16(bsb.regs(0), Sn.TX_RD), wr);
    assert.equal(m.read16(bsb.regs(0), Sn.TX_FSR), 2048);
    m.send(0, Buffer.from('moved'));
    await until(() => srv.received[0]?.toString() === 'moved', 2000, 'the data');
  } finally {
    await close();
    await srv.close();
  }
});

test('chip absent: every MISO byte is 0xFF and writes go nowhere; miswired: garbage and writes go nowhere', async () => {
  const chip = new W5500({ seed: 7 });
  const m = new SpiMaster(chip);
  try {
    chip.faults.chipAbsent();
    assert.deepEqual([...chip.transfer(Uint8Array.of(0x00, 0x39, 0x00, 0x00))], [0xff, 0xff, 0xff, 0xff]);
    m.write8(bsb.common, Common.SIMR, 0x12);
    chip.faults.chipAbsent(false);
    chip.faults.miswired();
    const reads = Array.from({ length: 8 }, () => [...chip.transfer(Uint8Array.of(0x00, 0x39, 0x00, 0x00))]);
    assert.ok(reads.some((r) => r[0] !== 1 || r[1] !== 2 || r[2] !== 3 || r[3] !== 4), 'not the real answer');
    assert.ok(new Set(reads.map((r) => r.join())).size > 1, 'and not even stable');
    m.write8(bsb.common, Common.SIMR, 0x34);
    chip.faults.miswired(false);
    assert.equal(m.read8(bsb.common, Common.SIMR), 0, 'neither write landed');
    assert.equal(m.read8(bsb.common, Common.VERSIONR), 4);
  } finally {
    await chip.close();
  }
});

test('a vanished host: ARP to it fails; its connections go silent', async () => {
  const srv = await tcpServer();
  const { chip, m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    chip.faults.hostDown(BROKER);
    m.send(0, [1]);
    await until(() => m.sr(0) === Status.CLOSED, 2000, 'TCPTO');
    assert.equal(m.ir(0), SnIr.SENDOK | SnIr.TIMEOUT);
    m.open(1, 0x01, 40001);
    setDest(m, 1, BROKER, 1883);
    m.command(1, Cmd.CONNECT);
    await until(() => m.sr(1) === Status.CLOSED, 2000, 'ARP timeout');
    assert.equal(m.ir(1), SnIr.TIMEOUT);
    chip.faults.hostDown(BROKER, false);
    await connectTcp(m, 1, BROKER, 1883);
    assert.equal(srv.received[0].length, 0);
  } finally {
    await close();
    await srv.close();
  }
});
