// SPI cost of the W5500 driver per TCP send and per TCP receive (16 B and 1 KB), from the emulator,
// frame by frame, against the least the chip's protocol allows; and the minified size of the network
// layer.
//   node --import tsx bench/net.ts
import net from 'node:net';
import { existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { rollup } from 'rollup';
import { rig, until } from '../test/helpers/w5500-rig.ts';
// @ts-expect-error plain JavaScript module without types
import { bundleSize } from '../scripts/bundle-size.js';
// @ts-expect-error plain JavaScript module without types
import { compileTs, minifyJs } from '../scripts/esbuild-espruino.js';
import type { TcpSocket } from '../src/net/w5500.ts';

/** One SPI frame as the emulator saw it. */
interface Frame { bsb: number; addr: number; write: boolean; len: number; data: number[] }

const CMDS: Record<number, string> = { 0x01: 'OPEN', 0x04: 'CONNECT', 0x08: 'DISCON', 0x10: 'CLOSE', 0x20: 'SEND', 0x40: 'RECV' };

/** What a frame is, in the driver's terms. */
function label(f: Frame): string {
  const blk = f.bsb & 3, a = f.addr;
  if (f.bsb === 0) return f.write ? `common W 0x${a.toString(16)}` : a === 0x17 ? 'poll: SIR..PHYCFGR' : `common R 0x${a.toString(16)}`;
  if (blk === 2) return `data → TX buffer (${f.len} B)`;
  if (blk === 3) return `data ← RX buffer (${f.len} B)`;
  if (!f.write) {
    if (a === 0x01 && f.len === 41) return 'service frame Sn_CR..Sn_RX_RD (command taken? Sn_IR, Sn_SR, FSR, TX_RD, RSR)';
    if (a === 0x26) return 'RSR+RX_RD again (two reads agree)';
    if (a === 0x20) return 'FSR read (two reads agree)';
    return `regs R 0x${a.toString(16)}+${f.len}`;
  }
  if (a === 0x01) return `Sn_CR=${CMDS[f.data[0]] ?? f.data[0]}` + (f.data[1] ? ` + clear Sn_IR 0x${f.data[1].toString(16)}` : '');
  if (a === 0x02) return `clear Sn_IR 0x${f.data[0].toString(16)}`;
  if (a === 0x24) return 'TX_WR';
  if (a === 0x28) return 'RX_RD';
  return `regs W 0x${a.toString(16)}`;
}

function summary(frames: Frame[]): string {
  const bytes = frames.reduce((n, f) => n + 3 + f.len, 0);
  return `${String(frames.length).padStart(2)} frames ${String(bytes).padStart(5)} bytes`;
}

/** The least a transfer of len bytes can cost: data frame, pointer update, command (3-byte headers). */
const minimum = (len: number): string => `minimum 3 frames ${3 + len + 3 + 2 + 3 + 1} bytes`;

async function measure(mode: 'INT' | 'polled', commandReads: number): Promise<string[]> {
  // A server that sends on request what the bench asks, and records what arrives
  let peer: net.Socket | undefined;
  let received = 0;
  const server = net.createServer((s) => {
    peer = s;
    s.on('data', (d) => { received += d.length; });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const r = await rig({ routes: { '192.168.1.10:1883': '127.0.0.1:' + port }, chip: { commandReads } });
  const lines: string[] = [];
  let log: Frame[] = [];
  const chip = r.chip as any;
  const exchange = chip.exchange.bind(chip);
  let hdr: number[] = [];
  chip.select = ((orig) => () => { hdr = []; return orig(); })(chip.select.bind(chip));
  chip.exchange = (mosi: Uint8Array) => {
    // One exchange per frame from the simulated SPI; the header is its first 3 bytes
    hdr = [...mosi.subarray(0, 3)];
    log.push({ bsb: hdr[2] >> 3, addr: hdr[0] << 8 | hdr[1], write: !!(hdr[2] & 4), len: mosi.length - 3, data: [...mosi.subarray(3, 5)] });
    return exchange(mosi);
  };
  const take = (): Frame[] => {
    const l = log;
    log = [];
    return l;
  };
  const show = (what: string, f: Frame[], min?: number): void => {
    lines.push(`  ${what.padEnd(52)} ${summary(f)}${min === undefined ? '' : `   (${minimum(min)})`}`);
    f.forEach((x, i) => lines.push(`      ${i + 1}. ${label(x)}`));
  };
  try {
    // INT: the slow poll (link) every 500 ms, as the apps run it. Polled: 20 ms ticks
    const w = r.driver(mode === 'INT' ? { int: r.g.A8 } : { pollMs: 20 });
    await new Promise<void>((res, rej) => w.init((e) => (e ? rej(e) : res())));
    w.setIP({ ip: '192.168.1.2', subnet: '255.255.255.0', gateway: '192.168.1.1' });
    const sock: TcpSocket = w.tcp();
    const chunks: number[] = [];
    sock.on('data', (d: Uint8Array) => chunks.push(d.length));
    await new Promise<void>((res) => { sock.on('connect', () => res()); sock.connect('192.168.1.10', 1883); });
    await until(() => peer !== undefined, 2000);
    await new Promise((res) => setTimeout(res, 50));
    const idle = (): boolean => !sock._busy && !sock._pend && !sock._more;
    lines.push(`${mode}, chip taking each command ${commandReads ? `after ${commandReads} more Sn_CR read` : 'by the next frame'}:`);

    for (const len of [16, 1024]) {
      const msg = new Uint8Array(len).fill(0x41);
      // Isolated send: write(), then what it takes to see the SEND done (TX_RD = TX_WR)
      for (let i = 0; i < 3; i++) { // warm up: the local free-space count settles
        const before = received;
        sock.write(msg);
        await until(() => received === before + len && idle(), 2000);
        await new Promise((res) => setTimeout(res, 30));
      }
      take();
      let before = received;
      sock.write(msg);
      show(`TCP send ${len} B: in write()`, take(), len);
      await until(() => received === before + len && idle(), 2000);
      show(`TCP send ${len} B: then, until the SEND is seen done`, take());
      await new Promise((res) => setTimeout(res, 30));

      // Steady stream: the next message is queued while a SEND is out; the pass that sees that SEND
      // done sends it
      before = received;
      sock.write(msg);
      sock.write(msg);
      take();
      await until(() => received === before + 2 * len && idle(), 2000);
      // Up to the second message's SEND; what follows is its completion, as above
      const all = take(), sent = all.findIndex((f) => f.write && (f.bsb & 3) === 1 && f.addr === 0x01 && f.data[0] === 0x20);
      show(`TCP send ${len} B queued behind a SEND (steady)`, all.slice(0, sent + 1), len);
      await new Promise((res) => setTimeout(res, 30));

      // Receive: from the peer's bytes to the 'data' event, then until the RECV is seen taken
      chunks.length = 0;
      take();
      peer!.write(Buffer.alloc(len, 0x42));
      await until(() => chunks.reduce((a, b) => a + b, 0) === len, 2000);
      show(`TCP receive ${len} B`, take(), len);
      await until(idle, 2000);
      show(`TCP receive ${len} B: then, RECV seen taken`, take());
      await new Promise((res) => setTimeout(res, 30));
    }
    take();
    await new Promise((res) => setTimeout(res, 1000));
    const quiet = take();
    lines.push(`  idle for 1 s: ${summary(quiet)} (${[...new Set(quiet.map(label))].join(', ') || 'none'})`);
    sock.close();
    await new Promise((res) => setTimeout(res, 50));
  } finally {
    await r.dispose();
    peer?.destroy();
    await new Promise((res) => server.close(res));
  }
  return lines;
}

/** The driver as an app carries it: an IIFE that uses W5500, minified like dist/*.js (regs first, so
 *  register constants are inlined and gone; no export table). */
async function inAppSize(): Promise<number> {
  const entry = "import { W5500 } from './src/net/w5500'; (globalThis as any).W5500 = W5500;";
  const b = await rollup({
    input: 'entry',
    onwarn: () => {},
    plugins: [{
      name: 'ts',
      resolveId(source: string, importer?: string) {
        if (source === 'entry') return source;
        if (!importer || !source.startsWith('.')) return null;
        const base = importer === 'entry' ? resolve(source) : resolve(dirname(importer), source);
        for (const f of [base, base + '.ts']) if (f.endsWith('.ts') && existsSync(f)) return f;
        return null;
      },
      load: (id: string) => (id === 'entry' ? entry : null),
      async transform(code: string, id: string) {
        return id === 'entry' || id.endsWith('.ts') ? { code: (await compileTs(code, id + '.ts')).code, map: null } : null;
      },
    }],
  });
  const out = await b.generate({ format: 'iife', strict: false });
  await b.close();
  return Buffer.byteLength((await minifyJs(out.output[0].code)).code);
}

console.log('SPI frames per operation (bytes include the 3-byte headers), frame by frame, from the W5500 emulator.');
console.log('Commands are lazy: Sn_CR is written and the next service frame (one 41-byte read) shows it taken, with');
console.log('Sn_IR, Sn_SR, FSR, TX_RD, TX_WR, RSR and RX_RD. A SEND is done when TX_RD reaches TX_WR (SENDOK masked).');
console.log('Sn_IR bits go out with the next command (Sn_CR, Sn_IR adjacent). RSR/FSR are used once two reads agree,');
console.log('the service frame being the first. The minimum: data frame, pointer update, command. Detection (the poll');
console.log('of SIR, INT-triggered or periodic) and the command handshake come on top.');
for (const [mode, reads] of [['INT', 0], ['polled', 0], ['INT', 1]] as const) {
  for (const line of await measure(mode, reads)) console.log(line);
  console.log('');
}

console.log('Minified size:');
const driver = ['src/net/w5500.ts'];
console.log(`  scripts/bundle-size.js src/net/w5500.ts (w5500 + tcp + udp + socket + spi + regs, with events/error/ip,`);
console.log(`    every export kept): ${await bundleSize(driver)} bytes`);
console.log(`  as an app carries it (IIFE using W5500, register constants inlined): ${await inAppSize()} bytes`);
const extra = ['src/net/dhcp.ts', 'src/net/dns.ts'].filter((f) => existsSync(f));
if (extra.length) console.log(`  driver + ${extra.join(' + ')}: ${await bundleSize(driver.concat(extra))} bytes`);
const shared = ['src/events.ts', 'src/error.ts', 'src/net/ip.ts'];
console.log(`  of which shared with the rest of the app (events, error, ip): ${await bundleSize(shared)} bytes`);
