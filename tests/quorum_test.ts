import assert from "node:assert/strict";
import { test } from "node:test";
import type { Operation, PeerId, View } from "../src/core/messages.ts";
import { canCommit, isMajority, majorityOf } from "../src/core/quorum.ts";

const viewOf = (members: PeerId[]): View => ({
  epoch: { round: 1, former: 1, run: 1 },
  id: 7,
  leader: members[0],
  members,
  incarnations: members.map(() => 1),
});
const add = (peer: PeerId): Operation => ({ kind: "ADD", peer, incarnation: 2 });
const del = (peer: PeerId): Operation => ({ kind: "DEL", peer, incarnation: 1 });
const none = new Set<PeerId>();

test("majorityOf: more than half of the view's members", () => {
  const sizes = [1, 2, 3, 4, 5, 6, 7];
  const majorities = sizes.map((n) => majorityOf(viewOf(Array.from({ length: n }, (_, i) => i + 1))));
  assert.deepEqual(majorities, [1, 2, 2, 3, 3, 4, 4]);
});

test("isMajority counts only the view's members for which the predicate holds", () => {
  const view = viewOf([1, 2, 3, 4]);
  assert.equal(isMajority(view, (m) => m <= 2), false); // half is not a majority
  assert.equal(isMajority(view, (m) => m <= 3), true);
  assert.equal(isMajority(viewOf([1]), (m) => m === 1), true);
  assert.equal(isMajority(viewOf([1]), () => false), false);
  // Peers outside the view never count, whatever the predicate says of them.
  assert.equal(isMajority(viewOf([1, 3, 5]), (m) => m === 1 || m === 2 || m === 4), false);
});

test("canCommit: a majority, and every member not held failed", () => {
  const view = viewOf([1, 2, 3]);
  assert.equal(canCommit(view, new Set([1, 2, 3]), none, add(4)), true);
  // 1 and 2 are a majority, but 3 is live and has not answered.
  assert.equal(canCommit(view, new Set([1, 2]), none, add(4)), false);
  // Once 3 is held failed, it is not waited for.
  assert.equal(canCommit(view, new Set([1, 2]), new Set([3]), add(4)), true);
  // Failed members do not make up a majority: a minority never commits.
  assert.equal(canCommit(view, new Set([1]), new Set([2, 3]), add(4)), false);
  assert.equal(canCommit(view, new Set([1]), new Set([2, 3]), del(3)), false);
});

test("canCommit: the member a DEL removes is not waited for, but still needs a majority", () => {
  const view = viewOf([1, 2, 3]);
  assert.equal(canCommit(view, new Set([1, 2]), none, del(3)), true);
  // Only the DEL's target is excused: 2 is live and silent.
  assert.equal(canCommit(view, new Set([1, 3]), none, del(3)), false);
  // In a view of two, the survivor alone is no majority: it cannot remove the other.
  assert.equal(canCommit(viewOf([1, 2]), new Set([1]), new Set([2]), del(2)), false);
  // An ADD's peer is not a member, so it is neither needed nor counted.
  assert.equal(canCommit(view, new Set([1, 4]), new Set([2, 3]), add(4)), false);
});

test("canCommit: OKs from peers outside the view do not count", () => {
  const view = viewOf([1, 2, 3, 4, 5]);
  assert.equal(canCommit(view, new Set([1, 2, 6, 7]), new Set([3, 4, 5]), add(6)), false);
  assert.equal(canCommit(view, new Set([1, 2, 3]), new Set([4, 5]), add(6)), true);
});
