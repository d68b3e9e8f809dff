// The socket state machine of ../shared/w5500-reference.md §4.2: every command in every state
// (out-of-state commands are ignored: Sn_CR clears and nothing changes), plus UDP framing and
// addressing (§4.6, §4.8, §9), MACRAW (§4.7) and keep-alive (§4.9), all through SPI frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cmd, Common, IR_MP, IR_UNREACH, Sn, SnIr, Status } from '../sim/w5500/constants.ts';
import {
  BROKER, FAST, type Rig, bsb, chipRig, connectTcp, setDest, sleep, tcpServer, udpServer, until, type TcpServer,
} from './w5500-fixtures.ts';

type StateName = 'CLOSED' | 'INIT' | 'LISTEN' | 'SYNSENT' | 'ESTABLISHED' | 'CLOSE_WAIT' | 'FIN_WAIT' | 'LAST_ACK' | 'UDP' | 'MACRAW';
type CmdName = keyof typeof Cmd;
const COMMANDS = Object.keys(Cmd) as CmdName[];

// What each command does in each state; commands not listed are ignored there. CLOSE works in every
// state and RECV is accepted in every state (bytes stay readable after a close).
const ACCEPTED: Record<StateName, Partial<Record<CmdName, StateName>>> = {
  CLOSED: { OPEN: 'INIT' },
  INIT: { LISTEN: 'LISTEN', CONNECT: 'SYNSENT' },
  LISTEN: {},
  SYNSENT: {},
  ESTABLISHED: { DISCON: 'FIN_WAIT', SEND: 'ESTABLISHED', SEND_KEEP: 'ESTABLISHED' },
  CLOSE_WAIT: { DISCON: 'LAST_ACK', SEND: 'CLOSE_WAIT', SEND_KEEP: 'CLOSE_WAIT' },
  FIN_WAIT: {},
  LAST_ACK: {},
  UDP: { SEND: 'UDP', SEND_MAC: 'UDP' },
  MACRAW: { SEND: 'MACRAW' },
};

let server: TcpServer;

/** A fresh chip with socket 0 in `state`, reached through SPI frames (and fault injection to hold transient ones). */
async function enter(state: StateName): Promise<Rig> {
  const rig = chipRig({ [`${BROKER}:1883`]: `127.0.0.1:${server.port}` });
  const { chip, m } = rig;
  const tcp = (): void => m.open(0, 0x01, 40000);
  switch (state) {
    case 'CLOSED': m.write8(bsb.regs(0), Sn.MR, 0x01); break;
    case 'INIT': tcp(); break;
    case 'LISTEN': tcp(); m.command(0, Cmd.LISTEN); break;
    case 'SYNSENT':
      chip.faults.latency(60_000); // the SYN/ACK is a minute away
      tcp(); setDest(m, 0, BROKER, 1883); m.command(0, Cmd.CONNECT);
      break;
    case 'UDP': m.open(0, 0x02, 5000); break;
    case 'MACRAW': m.open(0, 0x04, 0); break;
    default:
      await connectTcp(m, 0, BROKER, 1883);
      if (state === 'CLOSE_WAIT' || state === 'LAST_ACK') chip.faults.peerFin(0);
      if (state === 'FIN_WAIT' || state === 'LAST_ACK') {
        chip.faults.latency(60_000); // our FIN is a minute from the peer, so the close stays in progress
        m.command(0, Cmd.DISCON);
      }
  }
  m.write8(bsb.regs(0), Sn.IR, 0xff);
  setDest(m, 0, BROKER, 1883); // CONNECT and SEND have somewhere to go
  assert.equal(m.sr(0), Status[state], `set-up reached ${state}`);
  return rig;
}

