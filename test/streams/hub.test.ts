/** The stream hub's tick: one connection that throws leaves the hub and the others are still tended. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backlog, StreamHub, type HubConnection } from '../../src/streams/hub.js';
import { Latch, WAIT_MS } from '../helpers/wait.js';

function connection(heartbeat: () => void, closed: () => void = () => undefined): HubConnection {
  return { kind: 'websocket', backlog: new Backlog(), expiresAt: undefined, heartbeat, closeSlow: closed, closeGoingAway: closed, closeExpired: closed };
}

test('a connection that throws on a heartbeat leaves the hub, is closed and reported; the others keep their heartbeats', async () => {
  const faults: unknown[] = [];
  const hub = new StreamHub(
    { heartbeatMs: 100, idleTimeoutMs: 60_000, maxBufferedBytes: 1 << 20, slowConsumerTimeoutMs: 30_000, maxSubscriptions: 10, maxConnections: 10, compression: false },
    () => undefined,
    (_conn, err) => faults.push(err),
  );
  let closedBroken = 0;
  const broken = connection(
    () => {
      throw new Error('socket gone');
    },
    () => closedBroken++,
  );
  const threeBeats = new Latch(3);
  const healthy = connection(() => {
    threeBeats.countDown();
  });
  // The broken one first, so a throw would cut the tick short before the healthy one.
  hub.add(broken);
  hub.add(healthy);
  try {
    await threeBeats.wait(WAIT_MS, 'three heartbeats of the healthy connection');
    assert.equal(hub.connections.has(broken), false);
    assert.equal(hub.connections.has(healthy), true);
    assert.equal(closedBroken, 1);
    assert.equal(faults.length, 1);
    assert.match(String(faults[0]), /socket gone/);
  } finally {
    hub.closeAll();
  }
});
