// Publisher: brings up the W5500, connects to the broker and publishes a reading (counter, uptime,
// board temperature, IP) every INTERVAL ms, COUNT times; logs the subscriber's replies; then
// unsubscribes, disconnects and releases everything. Flash: npm run flash -- pub --port /dev/ttyACM0
import { app, c, chip, end, log, oops } from './lib/app';
import { Settings } from './lib/app-config';

// ---- Settings (checked at start; a bad one is named in the log; keep their order) ----
const SETTINGS: Settings & { INTERVAL: number } = {
  BROKER: '192.168.1.10', // MQTT broker: IP address or host name
  PORT: 1883, // broker TCP port
  CLIENT_ID: '', // MQTT client id; '' = the app's name + this board's serial number
  USER: '', // broker user name; '' = none
  PASSWORD: '', // broker password; '' = none
  TOPIC: 'w5500/demo/data', // readings are published here
  REPLY_TOPIC: 'w5500/demo/reply', // the subscriber's replies arrive here
  QOS: 2, // QoS of the readings and of the reply subscription: 0, 1 or 2 (2: exactly once, across reconnects)
  KEEPALIVE: 60, // seconds of silence before a ping; the broker drops the client after 1.5x
  COUNT: 10, // readings to publish, then stop; 0 = forever
  DHCP: true, // true: DHCP, with the static address below if no lease comes; false: static only
  DHCP_TIMEOUT: 10000, // ms to wait for a lease before using the static address
  IP: '192.168.1.20', // static address
  SUBNET: '255.255.255.0', // static subnet mask
  GATEWAY: '192.168.1.1', // static gateway
  DNS: '192.168.1.1', // static DNS server
  SPI: SPI2, // SPI bus wired to the W5500
  SCK: B13, // SPI clock pin
  MISO: B14, // SPI MISO pin
  MOSI: B15, // SPI MOSI pin
  BAUD: 4000000, // SPI clock, Hz (the W5500 takes up to 33 MHz; lower it for long wires)
  CS: B10, // W5500 chip select (SCSn)
  RST: B1, // W5500 reset (RSTn); undefined if not wired
  INT: A8, // W5500 interrupt (INTn); undefined if not wired (then it is polled)
  DEBUG: false, // true: log every MQTT packet
  INTERVAL: 3000, // ms between readings
};

// timer: 0 when none (Espruino's clearInterval(undefined) throws, clearInterval(0) does not)
let sent: number, acked: number, t0: number, timer: any = 0;

// At the end, and on E 'kill' (before reset(), load() or save(), which would keep a running timer).
function stop(): void {
  clearInterval(timer);
  timer = 0;
}

// Offline, the robust client queues the reading; one it refuses (bad input) keeps its number for the next tick.
function tick(): void {
  const n = sent + 1;
  if (SETTINGS.COUNT && sent >= SETTINGS.COUNT) {
    if (acked >= sent) {
      stop();
      end(SETTINGS.REPLY_TOPIC);
    }
    return;
  }
  try {
    c.publish(SETTINGS.TOPIC, JSON.stringify({ n: n, up: getTime() - t0 | 0, temp: +E.getTemperature().toFixed(1), ip: chip.getIP().ip }), SETTINGS.QOS, function (e) {
      acked++;
      if (e) log('lost ' + n + ': ' + e.message);
    });
    sent = n;
    log((c.connected ? 'sent ' : 'queued ') + n);
  } catch (e) {
    oops(e);
  }
}

function reply(topic: string, p: Uint8Array): void {
  log('reply ' + E.toString(p));
}

// The first connection; after a reconnect the session still has the subscription.
function go(): void {
  sent = acked = 0;
  t0 = getTime();
  c.on('message', reply);
  c.subscribe(SETTINGS.REPLY_TOPIC, SETTINGS.QOS);
  timer = setInterval(tick, SETTINGS.INTERVAL);
}

E.on('kill', stop);
// INTERVAL is an integer 10-864e5 (see app-config.ts)
app('pub', SETTINGS, 'l', go);