test('every command in every state of §4.2', async (t) => {
  server = await tcpServer({ halfOpen: true });
  try {
    for (const state of Object.keys(ACCEPTED) as StateName[]) {
      for (const cmd of COMMANDS) {
        await t.test(`${cmd} in ${state}`, async () => {
          const rig = await enter(state);
          const { chip, m } = rig;
          try {
            const ignoredBefore = chip.anomalies.count('ignoredCommand');
            m.write8(bsb.regs(0), Sn.TX_WR, 0); // SEND of 0 bytes: nothing to transmit
            m.command(0, Cmd[cmd]);
            const accepted = cmd === 'CLOSE' || cmd === 'RECV' || ACCEPTED[state][cmd] !== undefined;
            const next: StateName = cmd === 'CLOSE' ? 'CLOSED' : ACCEPTED[state][cmd] ?? state;
            assert.equal(m.read8(bsb.regs(0), Sn.CR), 0, 'Sn_CR clears');
            assert.equal(m.sr(0).toString(16), Status[next].toString(16), `state after ${cmd}`);
            assert.equal(chip.anomalies.count('ignoredCommand') - ignoredBefore, accepted ? 0 : 1, 'ignored commands are flagged');
            const sendOk = (cmd === 'SEND' || cmd === 'SEND_MAC') && accepted;
            assert.equal(m.ir(0) & SnIr.SENDOK, sendOk ? SnIr.SENDOK : 0);
          } finally {
            await rig.close();
          }
        });
      }
    }
  } finally {
    await server.close();
  }
});

test('OPEN takes the protocol from Sn_MR: TCP → INIT, UDP → UDP, MACRAW only on socket 0, others stay CLOSED', async () => {
  const { m, close } = chipRig();
  try {
    const cases: [number, number, number][] = [[0, 0x01, Status.INIT], [1, 0x21, Status.INIT], [2, 0x02, Status.UDP],
      [3, 0x04, Status.CLOSED], [4, 0x00, Status.CLOSED], [5, 0x03, Status.CLOSED], [0, 0x04, Status.MACRAW]];
    for (const [n, mr, sr] of cases) {
      m.open(n, mr, 1000 + n);
      assert.equal(m.sr(n), sr, `socket ${n} Sn_MR 0x${mr.toString(16)}`);
    }
  } finally {
    await close();
  }
});

test('CONNECT to an address nobody answers: INIT during ARP, then CLOSED + TIMEOUT after ARPTO (§9)', async () => {
  const { m, close } = chipRig();
  try {
    m.open(0, 0x01, 40000);
    setDest(m, 0, '192.0.2.99', 1883);
    m.command(0, Cmd.CONNECT);
    assert.equal(m.sr(0), Status.INIT, 'no ARP state: INIT while resolving');
    await until(() => m.sr(0) === Status.CLOSED, 2000, 'ARP timeout');
    assert.equal(m.ir(0), SnIr.TIMEOUT);
  } finally {
    await close();
  }
});

test('off-subnet destinations need a gateway: GAR = 0 gives an ARP timeout, GAR set resolves through it', async () => {
  const sink = await udpServer(false);
  const { m, close } = chipRig({ '198.51.100.7:9': `127.0.0.1:${sink.port}` });
  try {
    m.open(0, 0x02, 5000);
    setDest(m, 0, '198.51.100.7', 9);
    m.write16(bsb.regs(0), Sn.TX_WR, 3);
    m.command(0, Cmd.SEND);
    await until(() => m.ir(0) !== 0, 2000, 'ARP timeout');
    assert.equal(m.ir(0), SnIr.TIMEOUT);
    m.write8(bsb.regs(0), Sn.IR, 0xff);
    m.write(bsb.common, Common.GAR, [192, 0, 2, 1]);
    m.write16(bsb.regs(0), Sn.TX_WR, 6);
    m.command(0, Cmd.SEND);
    assert.equal(m.ir(0), SnIr.SENDOK);
    await until(() => sink.messages.length === 1, 2000, 'the datagram');
  } finally {
    await close();
    await sink.close();
  }
});

