// A simulated Pico wired to an emulated W5500 the way the default app config expects:
//   SPI2 (sck B13, miso B14, mosi B15), CS B10, RSTn B1 (active low), INTn A8 (active low).
// The module's pull-ups hold CS and RSTn high until the firmware drives them.
import { Board, type BoardOptions } from './espruino';
import type { SpiDevice } from './spi';
import { W5500, type W5500Options } from './w5500/index';

export const W5500_WIRING = { spi: 'SPI2', cs: 'B10', rst: 'B1', int: 'A8' } as const;

export interface SimBoardOptions {
  board?: BoardOptions;
  chip?: W5500Options;
}

export interface SimBoard {
  board: Board;
  chip: W5500;
  /** Evaluates firmware source in the board's context (Board.run). */
  run(code: string, filename?: string): unknown;
  /** Stops the board and closes every host socket of the chip. */
  dispose(): Promise<void>;
}

export function createSimBoard(opts: SimBoardOptions = {}): SimBoard {
  const board = new Board(opts.board);
  const chip = new W5500(opts.chip);

  // While RSTn is low the chip is held in reset: it ignores the bus and MISO floats (reads 0xFF).
  // It restarts, with every register at its reset value, when RSTn rises again.
  const rst = board.pin(W5500_WIRING.rst);
  rst.drive(1);
  let inReset = false;
  let selected = false;
  rst.onChange((level) => {
    if (level === 0) {
      inReset = true;
      if (selected) chip.deselect();
      selected = false;
    } else if (inReset) {
      inReset = false;
      chip.hardwareReset();
    }
  });
  const bus: SpiDevice = {
    select: () => {
      if (inReset) return;
      selected = true;
      chip.select();
    },
    exchange: (mosi) => (selected ? chip.exchange(mosi) : new Uint8Array(mosi.length).fill(0xff)),
    deselect: () => {
      if (!selected) return;
      selected = false;
      chip.deselect();
    },
  };
  board.attachSpi(W5500_WIRING.spi, bus, W5500_WIRING.cs);

  const int = board.pin(W5500_WIRING.int);
  int.drive(chip.intLevel);
  chip.onInt((level) => int.drive(level));

  return {
    board,
    chip,
    run: (code, filename) => board.run(code, filename),
    dispose: async () => {
      board.dispose();
      await chip.close();
    },
  };
}
