// A socket's state machine (§4.2) on top of its registers: the commands, ARP, SEND/RECV, and the
// events from the host side (TCP connection, UDP datagrams, MACRAW frames). Out-of-state commands
// are ignored (Sn_CR clears, nothing changes) and noted as anomalies.
import type * as net from 'node:net';
import { hex } from './common';
import {
  BROADCAST_IP, Cmd, DEFAULT_MSS, IR_MP, IR_UNREACH, MR_FARP, MR_WOL, Proto, Sn, SnIr, SnMr, Status, ipToString,
  tcpTimeoutMs,
} from './constants';
import { Arp } from './network';
import { SocketRegisters, type SocketChip, put16, u16 } from './registers';
import { isMagicPacket, macrawFilter, macrawHeader, udpHeader } from './rx';
import { KeepAlive, TcpConn, type TcpOwner } from './tcp';
import { UdpConn, type UdpOwner } from './udp';

export class Socket extends SocketRegisters implements TcpOwner, UdpOwner {
  tcp: TcpConn | null = null;
  udp: UdpConn | null = null;
  private readonly arp: Arp;
  private readonly keepAlive: KeepAlive;
  private finTimer: NodeJS.Timeout | null = null;
  private rxQueue: Uint8Array[] = []; // TCP bytes the RX buffer had no room for (the window is closed)
  private finQueued = false;
  private peerFinished = false;
  private acceptedPeer = { ip: 0, port: 0 };

  constructor(n: number, chip: SocketChip) {
    super(n, chip);
    const common = chip.common;
    this.arp = new Arp(chip.network, {
      get rtr() { return common.rtr; }, get rcr() { return common.rcr; }, get forced() { return (common.mr & MR_FARP) !== 0; },
    });
    this.keepAlive = new KeepAlive(() => {
      const open = this.state === Status.ESTABLISHED || this.state === Status.CLOSE_WAIT;
      return open ? this.regs[Sn.KPALVTR] * chip.keepAliveUnitMs : 0;
    }, () => {
      this.tcp?.probe();
      return this.tcp !== null;
    });
  }

  protected stored(off: number): void {
    if (off === Sn.RXBUF_SIZE || off === Sn.TXBUF_SIZE) this.chip.relayout();
    else if (off === Sn.KPALVTR) this.keepAlive.arm();
  }

  /** Register reset (MR.RST / RSTn): the chip forgets its connections without a word. */
  reset(): void {
    this.release('silent');
    this.arp.forget();
    this.resetRegisters();
  }

  protected execute(cmd: number): void {
    const s = this.state;
    const established = s === Status.ESTABLISHED || s === Status.CLOSE_WAIT;
    switch (cmd) {
      case Cmd.OPEN: if (s === Status.CLOSED && this.open()) return; break;
      case Cmd.LISTEN: if (s === Status.INIT) return this.listen(); break;
      case Cmd.CONNECT: if (s === Status.INIT) return this.connect(); break;
      case Cmd.DISCON: if (established) return this.discon(); break;
      case Cmd.CLOSE: return this.release(this.chip.closeSends === 'rst' ? 'rst' : 'silent');
      case Cmd.SEND:
        if (established) return this.sendTcp();
        if (s === Status.UDP) return this.sendUdp(false);
        if (s === Status.MACRAW) return this.sendMacraw();
        break;
      case Cmd.SEND_MAC: if (s === Status.UDP) return this.sendUdp(true); break;
      case Cmd.SEND_KEEP: if (established && this.regs[Sn.KPALVTR] === 0) return this.tcp?.probe(); break;
      case Cmd.RECV: return this.recv(); // valid in any state: bytes stay readable after a close
    }
    this.chip.anomalies.note('ignoredCommand', `socket ${this.n} command 0x${hex(cmd)} in state 0x${hex(s)}`);
  }

  private open(): boolean {
    const proto = this.regs[Sn.MR] & 0x0f;
    if (proto === Proto.TCP) this.state = Status.INIT;
    else if (proto === Proto.UDP) this.state = Status.UDP;
    else if (proto === Proto.MACRAW && this.n === 0) this.state = Status.MACRAW;
    else return false;
    const problem = this.chip.layoutProblem();
    if (problem) this.chip.anomalies.note('badBufferSize', `socket ${this.n} opened while ${problem}`);
    this.zeroPointers();
    this.arp.forget();
    this.keepAlive.restart();
    this.peerFinished = false;
    if (this.state === Status.UDP) {
      this.udp = new UdpConn(this, this.chip.network, this.chip.anomalies, this.chip.counters, this.port);
    }
    return true;
  }

  private listen(): void {
    this.state = Status.LISTEN;
    this.chip.network.listen(this.port);
  }

  private connect(): void {
    const ip = this.dipr;
    this.arp.resolve(ip, () => {
      if (this.state !== Status.INIT) return;
      this.state = Status.SYNSENT;
      this.tcp = TcpConn.connect(this, this.chip.network, ip, this.dport, this.port);
      this.tcp.start();
    }, () => {
      if (this.state !== Status.INIT) return;
      this.release('silent');
      this.setIr(SnIr.TIMEOUT);
    });
  }

