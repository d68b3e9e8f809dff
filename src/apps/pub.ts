// Placeholder until the publisher app lands: proves the bundle runs on the board.
import { Emitter } from '../events';

const blink = new Emitter();
let on = false;
blink.on('tick', () => {
  on = !on;
  digitalWrite(LED1, on);
});
print('pub: placeholder app running');
setInterval(() => blink.emit('tick'), 500);
