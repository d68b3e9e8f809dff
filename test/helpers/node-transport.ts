// The Transport seam (src/net/transport.ts) over Node's `net`, for host tests of the MQTT client.
// Records every write so tests can assert what went on the wire (or that nothing did).
import net from 'node:net';
// Node's timers: the Espruino globals installed for the client replace the global ones.
import { setTimeout } from 'node:timers';
import { Emitter } from '../../src/events.ts';
import type { Transport } from '../../src/net/transport.ts';

export class NodeTransport extends Emitter implements Transport {
  socket: net.Socket | null = null;
  /** Every chunk passed to write() while open, in order. */
  readonly written: Uint8Array[] = [];
  /** How many times connect() was called. */
  connects = 0;
  private open = false;

  connect(host: string, port: number): void {
    this.connects++;
    const s = net.connect({ host, port });
    this.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      if (this.socket !== s) return;
      this.open = true;
      this.emit('connect');
    });
    s.on('data', (b: Buffer) => {
      if (this.socket === s) this.emit('data', new Uint8Array(b.buffer, b.byteOffset, b.length));
    });
    s.on('error', (e: Error) => {
      if (this.socket === s) this.emit('error', e);
    });
    s.on('close', (hadError: boolean) => {
      if (this.socket !== s) return;
      this.socket = null;
      this.open = false;
      this.emit('close', hadError);
    });
  }

  write(bytes: Uint8Array): boolean {
    if (!this.open || !this.socket) return false;
    this.written.push(bytes.slice());
    this.socket.write(bytes);
    return true;
  }

  /** Graceful close (FIN), forced after 1 s. */
  close(): void {
    const s = this.socket;
    if (!s) return;
    this.open = false;
    s.end();
    setTimeout(() => s.destroy(), 1000).unref();
  }

  /** Unclean drop: the socket is reset as if the link died (no DISCONNECT, no FIN handshake). */
  destroy(): void {
    const s = this.socket;
    if (!s) return;
    this.open = false;
    s.resetAndDestroy();
  }

  /** All bytes written so far, concatenated. */
  sentBytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.written));
  }
}
