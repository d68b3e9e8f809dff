// W5500 register map (datasheet v1.0.x; ../shared/w5500-reference.md §2–3). Plain consts, and every
// net file imports this module first: esbuild inlines a const only when it is declared before any
// function or class of the bundle, so when the network layer leads an app's imports these cost
// nothing. Only what the driver uses is named here.

// Common block (BSB 0). GAR, SUBR, SHAR and SIPR are adjacent: one 18-byte burst writes them all.
export const MR = 0x00;
export const GAR = 0x01;
export const SIR = 0x17; // SIR .. PHYCFGR: the poll reads them in one frame
export const SIMR = 0x18;
export const RTR = 0x19; // RTR (2 bytes, 100 µs units) then RCR (1 byte)
export const PHYCFGR = 0x2e;
export const VERSIONR = 0x39;

export const MR_RST = 0x80;
export const PHY_LNK = 0x01;
export const CHIP_VERSION = 4;

// Socket block (BSB 4n+1)
export const Sn_MR = 0x00; // Sn_MR, Sn_CR, Sn_IR: one burst sets the mode, opens, clears old bits
export const Sn_CR = 0x01; // Sn_CR, Sn_IR: one burst issues a command and clears handled bits
export const Sn_IR = 0x02;
export const Sn_SR = 0x03;
export const Sn_PORT = 0x04;
export const Sn_DIPR = 0x0c; // Sn_DIPR then Sn_DPORT: one 6-byte burst
export const Sn_BUF = 0x1e; // Sn_RXBUF_SIZE, Sn_TXBUF_SIZE
export const Sn_TX_FSR = 0x20; // Sn_TX_FSR, Sn_TX_RD
export const Sn_TX_RD = 0x22;
export const Sn_TX_WR = 0x24;
export const Sn_RX_RSR = 0x26; // Sn_RX_RSR then Sn_RX_RD: one 4-byte read
export const Sn_RX_RD = 0x28;
export const Sn_IMR = 0x2c;
export const Sn_KPALVTR = 0x2f;
/** The service frame: Sn_CR .. Sn_RX_RD in one read (command accepted?, events, state, pointers). */
export const SVC = Sn_RX_RD + 2 - Sn_CR;

// Sn_MR
export const MODE_TCP_ND = 0x21; // TCP, no delayed ACK: MQTT's small request/response packets
export const MODE_UDP = 0x02;

// Sn_CR
export const OPEN = 0x01;
export const CONNECT = 0x04;
export const DISCON = 0x08;
export const CLOSE = 0x10;
export const SEND = 0x20;
export const RECV = 0x40;

// Sn_IR
export const IR_RECV = 0x04;
export const IR_TIMEOUT = 0x08;
export const IR_SENDOK = 0x10;

// Sn_SR
export const SOCK_INIT = 0x13;
export const SOCK_ESTABLISHED = 0x17;
export const SOCK_CLOSE_WAIT = 0x1c;
export const SOCK_UDP = 0x22;

// Our socket states (not the chip's: its Sn_SR is read, never cached), here to be inlined too.
// RESOLVING .. CONNECTING: TCP's connect; OPEN: connected, or UDP bound; CLOSING: sending what is
// queued, then DISCON; DISCONNECTING: DISCON issued, waiting for CLOSED (the chip's LAST_ACK→CLOSED
// raises no interrupt); ENDED: hardware socket released, 'close' not yet emitted.
export const ST_IDLE = 0;
export const ST_RESOLVING = 1;
export const ST_CONNECTING = 2;
export const ST_OPEN = 3;
export const ST_CLOSING = 4;
export const ST_DISCONNECTING = 5;
export const ST_ENDED = 6;