test('UDP to 255.255.255.255 needs no ARP: SENDOK at once, delivered through a broadcast route (§4.8, §9)', async () => {
  const dhcp = await udpServer(false);
  const { m, close } = chipRig({ '255.255.255.255:67': `127.0.0.1:${dhcp.port}` });
  try {
    m.write(bsb.common, Common.SIPR, [0, 0, 0, 0]);
    m.open(0, 0x02, 68);
    setDest(m, 0, '255.255.255.255', 67);
    m.send(0, [1, 1, 6, 0]);
    assert.equal(m.ir(0), SnIr.SENDOK);
    await until(() => dhcp.messages.length === 1, 2000, 'the broadcast');
    assert.deepEqual([...dhcp.messages[0].data], [1, 1, 6, 0]);
  } finally {
    await close();
    await dhcp.close();
  }
});

test('UDP replies come back from the virtual address, and marked broadcasts are dropped under BCASTB', async () => {
  const dhcp = await udpServer(true);
  const routes = [
    { from: '255.255.255.255:67', to: `127.0.0.1:${dhcp.port}`, broadcast: true },
    { from: '192.0.2.1:67', to: `127.0.0.1:${dhcp.port}` },
  ];
  const { chip, m, close } = chipRig(routes);
  try {
    m.open(0, 0x02, 68);
    setDest(m, 0, '255.255.255.255', 67);
    m.send(0, [7, 7]);
    await until(() => m.read16(bsb.regs(0), Sn.RX_RSR) === 10, 2000, 'the reply');
    assert.deepEqual([...m.recv(0)], [192, 0, 2, 1, 0, 67, 0, 2, 7, 7], 'source is the server\'s virtual address');
    m.open(0, 0x42, 68); // BCASTB
    setDest(m, 0, '255.255.255.255', 67);
    m.send(0, [8]);
    await until(() => dhcp.messages.length === 2, 2000, 'the second request');
    await sleep(20);
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 0, 'broadcast reply blocked');
    assert.equal(chip.counters.net.udpDropped, 1);
  } finally {
    await close();
    await dhcp.close();
  }
});

test('a datagram that does not fit in the RX buffer is dropped whole (§4.6)', async () => {
  const { chip, m, close } = chipRig();
  try {
    m.write8(bsb.regs(0), Sn.RXBUF_SIZE, 1);
    m.open(0, 0x02, 5000);
    chip.injectUdp({ port: 5000, srcIp: '192.0.2.9', srcPort: 9, payload: new Uint8Array(600) });
    chip.injectUdp({ port: 5000, srcIp: '192.0.2.9', srcPort: 9, payload: new Uint8Array(500) }); // 508 > 1024 - 608
    chip.injectUdp({ port: 5000, srcIp: '192.0.2.9', srcPort: 9, payload: new Uint8Array(408) }); // exactly fills it
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 1024);
    assert.equal(chip.counters.net.udpDropped, 1);
    assert.equal(chip.anomalies.count('udpDrop'), 1);
  } finally {
    await close();
  }
});

test('a known host with nothing on the port answers ICMP unreachable: IR.UNREACH, UIPR, UPORTR', async () => {
  const { m, close } = chipRig({ '192.0.2.30:53': '127.0.0.1:9' });
  try {
    m.open(0, 0x02, 5000);
    setDest(m, 0, '192.0.2.30', 54);
    m.send(0, [1]);
    assert.equal(m.ir(0), SnIr.SENDOK);
    await until(() => m.read8(bsb.common, Common.IR) !== 0, 2000, 'UNREACH');
    assert.equal(m.read8(bsb.common, Common.IR), IR_UNREACH);
    assert.deepEqual([...m.read(bsb.common, Common.UIPR, 6)], [192, 0, 2, 30, 0, 54]);
  } finally {
    await close();
  }
});

