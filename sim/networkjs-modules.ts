// The board's `NetworkJS`, `net`, `tls`, `http` and `dgram` modules and the global `url`, as Espruino's
// jswrap_net.c, jswrap_http.c and jswrap_jsnetwork.c define them, over the socket layer (networkjs.ts).
// Data is strings; events are queued; errors are { code, message } with a SOCKET_ERR_* code.
import type { SocketServer } from './networkjs';
import { ST_HTTP, ST_NORMAL, ST_TLS, ST_TYPE_MASK, ST_UDP } from './networkjs-consts';
import type { EspObject } from './networkjs-objects';
import { asString, requestHead, responseHead, urlParse } from './networkjs-http';

type Fn = (...args: unknown[]) => unknown;

function isObject(v: unknown): v is EspObject {
  return v !== null && typeof v === 'object';
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'Array' : typeof v;
}

export function addNetworkModules(ss: SocketServer): void {
  const { board, objects } = ss;
  const state = (o: object) => ss.state(o);
  const online = (): void => {
    if (!ss.online) throw ss.exception('Not connected to the internet', 'InternalError');
  };
  const badCallback = (cb: unknown): boolean => {
    if (cb === undefined || typeof cb === 'function') return false;
    board.log(`ERROR: Expecting Callback Function but got ${typeName(cb)}`);
    return true;
  };

  /** clientRequestWrite: HTTP clients get their head first; UDP datagrams their 8-byte header. */
  const clientWrite = (req: EspObject, data: unknown, host?: unknown, port?: number): void => {
    if (!ss.isOpen(req)) throw ss.exception('This socket is closed');
    const r = state(req);
    const type = r.type & ST_TYPE_MASK;
    if (r.dSnd === undefined) {
      const options = type === ST_HTTP && r.sckt < 0 ? r.opt : undefined;
      if (options) {
        const h = requestHead(options, board.version);
        r.dSnd = h.head;
        if (h.chunked) r.chunked = true;
      } else r.dSnd = '';
    }
    if (data !== undefined) {
      const s = asString(data);
      if (r.chunked) r.dSnd += `${s.length.toString(16)}\r\n${s}\r\n`;
      else {
        if (type === ST_UDP) {
          const a = ss.hostByName(asString(host)), p = (port ?? 0) & 0xffff, n = s.length & 0xffff;
          r.dSnd += String.fromCharCode(a & 255, (a >>> 8) & 255, (a >>> 16) & 255, a >>> 24, p & 255, p >> 8, n & 255, n >> 8);
        }
        r.dSnd += s;
      }
    }
    // HTTP and UDP connect on the first write
    if (type !== ST_NORMAL) ss.connect(req);
  };

  /** clientRequestEnd: HTTP sends what it has; others close once their data is out. */
  const clientEnd = (req: EspObject): void => {
    const r = state(req);
    if ((r.type & ST_TYPE_MASK) === ST_HTTP) clientWrite(req, r.chunked ? '' : undefined);
    else if (!r.dSnd) r.clsNow = true;
    r.cls = true;
  };

  /** jswrap_net_connect (net.connect, tls.connect, http.request, dgram.createSocket). */
  const netConnect = (options: unknown, callback: unknown, type: number): EspObject | undefined => {
    if (typeof options === 'string') options = urlParse(options, false, (p) => objects.object(p));
    if (!isObject(options)) {
      board.log(`ERROR: Expecting Options to be an Object but it was ${typeName(options)}`);
      return undefined;
    }
    if ((type & ST_TYPE_MASK) === ST_HTTP && options.protocol === 'https:') type |= ST_TLS;
    if (badCallback(callback)) return undefined;
    if ((type & ST_TYPE_MASK) === ST_UDP) {
      const size = Number(options.recvBufferSize) | 0;
      if (size > ss.chunkSize) ss.chunkSize = size;
    }
    // clientRequestNew
    const kind = type & ST_TYPE_MASK;
    const res = kind === ST_HTTP ? objects.create('httpCRs') : undefined;
    const req = objects.create(kind === ST_HTTP ? 'httpCRq' : kind === ST_UDP ? 'dgramSocket' : 'Socket');
    Object.assign(state(req), { type, res, opt: options });
    if (typeof callback === 'function') objects.setCallback(req, 'connect', callback as Fn);
    ss.clientConns.push(req);
    if (kind === ST_NORMAL) {
      online();
      ss.connect(req);
    }
    return req;
  };

  const serverNew = (type: number, callback: unknown): EspObject | undefined => {
    if (typeof callback !== 'function') {
      board.log(`ERROR: Expecting Callback Function but got ${typeName(callback)}`);
      return undefined;
    }
    const server = objects.create((type & ST_TYPE_MASK) === ST_HTTP ? 'httpSrv' : 'Server');
    state(server).type = type;
    objects.setCallback(server, 'connect', callback as Fn);
    return server;
  };

  const listen = (type: number) => function (this: EspObject, port: unknown): EspObject {
    online();
    ss.listen(this, Number(port) | 0, type);
    return this;
  };
  const serverClose = function (this: EspObject): void {
    online();
    ss.serverClose(this);
  };
  const socketWrite = function (this: EspObject, data: unknown): boolean {
    online();
    clientWrite(this, data);
    return false;
  };
  const socketEnd = function (this: EspObject, data: unknown): void {
    online();
    if (data !== undefined) clientWrite(this, data);
    clientEnd(this);
  };

  /** serverResponseWriteHead */
  const writeHead = (res: EspObject, statusCode: number, explicit: unknown): void => {
    if (explicit !== undefined && (explicit === null || typeof explicit !== 'object')) {
      board.log('ERROR: Headers sent to writeHead should be an object');
      return;
    }
    const s = state(res);
    if (s.dSnd !== undefined) {
      board.log('ERROR: Headers have already been sent');
      return;
    }
    const headers = { ...(res.headers as object | undefined), ...(explicit as object | undefined) };
    const head = responseHead(statusCode, headers, board.version);
    s.dSnd = head.head;
    if (head.chunked) s.chunked = true;
  };

  /** serverResponseWrite */
  const responseWrite = (res: EspObject, data: unknown): void => {
    if (!ss.isOpen(res)) throw ss.exception('This socket is closed');
    const s = state(res);
    if (s.dSnd === undefined) writeHead(res, 200, undefined);
    if (data === undefined || s.dSnd === undefined) return;
    const str = String(data);
    s.dSnd += s.chunked ? `${str.length.toString(16)}\r\n${str}\r\n` : str;
  };

  /** serverResponseEnd */
  const responseEnd = (res: EspObject): void => {
    responseWrite(res, state(res).chunked ? '' : undefined);
    state(res).cls = true;
  };

  const stream = objects.streamMethods();

  objects.defineClass('Socket', { write: socketWrite, end: socketEnd, ...stream });
  objects.defineClass('Server', { listen: listen(ST_NORMAL), close: serverClose });
  objects.defineClass('httpSrv', { listen: listen(ST_HTTP), close: serverClose });
  objects.defineClass('httpSRq', { ...stream });
  objects.defineClass('httpSRs', {
    write(this: EspObject, data: unknown) {
      responseWrite(this, data);
      return false;
    },
    end(this: EspObject, data: unknown) {
      if (data !== undefined) responseWrite(this, data);
      responseEnd(this);
    },
    writeHead(this: EspObject, statusCode: unknown, headers: unknown) { writeHead(this, Number(statusCode) | 0, headers); },
    setHeader(this: EspObject, name: unknown, value: unknown) {
      if (!isObject(this.headers)) this.headers = objects.object();
      (this.headers as EspObject)[String(name)] = String(value);
    },
  });
  objects.defineClass('httpCRq', { write: socketWrite, end: socketEnd });
  objects.defineClass('httpCRs', { ...stream });
  objects.defineClass('dgramSocket', {
    // send(buffer, [offset, length,] port, address)
    send(this: EspObject, buffer: unknown, offset: unknown, length: unknown, ...args: unknown[]) {
      online();
      if (typeof args[0] === 'number') {
        const from = Number(offset) | 0;
        clientWrite(this, String(buffer).substring(from, from + (Number(length) | 0)), args[1], args[0]);
      } else clientWrite(this, buffer, length, Number(offset) | 0);
    },
    bind(this: EspObject, port: unknown, callback: unknown) {
      online();
      if (typeof callback === 'function') objects.setCallback(this, 'bind', callback as Fn);
      ss.listen(this, Number(port) | 0, ST_UDP);
      objects.queue(this, 'bind', [this]);
      return this;
    },
    close(this: EspObject) {
      online();
      clientEnd(this);
    },
    addMembership(this: EspObject, group: unknown, ip: unknown) {
      const o = state(this).opt;
      if (o) Object.assign(o, { multicastGroup: group, multicastIp: ip });
    },
  });

  board.addModule('NetworkJS', objects.object({
    create(obj: unknown) {
      ss.device = obj as EspObject;
      return obj;
    },
  }));
  board.addModule('net', objects.object({
    connect: (options: unknown, cb: unknown) => netConnect(options, cb, ST_NORMAL),
    createServer: (cb: unknown) => serverNew(ST_NORMAL, cb),
  }));
  board.addModule('tls', objects.object({
    connect: (options: unknown, cb: unknown) => netConnect(options, cb, ST_NORMAL | ST_TLS),
  }));
  board.addModule('http', objects.object({
    createServer: (cb: unknown) => serverNew(ST_HTTP, cb),
    request: (options: unknown, cb: unknown) => netConnect(options, cb, ST_HTTP),
    get(options: unknown, cb: unknown) {
      online();
      if (isObject(options)) options.method = 'GET';
      if (badCallback(cb)) return undefined;
      const req = netConnect(options, cb, ST_HTTP);
      if (req) clientEnd(req);
      return req;
    },
  }));
  board.addModule('dgram', objects.object({
    createSocket: (type: unknown, cb: unknown) => netConnect(isObject(type) ? type : objects.object(), cb, ST_UDP),
  }));
  board.global.url = objects.object({
    parse: (u: unknown, parseQuery: unknown) => (typeof u === 'string' ? urlParse(u, !!parseQuery, (p) => objects.object(p)) : undefined),
  });
}
