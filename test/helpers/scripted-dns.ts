// A DNS server on loopback whose answers the test scripts, and a response builder (RFC 1035) with
// name compression, written independently of src/net/dns.ts.
import dgram from 'node:dgram';

export const A = 1, CNAME = 5, AAAA = 28;

export interface Question {
  id: number;
  flags: number;
  name: string;
  qtype: number;
  qclass: number;
  /** The question section as sent (name, type, class). */
  raw: Buffer;
}

export function parseQuery(b: Buffer): Question {
  const labels: string[] = [];
  let p = 12;
  while (b[p]) {
    labels.push(b.subarray(p + 1, p + 1 + b[p]).toString('latin1'));
    p += 1 + b[p];
  }
  p++;
  return { id: b.readUInt16BE(0), flags: b.readUInt16BE(2), name: labels.join('.'), qtype: b.readUInt16BE(p),
    qclass: b.readUInt16BE(p + 2), raw: Buffer.from(b.subarray(12, p + 4)) };
}

export interface Record {
  name: string;
  type: number;
  ttl: number;
  /** A: dotted address; CNAME: target name; otherwise raw bytes. */
  data: string | Buffer;
}

export interface ResponseSpec {
  id: number;
  question: Buffer;
  rcode?: number;
  tc?: boolean;
  answers?: Record[];
  /** Compress names with pointers (default true). */
  compress?: boolean;
}

/** A response; names are compressed against the question and earlier names, suffixes included. */
export function buildResponse(s: ResponseSpec): Buffer {
  const answers = s.answers ?? [];
  const head = Buffer.alloc(12);
  head.writeUInt16BE(s.id, 0);
  head.writeUInt16BE(0x8180 | (s.tc ? 0x200 : 0) | (s.rcode ?? 0), 2); // QR, RD, RA
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  const parts: Buffer[] = [head, s.question];
  let length = 12 + s.question.length;
  const seen = new Map<string, number>();
  // The question's name and its suffixes, at offset 12.
  const q = s.question, qLabels: string[] = [];
  for (let i = 0; q[i]; i += 1 + q[i]) qLabels.push(q.subarray(i + 1, i + 1 + q[i]).toString('latin1'));
  for (let i = 0, off = 12; i < qLabels.length; off += 1 + qLabels[i].length, i++) {
    seen.set(qLabels.slice(i).join('.').toLowerCase(), off);
  }
  const name = (n: string, at: number): Buffer => {
    const labels = n.split('.');
    const out: Buffer[] = [];
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const ptr = seen.get(suffix);
      if (s.compress !== false && ptr !== undefined) {
        out.push(Buffer.from([0xc0 | (ptr >> 8), ptr & 255]));
        return Buffer.concat(out);
      }
      if (s.compress !== false) seen.set(suffix, at + out.reduce((m, b) => m + b.length, 0));
      out.push(Buffer.concat([Buffer.from([labels[i].length]), Buffer.from(labels[i], 'latin1')]));
    }
    out.push(Buffer.from([0]));
    return Buffer.concat(out);
  };
  for (const r of answers) {
    const owner = name(r.name, length);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(r.type, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(r.ttl, 4);
    const dataAt = length + owner.length + 10;
    const data = r.type === A && typeof r.data === 'string' ? Buffer.from(r.data.split('.').map(Number))
      : r.type === CNAME && typeof r.data === 'string' ? name(r.data, dataAt) : Buffer.from(r.data as Buffer);
    fixed.writeUInt16BE(data.length, 8);
    parts.push(owner, fixed, data);
    length += owner.length + 10 + data.length;
  }
  return Buffer.concat(parts);
}

/** A scripted DNS server on 127.0.0.1: `onQuery` answers (or not); every query is recorded. */
export class ScriptedDns {
  readonly queries: Question[] = [];
  onQuery: (q: Question, reply: (b: Buffer) => void, from: { address: string; port: number }) => void = () => {};

  private constructor(private readonly sock: dgram.Socket) {
    sock.on('message', (msg, rinfo) => {
      let q: Question;
      try {
        q = parseQuery(msg);
      } catch {
        return;
      }
      this.queries.push(q);
      this.onQuery(q, (b) => this.sock.send(b, rinfo.port, rinfo.address), { address: rinfo.address, port: rinfo.port });
    });
  }

  static async start(host = '127.0.0.1'): Promise<ScriptedDns> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, host, () => resolve());
    });
    return new ScriptedDns(sock);
  }

  get port(): number {
    return this.sock.address().port;
  }

  /** Sends any datagram from this server's socket. */
  sendTo(b: Buffer, to: { address: string; port: number }): void {
    this.sock.send(b, to.port, to.address);
  }

  /** Answers every A query from a table: name → address, or name → 'cname:target', or absent → NXDOMAIN. */
  serve(table: { [name: string]: string }, ttl = 60): void {
    this.onQuery = (q, reply) => {
      const answers: Record[] = [];
      let n = q.name.toLowerCase();
      for (let hops = 0; hops < 10 && table[n]?.startsWith('cname:'); hops++) {
        const target = table[n].slice(6);
        answers.push({ name: n, type: CNAME, ttl, data: target });
        n = target;
      }
      if (table[n]) answers.push({ name: n, type: A, ttl, data: table[n] });
      reply(buildResponse({ id: q.id, question: q.raw, rcode: answers.length ? 0 : 3, answers }));
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}
