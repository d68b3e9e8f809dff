// Numbers and conversions of Espruino's network code, shared by the simulator's socket layer and modules.
import { ST_TLS } from './networkjs-tls';

// SocketType (libs/network/network.h)
export const ST_NORMAL = 0;
export const ST_HTTP = 1;
export const ST_UDP = 2;
export const ST_TYPE_MASK = 3;
export { ST_TLS };

// SocketError (libs/network/socketerrors.h) and the texts of socketerrors.c
export const SOCKET_ERR = {
  CLOSED: -1, MEM: -2, TIMEOUT: -3, NO_ROUTE: -4, BUSY: -5, NOT_FOUND: -6, MAX_SOCK: -7, UNSENT_DATA: -8,
  RESET: -9, UNKNOWN: -10, NO_CONN: -11, BAD_ARG: -12, SSL_HAND: -13, SSL_INVALID: -14, NO_RESP: -15,
} as const;
const ERROR_TEXT = ['connection closed', 'out of memory', 'timeout', 'no route', 'busy', 'not found', 'max sockets',
  'unsent data', 'connection reset', 'unknown error', 'no connection', 'bad argument', 'SSL handshake failed',
  'invalid SSL data', 'no response'];

export function socketErrorString(error: number): string {
  return ERROR_TEXT[-1 - (error < SOCKET_ERR.NO_RESP ? SOCKET_ERR.UNKNOWN : error)];
}

/** net->chunkSize of the JS network (network_js.c). */
export const CHUNK_SIZE = 536;
/** How often the simulated idle loop runs (Espruino runs it continuously while sockets exist). */
export const IDLE_MS = 1;
/** What the JS network's gethostbyname gives for a name: "not found yet", create() gets the name. */
export const HOST_BY_NAME = 0xffffffff;

/** networkParseIPAddress: "a.b.c.d" (or localhost) as the uint32 the C code stores; 0 if not an IP. */
export function parseIp(ip: string): number {
  if (ip === 'localhost') return 0x0100007f;
  let n = 0, addr = 0;
  for (const ch of ip) {
    if (ch >= '0' && ch <= '9') n = n * 10 + Number(ch);
    else if (ch === '.') {
      addr = ((addr >>> 8) | (n << 24)) >>> 0;
      n = 0;
    } else return 0;
  }
  return ((addr >>> 8) | (n << 24)) >>> 0;
}

export function ipToString(addr: number): string {
  return `${addr & 255}.${(addr >>> 8) & 255}.${(addr >>> 16) & 255}.${addr >>> 24}`;
}

export function toInt(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return parseInt(v, 10) || 0;
  return 0;
}
