// TCP through the emulated W5500, driven only through SPI frames, against real servers and clients
// on loopback: data both ways with flow control and pointer wrap, ACK-based FSR, LISTEN sockets,
// peer FIN/RST, refused connections, active close, and the map-mode rule that no host socket ever
// leaves loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { W5500 } from '../sim/w5500/index.ts';
import { Cmd, Sn, SnIr, Status } from '../sim/w5500/constants.ts';
import { BROKER, SpiMaster, bsb, chipRig, connectTcp, setDest, sleep, tcpServer, until } from './w5500-fixtures.ts';

const route = (port: number) => ({ [`${BROKER}:1883`]: `127.0.0.1:${port}` });

test('a TCP echo of 70 KB through SPI frames only: FSR-paced sends, RSR-paced reads, pointers past 0xFFFF', async () => {
  const srv = await tcpServer({ echo: true });
  const { chip, m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    assert.equal(srv.conns.length, 1);
    const total = 70_000;
    const data = Uint8Array.from({ length: total }, (_, i) => (i * 7 + (i >> 8)) & 255);
    let sent = 0;
    const got: number[] = [];
    await until(() => {
      const free = m.stable16(bsb.regs(0), Sn.TX_FSR);
      if (sent < total && free > 0) {
        const n = Math.min(free, total - sent, 1460);
        m.send(0, data.subarray(sent, sent + n));
        sent += n;
      }
      for (const b of m.recv(0)) got.push(b);
      return got.length >= total;
    }, 10_000, 'the whole echo');
    assert.equal(got.length, total);
    assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'every byte back in order');
    assert.ok(srv.received[0].equals(Buffer.from(data)), 'the server got exactly what was sent');
    assert.equal(m.read16(bsb.regs(0), Sn.TX_RD), total & 0xffff);
    assert.equal(m.read16(bsb.regs(0), Sn.RX_WR), total & 0xffff);
    assert.equal(chip.counters.net.tcpTxBytes, total);
    assert.equal(chip.counters.net.tcpRxBytes, total);
    m.command(0, Cmd.DISCON);
    assert.equal(m.sr(0), Status.FIN_WAIT);
    await until(() => m.sr(0) === Status.CLOSED, 2000, 'close');
    assert.equal(m.ir(0) & SnIr.DISCON, SnIr.DISCON, 'the peer\'s FIN arrived');
    await until(() => srv.events.includes('end 0'), 2000, 'the server to see our FIN');
  } finally {
    await close();
    await srv.close();
  }
});

test('TCP FSR counts from the ACKed pointer: SEND gives SENDOK at once, FSR recovers when the data is acknowledged (§4.3)', async () => {
  const srv = await tcpServer();
  const { m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    m.send(0, new Uint8Array(1000).fill(1));
    assert.equal(m.ir(0), SnIr.SENDOK);
    assert.equal(m.read16(bsb.regs(0), Sn.TX_RD), 1000, 'TX_RD = TX_WR once sent');
    assert.equal(m.read16(bsb.regs(0), Sn.TX_FSR), 2048 - 1000, 'not ACKed yet');
    await until(() => m.read16(bsb.regs(0), Sn.TX_FSR) === 2048, 2000, 'the ACK');
  } finally {
    await close();
    await srv.close();
  }
});

test('a full RX buffer closes the window: the peer\'s bytes wait and arrive in order as RECV frees room', async () => {
  const srv = await tcpServer();
  const { m, close } = chipRig(route(srv.port));
  try {
    m.write8(bsb.regs(0), Sn.RXBUF_SIZE, 1);
    await connectTcp(m, 0, BROKER, 1883);
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i & 255));
    srv.conns[0].write(data);
    await until(() => m.read16(bsb.regs(0), Sn.RX_RSR) === 1024, 2000, 'a full buffer');
    await sleep(10);
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 1024, 'never more than the buffer');
    const got: number[] = [];
    await until(() => { for (const b of m.recv(0)) got.push(b); return got.length === data.length; }, 5000, 'all bytes');
    assert.ok(Buffer.from(got).equals(data));
  } finally {
    await close();
    await srv.close();
  }
});

