// The simulated board's wiring to the emulated W5500 (sim/board.ts), exercised from firmware code
// running in the board context: SPI2 with CS on B10, RSTn on B1, INTn on A8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimBoard, type SimBoard } from '../sim/board.ts';

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for the board');
    await new Promise((r) => setTimeout(r, 2));
  }
}

function withSim(fn: (sim: SimBoard) => unknown) {
  return async () => {
    const sim = createSimBoard();
    try {
      await fn(sim);
    } finally {
      await sim.dispose();
    }
  };
}

// Firmware helpers: one VDM frame per SPI2.send, CS held low by Espruino for the whole call.
const FIRMWARE = `
  SPI2.setup({sck: B13, miso: B14, mosi: B15, baud: 8000000, mode: 0});
  function readCommon(addr, n) {
    var f = new Uint8Array(3 + n); f[0] = addr >> 8; f[1] = addr & 255; f[2] = 0x00;
    return SPI2.send(f, B10).subarray(3);
  }
  function writeCommon(addr, bytes) {
    SPI2.send(E.toUint8Array(addr >> 8, addr & 255, 0x04, bytes), B10);
  }
`;
const VERSIONR = 0x0039;
const GAR = 0x0001;
const IR = 0x0015;
const IMR = 0x0016;
const IR_CONFLICT = 0x80;

test('firmware reads VERSIONR = 0x04 through SPI2.send with CS on B10', withSim((sim) => {
  sim.run(FIRMWARE);
  assert.equal(sim.run(`readCommon(${VERSIONR}, 1)[0]`), 0x04);
  assert.equal(sim.run(`SPI2.send([0, ${VERSIONR}, 0, 0])[3]`), 0xff, 'without CS the chip does not answer');
  assert.equal(sim.run(`SPI1.send([0, ${VERSIONR}, 0, 0], B10)[3]`), 0xff, 'the chip is not on SPI1');
}));

test('a register written through SPI reads back', withSim((sim) => {
  sim.run(FIRMWARE + `writeCommon(${GAR}, [192, 168, 1, 1]);`);
  assert.deepEqual(Array.from(sim.run(`readCommon(${GAR}, 4)`) as Uint8Array), [192, 168, 1, 1]);
}));

test('RSTn low holds the chip in reset (MISO floats high); rising RSTn resets every register', withSim((sim) => {
  sim.run(FIRMWARE + `writeCommon(${GAR}, [10, 0, 0, 1]); digitalWrite(B1, 0);`);
  assert.equal(sim.run(`readCommon(${VERSIONR}, 1)[0]`), 0xff);
  sim.run('digitalWrite(B1, 1)');
  assert.equal(sim.run(`readCommon(${VERSIONR}, 1)[0]`), 0x04);
  assert.deepEqual(Array.from(sim.run(`readCommon(${GAR}, 4)`) as Uint8Array), [0, 0, 0, 0]);
}));

test('INTn on A8 follows the chip: setWatch sees it fall, clearing IR releases it', withSim(async (sim) => {
  assert.equal(sim.board.pin('A8').level, 1);
  sim.run(FIRMWARE + `
    var irqs = 0;
    setWatch(function () { irqs++; }, A8, {repeat: true, edge: 'falling'});
    writeCommon(${IMR}, [${IR_CONFLICT}]);`);
  sim.chip.faults.ipConflict();
  assert.equal(sim.board.pin('A8').level, 0);
  await until(() => sim.run('irqs') === 1);
  sim.run(`writeCommon(${IR}, [${IR_CONFLICT}])`);
  assert.equal(sim.board.pin('A8').level, 1);
  assert.equal(sim.run('digitalRead(A8)'), 1);
}));
