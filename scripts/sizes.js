// Prints the size of each flashed (minified) bundle: the bytes it costs the board.
import { readdirSync, statSync } from 'node:fs';
for (const f of readdirSync('dist').filter((f) => f.endsWith('.js') && !f.endsWith('.debug.js')).sort()) {
  console.log(`dist/${f}: ${statSync('dist/' + f).size} bytes minified`);
}
