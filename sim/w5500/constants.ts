// Register map of the WIZnet W5500, from ../shared/w5500-reference.md §2-§3. Offsets, reset values
// and access kinds live here once; the register files and the tests read them from this table.

export const VERSION = 0x04;
export const MEMORY_SIZE = 16384; // TX and RX memory, each shared by the eight sockets (§5)
export const SOCKETS = 8;

// BSB values (§1.2): 0 = common, 4n+1 = socket n registers, 4n+2 = TX n, 4n+3 = RX n.
export const BSB_COMMON = 0;
export const blockKind = (bsb: number): 'common' | 'regs' | 'tx' | 'rx' | 'reserved' =>
  bsb === 0 ? 'common' : (['reserved', 'regs', 'tx', 'rx'] as const)[bsb & 3];

// Control byte fields (§1.2).
export const RWB_WRITE = 0x04;
export const OM_MASK = 0x03;
export const FDM_LENGTH = [0, 1, 2, 4]; // OM 00 = VDM (length set by CS), 01/10/11 = 1/2/4 bytes
export const HEADER_MISO = [0x01, 0x02, 0x03]; // what the chip drives on MISO during the header (§1.3)

export const Common = {
  MR: 0x00, GAR: 0x01, SUBR: 0x05, SHAR: 0x09, SIPR: 0x0f, INTLEVEL: 0x13, IR: 0x15, IMR: 0x16, SIR: 0x17,
  SIMR: 0x18, RTR: 0x19, RCR: 0x1b, PTIMER: 0x1c, PMAGIC: 0x1d, PHAR: 0x1e, PSID: 0x24, PMRU: 0x26,
  UIPR: 0x28, UPORTR: 0x2c, PHYCFGR: 0x2e, VERSIONR: 0x39,
} as const;
export const COMMON_SPAN = 0x3a; // offsets at or above this are reserved

export const Sn = {
  MR: 0x00, CR: 0x01, IR: 0x02, SR: 0x03, PORT: 0x04, DHAR: 0x06, DIPR: 0x0c, DPORT: 0x10, MSSR: 0x12,
  TOS: 0x15, TTL: 0x16, RXBUF_SIZE: 0x1e, TXBUF_SIZE: 0x1f, TX_FSR: 0x20, TX_RD: 0x22, TX_WR: 0x24,
  RX_RSR: 0x26, RX_RD: 0x28, RX_WR: 0x2a, IMR: 0x2c, FRAG: 0x2d, KPALVTR: 0x2f,
} as const;
export const SOCKET_SPAN = 0x30;

export const MR_RST = 0x80;
export const MR_WOL = 0x20;
export const MR_FARP = 0x02;

export const IR_CONFLICT = 0x80;
export const IR_UNREACH = 0x40;
export const IR_MP = 0x10;

export const PHY_RST = 0x80;
export const PHY_OPMD = 0x40;
export const PHY_CONFIG_MASK = 0xf8; // bits 7:3 are written by the host, 2:0 are live status
export const PHY_RESET_VALUE = 0xb8;
export const PHY_POWER_DOWN = 6;
export const PHY_ALL_AUTONEG = 7;

// Sn_MR protocol nibble and flags (§3).
export const Proto = { CLOSED: 0, TCP: 1, UDP: 2, MACRAW: 4 } as const;
export const SnMr = { MULTI_MFEN: 0x80, BCASTB: 0x40, ND_MC_MMB: 0x20, UCASTB_MIP6B: 0x10 } as const;

export const Cmd = {
  OPEN: 0x01, LISTEN: 0x02, CONNECT: 0x04, DISCON: 0x08, CLOSE: 0x10, SEND: 0x20, SEND_MAC: 0x21,
  SEND_KEEP: 0x22, RECV: 0x40,
} as const;

export const Status = {
  CLOSED: 0x00, INIT: 0x13, LISTEN: 0x14, SYNSENT: 0x15, SYNRECV: 0x16, ESTABLISHED: 0x17, FIN_WAIT: 0x18,
  CLOSING: 0x1a, TIME_WAIT: 0x1b, CLOSE_WAIT: 0x1c, LAST_ACK: 0x1d, UDP: 0x22, MACRAW: 0x42,
} as const;

export const SnIr = { SENDOK: 0x10, TIMEOUT: 0x08, RECV: 0x04, DISCON: 0x02, CON: 0x01 } as const;

