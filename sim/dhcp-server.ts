// A small DHCP server (RFC 2131) on loopback for the demo: it leases addresses from a pool, one per
// client MAC, and answers DISCOVER with OFFER, REQUEST with ACK (or NAK for an address that is not
// the client's), and takes RELEASE back. The W5500 emulator reaches it through its route map
// (`routes()`): broadcasts to 255.255.255.255:67 and unicast to the server's virtual address.
import dgram from 'node:dgram';

const DISCOVER = 1, OFFER = 2, REQUEST = 3, ACK = 5, NAK = 6, RELEASE = 7;
const COOKIE = 0x63825363;
const NAMES: Record<number, string> = { [DISCOVER]: 'DISCOVER', [REQUEST]: 'REQUEST', [RELEASE]: 'RELEASE', 4: 'DECLINE', 8: 'INFORM' };

export interface DhcpServerOptions {
  /** The server's virtual address (option 54), also the router and DNS server offered. */
  server: string;
  /** First address of the pool; the pool runs up from it. */
  first: string;
  size?: number;
  subnet?: string;
  /** Lease time, seconds (default 3600). */
  lease?: number;
  log?: (line: string) => void;
}

const ipBytes = (s: string) => Buffer.from(s.split('.').map(Number));
const ipText = (b: Buffer, at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const macText = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

interface Request { type: number; xid: number; flags: number; ciaddr: string; chaddr: Buffer; requested?: string; serverId?: string; hostname?: string }

function parse(b: Buffer): Request | undefined {
  if (b.length < 241 || b[0] !== 1 || b.readUInt32BE(236) !== COOKIE) return undefined;
  const r: Request = { type: 0, xid: b.readUInt32BE(4), flags: b.readUInt16BE(10), ciaddr: ipText(b, 12), chaddr: Buffer.from(b.subarray(28, 34)) };
  for (let p = 240; p < b.length && b[p] !== 255;) {
    if (b[p] === 0) { p++; continue; }
    const code = b[p], v = b.subarray(p + 2, p + 2 + b[p + 1]);
    if (code === 53) r.type = v[0];
    else if (code === 50 && v.length === 4) r.requested = ipText(v, 0);
    else if (code === 54 && v.length === 4) r.serverId = ipText(v, 0);
    else if (code === 12) r.hostname = v.toString('latin1');
    p += 2 + v.length;
  }
  return r.type ? r : undefined;
}

export class DhcpServer {
  private readonly leases = new Map<string, string>(); // MAC -> address
  private constructor(private readonly sock: dgram.Socket, private readonly o: Required<Omit<DhcpServerOptions, 'log'>> & Pick<DhcpServerOptions, 'log'>) {
    sock.on('message', (msg, rinfo) => {
      const r = parse(msg);
      if (r) this.handle(r, (b) => sock.send(b, rinfo.port, rinfo.address));
    });
  }

  static async start(opts: DhcpServerOptions): Promise<DhcpServer> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => resolve());
    });
    return new DhcpServer(sock, { size: 50, subnet: '255.255.255.0', lease: 3600, ...opts });
  }

  get port(): number {
    return this.sock.address().port;
  }

  /** The emulator's UDP routes to this server: broadcast, and unicast to its virtual address. */
  routes(): { from: string; to: string; proto: 'udp' }[] {
    const to = `127.0.0.1:${this.port}`;
    return [{ from: `${this.o.server}:67`, to, proto: 'udp' }, { from: '255.255.255.255:67', to, proto: 'udp' }];
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }

  private addressFor(mac: string): string | undefined {
    const had = this.leases.get(mac);
    if (had) return had;
    const taken = new Set(this.leases.values());
    const base = ipBytes(this.o.first).readUInt32BE(0);
    for (let i = 0; i < this.o.size; i++) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(base + i);
      const ip = ipText(b, 0);
      if (!taken.has(ip)) {
        this.leases.set(mac, ip);
        return ip;
      }
    }
    return undefined;
  }

  private handle(r: Request, send: (b: Buffer) => void): void {
    const mac = macText(r.chaddr);
    const log = (what: string) => this.o.log?.(`${NAMES[r.type] ?? r.type} from ${mac}${r.hostname ? ` (${r.hostname})` : ''}: ${what}`);
    if (r.type === RELEASE) {
      if (this.leases.get(mac) === r.ciaddr) this.leases.delete(mac);
      return log(`${r.ciaddr} released`);
    }
    if (r.type === DISCOVER) {
      const ip = this.addressFor(mac);
      if (!ip) return log('pool exhausted, no offer');
      log(`offer ${ip}`);
      return send(this.reply(r, OFFER, ip));
    }
    if (r.type !== REQUEST) return log('ignored');
    if (r.serverId && r.serverId !== this.o.server) return log(`for server ${r.serverId}, not us`);
    const want = r.requested ?? r.ciaddr;
    const ip = this.addressFor(mac);
    if (!ip || want !== ip) {
      log(`NAK ${want}`);
      return send(this.reply(r, NAK, '0.0.0.0'));
    }
    log(`ACK ${ip}, lease ${this.o.lease} s`);
    send(this.reply(r, ACK, ip));
  }

  private reply(r: Request, type: number, yiaddr: string): Buffer {
    const head = Buffer.alloc(240);
    head[0] = 2; head[1] = 1; head[2] = 6;
    head.writeUInt32BE(r.xid, 4);
    head.writeUInt16BE(r.flags & 0x8000, 10);
    ipBytes(yiaddr).copy(head, 16);
    r.chaddr.copy(head, 28);
    head.writeUInt32BE(COOKIE, 236);
    const opts: number[] = [53, 1, type, 54, 4, ...ipBytes(this.o.server)];
    if (type !== NAK) {
      const lease = Buffer.alloc(4);
      lease.writeUInt32BE(this.o.lease);
      opts.push(51, 4, ...lease, 1, 4, ...ipBytes(this.o.subnet), 3, 4, ...ipBytes(this.o.server), 6, 4, ...ipBytes(this.o.server));
    }
    opts.push(255);
    return Buffer.concat([head, Buffer.from(opts)]);
  }
}
