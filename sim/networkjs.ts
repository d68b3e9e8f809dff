// Espruino's socket layer over a NetworkJS device, for the simulated board: what
// libs/network/socketserver.c, network.c and js/network_js.c do, rewritten in TypeScript from their
// behaviour (and checked against the Linux build, see sim/README.md "NetworkJS"). The board's `net`,
// `http`, `dgram` and `tls` modules (networkjs-modules.ts) run on it. An idle loop polls every socket:
// accept() on servers, send() of up to 536 bytes (chunkSize), recv() of up to 536 — the device's
// create/recv/send/accept/close are the firmware's own functions, called as Espruino calls them.
import type { Board } from './espruino';
import { EspObjects, type EspObject } from './networkjs-objects';
import { parseHead } from './networkjs-http';
import { TlsSession } from './networkjs-tls';
import { addNetworkModules } from './networkjs-modules';
import {
  CHUNK_SIZE, HOST_BY_NAME, IDLE_MS, SOCKET_ERR, ST_HTTP, ST_TLS, ST_TYPE_MASK, ST_UDP, ipToString, parseIp,
  socketErrorString, toInt,
} from './networkjs-consts';

export * from './networkjs-consts';

/** The hidden children socketserver.c keeps on each socket object ("type", "sckt", "dRcv", …). */
export interface SockState {
  type: number;
  /** Device socket number, -1 for none (Espruino stores sckt+1, 0 meaning none). */
  sckt: number;
  port?: number;
  opt?: EspObject;
  /** HTTP: the response object (client httpCRs, server httpSRs). */
  res?: EspObject;
  /** Server-side HTTP connection: its server. */
  svr?: EspObject;
  hdrs: boolean;
  endd: boolean;
  chunked: boolean;
  cRcv: number;
  dRcv?: string;
  dSnd?: string;
  clsNow: boolean;
  conn: boolean;
  cls: boolean;
}

export class SocketServer {
  readonly objects: EspObjects;
  /** The object given to require('NetworkJS').create(), once it has been called. */
  device: EspObject | undefined;
  /** net->chunkSize, raised by a dgram socket's recvBufferSize. */
  chunkSize = CHUNK_SIZE;
  /** Every call made to the device, when tracing (tests read it). */
  trace: { fn: string; args: unknown[]; result: unknown }[] | undefined;
  readonly servers: EspObject[] = [];
  readonly serverConns: EspObject[] = [];
  readonly clientConns: EspObject[] = [];
  private readonly states = new WeakMap<object, SockState>();
  private readonly tls = new Map<number, TlsSession>();
  private dnsName = '';
  private stopped = false;

  constructor(readonly board: Board) {
    this.objects = new EspObjects(board);
    addNetworkModules(this);
    const loop = (): void => {
      if (this.stopped) return;
      if (!this.objects.pending) this.idle();
      board.later(loop, IDLE_MS);
    };
    board.later(loop, IDLE_MS);
  }

