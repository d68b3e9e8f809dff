// A socket on one of the W5500's 8 hardware sockets: a TCP client (the MQTT client's Transport), or a
// bound UDP socket. All progress comes from the chip's poll (_svc) and from the calls below.
//
// Espruino copies a function expression's source each time it is evaluated, so per-socket closures
// cost RAM where prototype methods and module functions do not.
import {
  IR_TIMEOUT, MODE_UDP, SOCK_CLOSE_WAIT, SOCK_ESTABLISHED, SOCK_UDP, ST_CLOSING, ST_CONNECTING, ST_DISCONNECTING,
  ST_ENDED, ST_IDLE, ST_OPEN, ST_RESOLVING, Sn_CR, Sn_IR, Sn_SR, Sn_TX_RD, Sn_TX_WR,
} from './w5500-regs';
import { Emitter } from '../events';
import { codedError, CodedError } from '../error';
import { Transport } from './transport';
import { isIp } from './ip';
import { E_TIMEDOUT, claim, release, take, u16 } from './w5500-spi';
import { TcpOptions, deadline, dial, flushTcp, lost } from './tcp';
import { SendCb, closed, flushUdp, later, rx } from './udp';
import type { W5500 } from './w5500';

// The chip does not fragment: a larger datagram would be split and lose its boundary (§4.3)
const MAX_DATAGRAM = 1472;

// Bytes read per serve: bounds the RAM of one 'data' chunk when RX buffers are large.
const MAX_READ = 2048;

/** The next send if none is out; the socket ends on a fault. */
function flush(s: Socket, r?: Uint8Array): void {
  try {
    if (!s._busy && s.n >= 0) (s._u ? flushUdp : flushTcp)(s, r);
  } catch (e) {
    s._end(e as CodedError);
  }
}

/** TCP events: 'connect', 'data' (Uint8Array), 'close' (hadError), 'error' (CodedError). UDP events:
 *  'message' (data: Uint8Array, from: { ip, port }), 'error', 'close'. An exception thrown by a
 *  listener while the chip serves the socket ends it, reported as its 'error'. */
export class Socket extends Emitter implements Transport {
  /** Hardware socket number, -1 when it holds none. */
  n = -1;
  port!: number;
  _c: W5500;
  _o: TcpOptions;
  /** UDP (else TCP). */
  _u: any;
  _st = ST_IDLE;
  /** A command written and not yet seen taken. */
  _pend: any;
  /** Sn_IR bits handled and not yet cleared. */
  _clr = 0;
  /** A SEND not yet seen done (TCP: 1; UDP: the datagram): no new SEND before it (§4.3). */
  _busy: any;
  /** RX bytes left over, or RSR not settled: serve again soon. */
  _more: any;
  /** Queued: TCP, byte arrays not yet in the chip's TX buffer (and _qn, their bytes); UDP, datagrams. */
  _q: any[] = [];
  _qn = 0;
  /** Our TX write pointer: read once, then kept here (§4.3 step 2). */
  _wp!: number;
  /** TCP: TX bytes known free (FSR minus what we wrote since reading it). */
  _free!: number;
  /** TCP: the connect or close deadline. */
  _tm: any;

  /** TCP; or with a port (0: a free ephemeral one), UDP bound to it, throwing ENOSOCK if no hardware
   *  socket is free. */
  constructor(c: W5500, o: TcpOptions, port?: number) {
    super();
    this._c = c;
    this._o = o;
    if (port! >= 0) {
      this._u = 1;
      try {
        this._wp = u16(claim(this, MODE_UDP, port!, SOCK_UDP), Sn_TX_WR - Sn_CR);
        this._st = ST_OPEN;
      } catch (e) {
        release(this);
        throw e;
      }
    }
  }

