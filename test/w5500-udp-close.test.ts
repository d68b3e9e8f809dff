// A UDP datagram whose SEND completed (SENDOK) has left the chip: a CLOSE (or CLOSE + OPEN) right
// after it, in the same tick, cannot recall it, even if the emulator's host dgram socket has not
// finished binding yet. Sn_SR still reads CLOSED at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cmd, Common, SnIr, Status } from '../sim/w5500/constants.ts';
import { BROKER, bsb, chipRig, setDest, udpServer, until } from './w5500-fixtures.ts';

test('UDP broadcast SEND then CLOSE in the same tick: the server still gets it (DHCP RELEASE + close)', async () => {
  const dhcp = await udpServer(false);
  const { m, close } = chipRig({ '255.255.255.255:67': `127.0.0.1:${dhcp.port}` });
  try {
    m.write(bsb.common, Common.SIPR, [0, 0, 0, 0]);
    m.open(0, 0x02, 68);
    setDest(m, 0, '255.255.255.255', 67);
    m.send(0, [7, 1, 6, 0]);
    assert.equal(m.ir(0), SnIr.SENDOK);
    m.command(0, Cmd.CLOSE);
    assert.equal(m.sr(0), Status.CLOSED, 'CLOSED at once');
    await until(() => dhcp.messages.length === 1, 2000, 'the datagram sent before CLOSE');
    assert.deepEqual([...dhcp.messages[0].data], [7, 1, 6, 0]);
  } finally {
    await close();
    await dhcp.close();
  }
});

test('UDP unicast SEND, CLOSE, OPEN, SEND, CLOSE in one tick: both datagrams arrive', async () => {
  const sink = await udpServer(false);
  const { m, close } = chipRig({ [`${BROKER}:9`]: `127.0.0.1:${sink.port}` });
  try {
    m.open(0, 0x02, 5000);
    setDest(m, 0, BROKER, 9);
    m.send(0, [1, 2, 3]);
    assert.equal(m.ir(0), SnIr.SENDOK, 'ARP to a routed host succeeds at once');
    m.open(0, 0x02, 5000); // CLOSE + OPEN
    assert.equal(m.sr(0), Status.UDP);
    setDest(m, 0, BROKER, 9);
    m.send(0, [4, 5]);
    m.command(0, Cmd.CLOSE);
    assert.equal(m.sr(0), Status.CLOSED);
    await until(() => sink.messages.length === 2, 2000, 'both datagrams');
    assert.deepEqual(sink.messages.map((x) => [...x.data]).sort((a, b) => a.length - b.length), [[4, 5], [1, 2, 3]]);
  } finally {
    await close();
    await sink.close();
  }
});

test('UDP SEND then CLOSE under latency: the datagram is already on the wire and arrives late', async () => {
  const sink = await udpServer(false);
  const { chip, m, close } = chipRig({ [`${BROKER}:9`]: `127.0.0.1:${sink.port}` });
  try {
    chip.faults.latency(30);
    m.open(0, 0x02, 5000);
    setDest(m, 0, BROKER, 9);
    m.send(0, [9, 9]);
    assert.equal(m.ir(0), SnIr.SENDOK);
    m.command(0, Cmd.CLOSE);
    assert.equal(m.sr(0), Status.CLOSED);
    await until(() => sink.messages.length === 1, 2000, 'the delayed datagram');
    assert.deepEqual([...sink.messages[0].data], [9, 9]);
  } finally {
    await close();
    await sink.close();
  }
});

test('chip.close() still closes a host socket that lingers for a datagram delayed by latency', async () => {
  const sink = await udpServer(false);
  const udpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
  await until(() => udpHandles() === 1, 2000, 'earlier tests\' host sockets to finish closing');
  const before = udpHandles(); // the sink's
  const { chip, m, close } = chipRig({ [`${BROKER}:9`]: `127.0.0.1:${sink.port}` });
  try {
    chip.faults.latency(60_000);
    m.open(0, 0x02, 5000);
    setDest(m, 0, BROKER, 9);
    m.send(0, [1]);
    m.command(0, Cmd.CLOSE);
    assert.equal(m.sr(0), Status.CLOSED);
    assert.equal(udpHandles(), before + 1, 'the host socket lingers for the datagram on the wire');
  } finally {
    await close();
  }
  await until(() => udpHandles() === before, 2000, 'the lingering host socket to close');
  assert.equal(sink.messages.length, 0, 'chip.close() drops what is still on the wire');
  await sink.close();
});
