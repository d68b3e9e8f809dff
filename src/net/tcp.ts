// TCP on a W5500 hardware socket: the connection's steps that Socket (socket.ts) runs. Every wait has a
// deadline.
import {
  CONNECT, DISCON, IR_TIMEOUT, MODE_TCP_ND, SOCK_INIT, ST_CLOSING, ST_CONNECTING, ST_DISCONNECTING, Sn_CR, Sn_KPALVTR, Sn_TX_FSR,
  Sn_TX_WR,
} from './w5500-regs';
import { codedError, CodedError } from '../error';
import { E_TIMEDOUT, claim, cmd, dest, reg, send, stable, u16 } from './w5500-spi';
import type { Socket } from './socket';

export type Resolver = (name: string, cb: (err: CodedError | undefined, ip?: string) => void) => void;

export interface TcpOptions {
  /** Turns a host name into a dotted IP (e.g. Dns.resolve); without it, connect() takes IPs only. */
  resolve?: Resolver;
  /** Seconds between keep-alive probes once data has flowed (5 s steps, max 1275); 0/absent = off. */
  keepAlive?: number;
  /** Deadline for name lookup + connection, ms (default 10000). */
  connectMs?: number;
  /** Deadline for the graceful close (queued data, FIN, peer's FIN), then CLOSE; ms (default 1000). */
  closeMs?: number;
}

/** s._end(err) in ms; without ms, no deadline. */
export function deadline(s: Socket, ms?: number, err?: CodedError): void {
  if (s._tm) clearTimeout(s._tm);
  s._tm = ms && setTimeout(function () {
    s._tm = undefined;
    s._end(err);
  }, ms);
}

/** Why a connection ended: the chip's TIMEOUT bit, else code. */
export function lost(ir: number, code: string): CodedError {
  code = ir & IR_TIMEOUT ? E_TIMEDOUT : code;
  return codedError(code, code);
}

/** Queued bytes into the TX buffer in one frame, TX_WR, SEND; FSR is read only when the space known
 *  free is short (then what fits of the first chunk goes), taking the service frame r as its first
 *  read unless TX_WR moved since. DISCON once everything is out. */
export function flushTcp(s: Socket, r?: Uint8Array): void {
  let k = s._qn, q: any = s._q;
  if (!k) {
    if (s._st === ST_CLOSING) {
      cmd(s, DISCON);
      s._st = ST_DISCONNECTING;
    }
    return;
  }
  if (s._free < k) {
    const t = stable(s, Sn_TX_FSR, r && u16(r, Sn_TX_WR - Sn_CR) === s._wp ? u16(r, Sn_TX_FSR - Sn_CR) : -1);
    if (t) s._free = u16(t, 0);
  }
  if (s._free < k) {
    q = q[0];
    k = Math.min(q.length, s._free);
    if (!k) return;
    if (k < q.length) {
      s._q[0] = q.subarray(k);
      q = q.subarray(0, k);
    } else s._q.shift();
  } else s._q = [];
  s._free -= k;
  s._qn -= k;
  send(s, q, k);
}

/** A fresh port and OPEN, peer address, keep-alive, CONNECT. */
export function dial(s: Socket, ip: string, port: number): void {
  try {
    claim(s, MODE_TCP_ND, 0, SOCK_INIT);
    dest(s, ip, port);
    reg(s, Sn_KPALVTR, [Math.min(255, Math.ceil((s._o.keepAlive || 0) / 5))]);
    cmd(s, CONNECT);
    s._st = ST_CONNECTING;
  } catch (e) {
    s._end(e as CodedError);
  }
}