export const UDP_HEADER = 8; // peer IP (4), peer port (2), payload length (2) before each datagram (§4.6)
export const MACRAW_HEADER = 2; // big-endian frame length including these two bytes (§4.7)
export const DEFAULT_MSS = { tcp: 1460, udp: 1472, macraw: 1514 } as const;
export const VALID_BUFFER_KB = [0, 1, 2, 4, 8, 16];

// Access kinds for each byte of a register block.
export const RW = 0, RO = 1, W1C = 2, RESERVED = 3, SPECIAL = 4;

const table = (span: number, entries: [number, number, number][]): Uint8Array => {
  const t = new Uint8Array(span).fill(RESERVED);
  for (const [offset, size, kind] of entries) t.fill(kind, offset, offset + size);
  return t;
};

export const COMMON_ACCESS = table(COMMON_SPAN, [
  [Common.MR, 1, SPECIAL], [Common.GAR, 18, RW], [Common.INTLEVEL, 2, RW], [Common.IR, 1, W1C],
  [Common.IMR, 1, RW], [Common.SIR, 1, RO], [Common.SIMR, 1, RW], [Common.RTR, 2, RW], [Common.RCR, 1, RW],
  [Common.PTIMER, 1, RW], [Common.PMAGIC, 1, RW], [Common.PHAR, 6, RW], [Common.PSID, 2, RW],
  [Common.PMRU, 2, RW], [Common.UIPR, 4, RO], [Common.UPORTR, 2, RO], [Common.PHYCFGR, 1, SPECIAL],
  [Common.VERSIONR, 1, RO],
]);

export const SOCKET_ACCESS = table(SOCKET_SPAN, [
  [Sn.MR, 1, RW], [Sn.CR, 1, SPECIAL], [Sn.IR, 1, W1C], [Sn.SR, 1, RO], [Sn.PORT, 2, RW], [Sn.DHAR, 6, RW],
  [Sn.DIPR, 4, RW], [Sn.DPORT, 2, RW], [Sn.MSSR, 2, RW], [Sn.TOS, 1, RW], [Sn.TTL, 1, RW],
  [Sn.RXBUF_SIZE, 1, SPECIAL], [Sn.TXBUF_SIZE, 1, SPECIAL], [Sn.TX_FSR, 2, RO], [Sn.TX_RD, 2, RO],
  [Sn.TX_WR, 2, RW], [Sn.RX_RSR, 2, RO], [Sn.RX_RD, 2, RW], [Sn.RX_WR, 2, RO], [Sn.IMR, 1, RW],
  [Sn.FRAG, 2, RW], [Sn.KPALVTR, 1, SPECIAL],
]);

const resetBytes = (span: number, entries: [number, number[]][]): Uint8Array => {
  const r = new Uint8Array(span);
  for (const [offset, bytes] of entries) r.set(bytes, offset);
  return r;
};

// Reset values of the stored bytes; derived registers (SR, FSR, RSR, pointers, SIR, PHYCFGR status)
// are computed on read.
export const COMMON_RESET = resetBytes(COMMON_SPAN, [
  [Common.RTR, [0x07, 0xd0]], [Common.RCR, [0x08]], [Common.PTIMER, [0x28]], [Common.PMRU, [0xff, 0xff]],
  [Common.PHYCFGR, [PHY_RESET_VALUE]], [Common.VERSIONR, [VERSION]],
]);

export const SOCKET_RESET = resetBytes(SOCKET_SPAN, [
  [Sn.DHAR, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]], [Sn.TTL, [0x80]], [Sn.RXBUF_SIZE, [2]], [Sn.TXBUF_SIZE, [2]],
  [Sn.IMR, [0xff]], [Sn.FRAG, [0x40, 0x00]],
]);

/** TCPTO of §2 in milliseconds: doubling waits capped at the first that would pass 65535 ticks. */
export function tcpTimeoutMs(rtr: number, rcr: number): number {
  let m = 0;
  while (m < rcr && rtr * Math.pow(2, m + 1) <= 0xffff) m++;
  let ticks = 0;
  for (let k = 0; k <= m; k++) ticks += rtr * Math.pow(2, k);
  ticks += (rcr - m) * rtr * Math.pow(2, m);
  return ticks / 10;
}

/** ARPTO of §2 in milliseconds. */
export const arpTimeoutMs = (rtr: number, rcr: number): number => (rtr * (rcr + 1)) / 10;

export const ipToString = (ip: number): string =>
  `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;

export function ipFromString(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${s}`);
  let ip = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new Error(`not an IPv4 address: ${s}`);
    ip = ip * 256 + v;
  }
  return ip >>> 0;
}

export const BROADCAST_IP = 0xffffffff;
