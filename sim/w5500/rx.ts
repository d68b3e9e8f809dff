// Receive-side framing (§4.6, §4.7): what the chip writes in front of each UDP datagram and each
// MACRAW frame, the MACRAW filters, and the Wake-on-LAN magic packet.
import { MACRAW_HEADER, SnMr } from './constants';

/** The 8-byte header before a UDP datagram: peer IP, peer port, payload length. */
export function udpHeader(srcIp: number, srcPort: number, length: number): Uint8Array {
  return Uint8Array.of(srcIp >>> 24, (srcIp >>> 16) & 255, (srcIp >>> 8) & 255, srcIp & 255,
    srcPort >> 8, srcPort & 255, length >> 8, length & 255);
}

/** The 2-byte header before a MACRAW frame: its length including these two bytes. */
export function macrawHeader(frameLength: number): Uint8Array {
  const total = MACRAW_HEADER + frameLength;
  return Uint8Array.of(total >> 8, total & 255);
}

/** Why Sn_MR's MACRAW flags (MFEN, BCASTB, MMB, MIP6B) drop this frame, or '' to keep it. */
export function macrawFilter(mr: number, frame: Uint8Array, ownMac: Uint8Array): string {
  const dst = frame.subarray(0, 6);
  const bcast = dst.every((b) => b === 0xff);
  const mcast = !bcast && (dst[0] & 1) === 1;
  if (mr & SnMr.MULTI_MFEN && !bcast && !dst.every((b, i) => b === ownMac[i])) return 'MFEN: not for us';
  if (mr & SnMr.BCASTB && bcast) return 'BCASTB';
  if (mr & SnMr.ND_MC_MMB && mcast) return 'MMB';
  if (mr & SnMr.UCASTB_MIP6B && ((frame[12] << 8) | frame[13]) === 0x86dd) return 'MIP6B';
  return '';
}

/** 6 × 0xFF then 16 × our MAC, anywhere in the payload (MR.WOL). */
export function isMagicPacket(p: Uint8Array, mac: Uint8Array): boolean {
  for (let i = 0; i + 102 <= p.length; i++) {
    let ok = true;
    for (let k = 0; k < 6 && ok; k++) ok = p[i + k] === 0xff;
    for (let k = 0; k < 96 && ok; k++) ok = p[i + 6 + k] === mac[k % 6];
    if (ok) return true;
  }
  return false;
}

