// The emulated W5500's register level, straight from ../shared/w5500-reference.md §1-§3, §5, §9:
// reset values, block decoding, SPI framing (VDM, FDM, header MISO), access rules, buffer layout
// and wrap, pointer arithmetic across 0xFFFF, the Sn_CR handshake, interrupts and MR reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { W5500 } from '../sim/w5500/index.ts';
import { Cmd, Common, IR_CONFLICT, Sn, SnIr, Status, arpTimeoutMs, tcpTimeoutMs } from '../sim/w5500/constants.ts';
import { FAST, SpiMaster, bsb, chipRig, setDest, sleep, udpServer, until } from './w5500-fixtures.ts';

const hex = (b: ArrayLike<number>): string => Buffer.from(b as Uint8Array).toString('hex');

// [name, offset, reset bytes] — §2
const COMMON_RESET: [string, number, number[]][] = [
  ['MR', 0x00, [0]], ['GAR', 0x01, [0, 0, 0, 0]], ['SUBR', 0x05, [0, 0, 0, 0]], ['SHAR', 0x09, [0, 0, 0, 0, 0, 0]],
  ['SIPR', 0x0f, [0, 0, 0, 0]], ['INTLEVEL', 0x13, [0, 0]], ['IR', 0x15, [0]], ['IMR', 0x16, [0]], ['SIR', 0x17, [0]],
  ['SIMR', 0x18, [0]], ['RTR', 0x19, [0x07, 0xd0]], ['RCR', 0x1b, [0x08]], ['PTIMER', 0x1c, [0x28]], ['PMAGIC', 0x1d, [0]],
  ['PHAR', 0x1e, [0, 0, 0, 0, 0, 0]], ['PSID', 0x24, [0, 0]], ['PMRU', 0x26, [0xff, 0xff]], ['UIPR', 0x28, [0, 0, 0, 0]],
  ['UPORTR', 0x2c, [0, 0]], ['PHYCFGR', 0x2e, [0xbf]], ['VERSIONR', 0x39, [0x04]],
];
// §3
const SOCKET_RESET: [string, number, number[]][] = [
  ['Sn_MR', 0x00, [0]], ['Sn_CR', 0x01, [0]], ['Sn_IR', 0x02, [0]], ['Sn_SR', 0x03, [0]], ['Sn_PORT', 0x04, [0, 0]],
  ['Sn_DHAR', 0x06, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]], ['Sn_DIPR', 0x0c, [0, 0, 0, 0]], ['Sn_DPORT', 0x10, [0, 0]],
  ['Sn_MSSR', 0x12, [0, 0]], ['Sn_TOS', 0x15, [0]], ['Sn_TTL', 0x16, [0x80]], ['Sn_RXBUF_SIZE', 0x1e, [2]],
  ['Sn_TXBUF_SIZE', 0x1f, [2]], ['Sn_TX_FSR', 0x20, [0x08, 0x00]], ['Sn_TX_RD', 0x22, [0, 0]], ['Sn_TX_WR', 0x24, [0, 0]],
  ['Sn_RX_RSR', 0x26, [0, 0]], ['Sn_RX_RD', 0x28, [0, 0]], ['Sn_RX_WR', 0x2a, [0, 0]], ['Sn_IMR', 0x2c, [0xff]],
  ['Sn_FRAG', 0x2d, [0x40, 0x00]], ['Sn_KPALVTR', 0x2f, [0]],
];

function assertResetValues(m: SpiMaster): void {
  for (const [name, off, bytes] of COMMON_RESET) assert.equal(hex(m.read(bsb.common, off, bytes.length)), hex(bytes), name);
  for (let n = 0; n < 8; n++) {
    for (const [name, off, bytes] of SOCKET_RESET) {
      assert.equal(hex(m.read(bsb.regs(n), off, bytes.length)), hex(bytes), `socket ${n} ${name}`);
    }
  }
}

test('every common and socket register has its reset value (§2, §3)', async () => {
  const chip = new W5500();
  try {
    assertResetValues(new SpiMaster(chip));
  } finally {
    await chip.close();
  }
});

