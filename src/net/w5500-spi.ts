// SPI frames to the W5500: one spi.send()/spi.write() per frame (Espruino holds CS low for the whole
// call), and the error codes of the network layer.

// Error codes of the network layer
export const E_NOCHIP = 'ENOCHIP';
export const E_SPI = 'ESPI';
export const E_NOSOCK = 'ENOSOCK';
export const E_TIMEDOUT = 'ETIMEDOUT';
export const E_REFUSED = 'ECONNREFUSED';
export const E_RESET = 'ECONNRESET';
export const E_NOTFOUND = 'ENOTFOUND';
export const E_MSGSIZE = 'EMSGSIZE';
export const E_CLOSED = 'ECLOSED';
export const E_CONFIG = 'ECONFIG';

/** What a frame needs: the SPI port (typed loosely: write() takes the CS pin last) and CS. */
export interface Bus {
  _spi: any;
  _cs: Pin;
}

/** One frame at offset a of block blk (0 common, 4n+1 socket n's registers, 4n+2 its TX buffer,
 *  4n+3 its RX buffer): reads d bytes when d is a number, else writes d (bytes, or arrays of them,
 *  which Espruino clocks out back to back without copying them into one buffer first). */
export function xfer(b: Bus, blk: number, a: number, d: any): any {
  return typeof d == 'number'
    ? b._spi.send([a >> 8, a, blk << 3, { data: 0, count: d }], b._cs).subarray(3)
    : b._spi.write([a >> 8, a, blk << 3 | 4, d], b._cs);
}

/** 16-bit big-endian value at i. */
export function u16(d: Uint8Array, i: number): number {
  return d[i] << 8 | d[i + 1];
}
