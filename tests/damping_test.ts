// Flap damping (src/core/damping.ts): who is on probation, for how long, and when a run is admitted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Damping, PENALTY_DECAY_MS, PROBATION_WATERMARK } from "../src/core/damping.ts";

const HEARTBEAT = 200;
const TIMEOUT = 1_000;

/** Probation datagrams of peer 3 as run 30, one an interval from `from` to `to`, each kept with `share`. */
function send(d: Damping, from: number, to: number, keep: (i: number) => boolean = () => true): void {
  for (let t = from, i = 0; t <= to; t += HEARTBEAT, i++) if (keep(i)) d.arrived(3, 30, t);
}

test("a run never removed while alive, or a new run of a removed peer, is admitted at once", () => {
  const d = new Damping(HEARTBEAT, TIMEOUT);
  assert.equal(d.admits(3, 30, 0), true);
  d.removed(3, 30, 0);
  assert.equal(d.admits(3, 31, 10), true, "a restart is no flap");
  assert.equal(d.admits(3, 30, 10), false);
  assert.equal(d.windowMs(3, 30, 10), 2 * TIMEOUT);
});

test("a run removed while it was down (back on its data dir) is forgiven: admitted at once, no penalty kept", () => {
  const d = new Damping(HEARTBEAT, TIMEOUT);
  d.removed(3, 30, 0);
  d.removed(3, 30, 10);
  assert.equal(d.forgive(3, 31, 20), false, "another run has no record");
  assert.equal(d.admits(3, 30, 20), false);
  assert.equal(d.forgive(3, 30, 20), true);
  assert.equal(d.admits(3, 30, 20), true);
  assert.equal(d.removals(3, 30, 20), 0);
  assert.deepEqual(d.probations(20), []);
  assert.equal(d.forgive(3, 30, 30), false, "nothing left to forgive");
});

test("a removed run is admitted once 80 % of a window of datagrams arrived, not before a whole window", () => {
  const d = new Damping(HEARTBEAT, TIMEOUT);
  d.removed(3, 30, 0);
  send(d, 100, 1_900);
  assert.equal(d.admits(3, 30, 1_900), false, "1.8 s on probation: not a whole window yet");
  send(d, 2_100, 2_100);
  assert.equal(d.admits(3, 30, 2_100), true);
});

test("a peer that loses most of what it sends never reaches the watermark", () => {
  const d = new Damping(HEARTBEAT, TIMEOUT);
  d.removed(3, 30, 0);
  // One datagram in four arrives, for a minute.
  send(d, 100, 60_000, (i) => i % 4 === 0);
  for (let t = 2_100; t <= 60_000; t += 1_000) assert.equal(d.admits(3, 30, t), false, `at ${t}`);
  // Healthy again: admitted one window later.
  send(d, 60_200, 62_200);
  assert.equal(d.admits(3, 30, 62_200), true);
  assert.ok(PROBATION_WATERMARK > 0.25);
});

test("each removal doubles the window (three times at most), and removals decay", () => {
  const d = new Damping(HEARTBEAT, TIMEOUT);
  for (let i = 1; i <= 5; i++) d.removed(3, 30, 0);
  assert.equal(d.removals(3, 30, 0), 5);
  assert.equal(d.windowMs(3, 30, 0), 16 * TIMEOUT, "2 timeouts, doubled three times at most");
  assert.equal(d.removals(3, 30, PENALTY_DECAY_MS), 4, "one removal forgotten per decay period");
  assert.equal(d.removals(3, 30, 5 * PENALTY_DECAY_MS), 0);
  assert.equal(d.admits(3, 30, 5 * PENALTY_DECAY_MS), true, "all forgotten: no probation");
  assert.deepEqual(d.probations(5 * PENALTY_DECAY_MS), []);
});

test("probations: what a leader's status shows of each peer on probation", () => {
  const d = new Damping(HEARTBEAT, TIMEOUT);
  d.removed(3, 30, 0);
  send(d, 100, 500);
  assert.deepEqual(d.probations(500), [{ peer: 3, run: 30, removals: 1, windowMs: 2_000, arrived: 3 }]);
});
