// The WIZnet W5500 on an Espruino SPI port: reset, detection, configuration, link state, and the poll
// that serves its TCP and UDP sockets. WIZnet's own driver spins on chip registers; here every wait
// is a timer or a small bounded number of reads (../shared/w5500-reference.md §6).
import { CHIP_VERSION, GAR, IR_SENDOK, MR, MR_RST, PHYCFGR, PHY_LNK, RTR, SIMR, Sn_BUF, Sn_IMR, VERSIONR } from './w5500-regs';
import { Emitter } from '../events';
import { codedError, CodedError } from '../error';
import { ANY, ipBytes } from './ip';
import { tick, xfer } from './w5500-spi';
import { Socket } from './socket';
import type { TcpOptions } from './tcp';

export type { TcpOptions, Resolver } from './tcp';
/** TCP: connect, write, close; events connect, data, close, error. */
export type TcpSocket = Socket;
/** UDP: send, close; events message, error, close. */
export type UdpSocket = Socket;

export interface W5500Options extends TcpOptions {
  cs: Pin;
  /** RSTn (active low): a hardware reset on init() when wired. */
  rst?: Pin;
  /** INTn (active low): sockets are served on its falling edge; without it, every pollMs. */
  int?: Pin;
  /** "02:12:34:56:78:9a"; default: locally administered, derived from getSerial(). */
  mac?: string;
  /** KB per socket, TX and RX alike: 0, 1, 2, 4, 8 or 16, at most 16 in total; default 2 × 8. */
  bufferKB?: number[];
  /** Retransmission timeout (ms, default 200) and retries (default 8): ARP and TCP give up after them. */
  retryTime?: number;
  retryCount?: number;
  /** Socket and link poll period, ms: default 50 without INT, 500 with it (link state has no interrupt). */
  pollMs?: number;
}

export interface IpConfig {
  ip: string;
  subnet: string;
  gateway: string;
  dns?: string[];
}

// RSTn low ≥ 500 µs, then ≥ 1 ms for the PLL to lock (DS); padded, as every library does
const enum Ms { RESET = 1, PLL = 10 }

/** Events: 'link' (up: boolean) when the PHY link changes. */
export class W5500 extends Emitter {
  _spi: any;
  _cs: Pin;
  _o: W5500Options;
  /** Sockets by hardware number. */
  _s: (Socket | undefined)[] = [];
  /** KB of TX (and RX) buffer per hardware socket. */
  _kb: number[] = [];
  _mac: number[];
  _ip: IpConfig = { ip: ANY, subnet: ANY, gateway: ANY };
  /** PHY link (PHYCFGR.LNK). */
  _up: any;
  /** Poll interval (set once init() has configured the chip), INT watch, the quick poll; the last
   *  ephemeral port. */
  _iv: any;
  _wt: any;
  _ft: any;
  _np: any;

  constructor(spi: SPI, opts: W5500Options) {
    super();
    const b = opts.bufferKB, id = String(getSerial()), m = [2, 0, 0, 0, 0, 0];
    let sum = 0;
    this._spi = spi;
    this._cs = opts.cs;
    this._o = opts;
    for (let n = 0; n < 8; n++) {
      const k = this._kb[n] = b ? b[n] || 0 : 2;
      // Other sizes, or more than 16 KB in all, corrupt transfers (§5)
      if (k & k - 1 || (sum += k) > 16) throw codedError('ECONFIG', 'bad bufferKB');
    }
    // Default: locally administered (bit 1 set), unicast (bit 0 clear), the same on every start
    for (let i = 0; i < id.length; i++) m[1 + i % 5] = (m[1 + i % 5] * 31 + id.charCodeAt(i)) & 255;
    this._mac = opts.mac ? opts.mac.split(':').map(function (h) { return parseInt(h, 16); }) : m;
  }

  /** Hardware reset (if RST is wired), software reset, detection, configuration; cb(err?) once done.
   *  A timer, never a wait, for the reset pulse and the PLL. */
  init(cb: (err?: CodedError) => void): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this, o = c._o, poll = function () { tick(c, 1); };
    c.close();
    if (o.rst) digitalPulse(o.rst, false, Ms.RESET);
    setTimeout(function () {
      // The Arduino/CircuitPython probe: VERSIONR reads 4, and MR keeps what is written; the last
      // write is MR.RST, done before the next frame (§9), so MR reads 0 again
      if (xfer(c, 0, VERSIONR, 1)[0] !== CHIP_VERSION || ![8, 16, MR_RST].every(function (v) {
        xfer(c, 0, MR, [v]);
        return xfer(c, 0, MR, 1)[0] === (v & ~MR_RST & 0xff);
      })) return cb(codedError('ENOCHIP', 'no W5500: check SPI wiring, CS, mode'));
      // SENDOK is masked: a SEND is seen done when TX_RD has reached TX_WR (DS: SEND moves TX_RD to
      // TX_WR once the data is out), in the service frame. An unmasked SENDOK would hold INTn until
      // cleared (one more frame per send), and clearing it in the next SEND's burst could erase that
      // SEND's own SENDOK on a chip that finishes within the burst.
      for (let n = 0; n < 8; n++) {
        xfer(c, n * 4 + 1, Sn_BUF, [c._kb[n], c._kb[n]]);
        xfer(c, n * 4 + 1, Sn_IMR, [0xff ^ IR_SENDOK]);
      }
      const t = (o.retryTime || 200) * 10;
      xfer(c, 0, RTR, [t >> 8, t, o.retryCount ?? 8]);
      c._iv = setInterval(poll, o.pollMs || (o.int ? 500 : 50));
      c.setIP(c._ip);
      c._up = xfer(c, 0, PHYCFGR, 1)[0] & PHY_LNK;
      if (o.int) {
        pinMode(o.int, 'input_pullup');
        xfer(c, 0, SIMR, [0xff]);
        c._wt = setWatch(poll, o.int, { repeat: true, edge: 'falling' });
      }
      cb();
    }, Ms.RESET + Ms.PLL);
  }

  /** Gateway, subnet, MAC and IP go in one burst: the four registers are adjacent. */
  setIP(cfg: IpConfig): void {
    this._ip = cfg;
    if (this._iv) xfer(this, 0, GAR, ipBytes(cfg.gateway).concat(ipBytes(cfg.subnet), this._mac, ipBytes(cfg.ip)));
  }

  getIP(): IpConfig & { mac: string } {
    return Object.assign({
      dns: [], mac: this._mac.map(function (b) { return (b | 256).toString(16).slice(1); }).join(':'),
    }, this._ip);
  }

  linkUp(): boolean {
    return !!this._up;
  }

  /** A TCP socket (the Transport); opts override the chip's TcpOptions. */
  tcp(opts?: TcpOptions): TcpSocket {
    return new Socket(this, Object.assign({}, this._o, opts));
  }

  /** A UDP socket bound to port (0: a free ephemeral port); throws ENOSOCK when none is free. */
  udp(port: number): UdpSocket {
    return new Socket(this, this._o, port);
  }

  /** Stops polling and watching, and closes every socket at once. */
  close(): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `c.` minifies shorter than `this.`
    const c = this;
    if (c._iv) clearInterval(c._iv);
    if (c._wt) clearWatch(c._wt);
    if (c._ft) clearTimeout(c._ft);
    c._iv = c._wt = c._ft = undefined;
    c._s.forEach(function (s) {
      if (s) s._end();
    });
  }
}
