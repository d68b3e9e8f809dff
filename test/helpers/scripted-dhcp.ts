// A DHCP server on loopback whose every answer the test scripts, plus a BOOTP/DHCP codec written
// independently of src/net/dhcp.ts (from RFC 2131/2132), so the tests do not check the client
// against itself.
import dgram from 'node:dgram';

export const DISCOVER = 1, OFFER = 2, REQUEST = 3, DECLINE = 4, ACK = 5, NAK = 6, RELEASE = 7;
const COOKIE = Buffer.from([99, 130, 83, 99]);

export interface DhcpPacket {
  op: number;
  xid: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  chaddr: Buffer;
  /** Option 53. */
  type: number;
  options: Map<number, Buffer>;
  /** Option codes in the order they appear. */
  order: number[];
  length: number;
}

const ip = (b: Buffer, at = 0) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const ipBuf = (s: string) => Buffer.from(s.split('.').map(Number));

export function optIp(p: DhcpPacket, code: number): string | undefined {
  const v = p.options.get(code);
  return v ? ip(v) : undefined;
}

export function parseDhcp(b: Buffer): DhcpPacket {
  if (b.length < 240 || !b.subarray(236, 240).equals(COOKIE)) throw new Error('not a DHCP packet');
  const options = new Map<number, Buffer>();
  const order: number[] = [];
  let p = 240;
  while (p < b.length && b[p] !== 255) {
    if (b[p] === 0) { p++; continue; }
    const len = b[p + 1];
    if (p + 2 + len > b.length) throw new Error('option runs past the end');
    options.set(b[p], b.subarray(p + 2, p + 2 + len));
    order.push(b[p]);
    p += 2 + len;
  }
  if (b[p] !== 255) throw new Error('no end option');
  return {
    op: b[0], xid: b.readUInt32BE(4), flags: b.readUInt16BE(10), ciaddr: ip(b, 12), yiaddr: ip(b, 16),
    chaddr: Buffer.from(b.subarray(28, 28 + b[2])), type: options.get(53)?.[0] ?? 0, options, order, length: b.length,
  };
}

export interface ReplySpec {
  type: number;
  xid: number;
  chaddr: Buffer;
  yiaddr?: string;
  /** Option 54; omitted when null. */
  server?: string | null;
  lease?: number;
  t1?: number;
  t2?: number;
  subnet?: string;
  router?: string;
  dns?: string[];
  domain?: string;
  broadcast?: boolean;
  /** Pad options (0) sprinkled between the others. */
  pads?: boolean;
}

export function buildReply(s: ReplySpec): Buffer {
  const head = Buffer.alloc(240);
  head[0] = 2; head[1] = 1; head[2] = 6;
  head.writeUInt32BE(s.xid >>> 0, 4);
  if (s.broadcast) head.writeUInt16BE(0x8000, 10);
  ipBuf(s.yiaddr ?? '0.0.0.0').copy(head, 16);
  s.chaddr.copy(head, 28);
  COOKIE.copy(head, 236);
  const opts: Buffer[] = [];
  const add = (code: number, v: Buffer) => {
    opts.push(Buffer.from([code, v.length]), v);
    if (s.pads) opts.push(Buffer.from([0]));
  };
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
  if (s.lease !== undefined) add(51, u32(s.lease)); // not first: the client must not depend on order
  add(53, Buffer.from([s.type]));
  if (s.server !== null) add(54, ipBuf(s.server ?? '10.0.0.1'));
  if (s.subnet) add(1, ipBuf(s.subnet));
  if (s.router) add(3, ipBuf(s.router));
  if (s.dns) add(6, Buffer.concat(s.dns.map(ipBuf)));
  if (s.domain) add(15, Buffer.from(s.domain, 'latin1'));
  if (s.t1 !== undefined) add(58, u32(s.t1));
  if (s.t2 !== undefined) add(59, u32(s.t2));
  return Buffer.concat([head, ...opts, Buffer.from([255])]);
}

export interface Received {
  packet: DhcpPacket;
  /** Which of the server's sockets it reached: the broadcast route's or the server address's. */
  via: 'broadcast' | 'unicast';
}

/**
 * A scripted DHCP server on loopback, with two sockets on the same port: 127.0.0.1 receives what
 * the chip broadcasts, 127.0.0.2 what it sends to the server's own address, so a test can tell a
 * renewal (unicast) from a rebind (broadcast). `routes()` is the emulator's map for both. Each
 * request is recorded and handed to `onRequest`, whose `reply` answers through the socket it came in on.
 */
export class ScriptedDhcp {
  readonly received: Received[] = [];
  onRequest: (p: DhcpPacket, reply: (b: Buffer) => void, via: Received['via']) => void = () => {};
  private waiters: { pred: (p: DhcpPacket, via: Received['via']) => boolean; resolve: (p: DhcpPacket) => void }[] = [];
  private last: { sock: dgram.Socket; address: string; port: number } | null = null;

  private constructor(private readonly bcast: dgram.Socket, private readonly ucast: dgram.Socket) {
    for (const [sock, via] of [[bcast, 'broadcast'], [ucast, 'unicast']] as const) {
      sock.on('message', (msg, rinfo) => {
        let p: DhcpPacket;
        try {
          p = parseDhcp(msg);
        } catch {
          return;
        }
        const to = { sock, address: rinfo.address, port: rinfo.port };
        this.last = to;
        this.received.push({ packet: p, via });
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(p, via)) return true;
          w.resolve(p);
          return false;
        });
        this.onRequest(p, (b) => sock.send(b, to.port, to.address), via);
      });
    }
  }

  static async start(): Promise<ScriptedDhcp> {
    const bind = async (host: string, port: number) => {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(port, host, () => resolve());
      });
      return sock;
    };
    const bcast = await bind('127.0.0.1', 0);
    const ucast = await bind('127.0.0.2', bcast.address().port);
    return new ScriptedDhcp(bcast, ucast);
  }

  get port(): number {
    return this.bcast.address().port;
  }

  /** Emulator routes: broadcasts to 127.0.0.1, `serverIp`:67 to 127.0.0.2, replies from either as `serverIp`:67. */
  routes(serverIp = '10.0.0.1'): { from: string; to: string }[] {
    return [
      { from: `${serverIp}:67`, to: `127.0.0.2:${this.port}` },
      { from: `${serverIp}:67`, to: `127.0.0.1:${this.port}` },
      { from: '255.255.255.255:67', to: `127.0.0.1:${this.port}` },
    ];
  }

  /** Sends to where the last request came from. */
  send(b: Buffer): void {
    const l = this.last;
    if (l) l.sock.send(b, l.port, l.address);
  }

  /** The first request since index `since` matching `pred`, already received or still to come. */
  waitFor(pred: (p: DhcpPacket, via: Received['via']) => boolean, timeoutMs: number, since = 0): Promise<DhcpPacket> {
    const seen = this.received.slice(since).find((r) => pred(r.packet, r.via));
    if (seen) return Promise.resolve(seen.packet);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (p: DhcpPacket) => {
          clearTimeout(t);
          resolve(p);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no matching DHCP request within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.bcast, this.ucast].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
