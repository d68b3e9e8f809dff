// UDP on a W5500 hardware socket: the datagram steps that Socket (socket.ts) runs. Sends queue while
// one is in flight and complete once it is out (or ARP timeout).
import { codedError, CodedError } from '../error';
import { ipString } from './ip';
import { dest, send, u16 } from './w5500-spi';
import type { Socket } from './socket';

export type SendCb = (err?: CodedError) => void;

export function closed(): CodedError {
  return codedError('ECLOSED', 'socket closed');
}

/** cb(err) from a fresh timer tick, so a caller never sees its callback before send() returns. */
export function later(cb: SendCb | undefined, err: CodedError): void {
  if (cb) setTimeout(function () { cb(err); }, 0);
}

/** The next datagram (queued as [ip, port, data, cb]): destination, data, TX_WR, SEND. Once a SEND is
 *  done the TX buffer is empty, so FSR needs no read: the size limit send() checks is all the space a
 *  datagram needs. */
export function flushUdp(s: Socket): void {
  const d = s._q.shift();
  if (d) {
    dest(s, d[0], d[1]);
    send(s, d[2], d[2].length);
    s._busy = d;
  }
}

/** Every datagram received in one frame, each behind an 8-byte header: IP, port, length (§4.6); a
 *  header that runs past the end (read as length 0) ends it: the chip stores whole datagrams only. */
export function rx(s: Socket, b: Uint8Array): void {
  for (let i = 0, e; s.n >= 0 && (e = i + 8 + u16(b, i + 6)) <= b.length; i = e) {
    s.emit('message', b.subarray(i + 8, e), { ip: ipString(b, i), port: u16(b, i + 4) });
  }
}
