// The host side of a UDP socket (Node `dgram`). Map mode binds 127.0.0.1 on an ephemeral port and
// sends through the route table; real mode binds 0.0.0.0 on Sn_PORT with broadcast enabled.
// Replies are mapped back to the virtual address the chip sent to.
import * as dgram from 'node:dgram';
import type * as net from 'node:net';
import { BROADCAST_IP, ipFromString } from './constants';
import type { Network } from './network';
import type { Anomalies, Counters } from './faults';

export interface UdpOwner {
  deliver(srcIp: number, srcPort: number, payload: Uint8Array, broadcast: boolean): void;
  unreachable(ip: number, port: number): void;
  linkUp(): boolean;
  hostDown(ip: number): boolean;
}

const TRACKED = 64;

export class UdpConn {
  hostPort = 0;
  private readonly sock: dgram.Socket;
  private closed = false;
  private sockClosed = false;
  private pending = 0; // datagrams past SENDOK not yet handed to the host kernel
  // host "addr:port" -> virtual endpoint we last sent to there (so replies come from where we sent)
  private readonly sentTo = new Map<string, { ip: number; port: number }>();

  constructor(private readonly owner: UdpOwner, private readonly network: Network,
    private readonly anomalies: Anomalies, private readonly counters: Counters, localPort: number) {
    this.sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.sock.on('error', (e) => {
      this.anomalies.note('hostSocketError', `UDP port ${localPort}: ${e.message}`);
      if (this.closed) this.finish(); // a failed bind drops the queued sends without a callback
    });
    this.sock.on('message', (msg, rinfo) => this.received(msg, rinfo));
    const real = network.mode === 'real';
    // bind() before any send(): an unbound dgram socket would bind itself to every interface.
    this.sock.bind({ address: real ? '0.0.0.0' : '127.0.0.1', port: real ? localPort : 0, exclusive: false }, () => {
      if (this.closed) return;
      if (real) this.sock.setBroadcast(true);
      this.hostPort = this.sock.address().port;
    });
  }

  /** One datagram onto the wire (lost if the link or the destination is down). */
  send(ip: number, port: number, data: Uint8Array): void {
    this.counters.net.udpTxDatagrams++;
    if (!this.owner.linkUp() || this.owner.hostDown(ip)) return;
    const target = this.network.udpTarget(ip, port);
    if (target === 'silent') return;
    this.pending++;
    this.network.delay.run(() => {
      if (target === 'unreachable') {
        if (!this.closed) this.owner.unreachable(ip, port);
        return this.sent();
      }
      if (ip !== BROADCAST_IP) this.remember(`${target.host}:${target.port}`, ip, port);
      this.sock.send(data, target.port, target.host, (e) => {
        if (e && !this.sockClosed) this.anomalies.note('hostSocketError', `UDP send to ${target.host}:${target.port}: ${e.message}`);
        this.sent();
      });
    });
  }

  /**
   * The chip socket is closed at once; the host socket lingers until the datagrams that got SENDOK
   * are out (Node drops sends still waiting for bind or the address lookup when its socket closes).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pending === 0) this.finish();
    else this.network.lingering.add(this.finish);
  }

  private sent(): void {
    if (--this.pending === 0 && this.closed) this.finish();
  }

  private readonly finish = (): void => {
    this.network.lingering.delete(this.finish);
    if (this.sockClosed) return;
    this.sockClosed = true;
    this.sock.close();
  };

  private received(msg: Buffer, rinfo: net.AddressInfo | dgram.RemoteInfo): void {
    if (this.closed || !this.owner.linkUp()) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    let src = this.sentTo.get(key) ?? null;
    let broadcast = false;
    if (this.network.mode === 'map') {
      const r = this.network.routes.reverse('udp', rinfo.address, rinfo.port);
      broadcast = r.broadcast;
      src = src ?? r.source;
      if (!src) {
        this.anomalies.note('unmappedSource', `datagram from ${key} matches no route; delivered as from that address`);
      }
    }
    const from = src ?? { ip: ipFromString(rinfo.address), port: rinfo.port };
    if (this.owner.hostDown(from.ip)) return;
    this.network.delay.run(() => {
      if (!this.closed && this.owner.linkUp()) this.owner.deliver(from.ip, from.port, msg, broadcast);
    });
  }

  private remember(key: string, ip: number, port: number): void {
    this.sentTo.delete(key);
    this.sentTo.set(key, { ip, port });
    if (this.sentTo.size > TRACKED) this.sentTo.delete(this.sentTo.keys().next().value as string);
  }
}