  private discon(): void {
    this.state = this.state === Status.CLOSE_WAIT ? Status.LAST_ACK : Status.FIN_WAIT;
    this.keepAlive.stop();
    if (this.state === Status.FIN_WAIT) {
      // Active close ends when the peer's FIN arrives; TCPTO if it never does.
      this.finTimer = setTimeout(() => this.timeout(this.tcp!), this.tcpTimeoutMs());
    }
    this.tcp?.fin();
  }

  /** Frees the connection and goes CLOSED (the RX bytes stay readable until the next OPEN). */
  private release(how: 'rst' | 'silent' | 'destroy' | 'abort'): void {
    this.arp.cancel();
    this.keepAlive.stop();
    if (this.finTimer) clearTimeout(this.finTimer);
    this.finTimer = null;
    this.tcp?.release(how);
    this.tcp = null;
    this.udp?.close();
    this.udp = null;
    this.rxQueue = [];
    this.finQueued = false;
    this.state = Status.CLOSED;
  }

  // ---- SEND / RECV (§4.3, §4.4) -------------------------------------------------------------------

  private sendTcp(): void {
    const { data, end } = this.takeTx();
    this.txRd = end;
    if (data.length > 0) {
      this.chip.counters.net.tcpTxBytes += data.length;
      this.tcp?.send(data, end);
      this.keepAlive.touch();
    }
    this.setIr(SnIr.SENDOK);
  }

  private sendUdp(skipArp: boolean): void {
    const { data, end } = this.takeTx();
    const ip = this.dipr;
    const port = this.dport;
    const done = (bits: number) => () => {
      if (this.state !== Status.UDP) return;
      this.txRd = this.txAck = end;
      if (bits === SnIr.SENDOK) this.transmitUdp(ip, port, data);
      this.setIr(bits);
    };
    if (this.arp.busy) this.chip.anomalies.note('commandWhileBusy', `socket ${this.n} SEND while the last one is resolving`);
    // Broadcasts go to FF:FF:FF:FF:FF:FF without ARP; SEND_MAC uses Sn_DHAR as given.
    if (skipArp || this.isBroadcast(ip)) done(SnIr.SENDOK)();
    else this.arp.resolve(ip, done(SnIr.SENDOK), done(SnIr.TIMEOUT));
  }

  private transmitUdp(ip: number, port: number, data: Uint8Array): void {
    const mss = u16(this.regs, Sn.MSSR) || DEFAULT_MSS.udp;
    if (data.length > mss) this.chip.anomalies.note('udpOversize', `socket ${this.n} sent ${data.length} > ${mss} bytes: split`);
    let at = 0;
    do {
      this.udp?.send(ip, port, data.subarray(at, at + mss));
      at += mss;
    } while (at < data.length);
  }

  private sendMacraw(): void {
    const { data, end } = this.takeTx();
    this.txRd = this.txAck = end;
    this.chip.macrawSent(data);
    this.setIr(SnIr.SENDOK);
  }

  private isBroadcast(ip: number): boolean {
    const { sipr, subr } = this.chip.common;
    return ip === BROADCAST_IP || (sipr !== 0 && subr !== 0 && ip === (sipr | ~subr) >>> 0);
  }

  private recv(): void {
    const next = u16(this.regs, Sn.RX_RD);
    if (((next - this.rxRd) & 0xffff) > this.rsr()) {
      this.chip.anomalies.note('recvPastWrite', `socket ${this.n} RX_RD 0x${next.toString(16)} is past RX_WR 0x${this.rxWr.toString(16)}`);
    }
    this.rxRd = next;
    if (this.tcp) this.pumpRx();
  }

  /** Moves queued TCP bytes into the RX buffer as far as it has room. */
  private pumpRx(): void {
    let got = 0;
    while (this.rxQueue.length > 0) {
      const free = this.rx.size - this.rsr();
      if (free <= 0) break;
      const chunk = this.rxQueue[0];
      const n = Math.min(free, chunk.length);
      this.rxAppend(chunk, n);
      if (n < chunk.length) this.rxQueue[0] = chunk.subarray(n);
      else this.rxQueue.shift();
      got += n;
    }
    this.tcp?.setRxBlocked(this.rxQueue.length > 0);
    if (got > 0) this.setIr(SnIr.RECV);
    if (this.rxQueue.length === 0 && this.finQueued) {
      this.finQueued = false;
      this.applyFin();
    }
  }

  // ---- events from the host side (TcpOwner, UdpOwner) ---------------------------------------------

  tcpTimeoutMs(): number { return tcpTimeoutMs(this.chip.common.rtr, this.chip.common.rcr); }
  linkUp(): boolean { return this.chip.linkUp(); }
  hostDown(ip: number): boolean { return this.chip.hostDown(ip); }

