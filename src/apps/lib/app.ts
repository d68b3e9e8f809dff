// What pub and sub share: checking their settings, bringing the network up (W5500, DHCP with static
// fallback, DNS), the robust MQTT client, log lines, and giving every resource back. An app calls
// app() at top level: it starts on power-up after save() (E 'init'), and stops before reset(),
// load() or save() (E 'kill') so that no socket is left open on the chip and no timer is saved.
// A bundle holds one app, so its state is module variables and its handlers module functions: on
// Espruino every function expression evaluated copies its source.
import { W5500 } from '../../net/w5500';
import { Dhcp } from '../../net/dhcp';
import { Dns } from '../../net/dns';
import { RobustClient } from '../../mqtt/robust';
import { COMMON, KINDS, Settings } from './app-config';

// Espruino's Pin and SPI constructors; @types/espruino declares only their instance types.
declare const Pin: Function;
declare const SPI: Function;

/** The client (the app registers its handlers in its `go`) and the chip. */
export let c: RobustClient, chip: W5500;
let s: Settings, name: string, kinds: string, go: () => void, dhcp: Dhcp;
// on: 0 stopped (or never started), 1 started, 2 connecting or connected
let on: any;

export function log(m: string): void {
  print(name + ': ' + m);
}

export function oops(e: any): void {
  log('error: ' + e.message);
}

// Also E 'kill' (before reset(), load() or save()): nothing asynchronous completes any more, so
// everything closes at once. A second call (after disconnect() from end()) finds nothing to do.
function release(): void {
  if (on) {
    on = 0;
    c.disconnect();
    dhcp.stop();
    chip.close();
  }
}

/** Unsubscribe from `topic`, disconnect, release everything, log 'done'. */
export function end(topic: string): void {
  c.unsubscribe(topic, function () {
    c.disconnect(function () {
      release();
      log('done');
    });
  });
}

// The first address (a lease or the static settings) connects; a later one, the client follows.
function online(m: string): void {
  log(m);
  if (on < 2) c.connect(go);
  on = 2;
}

function leased(l: { ip: string }): void {
  online('DHCP lease ' + l.ip);
}

function start(): void {
  let i = 0;
  for (const k in s) {
    // x: the kind's letter (a = 0), in app-config.ts's order. y|0 is exact up to 2^31, above every
    // range here, and y is then a number, so r[] compare as numbers. Espruino's regexps lack {n}.
    const x = kinds.charCodeAt(i++) - 97, t = KINDS[x], y = (s as any)[k], r = t.split('-');
    if (!(x > 6 ? y === (y | 0) && y >= r[0] && y <= r[1] :
      x > 4 ? y instanceof Pin || x > 5 && y === undefined :
        x > 3 ? y instanceof SPI :
          x > 2 ? y === !!y :
            typeof y == 'string' && (!x || y && (x < 2 ||
              /^\d+\.\d+\.\d+\.\d+$/.test(y) && Math.max.apply(0, y.split('.') as any) < 256)))) {
      return log('setting ' + k + ' must be ' + t);
    }
  }
  s.SPI.setup({ sck: s.SCK, miso: s.MISO, mosi: s.MOSI, baud: s.BAUD });
  const w = chip = new W5500(s.SPI, { cs: s.CS, rst: s.RST, int: s.INT });
  const d = dhcp = new Dhcp(w, {
    hostname: name, mode: s.DHCP ? 'dhcp' : 'static', timeoutMs: s.DHCP_TIMEOUT,
    fallback: { ip: s.IP, subnet: s.SUBNET, gateway: s.GATEWAY, dns: [s.DNS] },
  });
  const dns = new Dns(w, function () { return w.getIP().dns as string[]; });
  c = new RobustClient({
    host: s.BROKER, port: s.PORT,
    // pub and sub differ even on one board: the broker keeps each one's session (clean: false) apart
    clientId: s.CLIENT_ID || name + getSerial().replace(/\W/g, '').slice(-20),
    username: s.USER || null as any, password: s.PASSWORD || null as any,
    keepalive: s.KEEPALIVE, clean: false, debug: s.DEBUG, link: w,
  }, function () { return w.tcp({ resolve: dns.resolve }); });
  on = 1;

  w.on('link', function (up: boolean) { log('link ' + (up ? 'up' : 'down')); });
  d.on('lease', leased).on('changed', leased)
    .on('lost', function () { log('DHCP lease lost'); })
    .on('fallback', function (f: any) { online('static ' + f.ip); });
  c.on('connected', function () { log('connected to ' + s.BROKER + ':' + s.PORT); })
    .on('disconnected', function (e: any) { log('disconnected' + (e ? ': ' + e.message : '')); })
    .on('reconnect', function (n: number, ms: number) { log('reconnect ' + n + ' in ' + (ms / 1000).toFixed(1) + ' s'); })
    .on('error', oops)
    .on('kicked', oops); // closed right after CONNACK, repeatedly: another device has our client id

  w.init(function (err) {
    if (err) log(err.message);
    else {
      log('W5500 up, MAC ' + w.getIP().mac);
      d.start();
    }
  });
}

/** own: the kinds of the app's own settings, after DEBUG (see app-config.ts); go: called once, at
 *  the first connection, to subscribe and start the app's work. */
export function app(appName: string, settings: Settings, own: string, appGo: () => void): void {
  name = appName;
  s = settings;
  kinds = COMMON + own;
  go = appGo;
  E.on('init', start);
  E.on('kill', release);
}
