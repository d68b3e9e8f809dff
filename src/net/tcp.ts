// A TCP client on one W5500 hardware socket, as the MQTT client's Transport. All progress comes from
// the chip's poll (_svc) and from write(); every wait has a deadline.
//
// Espruino copies a function expression's source each time it is evaluated, so per-socket closures
// cost RAM where prototype methods and module functions do not: the work is in module functions
// that take the socket.
import {
  CONNECT, DISCON, IR_TIMEOUT, MODE_TCP_ND, SOCK_CLOSE_WAIT, SOCK_ESTABLISHED, SOCK_INIT,
  Sn_CR, Sn_DIPR, Sn_IR, Sn_KPALVTR, Sn_SR, Sn_TX_FSR, Sn_TX_RD, Sn_TX_WR,
} from './w5500-regs';
import { codedError, CodedError } from '../error';
import { Transport } from './transport';
import { ipBytes, isIp } from './ip';
import { E_NOTFOUND, E_REFUSED, E_RESET, E_TIMEDOUT, u16 } from './w5500-spi';
import { DISCONNECTING, Sock, claim, cmd, reg, release, send, stable, take } from './socket';
import type { W5500 } from './w5500';

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

// Our states (the chip's Sn_SR is read, never cached). DISCONNECTING (5: DISCON issued, waiting for
// CLOSED) is in socket.ts; CLOSING: sending what is queued, then DISCON; ENDED: hardware socket
// released, 'close' not yet emitted.
const enum St { IDLE, RESOLVING, CONNECTING, OPEN, CLOSING, ENDED = 6 }

// Bytes read per serve: bounds the RAM of one 'data' chunk when RX buffers are large.
const enum Max { READ = 2048 }

/** Releases the hardware socket at once (CLOSE); 'error' (if err) and 'close' follow from a timer. */
function end(s: TcpSocket, err?: CodedError): void {
  if (!s._st || s._st === St.ENDED) return;
  s._st = St.ENDED;
  // eslint-disable-next-line no-use-before-define -- end and deadline call each other, from timers
  deadline(s);
  s._q = [];
  s._qn = s._busy = s._more = 0;
  try {
    release(s);
  } catch (e) {
    err = err || e as CodedError;
  }
  setTimeout(function () {
    s._st = St.IDLE;
    if (err) s.emit('error', err);
    s.emit('close', !!err);
  }, 0);
}

/** end(s, err) in ms; without ms, no deadline. */
function deadline(s: TcpSocket, ms?: number, err?: CodedError): void {
  if (s._tm) clearTimeout(s._tm);
  s._tm = ms ? setTimeout(function () {
    s._tm = undefined;
    end(s, err);
  }, ms) : undefined;
}

/** Why a connection ended: the chip's TIMEOUT bit, else code. */
function lost(ir: number, code: string): CodedError {
  code = ir & IR_TIMEOUT ? E_TIMEDOUT : code;
  return codedError(code, code);
}

/** Queued bytes into the TX buffer in one frame, TX_WR, SEND; FSR is read only when the space known
 *  free is short (then what fits of the first chunk goes), taking the service frame r as its first
 *  read unless TX_WR moved since. DISCON once everything is out. */
