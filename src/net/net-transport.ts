// The Transport seam over Espruino's own `net` (or `tls`) module, for boards whose network hardware
// Espruino drives itself (ESP32, Espruino WiFi, the Linux build). Espruino sockets carry strings:
// bytes go out through E.toString and come in through E.toUint8Array.
import { Emitter } from '../events';
import { codedError } from '../error';
import { Transport } from './transport';

// Espruino's built-in module loader (declared here: @types/espruino lacks it, and @types/node's differs).
declare const require: (name: string) => any;

export const ERR_NET = 'NET_ERROR';
const CLOSE_DEADLINE = 2000; // ms for a graceful close before 'close' is reported anyway

export class NetTransport extends Emitter implements Transport {
  protected sock: any = null;
  protected isOpen = false;

  /** tls: options for require('tls').connect (ca, key, cert), or omitted for plain TCP. */
  constructor(protected tls?: { [k: string]: any }) {
    super();
  }

  connect(host: string, port: number): void {
    const o: any = { host: host, port: port };
    const t = this.tls;
    if (t) for (const k in t) o[k] = t[k];
    let s: any;
    const done = (hadError: boolean) => {
      if (this.sock != s) return; // already reported, or a newer connection replaced it
      this.sock = null;
      this.isOpen = false;
      this.emit('close', hadError);
    };
    const fault = (e: any) => {
      if (this.sock != s) return;
      this.emit('error', codedError(ERR_NET, 'network error ' + e.code + ': ' + e.message));
      // Espruino only follows 'error' with 'close' on a socket that had connected.
      if (!this.isOpen) done(true);
    };
    try {
      s = require(t ? 'tls' : 'net').connect(o, () => {
        if (this.sock != s) return;
        this.isOpen = true;
        this.emit('connect');
      });
    } catch (e) {
      // A refused connection throws at once on Espruino; report it like any other failure, later,
      // so the caller's connect() returns first.
      s = {};
      this.sock = s;
      setTimeout(() => fault({ code: -9, message: (e as Error).message }), 0);
      return;
    }
    this.sock = s;
    s.on('data', (d: string) => {
      if (this.sock == s) this.emit('data', E.toUint8Array(d));
    });
    s.on('error', fault);
    s.on('close', (hadError: any) => done(!!hadError));
  }

  write(bytes: Uint8Array): boolean {
    if (!this.isOpen) return false;
    this.sock.write(E.toString(bytes));
    return true;
  }

  close(): void {
    const s = this.sock;
    // Created before any branch: Espruino 2v29 crashes skipping an arrow that uses `this` in the
    // untaken side of ?: or &&, which is what the minifier makes of an `if`.
    const expire = () => {
      if (this.sock == s) {
        this.sock = null;
        this.emit('close', false);
      }
    };
    if (!s) return;
    this.isOpen = false;
    if (s.end) s.end();
    setTimeout(expire, CLOSE_DEADLINE);
  }
}