test('LISTEN: a loopback client connects to the reported host port; the socket becomes the connection', async () => {
  const { chip, m, close } = chipRig();
  const clients: net.Socket[] = [];
  try {
    m.open(2, 0x01, 80);
    m.command(2, Cmd.LISTEN);
    m.open(3, 0x01, 80);
    m.command(3, Cmd.LISTEN);
    assert.equal(m.sr(2), Status.LISTEN);
    const port = await chip.hostPort('tcp', 80);
    const connect = () => new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(c));
      c.on('error', reject);
      clients.push(c);
    });
    const a = await connect();
    await until(() => m.sr(2) === Status.ESTABLISHED, 2000, 'socket 2 established');
    assert.equal(m.ir(2), SnIr.CON);
    assert.deepEqual([...m.read(bsb.regs(2), Sn.DIPR, 6)], [192, 0, 2, 100, a.localPort! >> 8, a.localPort! & 255]);
    assert.equal(m.sr(3), Status.LISTEN, 'the second listener still waits');
    await connect();
    await until(() => m.sr(3) === Status.ESTABLISHED, 2000, 'socket 3 established');
    const reset = await new Promise<string>((resolve) => {
      const c = net.connect({ host: '127.0.0.1', port }); // nobody listens any more: RST
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? ''));
      c.on('close', () => resolve('closed'));
      clients.push(c);
    });
    assert.ok(reset === 'ECONNRESET' || reset === 'closed', reset);
    a.write('ping');
    await until(() => m.read16(bsb.regs(2), Sn.RX_RSR) === 4, 2000, 'data from the client');
    assert.equal(Buffer.from(m.recv(2)).toString(), 'ping');
    const reply = new Promise<string>((resolve) => a.once('data', (d) => resolve(d.toString())));
    m.send(2, Buffer.from('pong'));
    assert.equal(await reply, 'pong');
    a.end();
    await until(() => m.sr(2) === Status.CLOSE_WAIT, 2000, 'CLOSE_WAIT');
    assert.equal(m.ir(2) & SnIr.DISCON, SnIr.DISCON);
    const ended = new Promise<void>((resolve) => a.once('end', () => resolve()));
    m.command(2, Cmd.DISCON);
    assert.equal(m.sr(2), Status.LAST_ACK);
    await until(() => m.sr(2) === Status.CLOSED, 2000, 'CLOSED');
    await ended;
  } finally {
    for (const c of clients) c.destroy();
    await close();
  }
});

test('peer FIN: CLOSE_WAIT + DISCON after the data before it; the chip can still send, then DISCON → LAST_ACK → CLOSED', async () => {
  const srv = await tcpServer({ halfOpen: true });
  const { m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    srv.conns[0].end('bye');
    await until(() => m.sr(0) === Status.CLOSE_WAIT, 2000, 'CLOSE_WAIT');
    assert.equal(m.ir(0), SnIr.RECV | SnIr.DISCON);
    assert.equal(Buffer.from(m.recv(0)).toString(), 'bye');
    m.send(0, Buffer.from('last words'));
    await until(() => srv.received[0].toString() === 'last words', 2000, 'the half-closed peer to get our data');
    m.command(0, Cmd.DISCON);
    await until(() => m.sr(0) === Status.CLOSED, 2000, 'CLOSED');
    await until(() => srv.events.includes('end 0'), 2000, 'our FIN');
  } finally {
    await close();
    await srv.close();
  }
});

test('peer RST: CLOSED with DISCON set (§9); bytes received before it stay readable', async () => {
  const srv = await tcpServer();
  const { m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    srv.conns[0].write('data');
    await until(() => m.read16(bsb.regs(0), Sn.RX_RSR) === 4, 2000, 'data');
    srv.conns[0].resetAndDestroy();
    await until(() => m.sr(0) === Status.CLOSED, 2000, 'CLOSED');
    assert.equal(m.ir(0) & SnIr.DISCON, SnIr.DISCON);
    assert.equal(Buffer.from(m.recv(0)).toString(), 'data');
  } finally {
    await close();
    await srv.close();
  }
});

