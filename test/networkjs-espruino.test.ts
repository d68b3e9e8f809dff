// The simulated board's socket layer (sim/networkjs.ts) against Espruino itself: each case is a
// firmware script with a JavaScript NetworkJS device that prints every call the socket layer makes
// and every event the board's objects get. The transcripts were recorded by running the same scripts
// on the Espruino 2v29.277 Linux build (/work/espruino-bin, no unicode); the simulator must print the
// same lines in the same order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Board } from '../sim/espruino.ts';
import { addNetworkJS } from '../sim/networkjs.ts';
import { waitFor } from './helpers/networkjs-board.ts';

const CASES: { name: string; script: string; transcript: string[] }[] = [
  {
    name: "net client: send() before connect is taken in 536-byte chunks; -11 holds 'connect'; data comes before the queued 'connect'; -1 closes without error",
    script: String.raw`function L(a,b,c,d,e,f){ print("DEV " + JSON.stringify([a,b,c,d,e,f])); }
var polls = 0;
var dev = {
  create: function(host, port, type, opts) { L('create', host, port, type, Object.keys(opts)); return 3; },
  close: function(s) { L('close', s); },
  accept: function(s) { return -1; },
  recv: function(s, max, type) { polls++; if (polls < 3) L('recv', s, max, type, polls);
    if (polls < 5) return -11;
    if (polls == 5) return "hello";
    if (polls == 7) return -1;
    return ""; },
  send: function(s, d, type) { L('send', s, d.length, type, d.substr(0, 8)); return d.length; }
};
print(require('NetworkJS').create(dev) === dev);
var c = require('net').connect({host:'example.com', port:1234}, function(){ print('CB connect'); });
c.on('data', function(d){ print('EV data ' + JSON.stringify(d)); });
c.on('end', function(){ print('EV end'); });
c.on('close', function(e){ print('EV close ' + e); });
c.on('error', function(e){ print('EV error ' + JSON.stringify(e)); });
c.write('abc');
var big = ''; for (var i=0;i<1200;i++) big += String.fromCharCode(65 + i%26);
c.write(big);`,
    transcript: String.raw`true
DEV ["create","example.com",1234,0,["host","port"],null]
DEV ["send",3,536,0,"abcABCDE",null]
DEV ["recv",3,536,0,1,null]
DEV ["send",3,536,0,"NOPQRSTU",null]
DEV ["recv",3,536,0,2,null]
DEV ["send",3,131,0,"DEFGHIJK",null]
EV data "hello"
CB connect
DEV ["close",3,null,null,null,null]
EV end
EV close false`.split('\n'),
  },
  {
    name: "net client: send() returning 0 holds the data; recv \"\" after connecting fires 'connect'; 'drain'; an error code gives 'error' {code, message}, 'end', 'close'(true)",
    script: String.raw`function L(a,b,c,d,e,f){ print("DEV " + JSON.stringify([a,b,c,d,e,f])); }
var polls = 0, up = false;
var dev = {
  create: function(host, port, type, opts) { L('create', host, port, type, opts); return 2; },
  close: function(s) { L('close', s); },
  accept: function(s) { return -1; },
  recv: function(s, max, type) { polls++; if (polls == 10) { up = true; L('now up'); }
    if (polls == 3 || polls == 12) L('recv', s, max, type, polls);
    if (!up) return -11;
    if (polls == 20) return "hello";
    if (polls == 30) return -9;
    return ""; },
  send: function(s, d, type) { if (!up) return 0; L('send', s, d.length, type, d); return d.length; }
};
require('NetworkJS').create(dev);
var c = require('net').connect({host:'10.1.2.3', port:80}, function(){ print('CB connect'); });
c.on('data', function(d){ print('EV data ' + JSON.stringify(d)); });
c.on('drain', function(){ print('EV drain'); });
c.on('end', function(){ print('EV end'); });
c.on('close', function(e){ print('EV close ' + e); });
c.on('error', function(e){ print('EV error ' + JSON.stringify(e)); });
c.write('abc');`,
    transcript: String.raw`DEV ["create","10.1.2.3",80,0,{"host":"10.1.2.3","port":80},null]
DEV ["recv",2,536,0,3,null]
DEV ["now up",null,null,null,null,null]
CB connect
DEV ["send",2,3,0,"abc",null]
EV drain
DEV ["recv",2,536,0,12,null]
EV data "hello"
DEV ["close",2,null,null,null,null]
EV error {"code":-9,"message":"connection reset"}
EV end
EV close true`.split('\n'),
  },
  {
    name: "dgram: the header gives address, port and size; a datagram split across two recv() is delivered short",
    script: String.raw`function L(a,b,c,d,e,f){ print("DEV " + JSON.stringify([a,b,c,d,e,f])); }
var k = 0;
var dev = {
  create: function(host, port, type, opts) { L('create', host, port, type, opts); return 0; },
  close: function(s) { L('close', s); },
  accept: function(s) { return -1; },
  recv: function(s, max, type) { k++;
    if (k == 5) return E.toString([10,0,0,9, 0x39,0x30, 3,0]) + "xyz";
    if (k == 6) return E.toString([10,0,0,9, 0x39,0x30, 3,0]) + "ab";
    if (k == 7) return "c";
    return ""; },
  send: function(s, d, type) { return d.length; }
};
require('NetworkJS').create(dev);
var b = require('dgram').createSocket('udp4');
b.bind(5000);
b.on('message', function(m, r){ print('b message ' + JSON.stringify(m) + ' ' + JSON.stringify(r)); });
setTimeout(function(){ b.close(); }, 200);`,
    transcript: String.raw`DEV ["create",null,5000,2,{},null]
b message "xyz" {"address":"10.0.0.9","port":12345,"size":3}
b message "ab" {"address":"10.0.0.9","port":12345,"size":3}
DEV ["close",0,null,null,null,null]`.split('\n'),
  },
  {
    name: "http: a client's request head and create(); a server's accept(), request parsing, response head (sent as type 0), chunked response",
    script: String.raw`function L(a,b,c,d,e,f){ print("DEV " + JSON.stringify([a,b,c,d,e,f])); }
var k = 0, acc = 0, rq = 0;
var dev = {
  create: function(host, port, type, opts) { L('create', host, port, type, opts); return host===undefined ? 5 : 1; },
  close: function(s) { L('close', s); },
  accept: function(s) { if (++acc == 3) { L('accept', s); return 6; } return -1; },
  recv: function(s, max, type) { k++;
    if (s == 6) { rq++; if (rq == 2) return "POST /path?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel"; if (rq==4) return "lo"; return ""; }
    if (s == 1) { if (k == 10) return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"; if (k == 14) return "0\r\n\r\n"; }
    return ""; },
  send: function(s, d, type) { L('send', s, d.length, type, d); return d.length; }
};
require('NetworkJS').create(dev);
require('http').createServer(function(req, res) {
  print('SRV req ' + req.method + ' ' + req.url + ' ' + JSON.stringify(req.headers));
  req.on('data', function(d){ print('SRV data ' + JSON.stringify(d)); });
  req.on('end', function(){ print('SRV end'); });
  req.on('close', function(){ print('SRV close'); });
  res.writeHead(201, {'X-A': 'b'});
  res.end('bye');
}).listen(8080);
require('http').get('http://example.com:81/foo?q', function(res) {
  print('CLI res ' + res.statusCode + ' ' + res.statusMessage + ' ' + res.httpVersion + ' ' + JSON.stringify(res.headers));
  res.on('data', function(d){ print('CLI data ' + JSON.stringify(d)); });
  res.on('end', function(){ print('CLI end'); });
  res.on('close', function(e){ print('CLI close ' + e); });
});`,
    transcript: String.raw`DEV ["create",null,8080,1,null,null]
DEV ["create","example.com",81,1,{"protocol":"http:","method":"GET","host":"example.com","path":"/foo?q","pathname":"/foo","search":"?q","port":81,"query":"q"},null]
DEV ["send",1,95,1,"GET /foo?q HTTP/1.1\r\nUser-Agent: Espruino 2v29.277\r\nConnection: close\r\nHost: example.com:81\r\n\r\n",null]
DEV ["accept",5,null,null,null,null]
SRV req POST /path?x=1 {"Host":"a","Content-Length":"5"}
SRV data "hel"
DEV ["send",6,76,0,"HTTP/1.1 201 OK\r\nServer: Espruino 2v29.277\r\nConnection: close\r\nX-A: b\r\n\r\nbye",null]
SRV data "lo"
CLI res 200 OK 1.1 {"Content-Type":"text/plain","Transfer-Encoding":"chunked"}
CLI data "hello"
DEV ["close",6,null,null,null,null]
SRV end
SRV close
DEV ["close",1,null,null,null,null]
CLI end
CLI close false`.split('\n'),
  },
  {
    name: "net server: accept() gives a Socket; its recv() -1 closes it",
    script: String.raw`function L(a,b,c,d,e,f){ print("DEV " + JSON.stringify([a,b,c,d,e,f])); }
var acc = 0, rq = 0;
var dev = {
  create: function(host, port, type, opts) { L('create', host, port, type); return 5; },
  close: function(s) { L('close', s); },
  accept: function(s) { if (++acc == 3) { L('accept', s); return 6; } return -1; },
  recv: function(s, max, type) { rq++; if (rq == 2) return "abc"; if (rq > 3) { if (rq % 1000 == 0) L('recv', s, rq); return -1; } return ""; },
  send: function(s, d, type) { L('send', s, d); return d.length; }
};
require('NetworkJS').create(dev);
require('net').createServer(function(c) {
  print('SRV conn');
  c.on('data', function(d){ print('SRV data ' + JSON.stringify(d)); });
  c.on('end', function(){ print('SRV end'); });
  c.on('close', function(e){ print('SRV close ' + e); });
  c.on('error', function(e){ print('SRV error ' + JSON.stringify(e)); });
  setTimeout(function(){ print('user end'); c.end(); }, 100);
}).listen(8080);`,
    transcript: String.raw`DEV ["create",null,8080,0,null,null]
DEV ["accept",5,null,null,null,null]
SRV conn
SRV data "abc"
DEV ["close",6,null,null,null,null]
SRV end
SRV close false
user end`.split('\n'),
  },
  {
    name: "dgram send(): one call with every queued datagram behind its header; a name becomes 255.255.255.255; recvBufferSize raises maxLen",
    script: String.raw`function L(a,b,c,d,e,f){ print("DEV " + JSON.stringify([a,b,c,d,e,f])); }
function hex(d){ var s=''; for (var i=0;i<d.length;i++) s+=(256+d.charCodeAt(i)).toString(16).substr(1); return s; }
var n = 0;
var dev = {
  create: function(host, port, type, opts) { L('create', host, port, type, opts); return n++; },
  close: function(s) { L('close', s); },
  accept: function(s) { return -1; },
  recv: function(s, max, type) { return ""; },
  send: function(s, d, type) { var len = d.charCodeAt(6) | d.charCodeAt(7) << 8; L('send', s, d.length, type, hex(d)); return 8 + len; }
};
require('NetworkJS').create(dev);
var u = require('dgram').createSocket('udp4');
u.send('hello', 1234, '10.0.0.5');
u.send('worl', 1235, 'example.org');
var b = require('dgram').createSocket({type:'udp4', recvBufferSize: 2000});
b.bind(5000);
var o = { recv: dev.recv };
dev.recv = function (s, max, type) { if (!o.done) { o.done = 1; L('recv', s, max, type); } return ""; };
setTimeout(function(){ u.close(); b.close(); }, 100);`,
    transcript: String.raw`DEV ["create","127.0.0.1",0,2,{},null]
DEV ["create",null,5000,2,{"type":"udp4","recvBufferSize":2000},null]
DEV ["recv",1,2000,2,null,null]
DEV ["send",0,25,2,"0a000005d204050068656c6c6fffffffffd3040400776f726c",null]
DEV ["send",0,12,2,"ffffffffd3040400776f726c",null]
DEV ["close",1,null,null,null,null]
DEV ["close",0,null,null,null,null]`.split('\n'),
  },
];


for (const c of CASES) {
  test(`as on Espruino: ${c.name}`, async () => {
    const lines: string[] = [];
    const board = new Board({ version: '2v29.277', log: (l) => lines.push(l) });
    const ss = addNetworkJS(board);
    try {
      board.run(c.script, 'case.js');
      await waitFor(() => lines.length >= c.transcript.length, 3000, `${c.transcript.length} lines (got ${JSON.stringify(lines)})`);
      // Nothing more comes after the recorded end
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(lines, c.transcript);
      assert.deepEqual(board.uncaught, []);
    } finally {
      ss.stop();
      board.dispose();
    }
  });
}
