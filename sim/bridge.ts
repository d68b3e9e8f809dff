// SPI bridge: serves an emulated W5500's SPI bus, RSTn and INTn to other processes (a driver in
// another language, or Espruino's own interpreter) over a pair of named pipes and, optionally, a
// Unix stream socket. Protocol in sim/BRIDGE.md:
//   request  = op (1), length (2, BE), payload      response = status (1, 0 = ok), length (2, BE), payload
//   0x01 TRANSFER  MOSI bytes, CS low for the whole frame  ->  MISO bytes, same length
//   0x02 RESET     pulse RSTn                              ->  empty
//   0x03 INT       -                                       ->  one byte, INTn level (0 = asserted)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { pathToFileURL } from 'node:url';
import { W5500, type RouteSpec } from './w5500/index';

export const Op = { TRANSFER: 0x01, RESET: 0x02, INT: 0x03 } as const;
export const STATUS_OK = 0;
export const STATUS_BAD_OP = 1;
export const STATUS_FAILED = 2;

/** What the bridge drives: the W5500 emulator, or anything shaped like it. */
export interface BridgedChip {
  transfer(frame: Uint8Array): Uint8Array;
  hardwareReset(): void;
  readonly intLevel: 0 | 1;
}

export interface BridgeOptions {
  /** Named pipes, created with mkfifo if missing: the client writes requests, reads responses. */
  fifo?: { request: string; response: string };
  /** Also serve the same protocol on this Unix stream socket path (one session per connection). */
  socketPath?: string;
}

export interface Bridge {
  /** Requests answered so far, over every channel. */
  readonly requests: number;
  close(): Promise<void>;
}

/** Parses requests from a byte stream and answers each in order. */
export class BridgeSession {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly chip: BridgedChip, private readonly reply: (bytes: Buffer) => void,
    private readonly counted: () => void = () => undefined) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let at = 0;
    while (this.buf.length - at >= 3) {
      const len = this.buf.readUInt16BE(at + 1);
      if (this.buf.length - at < 3 + len) break;
      const op = this.buf[at];
      const payload = this.buf.subarray(at + 3, at + 3 + len);
      at += 3 + len;
      this.reply(this.answer(op, payload));
      this.counted();
    }
    this.buf = at === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(at));
  }

  private answer(op: number, payload: Buffer): Buffer {
    try {
      switch (op) {
        case Op.TRANSFER: return frame(STATUS_OK, this.chip.transfer(new Uint8Array(payload)));
        case Op.RESET:
          this.chip.hardwareReset();
          return frame(STATUS_OK, new Uint8Array(0));
        case Op.INT: return frame(STATUS_OK, Uint8Array.of(this.chip.intLevel));
        default: return frame(STATUS_BAD_OP, Buffer.from(`unknown op 0x${op.toString(16).padStart(2, '0')}`));
      }
    } catch (e) {
      return frame(STATUS_FAILED, Buffer.from(String((e as Error).message ?? e).slice(0, 200)));
    }
  }
}

function frame(status: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(3 + payload.length);
  out[0] = status;
  out.writeUInt16BE(payload.length, 1);
  out.set(payload, 3);
  return out;
}

function makeFifo(path: string): boolean {
  if (fs.existsSync(path)) {
    if (!fs.statSync(path).isFIFO()) throw new Error(`${path} exists and is not a FIFO`);
    return false;
  }
  execFileSync('mkfifo', ['-m', '600', path]);
  return true;
}

/**
 * Starts serving `chip`. FIFOs are opened read-write and non-blocking on our side, so the bridge
 * never waits for a client and a client's open() never blocks; one client at a time.
 */
export async function startBridge(chip: BridgedChip, opts: BridgeOptions): Promise<Bridge> {
  let requests = 0;
  const count = () => { requests++; };
  const cleanups: (() => Promise<void> | void)[] = [];
  if (opts.fifo) {
    const { request, response } = opts.fifo;
    const made = [makeFifo(request) ? request : '', makeFifo(response) ? response : ''].filter(Boolean);
    const flags = fs.constants.O_RDWR | fs.constants.O_NONBLOCK;
    const input = new net.Socket({ fd: fs.openSync(request, flags), readable: true, writable: false });
    const output = new net.Socket({ fd: fs.openSync(response, flags), readable: false, writable: true });
    const session = new BridgeSession(chip, (b) => output.write(b), count);
    input.on('data', (chunk: Buffer) => session.push(chunk));
    input.on('error', () => undefined);
    output.on('error', () => undefined);
    cleanups.push(() => {
      input.destroy();
      output.destroy();
      for (const p of made) fs.rmSync(p, { force: true });
    });
  }
  if (opts.socketPath) {
    const path = opts.socketPath;
    fs.rmSync(path, { force: true });
    const clients = new Set<net.Socket>();
    const server = net.createServer((sock) => {
      clients.add(sock);
      const session = new BridgeSession(chip, (b) => sock.write(b), count);
      sock.on('data', (chunk: Buffer) => session.push(chunk));
      sock.on('error', () => undefined);
      sock.on('close', () => clients.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const c of clients) c.destroy();
      server.close(() => resolve());
      fs.rmSync(path, { force: true });
    }));
  }
  return {
    get requests() { return requests; },
    async close() { for (const c of cleanups) await c(); },
  };
}

// ---- command line: node --import tsx sim/bridge.ts --fifo REQ RESP [--unix PATH] [--route FROM=TO]… [--real]

async function main(argv: string[]): Promise<void> {
  const opts: BridgeOptions = {};
  const routes: RouteSpec[] = [];
  let real = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--fifo') opts.fifo = { request: argv[++i], response: argv[++i] };
    else if (a === '--unix') opts.socketPath = argv[++i];
    else if (a === '--route') {
      const [from, to] = argv[++i].split('=');
      routes.push({ from, to });
    } else if (a === '--real') real = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.fifo && !opts.socketPath) throw new Error('give --fifo REQUEST RESPONSE and/or --unix PATH');
  const chip = new W5500({ network: real ? { mode: 'real' } : { mode: 'map', routes },
    log: (line) => process.stderr.write(`${line}\n`) });
  const bridge = await startBridge(chip, opts);
  process.stderr.write('w5500 bridge ready\n');
  const stop = async () => {
    await bridge.close();
    await chip.close();
    process.exit(0);
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
