// The apps' settings are checked at start, so that a wrong value is reported by name ("setting PORT
// must be 1-65535") instead of failing later deep in the stack. An app gives the kind of each setting
// as one letter per setting, in the block's order: its names are then stored only once, in the block.
// Espruino's Pin and SPI constructors; @types/espruino declares only their instance types.
declare const Pin: Function;
declare const SPI: Function;

/** What every app has; a type annotation on the block makes TypeScript refuse a misspelt or extra
 *  name, which would shift the kinds. */
export interface Settings {
  BROKER: string; PORT: number; CLIENT_ID: string; USER: string; PASSWORD: string; TOPIC: string;
  REPLY_TOPIC: string; QOS: number; KEEPALIVE: number; COUNT: number; DHCP: boolean; DHCP_TIMEOUT: number;
  IP: string; SUBNET: string; GATEWAY: string; DNS: string; SPI: SPI; SCK: Pin; MISO: Pin; MOSI: Pin;
  BAUD: number; CS: Pin; RST: Pin | undefined; INT: Pin | undefined; DEBUG: boolean;
}

// The kinds, by letter from a, as the message states them: a rule's name or an integer range lo-hi.
// a nonempty, b text, c bool, d IPv4, e SPI, f pin, g pin|undefined, h 1-65535, i 0-2, j 0-65535,
// k 0-1e6, l 10-864e5, m 0-864e5, n 1e5-8e7
const KINDS = ('nonempty text bool IPv4 SPI pin pin|undefined 1-65535 0-2 0-65535 0-1e6 10-864e5 0-864e5 ' +
  '1e5-8e7').split(' ');

/** '' when every setting is valid, else what is wrong with the first bad one. */
export function check(s: object, kinds: string): string {
  let i = 0;
  for (const k in s) {
    const t = KINDS[kinds.charCodeAt(i++) - 97], v = (s as any)[k], r = t.split('-');
    // v|0 is exact up to 2^31, above every range here; Espruino's regexps have no {n} quantifier
    if (!(r[1] ? v === (v | 0) && v >= +r[0] && v <= +r[1] :
      t == 'bool' ? v === !!v :
        t == 'SPI' ? v instanceof SPI :
          t[0] == 'p' ? v instanceof Pin || t[3] && v === undefined :
            typeof v == 'string' && (t == 'text' || v && (t != 'IPv4' ||
              /^\d+\.\d+\.\d+\.\d+$/.test(v) && Math.max.apply(0, v.split('.') as any) < 256)))) return k + ' must be ' + t;
  }
  return '';
}