  get online(): boolean {
    return this.device !== undefined;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.tls.values()) t.destroy();
    this.tls.clear();
  }

  state(o: object): SockState {
    let s = this.states.get(o);
    if (!s) {
      s = { type: 0, sckt: -1, hdrs: false, endd: false, chunked: false, cRcv: 0, clsNow: false, conn: false, cls: false };
      this.states.set(o, s);
    }
    return s;
  }

  /** An exception thrown at the board's code (jsExceptionHere). */
  exception(message: string, name = 'Error'): Error {
    return this.objects.error(message, name);
  }

  /** An exception raised in the idle loop: printed as Uncaught, the board carries on. */
  report(e: unknown): void {
    this.board.guard(() => { throw e; });
  }

  // ---- the device (network_js.c) -------------------------------------------------------------------

  private call(fn: string, args: unknown[]): unknown {
    const dev = this.device;
    const f = dev?.[fn];
    let result: unknown;
    if (typeof f === 'function') {
      try {
        result = f.apply(dev, args);
      } catch (e) {
        this.report(e);
      }
    }
    this.trace?.push({ fn, args, result });
    return result;
  }

  /** networkGetHostByName: an IP literal as its address; a name as 0xFFFFFFFF, remembered for create(). */
  hostByName(name: string): number {
    const addr = parseIp(name);
    if (addr) return addr;
    this.dnsName = name;
    return HOST_BY_NAME;
  }

  /** netCreateSocket: host 0 = a server socket. With TLS, the session starts here (ssl_newSocketData). */
  netCreate(type: number, host: number, port: number, options: EspObject | undefined): number {
    const hostVar = host === 0 ? undefined : host === HOST_BY_NAME ? this.dnsName : ipToString(host);
    const sckt = toInt(this.call('create', [hostVar, port, type, options]));
    if (sckt < 0 || !(type & ST_TLS)) return sckt;
    try {
      this.tls.set(sckt, new TlsSession(options, {
        send: (data) => toInt(this.call('send', [sckt, data, ST_TLS])),
        recv: (maxLen) => this.deviceRecv(sckt, maxLen, ST_TLS),
      }));
    } catch (e) {
      this.report(this.exception(`HTTPS init failed! ${(e as Error).message}`, 'InternalError'));
      return -1;
    }
    return sckt;
  }

  netClose(type: number, sckt: number): void {
    if (type & ST_TLS) {
      this.tls.get(sckt)?.destroy();
      this.tls.delete(sckt);
    }
    this.call('close', [sckt]);
  }

  netAccept(sckt: number): number {
    return toInt(this.call('accept', [sckt]));
  }

  /** net_js_recv: a string (possibly empty), or a negative error. */
  private deviceRecv(sckt: number, len: number, type: number): string | number {
    const r = this.call('recv', [sckt, len, type]);
    if (typeof r === 'string') return r.length > len ? r.substring(0, len) : r;
    if (typeof r === 'number' && Number.isInteger(r)) {
      if (r >= 0) {
        this.report(this.exception('JSNetwork.recv returned >=0'));
        return -1;
      }
      return r;
    }
    return -1;
  }

  /** netRecv: data (string, possibly empty) or a negative error; TLS sockets through their session. */
  netRecv(type: number, sckt: number, len: number): string | number {
    if (!(type & ST_TLS)) return this.deviceRecv(sckt, len, type);
    const t = this.tls.get(sckt);
    if (!t) return -1;
    const r = t.recv(len);
    this.tlsFailure(t);
    return r;
  }

  netSend(type: number, sckt: number, data: string): number {
    if (!(type & ST_TLS)) return toInt(this.call('send', [sckt, data, type]));
    const t = this.tls.get(sckt);
    if (!t) return -1;
    const r = t.send(data);
    this.tlsFailure(t);
    return r;
  }

  private tlsFailure(t: TlsSession): void {
    if (t.failure && !(t as { reported?: boolean }).reported) {
      (t as { reported?: boolean }).reported = true;
      this.report(this.exception(t.failure, 'InternalError'));
    }
  }

  // ---- socketserver.c ------------------------------------------------------------------------------

  /** _socketConnectionKill */
  kill(connection: EspObject): void {
    if (!this.online) return;
    const s = this.state(connection);
    if (s.sckt >= 0) {
      this.netClose(s.type, s.sckt);
      s.sckt = -1;
      s.conn = false;
      s.cls = true;
    }
  }

  isOpen(connection: EspObject): boolean {
    const s = this.state(connection);
    return !(s.clsNow || s.cls);
  }

  private closeAll(): void {
    for (const list of [this.serverConns, this.clientConns, this.servers]) {
      for (const c of list) this.kill(c);
      list.length = 0;
    }
  }

  /** fireErrorEvent: true (and 'error' queued) unless error is 0 or SOCKET_ERR_CLOSED. */
  private fireError(error: number, a: EspObject, b?: EspObject): boolean {
    const hadError = error < 0 && error !== SOCKET_ERR.CLOSED;
    if (hadError) {
      const e = this.objects.object({ code: error, message: socketErrorString(error) });
      this.objects.queue(a, 'error', [e]);
      if (b) this.objects.queue(b, 'error', [e]);
    }
    return hadError;
  }

  /** socketSendData: one chunk (UDP: everything queued) to the device; 0 or a negative error. */
  private sendData(writer: EspObject, sckt: number): number {
    const w = this.state(writer);
    const data = w.dSnd ?? '';
    const len = (w.type & ST_TYPE_MASK) === ST_UDP ? data.length : this.chunkSize;
    const num = this.netSend(w.type, sckt, data.substring(0, len));
    if (num < 0) return num;
    if (num > 0) {
      if (num < data.length) w.dSnd = data.substring(num);
      else {
        if (!w.cls) this.objects.queue(writer, 'drain', []);
        w.dSnd = '';
      }
    }
    return 0;
  }

  /** socketPushReceiveData: what is left of `data` after handing the reader what it may take. */
  pushReceiveData(reader: EspObject, data: string | undefined, isHttp: boolean, force: boolean): string | undefined {
    if (!data) return data;
    const r = this.state(reader);
    let next: string | undefined, partial: string | undefined;
    if (isHttp) {
      const len = data.length;
      if (r.chunked) {
        if (len < 5) return data;
        let start = data.indexOf('\r\n');
        const chunkLen = parseInt(data, 16) || 0;
        r.cRcv = chunkLen ? 1 : 0;
        if (!chunkLen) return undefined;
        start += 2;
        const nextIdx = start + chunkLen + 2;
        if (nextIdx < len) next = data.substring(nextIdx);
        else if (nextIdx > len) {
          if (nextIdx - len < 3) return data;
          partial = `${(nextIdx - len - 2).toString(16)}\r\n`;
        }
        data = data.substring(start, start + chunkLen);
      } else r.cRcv -= len;
    }
    if (data && !this.objects.pushData(reader, data, force)) return data;
    data = next ?? partial;
    if (next) data = this.pushReceiveData(reader, data, isHttp, force);
    return data;
  }

  /** socketReceivedUDP: one datagram behind its header (host, port and length little-endian) → 'message'. */
  private receivedUdp(connection: EspObject, data: string): string | undefined {
    if (data.length < 8) return data;
    const length = data.charCodeAt(6) | (data.charCodeAt(7) << 8);
    if (8 + length < data.length) return data; // the C code waits here (its test is the wrong way round)
    const msg = data.substring(8, 8 + length);
    const rest = data.length > 8 + length ? data.substring(8 + length) : undefined;
    const rinfo = this.objects.object({
      address: `${data.charCodeAt(0)}.${data.charCodeAt(1)}.${data.charCodeAt(2)}.${data.charCodeAt(3)}`,
      port: data.charCodeAt(4) | (data.charCodeAt(5) << 8),
      size: length,
    });
    this.objects.queue(connection, 'message', [msg, rinfo]);
    return rest;
  }

  /** socketReceived: parses HTTP heads ('connect' once they are in), then pushes data to the reader. */
  private received(connection: EspObject, socket: EspObject, type: number, data: string, isServer: boolean): string | undefined {
    if ((type & ST_TYPE_MASK) === ST_UDP) return this.receivedUdp(connection, data);
    const reader = isServer ? connection : socket;
    const r = this.state(reader);
    const isHttp = (type & ST_TYPE_MASK) === ST_HTTP;
    if (!r.hdrs) {
      if (!isHttp) r.hdrs = true;
      else {
        const head = parseHead(data, isServer, (p) => this.objects.object(p));
        if (head) {
          r.hdrs = true;
          Object.assign(reader, head.fields, { headers: head.headers });
          r.chunked = head.chunked;
          r.cRcv = head.cRcv;
          data = head.rest;
          if (isServer) {
            const server = this.state(connection).svr!;
            this.objects.queue(server, 'connect', [connection, socket]);
          } else this.objects.queue(connection, 'connect', [socket]);
        }
      }
    }
    if (!r.hdrs) return data;
    return this.pushReceiveData(reader, data, isHttp, false);
  }

  /** A connection's state, and the object its data and events go to (an HTTP connection's response) with its state. */
  private ends(connection: EspObject): { c: SockState; isHttp: boolean; socket: EspObject; s: SockState } {
    const c = this.state(connection);
    const isHttp = (c.type & ST_TYPE_MASK) === ST_HTTP;
    const socket = isHttp ? c.res! : connection;
    return { c, isHttp, socket, s: this.state(socket) };
  }

  /** socketServerConnectionsIdle: HTTP server connections and bound UDP sockets. */
  private serverConnectionsIdle(): void {
    const arr = this.serverConns;
    for (let i = 0; i < arr.length;) {
      const connection = arr[i];
      const { c, isHttp, socket, s } = this.ends(connection);
      let closeNow = c.clsNow;
      let error = 0;
      if (!closeNow) {
        const got = this.netRecv(c.type, c.sckt, this.chunkSize);
        const num = typeof got === 'string' ? got.length : got;
        if (typeof got === 'number') {
          closeNow = true;
          error = got;
        } else if (got) c.dRcv = this.received(connection, socket, c.type, (c.dRcv ?? '') + got, true);
        if (s.dSnd) {
          const sent = this.sendData(socket, c.sckt);
          if (sent < 0) {
            closeNow = true;
            error = sent;
          }
        }
        if (!s.dSnd && num <= 0) {
          let reallyCloseNow = s.cls;
          if (isHttp) {
            if (c.cRcv > 0 || !c.hdrs) reallyCloseNow = false;
            else if (!c.endd) {
              c.endd = true;
              this.objects.queue(connection, 'end', []);
            }
          }
          closeNow = reallyCloseNow;
        } else if (num > 0) closeNow = false;
      }
      if (closeNow) {
        if (c.hdrs) this.pushReceiveData(connection, c.dRcv, isHttp, true);
        const hadError = this.fireError(error, connection, socket);
        this.objects.queue(socket, 'end', []);
        if (connection !== socket) this.objects.queue(connection, 'close', [hadError]);
        this.objects.queue(socket, 'close', [hadError]);
        this.kill(connection);
        arr.splice(i, 1);
      } else i++;
    }
  }

  /** socketClientConnectionsIdle: clients, and the sockets a net server accepted. */
  private clientConnectionsIdle(): void {
    const arr = this.clientConns;
    for (let i = 0; i < arr.length;) {
      const connection = arr[i];
      const { c, isHttp, socket, s } = this.ends(connection);
      let receiveData: string | undefined;
      let hadHeaders = false;
      let error = 0;
      let closeNow = c.clsNow;
      let alreadyConnected = c.conn;
      const sckt = c.sckt;
      if (sckt >= 0) {
        hadHeaders = isHttp ? s.hdrs : true;
        receiveData = c.dRcv;
        // Data held back last time (no listener, buffer full), once callbacks have run
        if (hadHeaders) receiveData = this.pushReceiveData(socket, receiveData, isHttp, false);
        if (!closeNow) {
          if (c.dSnd) {
            const num = this.sendData(connection, sckt);
            if (num < 0) {
              closeNow = true;
              error = num;
            }
          } else {
            if (c.cls) closeNow = true;
            if (isHttp) {
              if (s.cRcv > 0 || !hadHeaders) closeNow = false;
              else if (!s.endd) {
                s.endd = true;
                this.objects.queue(socket, 'end', []);
              }
            }
          }
          const got = this.netRecv(c.type, sckt, this.chunkSize);
          if (!alreadyConnected && got === SOCKET_ERR.NO_CONN) {
            // not connected yet
          } else if (typeof got === 'number') {
            closeNow = true;
            if (got === SOCKET_ERR.CLOSED) {
              if (!isHttp || s.cRcv > 0 || !hadHeaders) error = hadHeaders ? got : SOCKET_ERR.NO_RESP;
            } else error = got;
          } else {
            if (!alreadyConnected && !isHttp) {
              this.objects.queue(connection, 'connect', [connection]);
              c.conn = alreadyConnected = true;
              if (!c.dSnd) this.objects.queue(connection, 'drain', [connection]);
            }
            if (got) {
              receiveData = this.received(connection, socket, c.type, (receiveData ?? '') + got, false);
              c.dRcv = receiveData;
            }
          }
        }
      }
      if (closeNow) {
        receiveData = this.pushReceiveData(socket, receiveData, isHttp, true);
        if (!receiveData) {
          if (c.dSnd && error === SOCKET_ERR.CLOSED) error = SOCKET_ERR.UNSENT_DATA;
          this.kill(connection);
          arr.splice(i, 1);
          const hadError = this.fireError(error, connection);
          if (!s.endd) {
            s.endd = true;
            this.objects.queue(socket, 'end', []);
          }
          this.objects.queue(socket, 'close', [hadError]);
          continue;
        }
      }
      i++;
    }
  }

  /** socketIdle: new connections on servers, then every connection. */
  idle(): void {
    if (!this.online) {
      this.closeAll();
      return;
    }
    for (const server of [...this.servers]) {
      const sv = this.state(server);
      if ((sv.type & ST_TYPE_MASK) === ST_UDP) continue;
      const client = this.netAccept(sv.sckt);
      if (client < 0) continue;
      if ((sv.type & ST_TYPE_MASK) === ST_HTTP) {
        const req = this.objects.create('httpSRq');
        const headers = this.objects.object({ Connection: 'close' });
        const res = this.objects.create('httpSRs', { headers });
        Object.assign(this.state(req), { type: ST_HTTP, res, svr: server, sckt: client });
        this.state(res).sckt = client;
        this.serverConns.push(req);
      } else {
        const sock = this.objects.create('Socket');
        Object.assign(this.state(sock), { type: sv.type, sckt: client });
        this.clientConns.push(sock);
        this.objects.queue(server, 'connect', [sock]);
      }
    }
    this.serverConnectionsIdle();
    this.clientConnectionsIdle();
  }

  // ---- what the modules call (socketserver.c's server*/client* functions) ---------------------------

  /** serverListen: a server socket on port (UDP: a bound socket polled as a server connection). */
  listen(server: EspObject, port: number, type: number): void {
    const sv = this.state(server);
    sv.port = port;
    const sckt = this.netCreate(type, 0, port, sv.opt);
    if (sckt < 0) {
      sv.clsNow = true;
      throw this.exception('Unable to create socket', 'InternalError');
    }
    sv.sckt = sckt;
    if ((type & ST_TYPE_MASK) === ST_UDP) this.serverConns.push(server);
    else this.servers.push(server);
  }

  serverClose(server: EspObject): void {
    this.kill(server);
    const i = this.servers.indexOf(server);
    if (i >= 0) this.servers.splice(i, 1);
  }

  /** clientRequestConnect: the device socket of a client, made on demand. */
  connect(req: EspObject): void {
    const r = this.state(req);
    if (r.sckt >= 0) return;
    const options = r.opt ?? this.objects.object();
    let port = toInt(options.port) & 0xffff;
    const host = options.host === undefined ? 0x0100007f : this.hostByName(String(options.host));
    if (r.type & ST_TLS && !port) port = 443;
    if ((r.type & ST_TYPE_MASK) === ST_HTTP && !port) port = 80;
    const sckt = this.netCreate(r.type, host, port, options);
    if (sckt < 0) {
      r.clsNow = true;
      throw this.exception('Unable to create socket', 'InternalError');
    }
    r.sckt = sckt;
  }
}

/** Installs Espruino's NetworkJS, net, http, dgram, tls modules and the url class on a simulated board. */
export function addNetworkJS(board: Board): SocketServer {
  return new SocketServer(board);
}
