// Subscriber: brings up the W5500, connects to the broker, subscribes to the publisher's readings,
// and answers each with the running count on REPLY_TOPIC; after COUNT messages it unsubscribes,
// disconnects and releases everything. Flash: npm run flash -- sub --port /dev/ttyACM0
import { app, c, end, log, oops } from './lib/app';
import { Settings } from './lib/app-config';

// ---- Settings (checked at start; a bad one is named in the log; keep their order) ----
const SETTINGS: Settings = {
  BROKER: '192.168.1.10', // MQTT broker: IP address or host name
  PORT: 1883, // broker TCP port
  CLIENT_ID: '', // MQTT client id; '' = the app's name + this board's serial number
  USER: '', // broker user name; '' = none
  PASSWORD: '', // broker password; '' = none
  TOPIC: 'w5500/demo/data', // topic filter to subscribe to (the publisher's readings)
  REPLY_TOPIC: 'w5500/demo/reply', // the running count is published here, once per message
  QOS: 2, // QoS of the subscription and of the replies: 0, 1 or 2 (2: exactly once, across reconnects)
  KEEPALIVE: 60, // seconds of silence before a ping; the broker drops the client after 1.5x
  COUNT: 10, // messages to receive, then stop; 0 = forever
  DHCP: true, // true: DHCP, with the static address below if no lease comes; false: static only
  DHCP_TIMEOUT: 10000, // ms to wait for a lease before using the static address
  IP: '192.168.1.21', // static address
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
};

let got: number;

function message(topic: string, p: Uint8Array): void {
  if (SETTINGS.COUNT && got >= SETTINGS.COUNT) return; // arrived while unsubscribing
  got++;
  log('got ' + got + ' on ' + topic + ': ' + E.toString(p));
  try {
    c.publish(SETTINGS.REPLY_TOPIC, '' + got, SETTINGS.QOS);
  } catch (e) {
    oops(e);
  }
  if (got == SETTINGS.COUNT) end(SETTINGS.TOPIC);
}

// The first connection; after a reconnect the session still has the subscription.
function go(): void {
  got = 0;
  c.on('message', message);
  c.subscribe(SETTINGS.TOPIC, SETTINGS.QOS, function (e) {
    if (e) oops(e);
    else log('subscribed to ' + SETTINGS.TOPIC);
  });
}

app('sub', SETTINGS, '', go);