function flush(s: TcpSocket, r?: Uint8Array): void {
  let k = s._qn, q: any = s._q;
  if (s._busy) return;
  if (!k) {
    if (s._st === St.CLOSING) {
      cmd(s, DISCON);
      s._st = DISCONNECTING;
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
  s._busy = 1;
}

/** A fresh port and OPEN, peer address, keep-alive, CONNECT. */
function dial(s: TcpSocket, ip: string, port: number): void {
  try {
    claim(s, MODE_TCP_ND, 0, SOCK_INIT);
    reg(s, Sn_DIPR, ipBytes(ip).concat([port >> 8, port]));
    reg(s, Sn_KPALVTR, [Math.min(255, Math.ceil((s._o.keepAlive || 0) / 5))]);
    cmd(s, CONNECT);
    s._st = St.CONNECTING;
  } catch (e) {
    end(s, e as CodedError);
  }
}

function connect(s: TcpSocket, host: string, port: number): void {
  const o = s._o, none = codedError(E_NOTFOUND, 'no address for ' + host);
  if (s._st) return;
  s._st = St.RESOLVING;
  deadline(s, o.connectMs || 10000, codedError(E_TIMEDOUT, 'no reply from ' + host));
  if (isIp(host)) dial(s, host, port);
  else if (o.resolve) {
    o.resolve(host, function (err, ip) {
      if (s._st === St.RESOLVING) {
        if (ip) dial(s, ip, port);
        else end(s, err || none);
      }
    });
  } else end(s, none);
}

function close(s: TcpSocket): void {
  if (s._st === St.OPEN) {
    s._st = St.CLOSING;
    deadline(s, s._o.closeMs || 1000);
    try {
      flush(s);
    } catch (e) {
      end(s, e as CodedError);
    }
  } else if (s._st && s._st < St.OPEN) end(s);
}

function serve(s: TcpSocket, r: Uint8Array): void {
  const ir = r[Sn_IR - Sn_CR], sr = r[Sn_SR - Sn_CR];
  s._clr |= ir;
  if (s._st === St.CONNECTING) {
    if (!sr) return end(s, lost(ir, E_REFUSED));
    if (sr < SOCK_ESTABLISHED) return; // INIT, SYNSENT, SYNRECV: ESTABLISHED or CLOSE_WAIT come next
    // The chip re-initialises TX_WR while connecting: take it only now (§4.3 step 2); nothing is
    // in the TX buffer yet, so all of it is free
    s._wp = u16(r, Sn_TX_WR - Sn_CR);
    s._free = s._c._kb[s.n] << 10;
    s._st = St.OPEN;
    deadline(s);
    s.emit('connect');
  }
  if (s._st < St.OPEN || s._st > DISCONNECTING) return;
  if (u16(r, Sn_TX_RD - Sn_CR) === s._wp) s._busy = 0; // the SEND is done (SENDOK is masked)
  const d = take(s, r, Max.READ);
  if (d) s.emit('data', d);
  if (s._st === St.OPEN && sr === SOCK_CLOSE_WAIT) close(s); // the peer sent FIN: finish with ours
  if (s._st > DISCONNECTING) return; // a listener ended it
  if (!sr) end(s, s._st === DISCONNECTING ? undefined : lost(ir, E_RESET));
  else flush(s, r);
}

/** Events: 'connect', 'data' (Uint8Array), 'close' (hadError), 'error' (CodedError). An exception
 *  thrown by a listener while the chip serves the socket ends it, reported as its 'error'. */
export class TcpSocket extends Sock implements Transport {
  _st: number = St.IDLE;
  /** Bytes written but not yet in the chip's TX buffer, and their count. */
  _qn = 0;
  /** TX bytes known free (FSR minus what we wrote since reading it). */
  _free!: number;
  /** The connect or close deadline. */
  _tm: any;
  _o: TcpOptions;

  constructor(c: W5500, o: TcpOptions) {
    super(c);
    this._o = o;
  }

  /** Starts a connection; ignored unless the socket is idle. Results arrive as events. */
  connect(host: string, port: number): void {
    connect(this, host, port);
  }

  /** Queues bytes (not copied: do not change them afterwards); false unless connected. While a SEND
   *  is out they wait for the poll that sees it done. */
  write(bytes: Uint8Array): boolean {
    if (this._st !== St.OPEN) return false;
    this._q.push(bytes);
    this._qn += bytes.length;
    try {
      flush(this);
    } catch (e) {
      end(this, e as CodedError);
    }
    return true;
  }

  /** Graceful close: queued bytes, then FIN (DISCON); CLOSE when the deadline passes. */
  close(): void {
    close(this);
  }

  _svc(r: Uint8Array): void {
    serve(this, r);
  }

  _end(err?: CodedError): void {
    end(this, err);
  }
}
