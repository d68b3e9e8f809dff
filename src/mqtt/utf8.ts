// UTF-8 for MQTT strings, through Espruino's native E.toUint8Array and E.toString, on both string
// models:
// - without unicode support (Pico, WiFi, ESP32): a string IS its bytes ('温度'.length == 6).
// - with unicode support: strings flagged UTF-8 hold code points and E.toUint8Array gives their
//   UTF-8; unflagged strings hold code points 0..255.
// Espruino's encodeURIComponent mangles bytes >= 0x80 and it has no escape/unescape; its
// String.fromCharCode keeps only the low byte.

// On builds with unicode support, an empty string flagged UTF-8 (truthy there, measured on 2v29);
// '' elsewhere, where E.asUTF8 is absent or throws. Prefixing it converts an unflagged string's
// code points 128..255 to UTF-8, so E.toUint8Array never returns Latin-1.
let utf8Empty = '';
try {
  utf8Empty = (E as any).asUTF8('');
} catch {
  // no unicode support: strings are bytes
}

/** b is well-formed UTF-8 (Unicode Table 3-7: no overlong forms, surrogates or code points over
 *  U+10FFFF) without U+0000, as MQTT requires [MQTT-1.5.3-1, MQTT-1.5.3-2]. A sequence cut short
 *  reads undefined past the end (also on Espruino), which fails the continuation test. */
export function wellFormed(b: Uint8Array): boolean {
  for (let i = 0; i < b.length;) {
    const c = b[i++];
    let k = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3; // continuation bytes
    // the second byte's range narrows after E0 (overlong), ED (surrogates), F0 (overlong), F4 (> U+10FFFF)
    if (!c || (k && (c < 0xc2 || c > 0xf4 || b[i] < (c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80) ||
      b[i] > (c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf)))) return false;
    while (k--) if ((b[i++] & 0xc0) != 0x80) return false;
  }
  return true;
}

/** s is ASCII without U+0000, so its UTF-8 is itself and needs no check. One native regex test:
 *  on Espruino ~30x cheaper than the wellFormed loop. */
export function isAscii(s: string): boolean {
  return !/[^\x01-\x7f]/.test(s);
}

/** The UTF-8 of s, unchecked. */
export function utf8Bytes(s: string): Uint8Array {
  return E.toUint8Array(utf8Empty ? utf8Empty + s : s);
}

/** The string whose UTF-8 is b, or undefined if b is not wellFormed. On Espruino without unicode
 *  support that string is b's bytes; ASCII is the same string on every build. */
export function utf8String(b: Uint8Array): string | undefined {
  const s = E.toString(b);
  return isAscii(s) ? s : wellFormed(b) ? utf8Empty ? (E as any).asUTF8(s) : s : undefined;
}
