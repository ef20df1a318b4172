import assert from "node:assert/strict";
import { test } from "node:test";
import { Acceptor } from "../src/core/acceptor.ts";
import { NO_BALLOT } from "../src/core/ballot.ts";
import type { Ballot, Proposal } from "../src/core/messages.ts";
import { b, E1, viewOf } from "./support/fixtures.ts";

const proposal = (viewId: number, ballot: Ballot): Proposal => ({
  viewId,
  op: { kind: "ADD", peer: 4, incarnation: 40 },
  leader: 1,
  ballot,
});

test("a new acceptor has promised nothing and accepted nothing", () => {
  const a = new Acceptor();
  assert.deepEqual(a.promised, NO_BALLOT);
  assert.equal(a.accepted, null);
  assert.equal(a.refuses(b(0, 1)), false);
});

test("a promise only rises, and refuses what is below it (by round, then by leader)", () => {
  const a = new Acceptor();
  a.promise(b(1, 3));
  assert.deepEqual(a.promised, b(1, 3));
  a.promise(b(0, 5)); // lower round: no change
  a.promise(b(1, 2)); // same round, lower leader: no change
  assert.deepEqual(a.promised, b(1, 3));
  assert.equal(a.refuses(b(0, 9)), true);
  assert.equal(a.refuses(b(1, 2)), true);
  assert.equal(a.refuses(b(1, 3)), false); // the promised ballot itself is welcome
  assert.equal(a.refuses(b(2, 1)), false);
  a.promise(b(2, 1));
  assert.deepEqual(a.promised, b(2, 1));
});

test("accepting a proposal makes it pending and promises its ballot", () => {
  const a = new Acceptor();
  const p = proposal(3, b(1, 2));
  a.accept(p);
  assert.equal(a.accepted, p);
  assert.deepEqual(a.promised, b(1, 2));
  assert.equal(a.refuses(b(0, 1)), true);
  // A later proposal replaces it; a lower ballot does not lower the promise.
  a.promise(b(3, 1));
  const q = proposal(3, b(2, 2));
  a.accept(q);
  assert.equal(a.accepted, q);
  assert.deepEqual(a.promised, b(3, 1));
});

test("acceptedFor answers only for the view the proposal applies to", () => {
  const a = new Acceptor();
  assert.equal(a.acceptedFor(3), null);
  const p = proposal(3, b(0, 1));
  a.accept(p);
  assert.equal(a.acceptedFor(3), p);
  assert.equal(a.acceptedFor(2), null);
  assert.equal(a.acceptedFor(4), null);
});

test("installing a view settles what was accepted below it, and promises its ballot", () => {
  const a = new Acceptor();
  const p = proposal(3, b(0, 1));
  a.accept(p);
  a.installed(viewOf(3, [1, 2]), b(0, 1), false); // the view it applies to: still pending
  assert.equal(a.accepted, p);
  a.installed(viewOf(4, [1, 2]), b(1, 2), false); // the view it led to: settled
  assert.equal(a.accepted, null);
  assert.deepEqual(a.promised, b(1, 2));
  a.installed(viewOf(5, [1, 2]), b(0, 1), false); // an older ballot never lowers the promise
  assert.deepEqual(a.promised, b(1, 2));
  a.accept(proposal(5, b(1, 2)));
  a.installed(viewOf(2, [1, 2], 1, undefined, { round: 9, former: 2, run: 20 }), b(9, 2), true);
  assert.equal(a.accepted, null, "a view of another epoch settles what was accepted in the old one");
});

test("an acceptor that accepted a view formed in a later epoch votes in the older one no more", () => {
  const a = new Acceptor();
  const later = { round: 3, former: 2, run: 20 };
  assert.equal(a.votesIn(E1), true);
  a.acceptForm({ ballot: b(3, 2), view: viewOf(6, [2, 3], 2, undefined, later) });
  assert.equal(a.votesIn(E1), false);
  assert.equal(a.votesIn(later), true);
  a.installed(viewOf(6, [2, 3], 2, undefined, later), b(3, 2), true);
  assert.equal(a.formAccepted, null, "installing the formed view settles the acceptance");
});

test("forget drops the pending proposal but keeps the promise", () => {
  const a = new Acceptor();
  a.accept(proposal(3, b(2, 3)));
  a.forget();
  assert.equal(a.accepted, null);
  assert.deepEqual(a.promised, b(2, 3));
  assert.equal(a.refuses(b(1, 9)), true);
});
