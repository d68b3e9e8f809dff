// SPI frames to the W5500 (one spi.send()/spi.write() per frame: Espruino holds CS low for the whole
// call), and the register sequences of one of its 8 hardware sockets: command, open, close, receive,
// send; and the poll that serves every socket.
//
// The command handshake is lazy (§4.1): a command is written and not waited for. Whether the chip
// took it (Sn_CR back to 0) shows in the socket's next service frame, which a quick poll reads soon
// after; only a register write or command that comes first polls Sn_CR itself (bounded). Sn_IR bits
// are cleared in the same burst as the next command where there is one (Sn_CR and Sn_IR are adjacent).
import {
  CLOSE, IR_RECV, OPEN, ST_DISCONNECTING, PHYCFGR, PHY_LNK, RECV, SEND, SIR, SVC, Sn_CR, Sn_DIPR, Sn_IR, Sn_MR, Sn_PORT, Sn_RX_RD,
  Sn_RX_RSR, Sn_TX_WR,
} from './w5500-regs';
import { codedError, CodedError } from '../error';
import { ipBytes } from './ip';
import type { Socket } from './socket';
import type { W5500 } from './w5500';

/** The one error code that several modules raise; the others are written where they are raised. */
export const E_TIMEDOUT = 'ETIMEDOUT';

/** What a frame needs: the SPI port (typed loosely: write() takes the CS pin last) and CS. */
export interface Bus {
  _spi: any;
  _cs: Pin;
}

/** One frame at offset a of block blk (0 common, 4n+1 socket n's registers, 4n+2 its TX buffer,
 *  4n+3 its RX buffer): reads d bytes when d is a number, else writes d (bytes, or arrays of them,
 *  which Espruino clocks out back to back without copying them into one buffer first). */
export function xfer(b: Bus, blk: number, a: number, d: any): any {
  return typeof d == 'number'
    ? b._spi.send([a >> 8, a, blk << 3, { data: 0, count: d }], b._cs).subarray(3)
    : b._spi.write([a >> 8, a, blk << 3 | 4, d], b._cs);
}

/** 16-bit big-endian value at i. */
export function u16(d: Uint8Array, i: number): number {
  return d[i] << 8 | d[i + 1];
}

// CR_POLLS: a command is taken within a frame or two on a working chip; a Sn_CR that never clears
// means a broken bus (ioLib issue #160), which must become an error, not a hang. STABLE_READS: RSR/FSR
// reads until two agree; the values settle within a frame or two unless data streams in. QUICK_MS:
// the quick poll, while a socket has work that raises no interrupt (see due).
const enum K { CR_POLLS = 32, STABLE_READS = 6, QUICK_MS = 10 }

/** A command the chip never takes: a broken bus. */
function stuck(): CodedError {
  return codedError('ESPI', 'W5500 stuck: check SPI');
}

/** Reads n bytes, or writes bytes, at offset a of the socket's register block; a write only once
 *  the last command is taken. */
export function reg(s: Socket, a: number, d: any): any {
  if (d.length) sync(s); // eslint-disable-line no-use-before-define -- they call each other
  return xfer(s._c, s.n * 4 + 1, a, d);
}

/** Polls the service frame until the last command is taken; the last frame read, if any. */
export function sync(s: Socket): Uint8Array | undefined {
  let r, i = 0;
  while (s._pend) {
    if (i++ > K.CR_POLLS) throw stuck();
    s._pend = (r = reg(s, Sn_CR, SVC))[0];
  }
  return r;
}

/** A quick poll soon, unless one is planned (it reads SIR too while INTn is low). */
export function arm(c: W5500): void {
  if (!c._ft && c._iv) {
    c._ft = setTimeout(function () {
      c._ft = undefined;
      tick(c); // eslint-disable-line no-use-before-define -- tick and arm call each other, from timers
    }, K.QUICK_MS);
  }
}

/** Issues a command, clearing the handled Sn_IR bits in the same burst; the quick poll sees it taken. */
export function cmd(s: Socket, v: number): void {
  reg(s, Sn_CR, [v, s._clr]);
  s._clr = 0;
  s._pend = 1;
  arm(s._c);
}

/** Gives the hardware socket back, and drops what is queued: CLOSE, clearing every Sn_IR bit (a stale
 *  one holds INTn low), waited for, so that the next owner finds the socket closed. The error to
 *  report: err, else one the CLOSE met. */
export function release(s: Socket, err?: CodedError): CodedError | undefined {
  s._q = [];
  s._qn = s._busy = s._more = 0;
  if (s.n >= 0) {
    s._c._s[s.n] = undefined;
    s._clr = 0xff;
    try {
      cmd(s, CLOSE);
      sync(s);
    } catch (e) {
      err = err || e as CodedError;
    }
    s.n = -1;
  }
  return err;
}