test('MR.RST restores every register before the next frame and reads back 0 (§6.1, §9)', async () => {
  const { chip, m, close } = chipRig();
  try {
    for (const [, off, bytes] of COMMON_RESET) m.write(bsb.common, off, bytes.map((_, i) => 0x5a + i));
    m.write8(bsb.common, Common.IR, 0); // write-1-to-clear: leave it
    for (let n = 0; n < 8; n++) {
      m.write(bsb.regs(n), Sn.PORT, [1, 2, 3, 4, 5, 6, 7, 8]);
      m.write8(bsb.regs(n), Sn.MR, 0x02);
      m.write8(bsb.regs(n), Sn.TTL, 1);
      m.write16(bsb.regs(n), Sn.TX_WR, 0x1234);
      m.write8(bsb.regs(n), Sn.IMR, 0);
      m.write8(bsb.regs(n), Sn.KPALVTR, 9);
    }
    m.command(3, Cmd.OPEN);
    assert.equal(m.sr(3), Status.UDP);
    m.write8(bsb.common, Common.MR, 0x80);
    assert.equal(m.read8(bsb.common, Common.MR), 0, 'MR reads 0 on the very next frame');
    assertResetValues(m);
    assert.equal(chip.inspect(3).state, Status.CLOSED);
  } finally {
    await close();
  }
});

test('the chip answers 0x01 0x02 0x03 on MISO during the header, also when the frame is clocked byte by byte', async () => {
  const chip = new W5500();
  try {
    assert.equal(hex(chip.transfer(Uint8Array.of(0x00, 0x39, 0x00, 0x00))), '01020304');
    chip.select();
    const got = [0x00, 0x39, 0x00, 0x00].map((b) => chip.exchange(Uint8Array.of(b))[0]);
    chip.deselect();
    assert.deepEqual(got, [1, 2, 3, 4]);
  } finally {
    await chip.close();
  }
});

test('the control byte selects common, socket register, TX and RX blocks of each socket (§1.2)', async () => {
  const chip = new W5500();
  const m = new SpiMaster(chip);
  try {
    for (let n = 0; n < 8; n++) {
      assert.equal(0x0c + 0x20 * n, (bsb.regs(n) << 3) | 0x04, 'write control byte of socket registers');
      m.write16(bsb.regs(n), Sn.PORT, 0x1000 + n);
      m.write(bsb.tx(n), 0x0010, [0xa0 + n]);
      m.write(bsb.rx(n), 0x0010, [0xb0 + n]);
    }
    for (let n = 0; n < 8; n++) {
      assert.equal(m.read16(bsb.regs(n), Sn.PORT), 0x1000 + n);
      assert.equal(m.read8(bsb.tx(n), 0x0010), 0xa0 + n);
      assert.equal(m.read8(bsb.rx(n), 0x0010), 0xb0 + n);
      assert.deepEqual(chip.counters.block(`s${n}.tx`), { frames: 2, bytes: 8 });
    }
    // The reference's own example: 5 bytes into the S2 TX buffer at 0x1234, control 0x54.
    chip.transfer(Uint8Array.of(0x12, 0x34, 0x54, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4));
    assert.equal(hex(m.read(bsb.tx(2), 0x1234, 5)), 'd0d1d2d3d4');
    assert.equal(m.read8(bsb.common, Common.VERSIONR), 4);
  } finally {
    await chip.close();
  }
});

test('reserved blocks return data, ignore writes, and are flagged (§9)', async () => {
  const chip = new W5500();
  const m = new SpiMaster(chip);
  try {
    for (const b of [4, 8, 12, 16, 20, 24, 28]) {
      m.write(b, 0x0000, [0x80, 1, 2, 3]); // an MR.RST-looking write must do nothing
      assert.equal(hex(m.read(b, 0x0039, 1)), '00');
    }
    m.write8(bsb.common, Common.SIMR, 0x42);
    m.write(4, 0x0018, [0]);
    assert.equal(m.read8(bsb.common, Common.SIMR), 0x42, 'a reserved-block write changes no register');
    assert.equal(chip.anomalies.count('reservedBlockWrite'), 8);
    assert.equal(chip.anomalies.count('reservedBlockRead'), 7);
    assert.deepEqual(chip.counters.block('reserved').frames, 15);
  } finally {
    await chip.close();
  }
});