  /** A listening server's connection for this LISTEN socket. */
  accept(sock: net.Socket, peerIp: number): void {
    this.acceptedPeer = { ip: peerIp, port: sock.remotePort ?? 0 };
    this.state = Status.SYNRECV;
    this.tcp = TcpConn.accepted(this, this.chip.network, peerIp, sock);
    this.tcp.start();
  }

  connected(conn: TcpConn): void {
    if (conn !== this.tcp) return;
    if (this.state === Status.SYNRECV) {
      const r = this.regs;
      const { ip, port } = this.acceptedPeer;
      r[Sn.DIPR] = ip >>> 24; r[Sn.DIPR + 1] = (ip >>> 16) & 255; r[Sn.DIPR + 2] = (ip >>> 8) & 255; r[Sn.DIPR + 3] = ip & 255;
      put16(r, Sn.DPORT, port);
    }
    this.state = Status.ESTABLISHED;
    if (this.chip.faults.randomTxPointers) {
      const p = this.chip.random16();
      this.txRd = this.txAck = p;
      put16(this.regs, Sn.TX_WR, p);
    }
    this.setIr(SnIr.CON);
  }

  data(conn: TcpConn, bytes: Uint8Array): void {
    if (conn !== this.tcp || this.peerFinished) return;
    if (this.state !== Status.ESTABLISHED && this.state !== Status.FIN_WAIT) return;
    this.chip.counters.net.tcpRxBytes += bytes.length;
    this.rxQueue.push(bytes);
    this.keepAlive.touch();
    this.pumpRx();
  }

  peerFin(conn: TcpConn): void {
    if (conn !== this.tcp || this.peerFinished) return;
    this.peerFinished = true;
    // The FIN comes after the data in sequence space: it lands once the queued bytes have.
    if (this.rxQueue.length > 0) this.finQueued = true;
    else this.applyFin();
  }

  private applyFin(): void {
    if (this.state === Status.ESTABLISHED) {
      this.state = Status.CLOSE_WAIT;
      this.setIr(SnIr.DISCON);
    } else if (this.state === Status.FIN_WAIT) {
      this.release('destroy');
      this.setIr(SnIr.DISCON);
    }
  }

  rstReceived(conn: TcpConn): void {
    if (conn !== this.tcp) return;
    this.release('destroy');
    this.setIr(SnIr.DISCON); // §9: drivers decide from Sn_SR; the chip still flags DISCON
  }

  timeout(conn: TcpConn): void {
    if (conn !== this.tcp) return;
    this.release('silent');
    this.setIr(SnIr.TIMEOUT);
  }

  acked(conn: TcpConn, end: number): void {
    if (conn === this.tcp) this.txAck = end;
  }

  finAcked(conn: TcpConn): void {
    if (conn === this.tcp && this.state === Status.LAST_ACK) {
      this.release('destroy');
      this.chip.changed();
    }
  }

  deliver(srcIp: number, srcPort: number, payload: Uint8Array, broadcast: boolean): void {
    if (this.state !== Status.UDP) return;
    const c = this.chip;
    const header = udpHeader(srcIp, srcPort, payload.length);
    let why = '';
    if (broadcast && this.regs[Sn.MR] & SnMr.BCASTB) why = 'broadcast blocked by BCASTB';
    else if (header.length + payload.length > this.rx.size - this.rsr()) why = 'no room in the RX buffer';
    if (why) {
      c.counters.net.udpDropped++;
      return c.anomalies.note('udpDrop', `socket ${this.n}: datagram from ${ipToString(srcIp)}:${srcPort} dropped (${why})`);
    }
    if (c.common.mr & MR_WOL && isMagicPacket(payload, c.common.shar())) c.common.raiseIr(IR_MP);
    this.rxAppend(header);
    this.rxAppend(payload);
    c.counters.net.udpRxDatagrams++;
    this.setIr(SnIr.RECV);
  }

  unreachable(ip: number, port: number): void {
    this.chip.common.unreachable(ip, port);
    this.chip.common.raiseIr(IR_UNREACH);
    this.chip.changed();
  }

  /** A frame for socket 0 in MACRAW: stored behind its 2-byte inclusive length (§4.7). */
  deliverFrame(frame: Uint8Array): boolean {
    if (this.state !== Status.MACRAW) return false;
    const header = macrawHeader(frame.length);
    if (macrawFilter(this.regs[Sn.MR], frame, this.chip.common.shar())) return false;
    if (header.length + frame.length > this.rx.size - this.rsr()) return false;
    this.rxAppend(header);
    this.rxAppend(frame);
    this.setIr(SnIr.RECV);
    return true;
  }

  // ---- faults --------------------------------------------------------------------------------------

  blackhole(): void {
    if (!this.tcp) return;
    this.tcp.blackholed = true;
    this.tcp.wireChanged();
  }

  injectPeerFin(): void { if (this.tcp) this.peerFin(this.tcp); }
  injectPeerReset(): void {
    if (!this.tcp) return;
    this.release('abort');
    this.setIr(SnIr.DISCON);
  }
}