/** Claims a free hardware socket (ENOSOCK when all are taken) and opens it on port (0: a counter from
 *  a random start in 49152–65535, as Arduino's, so a peer that still holds a connection from an
 *  earlier run is unlikely to see its port again): port, then mode + OPEN + old Sn_IR bits cleared in
 *  one burst (the socket is closed: release waited for its CLOSE); throws unless Sn_SR becomes want.
 *  The service frame that saw OPEN taken. */
export function claim(s: Socket, mode: number, port: number, want: number): Uint8Array {
  const c = s._c;
  let n = 0;
  while (c._s[n] || !c._kb[n]) if (++n > 7) throw codedError('ENOSOCK', 'no free socket');
  c._s[s.n = n] = s;
  s.port = port = port || 49152 + (c._np = ((c._np || Math.random() * 16384) + 1 | 0) % 16384);
  reg(s, Sn_PORT, [port >> 8, port]);
  reg(s, Sn_MR, [mode, OPEN, 0xff]);
  s._pend = 1;
  const r = sync(s)!;
  if (r[2] !== want) throw stuck();
  return r;
}

/** Peer address and port: Sn_DIPR then Sn_DPORT, one burst. */
export function dest(s: Socket, ip: string, port: number): void {
  reg(s, Sn_DIPR, ipBytes(ip).concat([port >> 8, port]));
}

/** Reads 4 bytes at a (RSR or FSR first) until two RSR/FSR reads agree (§4.5); v is a first read
 *  (-1: none). Undefined if they never settle: the caller tries again on a later poll. */
export function stable(s: Socket, a: number, v: number): Uint8Array | undefined {
  for (let i = 0; i < K.STABLE_READS; i++) {
    const t = reg(s, a, 4), w = u16(t, 0);
    if (w === v) return t;
    v = w;
  }
  return undefined;
}

/** Receives up to max bytes, if the service frame r shows an RECV bit, bytes waiting or bytes left
 *  over: RSR + RX_RD (r holds a first RSR read), the data, RX_RD, RECV. Undefined when nothing
 *  waits; _more when bytes are left or RSR did not settle. */
export function take(s: Socket, r: Uint8Array, max: number): Uint8Array | undefined {
  const t = (r[Sn_IR - Sn_CR] & IR_RECV || u16(r, Sn_RX_RSR - Sn_CR) || s._more)
    && stable(s, Sn_RX_RSR, u16(r, Sn_RX_RSR - Sn_CR)), len = t && Math.min(u16(t, 0), max);
  s._more = t === undefined || len === max;
  if (len) {
    const p = u16(t, 2) + len, d = xfer(s._c, s.n * 4 + 3, p - len, len);
    reg(s, Sn_RX_RD, [p >> 8, p]);
    cmd(s, RECV);
    return d;
  }
  return undefined;
}

/** data (bytes, or a list of byte arrays) into the TX buffer at our pointer, then TX_WR and SEND. */
export function send(s: Socket, data: any, len: number): void {
  xfer(s._c, s.n * 4 + 2, s._wp, data);
  const p = s._wp = (s._wp + len) & 0xffff;
  reg(s, Sn_TX_WR, [p >> 8, p]);
  cmd(s, SEND);
  s._busy = 1;
}

/** Work that raises no interrupt: a command not yet seen taken (and after RECV, bytes that came
 *  while it was on its way), a SEND not yet seen done, data left, TX space awaited, LAST_ACK→CLOSED. */
function due(s: Socket | undefined): any {
  return s && (s._pend || s._busy || s._more || s._qn || s._st === ST_DISCONNECTING);
}

/** One pass: (full, or INTn still low: an event that came while it was low from another gave no
 *  falling edge) SIR and the link in one frame; then every socket with an Sn_IR bit or work due: its
 *  service frame, what it says, and the Sn_IR bits handled if no command took them. */
export function tick(c: W5500, full?: any): void {
  const i = c._o.int;
  let sir = 0;
  if (full || i && !digitalRead(i)) {
    const g = xfer(c, 0, SIR, PHYCFGR - SIR + 1), up = g[PHYCFGR - SIR] & PHY_LNK;
    if (up !== c._up) c.emit('link', !!(c._up = up));
    sir = g[0];
  }
  for (let n = 0; n < 8; n++) {
    const s = c._s[n];
    if (s && (sir >> n & 1 || due(s))) {
      try {
        s._pend = 1;
        s._svc(sync(s)!);
        if (s._clr && s.n >= 0) reg(s, Sn_IR, [s._clr]);
        s._clr = 0;
      } catch (e) {
        s._end(e as CodedError);
      }
    } else if (sir >> n & 1) xfer(c, n * 4 + 1, Sn_IR, [0xff]); // a late event on a released socket
  }
  if (c._s.some(due) || i && !digitalRead(i)) arm(c);
}
