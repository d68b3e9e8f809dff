#!/usr/bin/env python3
"""Minimal client of the W5500 emulator's SPI bridge (protocol: sim/BRIDGE.md), standard library only.

Reads VERSIONR, then runs a UDP echo: opens socket 0 as UDP, sends a datagram to IP:PORT on the
emulator's virtual network, and reads the reply (8-byte header + payload) out of the RX buffer.
Checks INTn through the bridge on the way (SIMR enables socket 0).

usage: bridge_client.py (--fifo REQUEST RESPONSE | --unix PATH) --echo IP:PORT [--message TEXT]
Prints one line starting with "ok" and exits 0 on success; prints the reason and exits 1 otherwise.
"""
import argparse
import os
import socket
import struct
import sys
import time

OP_TRANSFER, OP_RESET, OP_INT = 0x01, 0x02, 0x03
COMMON, SOCK0_REGS, SOCK0_TX, SOCK0_RX = 0, 1, 2, 3  # block select values (BSB)
MR, GAR, SIMR, RTR, VERSIONR = 0x0000, 0x0001, 0x0018, 0x0019, 0x0039
SN_MR, SN_CR, SN_IR, SN_SR, SN_PORT, SN_DIPR, SN_DPORT = 0x00, 0x01, 0x02, 0x03, 0x04, 0x0C, 0x10
SN_TX_WR, SN_RX_RSR, SN_RX_RD = 0x24, 0x26, 0x28
CMD_OPEN, CMD_CLOSE, CMD_SEND, CMD_RECV = 0x01, 0x10, 0x20, 0x40
SR_UDP, IR_SENDOK, IR_TIMEOUT, IR_RECV = 0x22, 0x10, 0x08, 0x04
DEADLINE_S = 5.0


class BridgeError(Exception):
    pass


class Bridge:
    def __init__(self, write, read):
        self._write, self._read = write, read

    def request(self, op, payload=b""):
        self._write(struct.pack(">BH", op, len(payload)) + payload)
        status, length = struct.unpack(">BH", self._read_exact(3))
        body = self._read_exact(length)
        if status != 0:
            raise BridgeError("bridge status %d: %s" % (status, body.decode(errors="replace")))
        return body

    def _read_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self._read(n - len(out))
            if not chunk:
                raise BridgeError("bridge closed the channel")
            out += chunk
        return out

    # SPI frames (VDM): address (2), control = BSB << 3 | RWB << 2, data
    def read(self, block, addr, n):
        miso = self.request(OP_TRANSFER, struct.pack(">HB", addr, block << 3) + bytes(n))
        if miso[:3] != b"\x01\x02\x03":
            raise BridgeError("unexpected MISO during the header: %s" % miso[:3].hex())
        return miso[3:]

    def write(self, block, addr, data):
        self.request(OP_TRANSFER, struct.pack(">HB", addr, block << 3 | 0x04) + bytes(data))

    def read16(self, block, addr):
        return struct.unpack(">H", self.read(block, addr, 2))[0]

    def stable16(self, block, addr):
        last = self.read16(block, addr)
        for _ in range(100):
            value = self.read16(block, addr)
            if value == last:
                return value
            last = value
        raise BridgeError("register 0x%04x never read the same twice" % addr)

    def command(self, cmd):
        self.write(SOCK0_REGS, SN_CR, [cmd])
        wait_for(lambda: self.read(SOCK0_REGS, SN_CR, 1)[0] == 0, "Sn_CR 0x%02x to clear" % cmd)

    def int_level(self):
        return self.request(OP_INT)[0]


def wait_for(check, what):
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise BridgeError("timed out waiting for " + what)
        time.sleep(0.002)


def connect(args):
    if args.unix:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(args.unix)
        return Bridge(s.sendall, s.recv)
    req = open(args.fifo[0], "wb", buffering=0)
    resp = open(args.fifo[1], "rb", buffering=0)
    return Bridge(req.write, lambda n: os.read(resp.fileno(), n))


