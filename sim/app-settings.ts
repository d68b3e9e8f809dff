// Reads and changes the SETTINGS of a built app bundle (dist/pub.js, dist/sub.js), as a user edits
// the constants at the top of src/apps/pub.ts before flashing. The settings object survives
// minification as an object literal with its names, `{BROKER:"…",PORT:1883,…}`; it is the only
// object in the bundle whose BROKER is a string.

export interface SettingsBlock {
  /** Setting name -> its source text in the bundle (a JS literal or a pin/bus name). */
  values: Map<string, string>;
  /** Replaces settings (values are JS source text); throws for a name the bundle does not have. */
  with(changes: Record<string, string>): string;
}

interface Entry { name: string; start: number; end: number }

function scanValue(code: string, at: number): number {
  const q = code[at];
  if (q === '"' || q === "'" || q === '`') {
    let i = at + 1;
    while (i < code.length && code[i] !== q) i += code[i] === '\\' ? 2 : 1;
    return i + 1;
  }
  let i = at;
  while (i < code.length && !',}/\n'.includes(code[i])) i++;
  return i;
}

/** Past whitespace and // comments (the debug bundle keeps them). */
function skip(code: string, at: number): number {
  let j = at;
  for (;;) {
    while (j < code.length && /\s/.test(code[j])) j++;
    if (!code.startsWith('//', j)) return j;
    const nl = code.indexOf('\n', j);
    j = nl < 0 ? code.length : nl;
  }
}

export function settingsOf(code: string): SettingsBlock {
  const open = code.search(/\{\s*BROKER\s*:\s*["'`]/);
  if (open < 0) throw new Error('no settings object ({BROKER:"…", …}) found in the bundle');
  const entries: Entry[] = [];
  let i = open + 1;
  for (;;) {
    i = skip(code, i);
    const m = /^([A-Z_][A-Z0-9_]*)\s*:\s*/.exec(code.slice(i, i + 80));
    if (!m) throw new Error(`cannot read the settings object at offset ${i}`);
    const start = i + m[0].length;
    const end = scanValue(code, start);
    entries.push({ name: m[1], start, end });
    const j = skip(code, end);
    if (code[j] === '}') break;
    if (code[j] !== ',') throw new Error(`cannot read the settings object after ${m[1]}`);
    i = j + 1;
  }
  const values = new Map(entries.map((e) => [e.name, code.slice(e.start, e.end).trim()]));
  return {
    values,
    with(changes) {
      let out = code;
      const todo = Object.entries(changes);
      for (const [name] of todo) if (!values.has(name)) throw new Error(`the bundle has no setting ${name} (it has ${[...values.keys()].join(', ')})`);
      // From the end, so earlier offsets stay valid.
      for (const e of [...entries].reverse()) {
        const v = changes[e.name];
        if (v !== undefined) out = out.slice(0, e.start) + v + out.slice(e.end);
      }
      return out;
    },
  };
}

/** A setting's value as the demo needs it: strings and numbers parsed, anything else as source text. */
export function literal(text: string): string | number | boolean {
  if (text === '!0') return true;
  if (text === '!1') return false;
  if (/^["'`]/.test(text)) return text.slice(1, -1);
  const n = Number(text);
  return Number.isNaN(n) ? text : n;
}