  /** TCP: starts a connection; ignored unless the socket is idle. Results arrive as events. */
  connect(host: string, port: number): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `s.` minifies shorter than `this.`
    const s = this, o = s._o, none = codedError('ENOTFOUND', 'no address for ' + host);
    if (s._st) return;
    s._st = ST_RESOLVING;
    deadline(s, o.connectMs || 10000, codedError(E_TIMEDOUT, 'no reply from ' + host));
    if (isIp(host)) dial(s, host, port);
    else if (o.resolve) {
      o.resolve(host, function (err, ip) {
        if (s._st === ST_RESOLVING) {
          if (ip) dial(s, ip, port);
          else s._end(err || none);
        }
      });
    } else s._end(none);
  }

  /** TCP: queues bytes (not copied: do not change them afterwards); false unless connected. While a
   *  SEND is out they wait for the poll that sees it done. */
  write(bytes: Uint8Array): boolean {
    if (this._st !== ST_OPEN) return false;
    this._q.push(bytes);
    this._qn += bytes.length;
    flush(this);
    return true;
  }

  /** UDP: sends one datagram of 1–1472 bytes (255.255.255.255 allowed); cb(err?) once it is out. */
  send(ip: string, port: number, data: Uint8Array, cb?: SendCb): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `s.` minifies shorter than `this.`
    const s = this, len = data.length, err = s.n < 0 ? closed()
      : !len || len > Math.min(MAX_DATAGRAM, s._c._kb[s.n] << 10) ? codedError('EMSGSIZE', 'bad size ' + len) : 0;
    if (err) return later(cb, err);
    s._q.push([ip, port, data, cb]);
    flush(s);
  }

  /** TCP: graceful close, queued bytes then FIN (DISCON), CLOSE when the deadline passes. UDP: at once. */
  close(): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `s.` minifies shorter than `this.`
    const s = this;
    if (s._st === ST_OPEN && !s._u) {
      s._st = ST_CLOSING;
      deadline(s, s._o.closeMs || 1000);
      flush(s);
    } else if (s._st <= ST_OPEN) s._end();
  }

  /** Serves the socket: r is its service frame (Sn_CR .. Sn_RX_RD), its last command taken. */
  _svc(r: Uint8Array): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `s.` minifies shorter than `this.`
    const s = this, ir = r[Sn_IR - Sn_CR], sr = r[Sn_SR - Sn_CR], d = s._busy, u = s._u;
    s._clr |= ir;
    if (s._st === ST_CONNECTING) {
      if (!sr) return s._end(lost(ir, 'ECONNREFUSED'));
      if (sr < SOCK_ESTABLISHED) return; // INIT, SYNSENT, SYNRECV: ESTABLISHED or CLOSE_WAIT come next
      // The chip re-initialises TX_WR while connecting: take it only now (§4.3 step 2); nothing is
      // in the TX buffer yet, so all of it is free
      s._wp = u16(r, Sn_TX_WR - Sn_CR);
      s._free = s._c._kb[s.n] << 10;
      s._st = ST_OPEN;
      deadline(s);
      s.emit('connect');
    }
    if (s._st < ST_OPEN || s._st > ST_DISCONNECTING) return;
    // A SEND is done when TX_RD has reached TX_WR (SENDOK is masked, see w5500.ts). UDP: or failed, an
    // ARP failure gives TIMEOUT and the socket stays open; the chip may leave TX_RD before a datagram
    // it never sent, and the next one is written there, or the two would go out as one. (TCP's _busy
    // is 1, and indexing a number throws on Espruino.)
    if (d && (u && ir & IR_TIMEOUT || u16(r, Sn_TX_RD - Sn_CR) === s._wp)) {
      s._busy = 0;
      s._wp = u16(r, Sn_TX_RD - Sn_CR);
      if (u && d[3]) d[3](ir & IR_TIMEOUT ? codedError(E_TIMEDOUT, 'no ARP reply from ' + d[0]) : undefined);
    }
    const b = s.n >= 0 && take(s, r, u ? 0xffff : MAX_READ);
    if (b) {
      if (u) rx(s, b);
      else s.emit('data', b);
    }
    if (s._st === ST_OPEN && sr === SOCK_CLOSE_WAIT) s.close(); // the peer sent FIN: finish with ours
    if (s._st > ST_DISCONNECTING) return; // a listener ended it
    if (!sr) s._end(s._st === ST_DISCONNECTING ? undefined : lost(ir, u ? 'ECLOSED' : 'ECONNRESET'));
    else flush(s, r);
  }

  /** Releases the hardware socket at once (CLOSE, no FIN); queued datagrams fail with ECLOSED; 'error'
   *  (if err) and 'close' follow from a timer. */
  _end(err?: CodedError): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `s.` minifies shorter than `this.`
    const s = this, all = [s._busy].concat(s._q);
    if (!s._st || s._st === ST_ENDED) return;
    s._st = ST_ENDED;
    deadline(s);
    err = release(s, err);
    if (s._u) for (let i = 0; i < all.length; i++) if (all[i]) later(all[i][3], closed());
    setTimeout(function () {
      s._st = ST_IDLE;
      if (err) s.emit('error', err);
      s.emit('close', !!err);
    }, 0);
  }
}
