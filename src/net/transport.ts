// The seam between the MQTT client and whatever carries its bytes: a W5500 TCP socket, or
// Espruino's own `net`/`tls` module on boards with other network hardware.

export interface TransportEvents {
  /** The connection is open and write() may be called. */
  connect: () => void;
  /** Bytes from the peer, in arrival order; chunk boundaries mean nothing. */
  data: (chunk: Uint8Array) => void;
  /** The connection is gone (peer close, reset, timeout, or close() called). Fires once. */
  close: (hadError: boolean) => void;
  /** A fault; `close` follows. */
  error: (err: Error) => void;
}

export interface Transport {
  /** Open a connection to host (name or dotted IPv4) and port. Never blocks. */
  connect(host: string, port: number): void;
  /** Queue bytes for sending; false when the connection is not open. */
  write(bytes: Uint8Array): boolean;
  /** Close gracefully with a deadline; `close` fires when done. */
  close(): void;
  on<K extends keyof TransportEvents>(event: K, listener: TransportEvents[K]): void;
}
