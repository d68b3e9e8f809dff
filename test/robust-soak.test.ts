// Soak: 2,000 QoS 1 and 2,000 QoS 2 messages from a robust client on the simulated board, through a
// link that flaps every 3 s (down 1 s) and a broker restarted twice, to a robust subscriber on the
// same board and an observer on the host side of the faults (test/helpers/robust-soak.ts). Nothing may
// be lost, no QoS 2 message may arrive twice, the queues and in-flight tables must end empty, and the
// event loop (board, emulator and test share it) must never block for long. About 50 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from './helpers/robust-soak.ts';

const MAX_BLOCK_MS = 250;

test('soak: 2000 QoS 1 + 2000 QoS 2 through a flapping link and two broker restarts: none lost, none doubled', async () => {
  const r = await runSoak({ perQos: 2000, publishMs: 45000, flapEveryMs: 3000, flapDownMs: 1000, restarts: 2 });
  console.log(`soak: ${r.sent} messages in ${r.seconds.toFixed(1)} s, reconnections pub ${r.reconnects.pub} sub ${r.reconnects.sub}, ` +
    `QoS 1 duplicates ${r.qos1Dups}, event loop delay max ${r.loopMaxMs.toFixed(0)} ms, p99 ${r.loopP99Ms.toFixed(0)} ms`);
  assert.equal(r.sent, 4000);
  assert.deepEqual(r.errors, [], 'no publish failed');
  assert.equal(r.dropped + r.expired, 0);
  assert.deepEqual(r.missing, [], 'no message lost');
  assert.deepEqual(r.qos2Twice, [], 'no QoS 2 message delivered twice');
  assert.deepEqual(r.observerMissing, [], 'the broker delivered every message');
  assert.deepEqual(r.observerQos2Twice, [], 'the broker got each QoS 2 message once');
  assert.deepEqual(r.pub, { inflight: 0, queued: 0, queuedBytes: 0 });
  assert.deepEqual(r.sub, { inflight: 0, queued: 0, queuedBytes: 0 });
  assert.equal(r.subQos2Open, 0, 'no incoming QoS 2 flow left open');
  assert.ok(r.reconnects.pub >= 3 && r.reconnects.sub >= 3, 'the faults did bite');
  assert.ok(r.checkOnConnect.every((x) => x === true), 'checkMsg() true at once after every reconnect');
  assert.ok(r.loopMaxMs < MAX_BLOCK_MS, `event loop blocked ${r.loopMaxMs.toFixed(0)} ms at most`);
});