test('Wake-on-LAN: a magic packet on an open UDP socket sets IR.MP when MR.WOL is set', async () => {
  const { chip, m, close } = chipRig();
  try {
    m.write8(bsb.common, Common.MR, 0x20);
    m.open(0, 0x02, 9);
    const mac = [0x02, 0, 0, 0, 0, 5];
    const magic = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...new Array(16).fill(mac).flat()];
    chip.injectUdp({ port: 9, srcIp: '192.0.2.9', srcPort: 9, payload: Uint8Array.from([1, 2, ...magic]) });
    assert.equal(m.read8(bsb.common, Common.IR), IR_MP);
  } finally {
    await close();
  }
});

test('MACRAW on socket 0: frames sent go out whole; frames received carry the 2-byte inclusive length; MFEN filters (§4.7)', async () => {
  const { chip, m, close } = chipRig();
  try {
    const sent: Uint8Array[] = [];
    chip.onFrame((f) => sent.push(f));
    m.open(0, 0x84, 0); // MACRAW + MFEN
    const own = [0x02, 0, 0, 0, 0, 5];
    const frame = [...own, 1, 2, 3, 4, 5, 6, 0x08, 0x00, 0xaa];
    m.send(0, frame);
    assert.deepEqual(sent.map((f) => [...f]), [frame]);
    assert.equal(chip.injectFrame(Uint8Array.from(frame)), true);
    assert.equal(chip.injectFrame(Uint8Array.from([0x02, 9, 9, 9, 9, 9, ...frame.slice(6)])), false, 'MFEN: not ours');
    assert.equal(chip.injectFrame(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...frame.slice(6)])), true);
    const rx = m.recv(0);
    assert.deepEqual([...rx.subarray(0, 2)], [0, frame.length + 2]);
    assert.deepEqual([...rx.subarray(2, 2 + frame.length)], frame);
    assert.equal(rx.length, 2 * (frame.length + 2));
  } finally {
    await close();
  }
});

test('keep-alive: idle ESTABLISHED socket with KPALVTR stays up while the peer answers', async () => {
  const srv = await tcpServer({ echo: true });
  const { m, close } = chipRig({ [`${BROKER}:1883`]: `127.0.0.1:${srv.port}` }, { keepAliveUnitMs: 10 });
  try {
    await connectTcp(m, 0, BROKER, 1883);
    m.write8(bsb.regs(0), Sn.KPALVTR, 1);
    m.send(0, [1]);
    await sleep(5 * FAST.tcpMs);
    assert.equal(m.sr(0), Status.ESTABLISHED);
    assert.equal(m.ir(0) & SnIr.TIMEOUT, 0);
  } finally {
    await close();
    await srv.close();
  }
});

test('unsolicited datagrams to a UDP socket\'s host port take their source from the route table', async () => {
  const server = await udpServer(false);
  const { chip, m, close } = chipRig({ '192.0.2.1:67': `127.0.0.1:${server.port}` });
  const stranger = await udpServer(false);
  try {
    m.open(0, 0x02, 68);
    const port = await chip.hostPort('udp', 68);
    server.socket.send(Uint8Array.of(1, 2), port, '127.0.0.1');
    await until(() => m.read16(bsb.regs(0), Sn.RX_RSR) === 10, 2000, 'the datagram');
    assert.deepEqual([...m.recv(0)], [192, 0, 2, 1, 0, 67, 0, 2, 1, 2]);
    stranger.socket.send(Uint8Array.of(3), port, '127.0.0.1');
    await until(() => m.read16(bsb.regs(0), Sn.RX_RSR) === 9, 2000, 'the stray datagram');
    assert.deepEqual([...m.recv(0).subarray(0, 6)], [127, 0, 0, 1, stranger.port >> 8, stranger.port & 255]);
    assert.equal(chip.anomalies.count('unmappedSource'), 1);
  } finally {
    await close();
    await server.close();
    await stranger.close();
  }
});