test('read-only registers ignore writes and the write is flagged', async () => {
  const { chip, m, close } = chipRig();
  try {
    const common: [number, number][] = [[Common.VERSIONR, 4], [Common.SIR, 0], [Common.UIPR, 0], [Common.UPORTR + 1, 0]];
    for (const [off, v] of common) {
      m.write8(bsb.common, off, 0x77);
      assert.equal(m.read8(bsb.common, off), v, `common 0x${off.toString(16)}`);
    }
    m.open(1, 0x02, 5000);
    m.write(bsb.regs(1), Sn.SR, [0x17]);
    m.write(bsb.regs(1), Sn.TX_FSR, [0, 1, 0x12, 0x34]); // FSR and TX_RD
    m.write(bsb.regs(1), Sn.RX_RSR, [0, 9]);
    m.write(bsb.regs(1), Sn.RX_WR, [0x55, 0x55]);
    assert.equal(m.sr(1), Status.UDP);
    assert.equal(hex(m.read(bsb.regs(1), Sn.TX_FSR, 4)), '08000000');
    assert.equal(m.read16(bsb.regs(1), Sn.RX_RSR), 0);
    assert.equal(m.read16(bsb.regs(1), Sn.RX_WR), 0);
    assert.equal(chip.anomalies.count('readOnlyWrite'), 4 + 1 + 4 + 2 + 2);
  } finally {
    await close();
  }
});

test('IR and Sn_IR clear only the bits written as 1', async () => {
  const { chip, m, close } = chipRig();
  try {
    chip.faults.ipConflict();
    m.open(0, 0x02, 5000);
    chip.injectUdp({ port: 5000, srcIp: '192.0.2.9', srcPort: 9, payload: Uint8Array.of(1) });
    m.write(bsb.regs(0), Sn.TX_WR, [0, 1]);
    m.command(0, Cmd.SEND_MAC);
    assert.equal(m.ir(0), SnIr.SENDOK | SnIr.RECV);
    m.write8(bsb.regs(0), Sn.IR, SnIr.RECV);
    assert.equal(m.ir(0), SnIr.SENDOK);
    m.write8(bsb.regs(0), Sn.IR, 0);
    assert.equal(m.ir(0), SnIr.SENDOK, 'writing 0 clears nothing');
    assert.equal(m.read8(bsb.common, Common.IR), IR_CONFLICT);
    m.write8(bsb.common, Common.IR, 0x7f);
    assert.equal(m.read8(bsb.common, Common.IR), IR_CONFLICT);
    m.write8(bsb.common, Common.IR, 0x80);
    assert.equal(m.read8(bsb.common, Common.IR), 0);
  } finally {
    await close();
  }
});

test('a VDM burst auto-increments across register boundaries (GAR..SIPR in one write)', async () => {
  const chip = new W5500();
  const m = new SpiMaster(chip);
  try {
    m.network({ gateway: [192, 0, 2, 1], mask: [255, 255, 255, 0], mac: [2, 3, 4, 5, 6, 7], ip: [192, 0, 2, 5] });
    assert.equal(hex(m.read(bsb.common, Common.SUBR, 4)), 'ffffff00');
    assert.equal(hex(m.read(bsb.common, Common.SHAR, 6)), '020304050607');
    assert.equal(hex(m.read(bsb.common, Common.GAR, 18)), 'c0000201ffffff00020304050607c0000205');
    assert.equal(hex(m.read(bsb.common, 0x0038, 3)), '000400', 'reserved common offsets read 0 around VERSIONR');
    assert.equal(chip.counters.frames, 5);
  } finally {
    await chip.close();
  }
});

