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
import { check, Settings } from './app-config';

/** The client (the app registers its handlers in its `go`) and the chip. */
export let c: RobustClient, chip: W5500;
let s: Settings, name: string, kinds: string, go: () => void;
// on: 0 stopped (or never started), 1 started, 2 connecting or connected
let dhcp: Dhcp, on: any;

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
  const bad = check(s, kinds);
  if (bad) return log('setting ' + bad);
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
    clientId: s.CLIENT_ID || name + getSerial().replace(/\W/g, '').slice(-20), username: s.USER || null as any,
    password: s.PASSWORD || null as any, keepalive: s.KEEPALIVE, clean: false, debug: s.DEBUG, link: w,
  }, function () { return w.tcp({ resolve: dns.resolve }); });
  on = 1;

  w.on('link', function (up: boolean) { log('link ' + (up ? 'up' : 'down')); });
  d.on('lease', leased);
  d.on('changed', leased);
  d.on('lost', function () { log('DHCP lease lost'); });
  d.on('fallback', function (f: any) { online('static ' + f.ip + ' (no DHCP answer)'); });
  c.on('connected', function () { log('connected to ' + s.BROKER + ':' + s.PORT); });
  c.on('disconnected', function (e: any) { log('disconnected' + (e ? ': ' + e.message : '')); });
  c.on('reconnect', function (n: number, ms: number) { log('reconnect ' + n + ' in ' + (ms / 1000).toFixed(1) + ' s'); });
  c.on('error', oops);
  c.on('kicked', oops); // closed right after CONNACK, repeatedly: another device has our client id

  w.init(function (err) {
    if (err) log(err.message);
    else {
      log('W5500 up, MAC ' + w.getIP().mac);
      d.start();
    }
  });
}

/** kinds: one letter per setting, in order (see app-config.ts); go: called once, at the first
 *  connection, to subscribe and start the app's work. */
export function app(appName: string, settings: Settings, settingKinds: string, appGo: () => void): void {
  name = appName;
  s = settings;
  kinds = settingKinds;
  go = appGo;
  E.on('init', start);
  E.on('kill', release);
}
