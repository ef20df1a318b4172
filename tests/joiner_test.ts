import assert from "node:assert/strict";
import { test } from "node:test";
import { JOIN_FANOUT, JOIN_RETRY_MAX_MS, JOIN_RETRY_MIN_MS } from "../src/core/config.ts";
import { Joiner } from "../src/core/joiner.ts";

const half = () => 0.5; // jitter factor exactly 1

/** How long after `now` the next try is due (to the ms), after `joiner.next(now)`. */
function gapAfter(joiner: Joiner, now: number, random = half): number {
  joiner.next(now, random);
  let gap = 0;
  while (!joiner.due(now + gap)) gap++;
  return gap;
}

test("with nobody named, a JOIN goes to every other peer of the hostsfile", () => {
  const joiner = new Joiner(3, 5);
  assert.equal(joiner.due(0), true); // the first try is due at once
  assert.deepEqual(joiner.next(0, half), [1, 2, 4, 5]);
  assert.equal(joiner.due(99), false);
  assert.equal(joiner.due(100), true);
  assert.deepEqual(new Joiner(1, 1).next(0, half), []);
});

test("back-off doubles from the minimum up to the maximum, and stays there", () => {
  const joiner = new Joiner(2, 3);
  const gaps: number[] = [];
  let now = 0;
  for (let i = 0; i < 8; i++) {
    const gap = gapAfter(joiner, now);
    gaps.push(gap);
    now += gap;
  }
  assert.equal(JOIN_RETRY_MIN_MS, 100);
  assert.equal(JOIN_RETRY_MAX_MS, 2_000);
  assert.deepEqual(gaps, [100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000]);
});

test("jitter stays within 0.75 and 1.25 of the back-off", () => {
  assert.equal(gapAfter(new Joiner(2, 3), 0, () => 0), 75);
  const nearOne = () => 1 - Number.EPSILON;
  const joiner = new Joiner(2, 3);
  joiner.next(0, nearOne);
  assert.equal(joiner.due(124.99), false);
  assert.equal(joiner.due(125), true);
  // At the maximum too: never beyond 1.25 × 2000.
  const late = new Joiner(2, 3);
  let now = 0;
  for (let i = 0; i < 6; i++) now += gapAfter(late, now);
  assert.equal(gapAfter(late, now, () => 0), 1_500);
  assert.equal(gapAfter(late, now + 1_500, nearOne), 2_500);
});

test("a hint is asked alone, once; the next try goes to everyone again", () => {
  const joiner = new Joiner(2, 4);
  joiner.next(0, half);
  joiner.askNext(3, false);
  assert.deepEqual(joiner.next(10, half), [3]);
  assert.deepEqual(joiner.next(20, half), [1, 3, 4]);
});

test("a hint naming this peer itself means everyone", () => {
  const joiner = new Joiner(2, 3);
  joiner.askNext(2, false);
  assert.deepEqual(joiner.next(0, half), [1, 3]);
});

test("askNext keeps the back-off unless told to start it over", () => {
  const joiner = new Joiner(2, 3);
  joiner.next(0, half); // 100
  joiner.next(100, half); // 200; next back-off 400
  joiner.askNext(1, false);
  assert.equal(gapAfter(joiner, 300), 400);
  joiner.askNext(1, true);
  assert.equal(gapAfter(joiner, 700), 100);
  joiner.askNext(null, true); // no one named: start over, and ask everyone
  assert.deepEqual(joiner.next(800, half), [1, 3]);
});

test("in a large group a joiner with no lead asks peer 1 and a few others at random, not everyone", () => {
  let x = 0;
  const random = () => (x = (x * 7 + 3) % 10) / 10;
  const joiner = new Joiner(7, 100);
  const asked = joiner.next(0, random);
  assert.equal(asked.length, JOIN_FANOUT + 1);
  assert.ok(asked.includes(1) && !asked.includes(7), String(asked));
  assert.equal(new Set(asked).size, asked.length);
  const again = joiner.next(1_000, random);
  assert.notDeepEqual(again, asked, "another draw next time");
  // Peer 1 asks everyone: before it founds, it must find any group there is (soak seed 1084544).
  assert.equal(new Joiner(1, 100).next(0, random).length, 99);
});
