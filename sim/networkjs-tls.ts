// TLS inside Espruino's socket layer (libs/network/network.c, USE_TLS): mbedtls runs over the device's
// send/recv with socketType ST_TLS, and the socket layer sees plaintext. Here Node's TLS client runs
// over a Duplex whose bytes move only when the socket layer polls, as mbedtls's bio callbacks do.
// What Espruino does and this keeps: no certificate verification (MBEDTLS_SSL_VERIFY_NONE) even with
// `ca`; ca/key/cert are DER (atob of the PEM body) or NUL-terminated PEM, as mbedtls parses them;
// a peer's close_notify ends reads with MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY, which Espruino reports as
// an error; a handshake failure is an exception on the board and the socket closes.
import { createPrivateKey } from 'node:crypto';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';

export const ST_TLS = 4;
const MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY = -0x7880;
// What one ssl_recv asks the device for (mbedtls asks for what the record needs; any size will do)
const RECV_CHUNK = 2048;

export interface TlsDevice {
  send(data: string): number;
  recv(maxLen: number): string | number;
}

/** A certificate or key option as mbedtls would parse it, in PEM for Node; throws like mbedtls. */
function toPem(v: unknown, what: string): string {
  const s = typeof v === 'string' ? v : '';
  if (s.endsWith('\0') && s.includes('-----BEGIN')) return s.slice(0, -1);
  if (!s || s.includes('-----BEGIN')) throw new Error(`mbedtls_x509_crt_parse of '${what}': not DER (PEM must end with \\0)`);
  const der = Buffer.from(s, 'latin1');
  if (what === 'key') {
    for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
      try {
        return createPrivateKey({ key: der, format: 'der', type }).export({ format: 'pem', type: 'pkcs8' }) as string;
      } catch { /* try the next encoding */ }
    }
    throw new Error('mbedtls_pk_parse_key: not a private key');
  }
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export class TlsSession {
  connecting = true;
  /** Set when the handshake or the record layer failed: the text of Espruino's exception. */
  failure: string | undefined;
  private readonly raw: Duplex;
  private readonly sock: tls.TLSSocket;
  private out: Buffer[] = [];
  private plain = '';
  /** The device reported the TCP socket ended (its code), and Node's TLS socket has closed after it. */
  private rawEnded = 0;
  private closed = false;
  private closeNotify = false;

  /** Throws (as ssl_newSocketData fails) when ca/key/cert cannot be parsed. */
  constructor(options: Record<string, unknown> | undefined, private readonly dev: TlsDevice) {
    const o: tls.ConnectionOptions = { rejectUnauthorized: false, servername: '' };
    if (options && typeof options === 'object') {
      if (options.ca !== undefined) o.ca = toPem(options.ca, 'ca');
      if (options.cert !== undefined) o.cert = toPem(options.cert, 'cert');
      if (options.key !== undefined) o.key = toPem(options.key, 'key');
    }
    this.raw = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, cb) => {
        this.out.push(chunk);
        cb();
      },
    });
    this.sock = tls.connect({ ...o, socket: this.raw });
    this.sock.on('secureConnect', () => { this.connecting = false; });
    this.sock.on('data', (d: Buffer) => { this.plain += d.toString('latin1'); });
    this.sock.on('end', () => { if (!this.rawEnded) this.closeNotify = true; });
    this.sock.on('close', () => { this.closed = true; });
    this.sock.on('error', (e: Error & { reason?: string }) => {
      this.failure ??= `${this.connecting ? 'mbedtls_ssl_handshake' : 'mbedtls_ssl_read'} returned ${e.reason ?? e.message}`;
    });
  }

  /** One step of the bio: what is queued goes out (as far as the device takes it), what arrived comes
   *  in. Negative: the device's error (send), or its end of the TCP socket. */
  private pump(): number {
    if (this.out.length) {
      const data = Buffer.concat(this.out);
      const r = this.dev.send(data.toString('latin1'));
      if (r < 0) return r;
      this.out = r < data.length ? [data.subarray(r)] : [];
    }
    if (!this.rawEnded) {
      const r = this.dev.recv(RECV_CHUNK);
      if (typeof r === 'string') {
        if (r) this.raw.push(Buffer.from(r, 'latin1'));
      } else if (r < 0) {
        this.rawEnded = r;
        this.raw.push(null);
      }
    }
    return this.rawEnded;
  }

  /** netRecv for a TLS socket: plaintext, '' (nothing yet / handshaking: mbedtls's WANT_READ), or a
   *  negative code. */
  recv(maxLen: number): string | number {
    const r = this.pump();
    if (this.failure) return -1;
    if (this.connecting) return r < 0 ? r : '';
    if (this.plain) {
      const d = this.plain.substring(0, maxLen);
      this.plain = this.plain.substring(d.length);
      return d;
    }
    if (this.closeNotify) return MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY;
    // Records still being decrypted when the TCP socket ended come first
    return r < 0 && this.closed ? r : '';
  }

  /** netSend for a TLS socket: bytes taken, 0 while handshaking, or a negative code. */
  send(data: string): number {
    const r = this.pump();
    if (this.failure) return -1;
    if (r < 0) return r;
    if (this.connecting) return 0;
    this.sock.write(Buffer.from(data, 'latin1'));
    return data.length;
  }

  destroy(): void {
    this.sock.destroy();
    this.raw.destroy();
  }
}
