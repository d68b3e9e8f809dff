// A TCP server on loopback that plays an MQTT broker at wire level, one scripted step at a time, for
// what a real broker will not do on demand (a PUBLISH before SUBACK, a duplicate QoS 2 PUBLISH, a
// missing PINGRESP, malformed bytes...). Packets from the client are framed here and decoded by
// mqtt-packet (an independent implementation), with their raw bytes kept for exact-byte checks.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';

export interface Received {
  /** mqtt-packet's decoding (cmd, messageId, qos, dup, topic, payload...). */
  packet: any;
  /** The packet's bytes exactly as the client sent them. */
  raw: Uint8Array;
}

/** Bytes of a packet given in mqtt-packet's object form. */
export function bytesOf(packet: object): Uint8Array {
  return new Uint8Array(mqttPacket.generate(packet as any, { protocolVersion: 4 }));
}

function waitFor<T>(what: string, ms: number, test: () => T | undefined, register: (wake: () => void) => () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const now = test();
    if (now !== undefined) { resolve(now); return; }
    const timer = setTimeout(() => { unregister(); reject(new Error(`timed out after ${ms} ms waiting for ${what}`)); }, ms);
    const unregister = register(() => {
      const v = test();
      if (v === undefined) return;
      clearTimeout(timer);
      unregister();
      resolve(v);
    });
  });
}

export class ScriptedConnection {
  /** Every packet received so far, in order. */
  readonly received: Received[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private readIndex = 0;
  private wakers: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.frame(); this.wake(); });
    socket.on('close', () => { this.closed = true; this.wake(); });
    socket.on('error', () => { /* the client reset the connection: 'close' follows */ });
  }

  private wake(): void {
    for (const w of this.wakers.slice()) w();
  }

  private subscribe(w: () => void): () => void {
    this.wakers.push(w);
    return () => { this.wakers = this.wakers.filter((x) => x !== w); };
  }

  private frame(): void {
    for (;;) {
      if (this.buf.length < 2) return;
      let len = 0;
      let mul = 1;
      let i = 1;
      for (;;) {
        if (i >= this.buf.length) return;
        const b = this.buf[i++];
        len += (b & 0x7f) * mul;
        mul *= 128;
        if (!(b & 0x80)) break;
        if (i > 4) throw new Error('client sent a malformed remaining length');
      }
      if (this.buf.length < i + len) return;
      const raw = new Uint8Array(this.buf.subarray(0, i + len));
      this.buf = this.buf.subarray(i + len);
      let packet: any = null;
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p: any) => { packet = p; });
      parser.on('error', (e: Error) => { packet = { cmd: 'invalid', error: e.message }; });
      parser.parse(Buffer.from(raw));
      this.received.push({ packet, raw });
    }
  }

  /** The next packet not yet returned by next()/expect(), waiting up to `ms`. */
  next(ms = 2000): Promise<Received> {
    return waitFor('a packet from the client', ms, () => {
      if (this.readIndex < this.received.length) return this.received[this.readIndex++];
      return undefined;
    }, (w) => this.subscribe(w));
  }

  /** The next packet, which must be a `cmd`. */
  async expect(cmd: string, ms = 2000): Promise<Received> {
    const r = await this.next(ms);
    if (r.packet.cmd !== cmd) throw new Error(`expected ${cmd}, got ${r.packet.cmd}: ${JSON.stringify(r.packet)}`);
    return r;
  }

  /** Resolves when nothing arrives for `ms` (true) or rejects on the first packet. */
  async expectSilence(ms: number): Promise<void> {
    const before = this.received.length;
    await new Promise((r) => setTimeout(r, ms));
    if (this.received.length !== before) {
      throw new Error(`expected silence, got ${this.received.slice(before).map((x) => x.packet.cmd).join(', ')}`);
    }
  }

  /** Wait until the client closes the connection. */
  waitClosed(ms = 3000): Promise<true> {
    return waitFor('the client to close', ms, () => (this.closed ? true : undefined), (w) => this.subscribe(w));
  }

  /** Send raw bytes, or packets in mqtt-packet object form, concatenated into one TCP write. */
  send(...items: (Uint8Array | object)[]): void {
    const parts = items.map((x) => (x instanceof Uint8Array ? x : bytesOf(x)));
    this.socket.write(Buffer.concat(parts));
  }

  /** Expect CONNECT and answer with CONNACK. */
  async accept(opts: { sessionPresent?: boolean; returnCode?: number } = {}): Promise<Received> {
    const c = await this.expect('connect');
    this.send({ cmd: 'connack', sessionPresent: !!opts.sessionPresent, returnCode: opts.returnCode ?? 0 });
    return c;
  }

  end(): void { this.socket.end(); }
  destroy(): void { this.socket.destroy(); }
}

export class ScriptedBroker {
  readonly connections: ScriptedConnection[] = [];
  private taken = 0;
  private wakers: (() => void)[] = [];

  private constructor(readonly server: net.Server, readonly port: number) {
    server.on('connection', (s) => {
      this.connections.push(new ScriptedConnection(s));
      for (const w of this.wakers.slice()) w();
    });
  }

  static start(): Promise<ScriptedBroker> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(new ScriptedBroker(server, (server.address() as net.AddressInfo).port)));
    });
  }

  /** The next client connection not yet returned. */
  nextConnection(ms = 2000): Promise<ScriptedConnection> {
    return waitFor('a client connection', ms, () => {
      if (this.taken < this.connections.length) return this.connections[this.taken++];
      return undefined;
    }, (w) => {
      this.wakers.push(w);
      return () => { this.wakers = this.wakers.filter((x) => x !== w); };
    });
  }

  close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
