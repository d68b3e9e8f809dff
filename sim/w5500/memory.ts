// Socket buffer memory (§5): each socket owns a region of the shared 16 KB TX and RX memories, laid
// out in socket order; an offset maps to base + (offset mod size), so bursts wrap inside the region.
import { MEMORY_SIZE, VALID_BUFFER_KB } from './constants';

export interface Region { base: number; size: number }

/** Lays regions out in socket order from the KB values (a total over 16 KB overlaps and corrupts, as on the chip). */
export function layout(kb: number[]): Region[] {
  let base = 0;
  return kb.map((k) => {
    const r = { base, size: k * 1024 };
    base += r.size;
    return r;
  });
}

/** Why these sizes break transfers, or ''. */
export function layoutProblem(kb: number[]): string {
  const bad = kb.filter((k) => VALID_BUFFER_KB.indexOf(k) < 0);
  if (bad.length) return `buffer size ${bad[0]} KB is not 0/1/2/4/8/16`;
  const total = kb.reduce((a, k) => a + k, 0) * 1024;
  return total > MEMORY_SIZE ? `buffer sizes add up to ${total / 1024} KB, more than 16 KB` : '';
}

/** Copies `length` bytes between `buf` from `at` and a socket's ring from offset `ptr`, either way. */
function ringCopy(mem: Uint8Array, r: Region, ptr: number, buf: Uint8Array, at: number, length: number, toRing: boolean): void {
  if (r.size === 0) return;
  let off = ptr % r.size;
  while (length > 0) {
    const phys = (r.base + off) % MEMORY_SIZE;
    const n = Math.min(length, r.size - off, MEMORY_SIZE - phys);
    if (toRing) mem.set(buf.subarray(at, at + n), phys);
    else buf.set(mem.subarray(phys, phys + n), at);
    at += n;
    length -= n;
    off = (off + n) % r.size;
  }
}

/** Copies `length` bytes out of a socket's ring starting at offset `ptr`. */
export function ringRead(mem: Uint8Array, r: Region, ptr: number, out: Uint8Array, at: number, length: number): void {
  ringCopy(mem, r, ptr, out, at, length, false);
}

/** Copies `length` bytes of `src` from `at` into a socket's ring starting at offset `ptr`. */
export function ringWrite(mem: Uint8Array, r: Region, ptr: number, src: Uint8Array, at: number, length: number): void {
  ringCopy(mem, r, ptr, src, at, length, true);
}
