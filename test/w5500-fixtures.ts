// Shared set-up for the W5500 emulator tests: loopback servers, a chip on 192.0.2.0/24 with short
// RTR/RCR (so ARP and TCP timeouts take tens of milliseconds), and a socket brought to ESTABLISHED
// through SPI frames only.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { W5500, type W5500Options, type RouteList } from '../sim/w5500/index.ts';
import { Cmd, Common, Sn, Status } from '../sim/w5500/constants.ts';
import { SpiMaster, bsb, until } from '../sim/w5500/master.ts';

export { SpiMaster, bsb, until };

export const OWN_IP = [192, 0, 2, 5];
export const BROKER = '192.0.2.10';
/** RTR = 200 (20 ms), RCR = 3: ARPTO 80 ms, TCPTO 300 ms. */
export const FAST = { rtr: 200, rcr: 3, arpMs: 80, tcpMs: 300 };

export interface Rig { chip: W5500; m: SpiMaster; close(): Promise<void> }

/** A chip in map mode with these routes, network registers set, fast timeouts. */
export function chipRig(routes: RouteList = {}, opts: W5500Options = {}): Rig {
  const chip = new W5500({ network: { mode: 'map', routes }, ...opts });
  const m = new SpiMaster(chip);
  m.network({ mac: [0x02, 0, 0, 0, 0, 5], ip: OWN_IP, mask: [255, 255, 255, 0], gateway: [0, 0, 0, 0] });
  m.write16(bsb.common, Common.RTR, FAST.rtr);
  m.write8(bsb.common, Common.RCR, FAST.rcr);
  return { chip, m, close: () => chip.close() };
}

export function setDest(m: SpiMaster, n: number, ip: string, port: number): void {
  m.write(bsb.regs(n), Sn.DIPR, [...ip.split('.').map(Number), port >> 8, port & 255]);
}

/** Socket n opened as TCP and connected to ip:port; resolves once ESTABLISHED (Sn_IR cleared). */
export async function connectTcp(m: SpiMaster, n: number, ip: string, port: number): Promise<void> {
  m.open(n, 0x01, 40000 + n);
  setDest(m, n, ip, port);
  m.command(n, Cmd.CONNECT);
  await until(() => m.sr(n) !== Status.SYNSENT && m.sr(n) !== Status.INIT, 2000, 'connect to finish');
  if (m.sr(n) !== Status.ESTABLISHED) throw new Error(`connect ended in state 0x${m.sr(n).toString(16)}`);
  m.write8(bsb.regs(n), Sn.IR, 0xff);
}

export interface TcpServer {
  port: number;
  conns: net.Socket[];
  /** Bytes each connection received, in order of connection. */
  received: Buffer[];
  events: string[];
  close(): Promise<void>;
}

/** A loopback TCP server; `echo` writes back what it gets; `halfOpen` keeps its side open after a FIN. */
export async function tcpServer(opts: { echo?: boolean; halfOpen?: boolean } = {}): Promise<TcpServer> {
  const s: TcpServer = { port: 0, conns: [], received: [], events: [], close: async () => undefined };
  const server = net.createServer({ allowHalfOpen: !!opts.halfOpen }, (c) => {
    const i = s.conns.push(c) - 1;
    s.received.push(Buffer.alloc(0));
    c.on('data', (d) => {
      s.received[i] = Buffer.concat([s.received[i], d]);
      if (opts.echo) c.write(d);
    });
    c.on('end', () => s.events.push(`end ${i}`));
    c.on('error', (e: NodeJS.ErrnoException) => s.events.push(`error ${i} ${e.code}`));
    c.on('close', () => s.events.push(`close ${i}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  s.port = (server.address() as net.AddressInfo).port;
  s.close = () => new Promise<void>((r) => {
    for (const c of s.conns) c.destroy();
    server.close(() => r());
  });
  return s;
}

export interface UdpServer { port: number; messages: { data: Buffer; port: number }[]; socket: dgram.Socket; close(): Promise<void> }

/** A loopback UDP server; `echo` sends each datagram back to its sender. */
export async function udpServer(echo = true): Promise<UdpServer> {
  const socket = dgram.createSocket('udp4');
  const s: UdpServer = { port: 0, messages: [], socket, close: () => new Promise<void>((r) => socket.close(() => r())) };
  socket.on('message', (data, rinfo) => {
    s.messages.push({ data, port: rinfo.port });
    if (echo) socket.send(data, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  s.port = socket.address().port;
  return s;
}

/** Lets pending I/O and timers run for `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
