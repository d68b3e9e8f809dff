// A UDP socket on one W5500 hardware socket: datagrams out (broadcast too), datagrams in with the
// sender's address. Sends queue while one is in flight and complete once it is out (or ARP timeout).
import { IR_TIMEOUT, MODE_UDP, SOCK_UDP, Sn_CR, Sn_DIPR, Sn_IR, Sn_SR, Sn_TX_RD, Sn_TX_WR } from './w5500-regs';
import { codedError, CodedError } from '../error';
import { ipBytes, ipString } from './ip';
import { E_CLOSED, E_MSGSIZE, E_TIMEDOUT, u16 } from './w5500-spi';
import { Sock, claim, reg, release, send, take } from './socket';
import type { W5500 } from './w5500';

type SendCb = (err?: CodedError) => void;
/** A queued datagram: ip, port, data, cb. */
type Datagram = [string, number, Uint8Array, SendCb | undefined];

// The chip does not fragment: a larger datagram would be split and lose its boundary (§4.3)
const MAX_DATAGRAM = 1472;

/** cb(err) from a fresh timer tick, so a caller never sees its callback before send() returns. */
function later(cb: SendCb | undefined, code: string): void {
  if (cb) setTimeout(function () { cb(codedError(code, code === E_CLOSED ? 'socket closed' : 'datagram size')); }, 0);
}

/** Releases the hardware socket; queued sends fail with ECLOSED; 'error' if err. */
function end(s: UdpSocket, err?: CodedError): void {
  if (s.n < 0) return;
  const all: Datagram[] = (s._busy ? [s._busy] : []).concat(s._q);
  s._q = [];
  s._busy = s._more = 0;
  try {
    release(s);
  } catch (e) {
    err = err || e as CodedError;
  }
  for (let i = 0; i < all.length; i++) later(all[i][3], E_CLOSED);
  if (err) s.emit('error', err);
}

/** Destination, data, TX_WR, SEND. Once a SEND is done the TX buffer is empty, so FSR needs no read: the
 *  size limit send() checks is all the space a datagram needs. */
function flush(s: UdpSocket): void {
  const d: Datagram = s._q[0];
  if (s._busy || !d || s.n < 0) return;
  s._busy = s._q.shift();
  reg(s, Sn_DIPR, ipBytes(d[0]).concat([d[1] >> 8, d[1]]));
  send(s, d[2], d[2].length);
}

function serve(s: UdpSocket, r: Uint8Array): void {
  const ir = r[Sn_IR - Sn_CR], d: Datagram = s._busy;
  s._clr |= ir;
  // Done when TX_RD has reached TX_WR (SENDOK is masked, see w5500.ts), or failed: an ARP failure
  // gives TIMEOUT, and the socket stays open. The chip may leave TX_RD before a datagram it never
  // sent: the next one is written there, or the two would go out as one.
  if (d && (ir & IR_TIMEOUT || u16(r, Sn_TX_RD - Sn_CR) === s._wp)) {
    s._busy = 0;
    s._wp = u16(r, Sn_TX_RD - Sn_CR);
    if (d[3]) d[3](ir & IR_TIMEOUT ? codedError(E_TIMEDOUT, 'no ARP reply from ' + d[0]) : undefined);
  }
  // Every waiting datagram in one frame, each behind an 8-byte header: IP, port, length (§4.6)
  const b = s.n >= 0 && take(s, r, 0xffff);
  if (b) {
    for (let i = 0; i + 8 <= b.length && s.n >= 0;) {
      const e = i + 8 + u16(b, i + 6);
      if (e > b.length) break; // a corrupt header: the chip stores whole datagrams only
      s.emit('message', b.subarray(i + 8, e), { ip: ipString(b, i), port: u16(b, i + 4) });
      i = e;
    }
  }
  if (s.n >= 0 && r[Sn_SR - Sn_CR] !== SOCK_UDP) end(s, codedError(E_CLOSED, 'socket closed'));
  flush(s);
}

/** Events: 'message' (data: Uint8Array, from: { ip, port }), 'error' (CodedError). */
export class UdpSocket extends Sock {
  /** Opens a UDP socket on port (0: a free ephemeral port); throws ENOSOCK if no socket is free. */
  constructor(c: W5500, port: number) {
    super(c);
    try {
      this._wp = u16(claim(this, MODE_UDP, port, SOCK_UDP), Sn_TX_WR - Sn_CR);
    } catch (e) {
      end(this);
      throw e;
    }
  }

  /** Sends one datagram of 1–1472 bytes (255.255.255.255 allowed); cb(err?) once it is out. */
  send(ip: string, port: number, data: Uint8Array, cb?: SendCb): void {
    const len = data.length;
    if (this.n < 0) return later(cb, E_CLOSED);
    if (!len || len > Math.min(MAX_DATAGRAM, this._c._kb[this.n] << 10)) return later(cb, E_MSGSIZE);
    this._q.push([ip, port, data, cb]);
    try {
      flush(this);
    } catch (e) {
      end(this, e as CodedError);
    }
  }

  close(): void {
    end(this);
  }

  _svc(r: Uint8Array): void {
    serve(this, r);
  }

  _end(err?: CodedError): void {
    end(this, err);
  }
}
