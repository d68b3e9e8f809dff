// Prints the size of each flashed (minified) bundle, the bytes it costs the board, against the
// budget for a whole app (16 KB).
import { readdirSync, statSync } from 'node:fs';
const BUDGET = 16384;
for (const f of readdirSync('dist').filter((f) => f.endsWith('.js') && !f.endsWith('.debug.js')).sort()) {
  const n = statSync('dist/' + f).size;
  console.log(`dist/${f}: ${n} bytes minified (budget ${BUDGET}: ${n <= BUDGET ? 'within' : 'over by ' + (n - BUDGET)})`);
}
