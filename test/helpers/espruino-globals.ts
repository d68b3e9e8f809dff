// The Espruino globals for host tests that run src/ directly in Node: the simulated board's
// (sim/espruino.ts), timers included, so Espruino semantics apply (e.g. clearTimeout(undefined)
// throws, and an exception escaping a timer callback lands in board.uncaught, as "Uncaught" does
// on the REPL). A unicode build, since Node's strings are text. Set BOARD_LOG=1 to see what the
// board prints.
import { Board } from '../../sim/espruino.ts';

export const board = new Board({ unicode: true, log: (line: string) => { if (process.env.BOARD_LOG) console.log(line); } });
board.install();
export const SERIAL = board.serial;
