// The broker's side of MQTT 3.1.1, registered into the codec's table (TYPES) on import: encode() of
// CONNACK, SUBACK, UNSUBACK, PINGRESP, and the Decoder reads CONNECT, SUBSCRIBE, UNSUBSCRIBE,
// PINGREQ, DISCONNECT. With it, encode and Decoder handle all 14 types both ways. A client does not
// need it (the apps do not flash it); tests, a scripted broker and a broker on a board do:
//   import './codec-broker';
import {
  ERR_FIELD, ERR_MALFORMED, _TYPES as TYPES, _fail as fail, _qos as qos, _granted as granted, _put as put,
  _putId as putId, _putList as putList, _checkTopic as checkTopic, _readByte as readByte,
  _readBytes as readBytes, _readString as readString, _readList as readList,
} from './codec';

const enum Type { CONNECT = 1, CONNACK, SUBSCRIBE = 8, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT }
const enum Dir { WRITE, READ }
const enum Connect { RESERVED = 1, CLEAN = 2, WILL = 4, WILL_QOS_SHIFT = 3, WILL_BITS = 0x38, WILL_RETAIN = 0x20, PASSWORD = 0x40, USERNAME = 0x80 }
const LEVEL = 4; // protocol level of MQTT 3.1.1
const FILTER = 'filter';

function none(): void {}

function readFilter(): string {
  return checkTopic(readString(), FILTER);
}

TYPES[Type.CONNACK][Dir.WRITE] = function (p: any): void {
  const rc = p.returnCode;
  if ((rc & 7) !== rc || rc > 5) fail(ERR_FIELD, 'bad returnCode ' + rc);
  put([p.sessionPresent ? 1 : 0, rc]);
};

TYPES[Type.SUBACK][Dir.WRITE] = function (p: any): void {
  putList(p, 'granted', function (x: unknown): void {
    put([granted(x)]);
  });
};

TYPES[Type.UNSUBACK][Dir.WRITE] = putId;
TYPES[Type.PINGRESP][Dir.WRITE] = none;

TYPES[Type.CONNECT][Dir.READ] = function (p: any): void {
  const name = readString();
  const level = readByte();
  const f = readByte();
  // reserved bit 0 [MQTT-3.1.2-3]; will QoS and retain only with a will [MQTT-3.1.2-11];
  // password only with username [MQTT-3.1.2-22]
  if (name != 'MQTT' || level != LEVEL || f & Connect.RESERVED || (!(f & Connect.WILL) && f & Connect.WILL_BITS) ||
    (f & (Connect.USERNAME | Connect.PASSWORD)) == Connect.PASSWORD) {
    fail(ERR_MALFORMED, 'CONNECT: not MQTT 3.1.1, or reserved flags');
  }
  p.protocolId = name;
  p.protocolVersion = LEVEL;
  p.clean = !!(f & Connect.CLEAN);
  p.keepalive = readByte() << 8 | readByte();
  p.clientId = readString();
  if (f & Connect.WILL) {
    p.will = {
      retain: !!(f & Connect.WILL_RETAIN), qos: qos(f >> Connect.WILL_QOS_SHIFT & 3),
      topic: checkTopic(readString(), 'topic'), payload: readBytes(),
    };
  }
  if (f & Connect.USERNAME) p.username = readString();
  if (f & Connect.PASSWORD) p.password = readBytes();
};

TYPES[Type.SUBSCRIBE][Dir.READ] = function (p: any): void {
  p.subscriptions = readList(p, function (): object {
    const topic = readFilter();
    const o = readByte();
    // options bits 7-2 are reserved [MQTT-3.8.3-4]
    if (o > 3) fail(ERR_MALFORMED, 'SUBSCRIBE options: reserved bits');
    return { topic: topic, qos: qos(o) };
  });
};

TYPES[Type.UNSUBSCRIBE][Dir.READ] = function (p: any): void {
  p.unsubscriptions = readList(p, readFilter);
};

TYPES[Type.PINGREQ][Dir.READ] = none;
TYPES[Type.DISCONNECT][Dir.READ] = none;
