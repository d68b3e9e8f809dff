// Placeholder until the publisher app lands: proves the bundle runs on the board.
import { Emitter } from '../events';

const blink = new Emitter();
// The Linux build of Espruino has no LED1; D0 stands in for it there.
const led: Pin = typeof LED1 !== 'undefined' ? LED1 : D0;
let on = false;
blink.on('tick', () => {
  on = !on;
  digitalWrite(led, on);
});
print('pub: placeholder app running');
setInterval(() => blink.emit('tick'), 500);
