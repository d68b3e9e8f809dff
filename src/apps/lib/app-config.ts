// The apps' settings are checked at start (lib/app.ts), so that a wrong value is reported by name
// ("setting PORT must be 1-65535") instead of failing later deep in the stack. Each setting's kind is
// one letter, by the setting's place in the block: the names are then stored only once, in the block.

/** What every app has, in this order (an app's own settings follow DEBUG); a type annotation on the
 *  block makes TypeScript refuse a misspelt or extra name, which would shift the kinds. */
export interface Settings {
  BROKER: string; PORT: number; CLIENT_ID: string; USER: string; PASSWORD: string; TOPIC: string;
  REPLY_TOPIC: string; QOS: 0 | 1 | 2; KEEPALIVE: number; COUNT: number; DHCP: boolean; DHCP_TIMEOUT: number;
  IP: string; SUBNET: string; GATEWAY: string; DNS: string; SPI: SPI; SCK: Pin; MISO: Pin; MOSI: Pin;
  BAUD: number; CS: Pin; RST: Pin | undefined; INT: Pin | undefined; DEBUG: boolean;
}

/** The kinds of the settings above, one letter each: a text, b nonempty text, c IPv4, d bool, e SPI,
 *  f pin, g pin|undefined, from h an integer range (KINDS). */
export const COMMON = 'bhaaabbijkdmccccefffnfggd';

/** What the message states for each letter from 'a'; the letter's order is what lib/app.ts tests. */
export const KINDS = 'text nonempty IPv4 bool SPI pin pin|undefined 1-65535 0-2 0-65535 0-1e6 10-864e5 0-864e5 1e5-8e7'.split(' ');