test('connection refused (a known host, nothing listening): CLOSED + DISCON; an unknown host: ARP TIMEOUT', async () => {
  const srv = await tcpServer();
  const closedPort = srv.port;
  await srv.close();
  const { m, close } = chipRig({ ...route(closedPort), '192.0.2.11:1': '127.0.0.1:1' });
  try {
    for (const [ip, port] of [[BROKER, 1883], ['192.0.2.11', 2]] as [string, number][]) {
      m.open(0, 0x01, 40000);
      setDest(m, 0, ip, port);
      m.command(0, Cmd.CONNECT);
      await until(() => m.sr(0) === Status.CLOSED, 2000, `refusal from ${ip}:${port}`);
      assert.equal(m.ir(0), SnIr.DISCON);
    }
    m.open(0, 0x01, 40000);
    setDest(m, 0, '192.0.2.12', 1883);
    m.command(0, Cmd.CONNECT);
    await until(() => m.sr(0) === Status.CLOSED, 2000, 'ARP timeout');
    assert.equal(m.ir(0), SnIr.TIMEOUT);
  } finally {
    await close();
  }
});

test('active close to a peer that never sends FIN: FIN_WAIT, then TIMEOUT and CLOSED after TCPTO', async () => {
  const srv = await tcpServer({ halfOpen: true });
  const { m, close } = chipRig(route(srv.port));
  try {
    await connectTcp(m, 0, BROKER, 1883);
    m.command(0, Cmd.DISCON);
    assert.equal(m.sr(0), Status.FIN_WAIT);
    await until(() => srv.events.includes('end 0'), 2000, 'our FIN');
    await until(() => m.sr(0) === Status.CLOSED, 2000, 'TCPTO');
    assert.equal(m.ir(0), SnIr.TIMEOUT);
  } finally {
    await close();
    await srv.close();
  }
});

test('CLOSE sends no FIN: the peer gets RST by default, or nothing with closeSends: "nothing"', async () => {
  for (const mode of ['rst', 'nothing'] as const) {
    const srv = await tcpServer();
    const { chip, m } = chipRig(route(srv.port), { closeSends: mode });
    try {
      await connectTcp(m, 0, BROKER, 1883);
      m.command(0, Cmd.CLOSE);
      assert.equal(m.sr(0), Status.CLOSED);
      if (mode === 'rst') {
        await until(() => srv.events.includes('error 0 ECONNRESET'), 2000, 'the RST');
      } else {
        await sleep(30);
        assert.deepEqual(srv.events, [], 'the peer is left half-open');
      }
      assert.ok(!srv.events.includes('end 0'), 'never a FIN');
    } finally {
      await chip.close();
      await srv.close();
    }
  }
});

test('map mode refuses any route, hence any host socket, to a non-loopback address', async () => {
  assert.throws(() => new W5500({ network: { mode: 'map', routes: { '192.0.2.10:1883': '10.0.0.1:1883' } } }),
    /refuses .* to 10\.0\.0\.1: only 127\.0\.0\.0\/8/);
  const chip = new W5500();
  try {
    assert.throws(() => chip.routes.add({ from: '192.0.2.53:53', to: '8.8.8.8:53' }), /refuses/);
    assert.throws(() => chip.routes.add({ from: '192.0.2.53:53', to: 'localhost:53' }), /refuses/);
    assert.deepEqual(chip.routes.list(), []);
    chip.routes.add({ from: '192.0.2.53:*', to: '127.0.0.2' });
    assert.equal(chip.routes.remove('192.0.2.53:*'), 1);
  } finally {
    await chip.close();
  }
});

test('real mode uses host sockets as they are (here: a loopback destination)', async () => {
  const srv = await tcpServer({ echo: true });
  const chip = new W5500({ network: { mode: 'real' } });
  const m = new SpiMaster(chip);
  try {
    m.network({ mac: [2, 0, 0, 0, 0, 1], ip: [127, 0, 0, 2], mask: [255, 0, 0, 0], gateway: [0, 0, 0, 0] });
    m.open(0, 0x01, 0);
    setDest(m, 0, '127.0.0.1', srv.port);
    m.command(0, Cmd.CONNECT);
    await until(() => m.sr(0) === Status.ESTABLISHED, 2000, 'ESTABLISHED');
    m.send(0, Buffer.from('real'));
    await until(() => m.read16(bsb.regs(0), Sn.RX_RSR) === 4, 2000, 'echo');
    assert.equal(Buffer.from(m.recv(0)).toString(), 'real');
  } finally {
    await chip.close();
    await srv.close();
  }
});