test('FDM frames carry exactly 1, 2 or 4 bytes and the next byte starts a new header (§1.3)', async () => {
  const chip = new W5500();
  try {
    chip.select(); // SCSn tied low for the whole sequence
    const miso = chip.exchange(Uint8Array.of(
      0x00, 0x01, 0x07, 192, 0, 2, 1, // FDM 4-byte write: GAR
      0x00, 0x05, 0x06, 255, 255, // FDM 2-byte write: SUBR high half
      0x00, 0x39, 0x01, 0x00, // FDM 1-byte read: VERSIONR
      0x00, 0x01, 0x03, 0, 0, 0, 0, // FDM 4-byte read: GAR
    ));
    chip.deselect();
    assert.equal(hex(miso.subarray(0, 3)), '010203');
    assert.equal(hex(miso.subarray(7, 10)), '010203');
    assert.equal(hex(miso.subarray(12, 16)), '01020304');
    assert.equal(hex(miso.subarray(16, 23)), '010203c0000201');
    assert.equal(chip.counters.frames, 4);
    assert.equal(chip.counters.selects, 1);
    const m = new SpiMaster(chip);
    assert.equal(hex(m.read(bsb.common, Common.SUBR, 4)), 'ffff0000');
    assert.equal(chip.anomalies.count('truncatedFrame'), 0);
    chip.transfer(Uint8Array.of(0x00, 0x01, 0x07, 1, 2)); // CS rises after 2 of 4 bytes
    assert.equal(chip.anomalies.count('truncatedFrame'), 1);
  } finally {
    await chip.close();
  }
});

test('buffer offsets map modulo the socket buffer size, so bursts wrap inside it (§1.3, §9)', async () => {
  const chip = new W5500();
  const m = new SpiMaster(chip);
  try {
    const data = Array.from({ length: 10 }, (_, i) => 0x30 + i);
    m.write(bsb.tx(0), 0xfffb, data); // 2 KB buffer: 0x7FB..0x7FF then 0x000..0x004
    assert.equal(hex(m.read(bsb.tx(0), 0x07fb, 5)), hex(data.slice(0, 5)));
    assert.equal(hex(m.read(bsb.tx(0), 0x0000, 5)), hex(data.slice(5)));
    assert.equal(hex(m.read(bsb.tx(0), 0x87fb, 10)), hex(data), 'any offset with the same remainder');
    assert.equal(m.read8(bsb.tx(1), 0x0000), 0, 'socket 1 untouched');
  } finally {
    await chip.close();
  }
});

test('buffer regions are laid out in socket order from Sn_*BUF_SIZE; FSR after OPEN is the TX size (§5)', async () => {
  const { chip, m, close } = chipRig();
  try {
    const kb = [4, 8, 2, 2, 0, 0, 0, 0];
    kb.forEach((k, n) => { m.write8(bsb.regs(n), Sn.TXBUF_SIZE, k); m.write8(bsb.regs(n), Sn.RXBUF_SIZE, k); });
    assert.deepEqual([0, 1, 2, 3].map((n) => chip.inspect(n).tx), [
      { base: 0, size: 4096 }, { base: 4096, size: 8192 }, { base: 12288, size: 2048 }, { base: 14336, size: 2048 }]);
    assert.equal(chip.anomalies.count('badBufferSize'), 0);
    m.write(bsb.tx(0), 0, new Array(4096).fill(0xee)); // fill socket 0's whole region
    m.write(bsb.tx(1), 0, [0x11]);
    assert.equal(m.read8(bsb.tx(1), 0), 0x11);
    assert.equal(m.read8(bsb.tx(0), 4096), 0xee, 'socket 0 wraps inside its own 4 KB');
    m.open(1, 0x02, 5000);
    assert.equal(m.read16(bsb.regs(1), Sn.TX_FSR), 8192);
    m.write8(bsb.regs(4), Sn.TXBUF_SIZE, 3);
    m.open(4, 0x02, 5001);
    m.write8(bsb.regs(4), Sn.TXBUF_SIZE, 0);
    m.write8(bsb.regs(5), Sn.TXBUF_SIZE, 16);
    m.open(5, 0x02, 5002);
    assert.equal(chip.anomalies.count('badBufferSize'), 2, 'an invalid size and an over-committed total, at OPEN');
  } finally {
    await close();
  }
});