def run(args):
    ip_text, port_text = args.echo.rsplit(":", 1)
    peer_ip, peer_port = socket.inet_aton(ip_text), int(port_text)
    message = args.message.encode()
    chip = connect(args)

    chip.request(OP_RESET)
    version = chip.read(COMMON, VERSIONR, 1)[0]
    if version != 0x04:
        raise BridgeError("VERSIONR = 0x%02x, expected 0x04" % version)
    if chip.int_level() != 1:
        raise BridgeError("INTn asserted after reset")

    # GAR, SUBR, SHAR, SIPR in one burst; the echo host is on our /24.
    gateway, mask = socket.inet_aton("192.0.2.1"), socket.inet_aton("255.255.255.0")
    mac, own_ip = bytes([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]), socket.inet_aton("192.0.2.5")
    chip.write(COMMON, GAR, gateway + mask + mac + own_ip)
    chip.write(COMMON, SIMR, [0x01])
    chip.write(COMMON, RTR, [0x03, 0xE8, 0x03])  # RTR 100 ms, RCR 3: an absent host shows in 0.4 s

    chip.command(CMD_CLOSE)
    chip.write(SOCK0_REGS, SN_IR, [0xFF])
    chip.write(SOCK0_REGS, SN_MR, [0x02])
    chip.write(SOCK0_REGS, SN_PORT, struct.pack(">H", 5000))
    chip.command(CMD_OPEN)
    if chip.read(SOCK0_REGS, SN_SR, 1)[0] != SR_UDP:
        raise BridgeError("socket 0 did not open as UDP")

    chip.write(SOCK0_REGS, SN_DIPR, peer_ip + struct.pack(">H", peer_port))
    wr = chip.read16(SOCK0_REGS, SN_TX_WR)
    chip.write(SOCK0_TX, wr, message)
    chip.write(SOCK0_REGS, SN_TX_WR, struct.pack(">H", (wr + len(message)) & 0xFFFF))
    chip.command(CMD_SEND)
    wait_for(lambda: chip.read(SOCK0_REGS, SN_IR, 1)[0] & (IR_SENDOK | IR_TIMEOUT), "SENDOK")
    if chip.read(SOCK0_REGS, SN_IR, 1)[0] & IR_TIMEOUT:
        raise BridgeError("SEND timed out: nobody at %s answers ARP" % args.echo)
    chip.write(SOCK0_REGS, SN_IR, [IR_SENDOK])

    wait_for(lambda: chip.stable16(SOCK0_REGS, SN_RX_RSR) >= 8 + len(message), "the echo")
    if chip.int_level() != 0:
        raise BridgeError("INTn not asserted with Sn_IR.RECV set and SIMR bit 0")
    rd = chip.read16(SOCK0_REGS, SN_RX_RD)
    header = chip.read(SOCK0_RX, rd, 8)
    src_ip, src_port, length = header[:4], struct.unpack(">H", header[4:6])[0], struct.unpack(">H", header[6:8])[0]
    payload = chip.read(SOCK0_RX, (rd + 8) & 0xFFFF, length)
    chip.write(SOCK0_REGS, SN_RX_RD, struct.pack(">H", (rd + 8 + length) & 0xFFFF))
    chip.command(CMD_RECV)
    chip.write(SOCK0_REGS, SN_IR, [IR_RECV])
    if chip.int_level() != 1:
        raise BridgeError("INTn still asserted after clearing Sn_IR")
    if chip.stable16(SOCK0_REGS, SN_RX_RSR) != 0:
        raise BridgeError("RX_RSR not 0 after RECV")
    if (src_ip, src_port) != (peer_ip, peer_port):
        raise BridgeError("reply from %s:%d, expected %s" % (socket.inet_ntoa(src_ip), src_port, args.echo))
    if payload != message:
        raise BridgeError("echo %r, expected %r" % (payload, message))
    chip.command(CMD_CLOSE)
    print("ok version=0x%02x echo=%s from=%s:%d" % (version, payload.decode(), socket.inet_ntoa(src_ip), src_port))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    channel = parser.add_mutually_exclusive_group(required=True)
    channel.add_argument("--fifo", nargs=2, metavar=("REQUEST", "RESPONSE"))
    channel.add_argument("--unix", metavar="PATH")
    parser.add_argument("--echo", required=True, metavar="IP:PORT")
    parser.add_argument("--message", default="hello through the bridge")
    args = parser.parse_args()
    try:
        run(args)
    except (BridgeError, OSError) as e:
        print("FAIL: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
