// What TCP and UDP sockets share: the chip's socket table, the poll that serves every socket, and the
// command, receive and send sequences on one of the chip's 8 hardware sockets.
//
// The command handshake is lazy (§4.1): a command is written and not waited for. Whether the chip
// took it (Sn_CR back to 0) shows in the socket's next service frame, which a quick poll reads soon
// after; only a register write or command that comes first polls Sn_CR itself (bounded). Sn_IR bits
// are cleared in the same burst as the next command where there is one (Sn_CR and Sn_IR are adjacent).
import {
  CLOSE, IR_RECV, OPEN, PHYCFGR, PHY_LNK, RECV, SEND, SIR, SVC, Sn_CR, Sn_IR, Sn_MR, Sn_PORT, Sn_RX_RD, Sn_RX_RSR, Sn_TX_WR,
} from './w5500-regs';
import { Emitter } from '../events';
import { codedError, CodedError } from '../error';
import { E_NOSOCK, E_SPI, u16, xfer } from './w5500-spi';
import type { W5500 } from './w5500';

// CR_POLLS: a command is taken within a frame or two on a working chip; a Sn_CR that never clears
// means a broken bus (ioLib issue #160), which must become an error, not a hang. STABLE_READS: RSR/FSR
// reads until two agree; the values settle within a frame or two unless data streams in. QUICK_MS:
// the quick poll, while a socket has work that raises no interrupt (see due).
const enum K { CR_POLLS = 32, STABLE_READS = 6, QUICK_MS = 10 }

/** TCP's state once its FIN is out: the chip's LAST_ACK→CLOSED raises no interrupt. */
export const DISCONNECTING = 5;

/** A socket as the poll sees it. Internal members start with `_`: the minifier shortens them. */
export abstract class Sock extends Emitter {
  /** Hardware socket number, -1 when it holds none. */
  n = -1;
  port!: number;
  _c: W5500;
  /** A command written and not yet seen taken. */
  _pend: any;
  /** Sn_IR bits handled and not yet cleared. */
  _clr = 0;
  /** A SEND not yet seen done (TCP: 1; UDP: the datagram): no new SEND before it (§4.3). */
  _busy: any;
  /** RX bytes left over, or RSR not settled: serve again soon. */
  _more: any;
  /** TCP only: bytes queued, and the state. */
  _qn?: number;
  _st?: number;
  _q: any[] = [];
  /** Our TX write pointer: read once, then kept here (§4.3 step 2). */
  _wp!: number;

  constructor(c: W5500) {
    super();
    this._c = c;
  }

  /** Serve the socket: r is its service frame (Sn_CR .. Sn_RX_RD), its last command taken. */
  abstract _svc(r: Uint8Array): void;
  /** Close at once (CLOSE, no FIN), reporting err if given. */
  abstract _end(err?: CodedError): void;
}

/** A command the chip never takes: a broken bus. */
function stuck(): CodedError {
  return codedError(E_SPI, 'W5500 stuck: check SPI');
}

/** Reads n bytes, or writes bytes, at offset a of the socket's register block; a write only once
 *  the last command is taken. */
export function reg(s: Sock, a: number, d: any): any {
  if (d.length) sync(s); // eslint-disable-line no-use-before-define -- they call each other
  return xfer(s._c, s.n * 4 + 1, a, d);
}

/** Polls the service frame until the last command is taken; the last frame read, if any. */
export function sync(s: Sock): Uint8Array | undefined {
  let r, i = 0;
  while (s._pend) {
    if (i++ > K.CR_POLLS) throw stuck();
    s._pend = (r = reg(s, Sn_CR, SVC))[0];
  }
  return r;
}

/** A quick poll soon, unless one is planned: of the sockets with work due, and of SIR too while INTn
 *  is still low (an event that came while it was low from another gave no falling edge). */
export function arm(c: W5500): void {
  if (!c._ft && c._ok) {
    c._ft = setTimeout(function () {
      const i = c._o.int;
      c._ft = undefined;
      // eslint-disable-next-line no-use-before-define -- tick and arm call each other, from timers
      tick(c, !!i && !digitalRead(i));
    }, K.QUICK_MS);
  }
}

/** Issues a command, clearing the handled Sn_IR bits in the same burst; the quick poll sees it taken. */
export function cmd(s: Sock, v: number): void {
  reg(s, Sn_CR, [v, s._clr]);
  s._clr = 0;
  s._pend = 1;
  arm(s._c);
}

/** Gives the hardware socket back: CLOSE, clearing every Sn_IR bit (a stale one holds INTn low),
 *  waited for, so that the next owner finds the socket closed. */
export function release(s: Sock): void {
  const n = s.n;
  if (n < 0) return;
  s._c._s[n] = undefined;
  s._clr = 0xff;
  try {
    cmd(s, CLOSE);
    sync(s);
  } finally {
    s.n = -1;
  }
}

/** A local port in 49152–65535: a counter from a random start, as Arduino's, so a peer that still
 *  holds a connection from an earlier run is unlikely to see its port again. */
export function ephemeral(c: W5500): number {
  return 49152 + (c._np = ((c._np || Math.random() * 16384) + 1 | 0) % 16384);
}

/** Claims a free hardware socket (ENOSOCK when all are taken) and opens it on port (0: ephemeral):
 *  port, then mode + OPEN + old Sn_IR bits cleared in one burst (the socket is closed: release
 *  waited for its CLOSE); throws unless Sn_SR becomes want. The service frame that saw OPEN taken. */
export function claim(s: Sock, mode: number, port: number, want: number): Uint8Array {
  const c = s._c;
  let n = 0;
  while (c._s[n] || !c._kb[n]) if (++n > 7) throw codedError(E_NOSOCK, 'no free socket');
  c._s[s.n = n] = s;
  s.port = port = port || ephemeral(c);
  reg(s, Sn_PORT, [port >> 8, port]);
  reg(s, Sn_MR, [mode, OPEN, 0xff]);
  s._pend = 1;
  const r = sync(s)!;
  if (r[2] !== want) throw stuck();
  return r;
}

/** Reads 4 bytes at a (RSR or FSR first) until two RSR/FSR reads agree (§4.5); v is a first read
 *  (-1: none). Undefined if they never settle: the caller tries again on a later poll. */
export function stable(s: Sock, a: number, v: number): Uint8Array | undefined {
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
export function take(s: Sock, r: Uint8Array, max: number): Uint8Array | undefined {
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
export function send(s: Sock, data: any, len: number): void {
  xfer(s._c, s.n * 4 + 2, s._wp, data);
  const p = s._wp = (s._wp + len) & 0xffff;
  reg(s, Sn_TX_WR, [p >> 8, p]);
  cmd(s, SEND);
}

/** Work that raises no interrupt: a command not yet seen taken (and after RECV, bytes that came
 *  while it was on its way), a SEND not yet seen done, data left, TX space awaited, LAST_ACK→CLOSED. */
function due(s: Sock | undefined): any {
  return s && (s._pend || s._busy || s._more || s._qn || s._st === DISCONNECTING);
}

/** One pass: (full) SIR and the link in one frame; then every socket with an Sn_IR bit or work due:
 *  its service frame, what it says, and the Sn_IR bits handled if no command took them. */
export function tick(c: W5500, full?: boolean): void {
  let sir = 0;
  if (full) {
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
  if (c._s.some(due) || c._o.int && !digitalRead(c._o.int)) arm(c);
}