test('Sn_CR reads non-zero for the configured number of polls; by the time it reads 0, Sn_SR shows the new state (§4.1, §9)', async () => {
  for (const reads of [0, 1, 3]) {
    const chip = new W5500({ commandReads: reads });
    const m = new SpiMaster(chip);
    try {
      m.write8(bsb.regs(2), Sn.MR, 0x02);
      m.write8(bsb.regs(2), Sn.CR, Cmd.OPEN);
      for (let i = 0; i < reads; i++) {
        assert.equal(m.read8(bsb.regs(2), Sn.CR), Cmd.OPEN, `poll ${i} of ${reads}`);
        assert.equal(m.sr(2), Status.CLOSED);
      }
      assert.equal(m.read8(bsb.regs(2), Sn.CR), 0);
      assert.equal(m.sr(2), Status.UDP);
      assert.equal(chip.counters.commands[2], 1);
    } finally {
      await chip.close();
    }
  }
});

test('UDP: RSR counts header + payload and drops only after RECV commits RX_RD (§4.4, §4.6, §9)', async () => {
  const { chip, m, close } = chipRig();
  try {
    m.open(0, 0x02, 5000);
    chip.injectUdp({ port: 5000, srcIp: '192.0.2.77', srcPort: 1234, payload: Uint8Array.of(9, 8, 7) });
    chip.injectUdp({ port: 5000, srcIp: '192.0.2.78', srcPort: 80, payload: Uint8Array.of(6) });
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 11 + 9);
    assert.equal(hex(m.read(bsb.rx(0), 0, 20)), 'c000024d04d20003090807' + 'c000024e00500001' + '06');
    m.write16(bsb.regs(0), Sn.RX_RD, 8); // header consumed, not committed yet
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 20, 'RSR does not drop before RECV');
    m.command(0, Cmd.RECV); // ioLib commits in the middle of a datagram
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 12);
    m.command(0, Cmd.RECV);
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 12, 'RECV with nothing new is a no-op');
    m.write16(bsb.regs(0), Sn.RX_RD, 20);
    m.command(0, Cmd.RECV);
    assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), 0);
    assert.equal(m.read16(bsb.regs(0), Sn.RX_WR), 20);
  } finally {
    await close();
  }
});

test('UDP: FSR = size - (TX_WR - TX_RD); SEND moves TX_RD to TX_WR (§4.3)', async () => {
  const sink = await udpServer(false);
  const { m, close } = chipRig({ '192.0.2.20:9': `127.0.0.1:${sink.port}` });
  try {
    m.open(0, 0x02, 5000);
    setDest(m, 0, '192.0.2.20', 9);
    m.write(bsb.tx(0), 0, [1, 2, 3, 4, 5]);
    m.write16(bsb.regs(0), Sn.TX_WR, 5);
    assert.equal(m.read16(bsb.regs(0), Sn.TX_FSR), 2048 - 5);
    assert.equal(m.read16(bsb.regs(0), Sn.TX_RD), 0);
    m.command(0, Cmd.SEND);
    assert.equal(m.read16(bsb.regs(0), Sn.TX_RD), 5);
    assert.equal(m.read16(bsb.regs(0), Sn.TX_FSR), 2048);
    assert.equal(m.ir(0), SnIr.SENDOK);
    await until(() => sink.messages.length === 1, 2000, 'the datagram');
    assert.equal(hex(sink.messages[0].data), '0102030405');
  } finally {
    await close();
    await sink.close();
  }
});

test('free-running 16-bit pointers wrap at 0xFFFF with RSR/FSR still right and data intact (§4.4)', async () => {
  const sink = await udpServer(false);
  const { chip, m, close } = chipRig({ '192.0.2.20:9': `127.0.0.1:${sink.port}` });
  try {
    m.open(0, 0x02, 5000);
    setDest(m, 0, '192.0.2.20', 9);
    const size = 1000;
    for (let i = 0; i < 70; i++) { // 70 000 bytes each way: both pointers pass 0xFFFF
      const payload = new Uint8Array(size).fill(i);
      m.send(0, payload);
      chip.injectUdp({ port: 5000, srcIp: '192.0.2.20', srcPort: 9, payload });
      const rd = m.read16(bsb.regs(0), Sn.RX_RD);
      assert.equal(m.read16(bsb.regs(0), Sn.RX_RSR), size + 8);
      assert.equal(m.read16(bsb.regs(0), Sn.RX_WR), (rd + size + 8) & 0xffff);
      const rec = m.read(bsb.rx(0), rd, size + 8);
      assert.equal((rec[6] << 8) | rec[7], size);
      assert.ok(rec.subarray(8).every((b) => b === i), `datagram ${i} intact`);
      m.write16(bsb.regs(0), Sn.RX_RD, (rd + size + 8) & 0xffff);
      m.command(0, Cmd.RECV);
      assert.equal(m.read16(bsb.regs(0), Sn.TX_FSR), 2048);
    }
    assert.equal(m.read16(bsb.regs(0), Sn.TX_RD), (70 * size) & 0xffff);
    assert.equal(m.read16(bsb.regs(0), Sn.RX_WR), (70 * (size + 8)) & 0xffff);
    assert.ok(m.read16(bsb.regs(0), Sn.RX_WR) < 70 * (size + 8) - 0xffff, 'the RX pointer really wrapped');
    await until(() => sink.messages.length === 70, 2000, 'all datagrams');
    assert.ok(sink.messages.every((d, i) => d.data.length === size && d.data[0] === i));
  } finally {
    await close();
    await sink.close();
  }
});

