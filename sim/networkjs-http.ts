// The text side of Espruino's HTTP, as libs/network/socketserver.c and jswrap_net.c do it: url.parse,
// the request and response heads it writes, and the head parser (quirks kept: it scans the whole
// buffer, so a body line like "a: b" becomes a header; the status reason is always "OK").
import type { EspObject } from './networkjs-objects';

type MakeObject = (props?: Record<string, unknown>) => EspObject;

/** jsvObjectGetChildI: a property by case-insensitive name. */
export function childI(o: unknown, name: string): unknown {
  if (!o || typeof o !== 'object') return undefined;
  const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : (o as Record<string, unknown>)[key];
}

/** jsvAsString, as %v prints a value. */
export function asString(v: unknown): string {
  return String(v);
}

function isChunked(v: unknown): boolean {
  return typeof v === 'string' && v.toLowerCase() === 'chunked';
}

/** jswrap_url_parse: { protocol?, method, host, path, pathname, search, port, query }. */
export function urlParse(url: string, parseQuery: boolean, make: MakeObject): EspObject {
  let slashes = 0, colons = 0, addrStart = -1, portStart = -1, pathStart = -1, searchStart = -1, port = 0;
  for (let i = 0; i < url.length; i++) {
    const ch = url[i];
    if (ch === '/') {
      slashes++;
      if (pathStart < 0) pathStart = i;
      if (colons === 1 && slashes === 2 && addrStart < 0) {
        addrStart = i;
        pathStart = -1;
        searchStart = -1;
      }
    }
    if (ch === ':') {
      colons++;
      if (addrStart >= 0 && pathStart < 0) portStart = i;
    }
    if (portStart >= 0 && i > portStart && pathStart < 0 && ch >= '0' && ch <= '9') port = port * 10 + Number(ch);
    if (ch === '?' && pathStart >= 0) searchStart = i;
  }
  if (pathStart < 0) pathStart = url.length;
  const addrEnd = portStart >= 0 ? portStart : pathStart;
  const o = make();
  if (addrStart > 0) o.protocol = url.substring(0, addrStart - 1);
  o.method = 'GET';
  o.host = url.substring(addrStart + 1, addrEnd);
  o.path = url.substring(pathStart) || '/';
  o.pathname = url.substring(pathStart, searchStart >= 0 ? searchStart : url.length) || '/';
  o.search = searchStart >= 0 ? url.substring(searchStart) : null;
  o.port = port <= 0 || port > 65535 ? null : port;
  let query: unknown = searchStart >= 0 ? url.substring(searchStart + 1) : null;
  if (parseQuery && typeof query === 'string') {
    const q = make();
    for (const pair of query.split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const decode = (s: string) => s.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
      q[decode(eq < 0 ? pair : pair.substring(0, eq))] = eq < 0 ? '' : decode(pair.substring(eq + 1));
    }
    query = q;
  }
  o.query = query;
  return o;
}

function appendHeaders(headers: unknown): string {
  let s = '';
  if (headers && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers)) s += `${k}: ${asString(v)}\r\n`;
  }
  return s;
}

/** The head clientRequestWrite puts before an HTTP client's first data; chunked: the caller must
 *  frame what it writes. */
export function requestHead(options: Record<string, unknown>, version: string): { head: string; chunked: boolean } {
  let head = `${asString(options.method)} ${asString(options.path)} HTTP/1.1\r\nUser-Agent: Espruino ${version}\r\nConnection: close\r\n`;
  const headers = options.headers;
  let hasHost = false, chunked = false;
  if (headers && typeof headers === 'object') {
    hasHost = childI(headers, 'Host') !== undefined;
    head += appendHeaders(headers);
    chunked = isChunked((headers as Record<string, unknown>)['Transfer-Encoding']);
  }
  if (!hasHost) {
    const port = Number(options.port) | 0;
    head += port > 0 && port !== 80 ? `Host: ${asString(options.host)}:${port}\r\n` : `Host: ${asString(options.host)}\r\n`;
  }
  return { head: head + '\r\n', chunked };
}

/** serverResponseWriteHead's text (the reason phrase is always OK). */
export function responseHead(statusCode: number, headers: Record<string, unknown>, version: string): { head: string; chunked: boolean } {
  return {
    head: `HTTP/1.1 ${statusCode} OK\r\nServer: Espruino ${version}\r\n${appendHeaders(headers)}\r\n`,
    chunked: isChunked(childI(headers, 'Transfer-Encoding')),
  };
}

/** What httpParseHeaders sets on the reader. */
export interface ParsedHead {
  headers: EspObject;
  chunked: boolean;
  /** Bytes still to receive: Content-Length, or 1 while chunked. */
  cRcv: number;
  /** Server side: method and url; client side: httpVersion, statusCode (a string), statusMessage. */
  fields: Record<string, string>;
  /** The data after the head. */
  rest: string;
}

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\v' || ch === '\f';
}

/** httpParseHeaders: undefined until the head's blank line has arrived. */
export function parseHead(data: string, isServer: boolean, make: MakeObject): ParsedHead | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const headerEnd = end + 4;
  const headers = make();
  let firstSpace = -1, secondSpace = -1, firstEOL = -1, lineNumber = 0, lastLineStart = 0, colonPos = 0, valueStart = 0;
  for (let i = 0; i < data.length; i++) {
    const ch = data[i];
    if (ch === ' ' || ch === '\r') {
      if (firstSpace < 0) firstSpace = i;
      else if (secondSpace < 0) secondSpace = i;
    }
    if (ch === ':' && colonPos < 0) colonPos = i;
    else if (colonPos > 0 && !valueStart && !isWhitespace(ch)) valueStart = i;
    if (ch === '\r') {
      if (firstEOL < 0) firstEOL = i;
      if (lineNumber > 0 && colonPos > lastLineStart && valueStart > lastLineStart && lastLineStart < i) {
        const key = data.substring(lastLineStart, colonPos);
        // jsvAddName adds a second child of the same name; lookups find the first
        if (!(key in headers)) headers[key] = data.substring(valueStart, i);
      }
      lineNumber++;
      colonPos = -1;
      valueStart = 0;
    }
    if (ch === '\r' || ch === '\n') lastLineStart = i + 1;
  }
  const chunked = isChunked(childI(headers, 'Transfer-Encoding'));
  const cRcv = chunked ? 1 : parseInt(asString(childI(headers, 'Content-Length')), 10) || 0;
  const fields: Record<string, string> = isServer
    ? { method: data.substring(0, firstSpace), url: data.substring(firstSpace + 1, secondSpace) }
    : {
      httpVersion: data.substring(5, firstSpace),
      statusCode: data.substring(firstSpace + 1, secondSpace),
      statusMessage: data.substring(secondSpace + 1, firstEOL),
    };
  return { headers, chunked, cRcv, fields, rest: data.substring(headerEnd) };
}
