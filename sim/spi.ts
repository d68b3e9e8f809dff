// The SPI bus of the simulated board, as wires: a device hears a transfer when the master clocks the
// wires it is soldered to (SCK, MOSI) while its CS line is low, and the master reads the device only
// if MISO is wired too. So a firmware that sets up the wrong pins or forgets CS reads 0xFF, as it
// would on the board.

// One W5500-style SPI slave as seen by the bus.
export interface SpiDevice {
  select(): void; // CS falling edge: a new frame starts
  exchange(mosi: Uint8Array): Uint8Array; // bytes clocked while selected; returns MISO bytes (same length)
  deselect(): void; // CS rising edge: the frame ends
}

export interface SpiWires {
  sck: string;
  miso: string;
  mosi: string;
}

export type HardwareSpi = 'SPI1' | 'SPI2' | 'SPI3';

// The pins each hardware SPI uses when setup() names none (Espruino Pico, STM32F401).
export const PICO_SPI_PINS: Record<HardwareSpi, SpiWires> = {
  SPI1: { sck: 'A5', miso: 'A6', mosi: 'A7' },
  SPI2: { sck: 'B13', miso: 'B14', mosi: 'B15' },
  SPI3: { sck: 'B3', miso: 'B4', mosi: 'B5' },
};

// An undriven MISO line reads as all ones on the Pico (and on Espruino's Linux build).
const IDLE_MISO = 0xff;

interface Attachment {
  device: SpiDevice;
  wires: SpiWires;
  isSelected(): boolean;
}

export class SpiBus {
  private attachments: Attachment[] = [];

  attach(device: SpiDevice, wires: SpiWires, isSelected: () => boolean): void {
    this.attachments.push({ device, wires, isSelected });
  }

  /** Clocks `mosi` out on the given wires; returns what MISO carried (wired-AND of every talker). */
  transfer(wires: Partial<SpiWires>, mosi: Uint8Array): Uint8Array {
    const miso = new Uint8Array(mosi.length).fill(IDLE_MISO);
    for (const a of this.attachments) {
      if (a.wires.sck !== wires.sck || a.wires.mosi !== wires.mosi || !a.isSelected()) continue;
      const out = a.device.exchange(mosi);
      if (out.length !== mosi.length) {
        throw new Error(`SPI device returned ${out.length} MISO bytes for ${mosi.length} MOSI bytes`);
      }
      if (a.wires.miso !== wires.miso) continue;
      for (let i = 0; i < out.length; i++) miso[i] &= out[i];
    }
    return miso;
  }
}