test('Sn_IR bits are set only where Sn_IMR allows; SIR follows Sn_IR; INTn follows IR&IMR and SIR&SIMR (§2, §3)', async () => {
  const { chip, m, close } = chipRig();
  const levels: number[] = [];
  chip.onInt((l) => levels.push(l));
  try {
    m.open(1, 0x02, 5000);
    m.write8(bsb.regs(1), Sn.IMR, 0x00);
    chip.injectUdp({ port: 5000, srcIp: '192.0.2.9', srcPort: 9, payload: Uint8Array.of(1) });
    assert.equal(m.ir(1), 0, 'RECV masked by Sn_IMR is never set');
    m.write8(bsb.regs(1), Sn.IMR, SnIr.RECV);
    m.command(1, Cmd.SEND_MAC);
    assert.equal(m.ir(1), 0, 'SENDOK masked');
    chip.injectUdp({ port: 5000, srcIp: '192.0.2.9', srcPort: 9, payload: Uint8Array.of(2) });
    assert.equal(m.ir(1), SnIr.RECV);
    assert.equal(m.read8(bsb.common, Common.SIR), 0x02);
    assert.equal(chip.intLevel, 1, 'SIMR = 0: INTn stays high');
    m.write8(bsb.common, Common.SIMR, 0x02);
    assert.equal(chip.intLevel, 0);
    m.write8(bsb.regs(1), Sn.IR, 0xff);
    assert.equal(m.read8(bsb.common, Common.SIR), 0);
    assert.equal(chip.intLevel, 1);
    chip.faults.ipConflict();
    assert.equal(chip.intLevel, 1, 'IMR = 0');
    m.write8(bsb.common, Common.IMR, IR_CONFLICT);
    assert.equal(chip.intLevel, 0);
    m.write8(bsb.common, Common.IR, IR_CONFLICT);
    assert.equal(chip.intLevel, 1);
    assert.deepEqual(levels, [0, 1, 0, 1]);
  } finally {
    await close();
  }
});

test('PHYCFGR: 0xB8 | live LNK/SPD/DPX; OPMDC applies only after OPMD = 1 and a PHY reset pulse (§2, §9)', async () => {
  const chip = new W5500();
  const m = new SpiMaster(chip);
  const phy = () => m.read8(bsb.common, Common.PHYCFGR);
  try {
    assert.equal(phy(), 0xbf, '100 Mb/s full duplex, link up');
    m.write8(bsb.common, Common.PHYCFGR, 0x80 | 0x40 | (0b000 << 3)); // OPMD, 10BT-HD, but no reset pulse
    assert.equal(phy(), 0xc0 | 0x07);
    m.write8(bsb.common, Common.PHYCFGR, 0x40 | (0b000 << 3)); // RST = 0: PHY held in reset
    assert.equal(phy() & 0x81, 0, 'link down while the PHY is in reset');
    m.write8(bsb.common, Common.PHYCFGR, 0x80 | 0x40 | (0b000 << 3));
    assert.equal(phy(), 0xc1, '10BT half duplex, link up');
    m.write8(bsb.common, Common.PHYCFGR, 0x40 | (0b011 << 3));
    m.write8(bsb.common, Common.PHYCFGR, 0x80 | 0x40 | (0b011 << 3));
    assert.equal(phy(), 0xd8 | 0x07, '100BT full duplex');
    m.write8(bsb.common, Common.PHYCFGR, 0x40 | (0b110 << 3));
    m.write8(bsb.common, Common.PHYCFGR, 0x80 | 0x40 | (0b110 << 3));
    assert.equal(phy(), 0xf0, 'power down: no link');
    chip.hardwareReset();
    assert.equal(phy(), 0xbf, 'RSTn: PMODE pins again');
    chip.faults.linkDown();
    assert.equal(phy(), 0xb8);
    chip.faults.linkUp();
    assert.equal(phy(), 0xbf);
  } finally {
    await chip.close();
  }
});

