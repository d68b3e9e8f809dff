// Addresses are dotted strings in the API and bytes on the wire.

export const ANY = '0.0.0.0';
export const BROADCAST = '255.255.255.255';

export function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

export function ipString(b: Uint8Array, at: number): string {
  return b.subarray(at, at + 4).join('.');
}

/** True for a dotted IPv4 literal (no top-level domain is all digits, so nothing else looks like one). */
export function isIp(s: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(s);
}
