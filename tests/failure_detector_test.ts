import assert from "node:assert/strict";
import { test } from "node:test";
import { FailureDetector } from "../src/core/failure_detector.ts";
import type { PeerId, View } from "../src/core/messages.ts";

const viewOf = (id: number, members: PeerId[], incarnations = members.map((m) => m * 10)): View => ({
  epoch: { round: 1, former: 1, run: 1 },
  id,
  leader: 1,
  members,
  incarnations,
});

/** heartbeat 100 ms, fail after 5: a member may stay silent 500 ms. */
function detector(now = 0, view = viewOf(3, [1, 2, 3])): FailureDetector {
  const fd = new FailureDetector(100, 5);
  fd.start(now);
  fd.watch(null, view, now);
  return fd;
}

test("a member is expired once silent for more than failAfter heartbeat intervals", () => {
  const fd = detector();
  assert.equal(fd.timeoutMs, 500);
  assert.deepEqual(fd.expired([2, 3], 500), []);
  assert.deepEqual(fd.expired([2, 3], 501), [2, 3]);
  fd.heard(2, 300);
  assert.deepEqual(fd.expired([2, 3], 600), [3]);
  assert.deepEqual(fd.expired([2, 3], 801), [2, 3]);
  // A peer that was never watched never expires.
  assert.deepEqual(fd.expired([4], 10_000), []);
});

test("a suspected member is reported once; heard again, it is cleared and may be reported again", () => {
  const fd = detector();
  fd.suspect(3);
  assert.deepEqual([...fd.suspected], [3]);
  assert.deepEqual(fd.expired([2, 3], 600), [2]);
  assert.equal(fd.heard(3, 700), true); // it was held unreachable
  assert.equal(fd.heard(3, 750), false);
  assert.deepEqual([...fd.suspected], []);
  assert.deepEqual(fd.expired([3], 1_250), []);
  assert.deepEqual(fd.expired([3], 1_251), [3]);
});

test("ticks on time (up to one interval late) change nothing", () => {
  const fd = detector();
  assert.equal(fd.tick(100), 0);
  assert.equal(fd.tick(300), 0); // 100 ms late: tolerated
  assert.deepEqual(fd.expired([2, 3], 501), [2, 3]);
});

test("stall compensation: a late tick extends every deadline by the stall", () => {
  const fd = detector();
  fd.heard(2, 50);
  assert.equal(fd.tick(100), 0);
  // The event loop stalled: the next tick comes at 800, not 200. 600 ms late.
  assert.equal(fd.tick(800), 600);
  // 2 was heard at 50 and 3 at 0: both as if heard 600 ms later.
  assert.deepEqual(fd.expired([2, 3], 1_100), []);
  assert.deepEqual(fd.expired([2, 3], 1_101), [3]);
  assert.deepEqual(fd.expired([2, 3], 1_151), [2, 3]);
  // Measured from the late tick: the next on time is no stall.
  assert.equal(fd.tick(900), 0);
});

test("watch: new members are watched from now, after a timeout of grace; removed members are forgotten", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const fd = detector(0, v3);
  fd.suspect(3);
  const v4 = viewOf(4, [1, 2, 4]);
  fd.watch(v3, v4, 1_000);
  assert.deepEqual([...fd.suspected], []); // 3 left the view
  assert.deepEqual(fd.expired([2, 4], 1_500), [2]); // 2 kept its time, 4 counts from 1000 + 500
  assert.deepEqual(fd.expired([2, 4], 2_000), [2]);
  assert.deepEqual(fd.expired([2, 4], 2_001), [2, 4]);
  assert.deepEqual(fd.expired([3], 10_000), []); // 3 is no longer watched
});

test("watch forgets a member whose incarnation changed, and watches the new run from now, after a timeout of grace", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const fd = detector(0, v3);
  fd.suspect(2);
  fd.suspect(3);
  // Peer 3 restarted: view 5 holds it as run 31. Peer 2 is the same run.
  const v5 = viewOf(5, [1, 2, 3], [10, 20, 31]);
  fd.watch(v3, v5, 1_000);
  assert.deepEqual([...fd.suspected], [2]);
  assert.deepEqual(fd.expired([2, 3], 2_000), []); // 2 is still suspected; 3 is fresh
  assert.deepEqual(fd.expired([3], 2_001), [3]);
});

test("clear forgets everything", () => {
  const fd = detector();
  fd.suspect(2);
  fd.clear();
  assert.deepEqual([...fd.suspected], []);
  assert.deepEqual(fd.expired([1, 2, 3], 10_000), []);
});

test("another member's news keeps a member alive; news older than the timeout clears nobody", () => {
  const fd = detector(0, viewOf(3, [1, 2, 3, 4]));
  fd.heard(2, 400);
  fd.heardOf(3, 450, 460); // peer 2 heard peer 3 at 450 (told at 460)
  assert.deepEqual(fd.expired([2, 3, 4], 901), [2, 4]);
  assert.deepEqual(fd.expired([2, 3, 4], 951), [2, 3, 4]);
  fd.suspect(3);
  assert.equal(fd.heardOf(3, 460, 1_000), false, "stale news does not clear a suspicion");
  assert.deepEqual([...fd.suspected], [3]);
  assert.equal(fd.heardOf(3, 900, 1_000), true, "fresh news does");
  // What this peer tells others is what it heard itself, never what it was told.
  assert.deepEqual(fd.ages([2, 3, 4], 1_000), [[2, 600], [3, 1_000], [4, 1_000]]);
});

test("silent: not heard directly within the timeout, whatever others say", () => {
  const fd = detector();
  fd.heardOf(3, 550, 560);
  assert.deepEqual([...fd.silent([2, 3], 600)], [2, 3]);
  assert.deepEqual(fd.expired([2, 3], 600), [2]);
});

test("silence before a member was first watched does not count against it", () => {
  const fd = detector();
  fd.startWatching(3, 800);
  assert.deepEqual(fd.expired([2, 3], 1_000), [2]);
  assert.deepEqual(fd.expired([2, 3], 1_301), [2, 3]);
  fd.suspect(3);
  fd.unsuspect(3); // no longer watched: no longer held unreachable
  assert.deepEqual([...fd.suspected], []);
});

test("a member added to the view gets one more timeout of grace: it may install the view late", () => {
  const fd = detector(0, viewOf(3, [1, 2, 3]));
  fd.watch(viewOf(3, [1, 2, 3]), viewOf(4, [1, 2, 3, 4]), 1_000);
  fd.heard(2, 1_000);
  fd.heard(3, 1_000);
  assert.deepEqual(fd.expired([2, 3, 4], 1_501), [2, 3]);
  assert.deepEqual(fd.expired([2, 3, 4], 2_001), [2, 3, 4]);
});