test('chip detection sequence: MR keeps what is written (0x08, 0x10, 0x00); VERSIONR = 0x04 (§6.1)', async () => {
  const chip = new W5500();
  const m = new SpiMaster(chip);
  try {
    for (const v of [0x08, 0x10, 0x00]) {
      m.write8(bsb.common, Common.MR, v);
      assert.equal(m.read8(bsb.common, Common.MR), v);
    }
    m.write8(bsb.common, Common.VERSIONR, 0x05);
    assert.equal(m.read8(bsb.common, Common.VERSIONR), 0x04);
  } finally {
    await chip.close();
  }
});

test('counters: frames and bytes per block and per socket, resettable', async () => {
  const chip = new W5500();
  const m = new SpiMaster(chip);
  try {
    m.read8(bsb.common, Common.VERSIONR);
    m.write(bsb.tx(3), 0, new Array(100).fill(1));
    m.read(bsb.rx(3), 0, 10);
    m.read8(bsb.regs(3), Sn.SR);
    assert.deepEqual(chip.counters.block('common'), { frames: 1, bytes: 4 });
    assert.deepEqual(chip.counters.block('s3.tx'), { frames: 1, bytes: 103 });
    assert.deepEqual(chip.counters.socket(3), { frames: 3, bytes: 103 + 13 + 4 });
    assert.equal(chip.counters.bytes, 4 + 103 + 13 + 4);
    assert.equal(chip.counters.snapshot().blocks['s3.rx'].bytes, 13);
    chip.counters.reset();
    assert.equal(chip.counters.frames, 0);
    assert.deepEqual(chip.counters.socket(3), { frames: 0, bytes: 0 });
  } finally {
    await chip.close();
  }
});

test('timeouts follow RTR/RCR: UDP SEND to an absent host gives TIMEOUT, no SENDOK, state stays UDP (§2, §4.2)', async () => {
  const { m, close } = chipRig();
  try {
    m.open(0, 0x02, 5000);
    setDest(m, 0, '192.0.2.99', 9); // no route: nobody answers ARP
    m.write16(bsb.regs(0), Sn.TX_WR, 4);
    m.command(0, Cmd.SEND);
    assert.equal(m.ir(0), 0, 'ARP in progress');
    await sleep(FAST.arpMs / 2);
    assert.equal(m.ir(0), 0);
    await until(() => m.ir(0) !== 0, 2000, 'ARP timeout');
    assert.equal(m.ir(0), SnIr.TIMEOUT);
    assert.equal(m.sr(0), Status.UDP);
  } finally {
    await close();
  }
});

test('ARPTO and TCPTO formulas of §2: defaults 1.8 s and 31.8 s; the doubling caps at 65535 ticks and at RCR', () => {
  assert.equal(arpTimeoutMs(2000, 8), 1800);
  assert.equal(tcpTimeoutMs(2000, 8), 31_800); // 0.2+0.4+0.8+1.6+3.2+6.4 + 3 × 6.4 s
  assert.equal(tcpTimeoutMs(2000, 0), 200);
  assert.equal(tcpTimeoutMs(2000, 2), 200 + 400 + 800);
  assert.equal(tcpTimeoutMs(40000, 3), 4 * 4000, 'RTR·2 > 65535 already: no doubling');
  assert.equal(tcpTimeoutMs(200, 3), 20 + 40 + 80 + 160);
});
