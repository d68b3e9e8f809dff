// Declarations for the parts of the Espruino API that @types/espruino lacks or types wrongly.
// Only what our firmware uses; checked against the Espruino reference and the Linux build.

declare namespace E {
  /** Concatenate strings, arrays, typed arrays and numbers (as bytes) into one string, natively. */
  function toString(...args: any[]): string;
  /** `init` fires on power-up after save(); `kill` before reset()/load(). */
  function on(event: 'init' | 'kill' | 'errorFlag', listener: (...args: any[]) => void): void;
  function getTemperature(): number;
}

interface Pin {
  read(): boolean;
  write(value: boolean | number): void;
  set(): void;
  reset(): void;
}

interface SPISendOptions {
  mosi?: Pin;
  miso?: Pin;
  sck?: Pin;
  baud?: number;
  mode?: number;
  order?: 'msb' | 'lsb';
}

declare function setTimeout(callback: () => void, ms?: number): any;
declare function setInterval(callback: () => void, ms?: number): any;
declare function pinMode(pin: Pin, mode: string, automatic?: boolean): void;

declare const LED1: Pin;
declare const LED2: Pin;
declare const LED3: Pin;
declare const BTN1: Pin;
declare const A0: Pin; declare const A1: Pin; declare const A2: Pin; declare const A3: Pin;
declare const A4: Pin; declare const A5: Pin; declare const A6: Pin; declare const A7: Pin;
declare const A8: Pin; declare const A9: Pin; declare const A10: Pin;
declare const B0: Pin; declare const B1: Pin; declare const B2: Pin; declare const B3: Pin;
declare const B4: Pin; declare const B5: Pin; declare const B6: Pin; declare const B7: Pin;
declare const B8: Pin; declare const B9: Pin; declare const B10: Pin; declare const B13: Pin;
declare const B14: Pin; declare const B15: Pin;
