// Forming the group anew (src/core/formation.ts): the hostsfile majority, when
// a view is dead, and what an attempt decides from the promises it gathered.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Formation, type FormKnowledge, hostsfileMajority, isDead } from "../src/core/formation.ts";
import type {
  Epoch,
  FormAcceptance,
  FormPromiseMessage,
  PeerId,
  Proposal,
  View,
} from "../src/core/messages.ts";
import { b, run, viewOf } from "./support/fixtures.ts";

const v5 = viewOf(5, [1, 2, 3, 4, 5]);
const ATTEMPT = b(3, 1);

/** The epoch an attempt under `ballot` makes when it proposes a fresh view: its ballot and the former's run. */
const epochOf = (ballot = ATTEMPT, run = 10): Epoch => ({ round: ballot.round, former: ballot.leader, run });

/** A fresh view proposed by the attempt under `ballot`, the former as run `formerRun`. */
const formed = (
  id: number,
  members: PeerId[],
  incarnations = members.map(run),
  ballot = ATTEMPT,
  formerRun = run(ballot.leader),
): View => viewOf(id, members, ballot.leader, incarnations, epochOf(ballot, formerRun));

/** What peer `from` (as run `incarnation`) knows. */
function knows(
  from: PeerId,
  incarnation: number,
  newest: View | null,
  extra: {
    pending?: Proposal | null;
    accepted?: FormAcceptance | null;
    inView?: boolean;
  } = {},
): FormKnowledge {
  return {
    from,
    incarnation,
    newest,
    pending: extra.pending ?? null,
    accepted: extra.accepted ?? null,
    inView: extra.inView ?? true,
  };
}

/** An attempt by peer 1 under ATTEMPT, with these promises. */
function attempt(...promises: FormKnowledge[]): Formation {
  const f = new Formation(ATTEMPT, 7, 0);
  for (const k of promises) {
    const m: FormPromiseMessage = { type: "FORM_PROMISE", requestId: 7, ballot: ATTEMPT, ...k };
    f.promises.set(k.from, m);
  }
  return f;
}

/** Nobody heard as a newer run than the one asked about. */
const noneRestarted = () => false;

test("a majority of the hostsfile: more than half of its peers", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 9].map(hostsfileMajority), [1, 2, 2, 3, 3, 4, 4, 5]);
});

test("a view is dead when the members that may still vote are no majority of it", () => {
  assert.equal(isDead(v5, (m) => m <= 2), true); // 3, 4, 5 restarted
  assert.equal(isDead(v5, (m) => m <= 3), false); // 3 of 5 may still vote
  assert.equal(isDead(v5, () => true), false);
  assert.equal(isDead(viewOf(2, [1, 2]), (m) => m === 1), true); // half is no majority
  assert.equal(isDead(viewOf(1, [1]), () => false), true);
});

test("an attempt has promised and accepted once a majority of the hostsfile did, the former counted", () => {
  const f = new Formation(ATTEMPT, 7, 0);
  assert.equal(f.promised(5), false);
  f.promises.set(2, { type: "FORM_PROMISE", requestId: 7, ballot: ATTEMPT, ...knows(2, 20, v5) });
  assert.equal(f.promised(5), false);
  assert.equal(f.promised(3), true);
  f.promises.set(3, { type: "FORM_PROMISE", requestId: 7, ballot: ATTEMPT, ...knows(3, 31, v5) });
  assert.equal(f.promised(5), true);
  assert.equal(f.accepted(5), false);
  f.oks.add(2);
  f.oks.add(3);
  assert.equal(f.accepted(5), true);
  assert.equal(f.accepted(6), false);
  assert.equal(new Formation(ATTEMPT, 7, 0).promised(1), true); // a hostsfile of one
});

test("decide: a view an earlier attempt accepted, newer than every newest view, is proposed again (highest ballot)", () => {
  const low: FormAcceptance = { ballot: b(1, 2), view: viewOf(6, [2, 3, 4], 2, [20, 31, 41]) };
  const high: FormAcceptance = { ballot: b(2, 3), view: viewOf(6, [1, 3, 4], 3, [10, 31, 41]) };
  const f = attempt(knows(3, 31, null, { accepted: high }), knows(4, 41, null, { accepted: low }));
  const own = knows(1, 10, v5, { accepted: low });
  assert.deepEqual(f.decide(own, noneRestarted), { kind: "propose", view: high.view });
  // Unchanged, whichever order the answers came in.
  const g = attempt(knows(4, 41, null, { accepted: low }), knows(3, 31, null, { accepted: high }));
  assert.deepEqual(g.decide(own, noneRestarted), { kind: "propose", view: high.view });
});

test("decide: an earlier acceptance no newer than the newest view is ignored (that attempt's view was overtaken)", () => {
  const old: FormAcceptance = { ballot: b(9, 4), view: viewOf(5, [1, 2, 4], 4, [10, 20, 41]) };
  // Newest view 5 is dead (3, 4, 5 answered as new runs): a fresh view is proposed, not the old one.
  const f = attempt(knows(3, 31, v5), knows(4, 41, null, { accepted: old }), knows(5, 51, null));
  const decision = f.decide(knows(1, 10, v5), noneRestarted);
  assert.deepEqual(decision, { kind: "propose", view: formed(6, [1, 3, 4, 5], [10, 31, 41, 51]) });
  // And with the newest view live (1, 2 and 3 up in view 5), 'live' wins over it just the same.
  const g = attempt(knows(2, 20, v5), knows(3, 30, v5), knows(4, 41, null, { accepted: old }));
  assert.deepEqual(g.decide(knows(1, 10, v5), noneRestarted), { kind: "live", view: v5 });
});

test("decide: 'live' when a majority of the newest view answered as its runs", () => {
  // 1, 2 and 3 answered as the runs view 5 holds, and hold view 5; 4 and 5 were not heard from.
  const f = attempt(knows(2, 20, v5), knows(3, 30, v5));
  assert.deepEqual(f.decide(knows(1, 10, v5), noneRestarted), { kind: "live", view: v5 });
  // The former counts only while it still holds its view: without it, 2 and 3 are no majority, and
  // 4 and 5 alone could never commit view 5 again.
  assert.deepEqual(f.decide(knows(1, 10, v5, { inView: false }), noneRestarted), {
    kind: "propose",
    view: formed(6, [1, 2, 3]),
  });
  // Only 2 answered: 1 and 2 are no majority, but 3, 4 and 5 (not heard from) could be: undecided.
  const g = attempt(knows(2, 20, v5));
  assert.deepEqual(g.decide(knows(1, 10, v5), noneRestarted), { kind: "undecided", view: v5 });
  // The newest view of all is the one decided on, even if the former only knew an older one.
  const v7 = viewOf(7, [1, 2, 3], 2);
  const h = attempt(knows(2, 20, v7), knows(3, 30, v7));
  assert.deepEqual(h.decide(knows(1, 10, v5), noneRestarted), { kind: "live", view: v7 });
  // A member answering as its run but holding an older view is up in view 7 all the same: it learns
  // view 7 from the others (soak seed 1088692: the former itself and one member had missed the view,
  // the attempt went on, and the members that accepted it no longer voted in a view that was live).
  const i = attempt(knows(2, 20, v7), knows(3, 30, viewOf(6, [1, 2, 3])));
  assert.deepEqual(i.decide(knows(1, 10, v5), noneRestarted), { kind: "live", view: v7 });
  // Answering as another run is what takes a member out of it: 3 restarted, and without the former
  // (no longer in its view) 2 alone is no majority.
  const j = attempt(knows(2, 20, v7), knows(3, 31, null));
  assert.notEqual(j.decide(knows(1, 10, v5, { inView: false }), noneRestarted)?.kind, "live");
  assert.deepEqual(i.decide(knows(1, 10, v5, { inView: false }), noneRestarted), { kind: "live", view: v7 });
});

test("decide: a member out of the group (joining) is not up in its last view", () => {
  // Soak seed 1171723: peer 1 left view 5 = [1] and joins; peer 3 (removed by view 5) found view 5
  // 'live' on peer 1's answer and waited for it, while peer 1 waited for 3.
  const v5of1 = viewOf(5, [1], 1);
  const f = new Formation(b(3, 3), 7, 0);
  const p1 = knows(1, 10, v5of1, { inView: false });
  f.promises.set(1, { type: "FORM_PROMISE", requestId: 7, ballot: b(3, 3), ...p1 });
  const own = knows(3, 30, viewOf(4, [1, 3], 1), { inView: false });
  assert.deepEqual(f.decide(own, noneRestarted), {
    kind: "propose",
    view: formed(6, [1, 3], undefined, b(3, 3)),
  });
  // In a group, the same answer makes view 5 live.
  const g = new Formation(b(3, 3), 7, 0);
  g.promises.set(1, { type: "FORM_PROMISE", requestId: 7, ballot: b(3, 3), ...p1, inView: true });
  assert.deepEqual(g.decide(own, noneRestarted), { kind: "live", view: v5of1 });
});

test("decide: an earlier attempt's view whose runs are mostly gone is not proposed again; the new view numbers above it", () => {
  // Soak seed 1086647: view 6 = [1, 4, 5] was formed and installed, then 1, 4 and 5 restarted without
  // state. Peer 3 kept its acceptance of view 6 on its data dir; proposing it again formed a view
  // whose runs were all gone, for ever. View 4 is the newest view anyone still holds, and is dead too.
  const v4 = viewOf(4, [1, 2, 3, 5], 1);
  const v6: FormAcceptance = { ballot: b(3, 1), view: viewOf(6, [1, 4, 5], 1) };
  const f = new Formation(b(5, 3), 7, 0);
  for (const k of [knows(1, 11, null), knows(2, 21, null), knows(4, 41, null), knows(5, 51, null)]) {
    f.promises.set(k.from, { type: "FORM_PROMISE", requestId: 7, ballot: b(5, 3), ...k });
  }
  assert.deepEqual(f.decide(knows(3, 30, v4, { accepted: v6, inView: false }), noneRestarted), {
    kind: "propose",
    view: formed(7, [1, 2, 3, 4, 5], [11, 21, 30, 41, 51], b(5, 3)),
  });
  // Soak seed 1048628: peer 3 accepted view 5 = [2, 3] from former 2, which then restarted without
  // state; view 5 may have been chosen, so view 4 = [1, 3] (1 and 3 up in it) is not 'live': the new
  // view numbers above 5, and goes over both.
  const v5: FormAcceptance = { ballot: b(2, 2), view: viewOf(5, [2, 3], 2) };
  const v4of2 = viewOf(4, [1, 3], 1);
  const h = new Formation(b(4, 3), 7, 0);
  for (const k of [knows(1, 10, v4of2), knows(2, 21, null)]) {
    h.promises.set(k.from, { type: "FORM_PROMISE", requestId: 7, ballot: b(4, 3), ...k });
  }
  assert.deepEqual(h.decide(knows(3, 30, v4of2, { accepted: v5 }), noneRestarted), {
    kind: "propose",
    view: formed(6, [1, 2, 3], [10, 21, 30], b(4, 3)),
  });
  assert.deepEqual(h.overridden.map((v) => v.id), [5, 4]);
  // While a majority of view 6's runs may still be up, it is proposed again, as Paxos demands.
  const g = new Formation(b(5, 3), 7, 0);
  for (const k of [knows(1, 10, null, { accepted: v6 }), knows(2, 21, null), knows(4, 40, null)]) {
    g.promises.set(k.from, { type: "FORM_PROMISE", requestId: 7, ballot: b(5, 3), ...k });
  }
  assert.deepEqual(g.decide(knows(3, 30, v4, { accepted: v6, inView: false }), noneRestarted), {
    kind: "propose",
    view: v6.view,
  });
});

test("decide: a member heard as a newer run, or that answered as another run, cannot vote", () => {
  // Nobody answered as another run, but 3, 4 and 5 were heard from as newer runs: dead.
  const heard = attempt(knows(2, 20, v5));
  const restarted = (m: PeerId, r: number) => m >= 3 && r === run(m);
  assert.deepEqual(heard.decide(knows(1, 10, v5), restarted), {
    kind: "propose",
    view: formed(6, [1, 2], [10, 20]),
  });
  // Not known restarted, 3, 4 and 5 could still be a majority of view 5: undecided, not live.
  assert.deepEqual(heard.decide(knows(1, 10, v5), noneRestarted), { kind: "undecided", view: v5 });
  // 3, 4 and 5 answered as runs 31, 41, 51: they are not the acceptors view 5 holds.
  const answered = attempt(knows(3, 31, null), knows(4, 41, null), knows(5, 51, null));
  assert.deepEqual(answered.decide(knows(1, 10, v5), noneRestarted), {
    kind: "propose",
    view: formed(6, [1, 3, 4, 5], [10, 31, 41, 51]),
  });
  // The same peers answering as the runs the view holds: live.
  const same = attempt(knows(3, 30, v5), knows(4, 40, v5), knows(5, 50, v5));
  assert.deepEqual(same.decide(knows(1, 10, v5), noneRestarted), { kind: "live", view: v5 });
});

test("decide: the new view skips an id when a pending proposal for the newest view is reported", () => {
  const del3: Proposal = {
    viewId: 5,
    op: { kind: "DEL", peer: 3, incarnation: 30 },
    leader: 1,
    ballot: b(0, 1),
  };
  // 3, 4 and 5 restarted (5 heard from as a newer run); 2 holds a pending DEL 3 for view 5.
  const fiveRestarted = (m: PeerId, r: number) => m === 5 && r === 50;
  const f = attempt(knows(2, 20, v5, { pending: del3 }), knows(3, 31, null), knows(4, 41, null));
  assert.deepEqual(f.decide(knows(1, 10, v5), fiveRestarted), {
    kind: "propose",
    view: formed(7, [1, 2, 3, 4], [10, 20, 31, 41]),
  });
  // The former's own pending proposal counts the same.
  const g = attempt(knows(3, 31, null), knows(4, 41, null));
  assert.deepEqual(g.decide(knows(1, 10, v5, { pending: del3 }), fiveRestarted)?.view.id, 7);
  // A pending proposal for an older view does not.
  const old: Proposal = { ...del3, viewId: 4 };
  const h = attempt(knows(3, 31, null), knows(4, 41, null, { pending: old }));
  assert.deepEqual(h.decide(knows(1, 10, v5), fiveRestarted)?.view.id, 6);
});

test("decide: the new view holds the answerers, sorted, each with its run, led by the former", () => {
  // Peer 4 forms; answers came from 5, 2 and 3, in that order.
  const f = new Formation(b(1, 4), 2, 0);
  for (const k of [knows(5, 51, null), knows(2, 20, v5), knows(3, 31, v5)]) {
    f.promises.set(k.from, { type: "FORM_PROMISE", requestId: 2, ballot: b(1, 4), ...k });
  }
  const restarted = (m: PeerId, r: number) => m === 4 && r === 40; // the former itself is a new run
  assert.deepEqual(f.decide(knows(4, 41, null), restarted), {
    kind: "propose",
    view: formed(6, [2, 3, 4, 5], [20, 31, 41, 51], b(1, 4), 41),
  });
});

test("decide: founding, when nobody knows any view: view 1 of the former alone, in an epoch of its own", () => {
  const f = attempt(knows(2, 21, null), knows(3, 31, null));
  assert.deepEqual(f.decide(knows(1, 11, null), noneRestarted), {
    kind: "propose",
    view: formed(1, [1], [11], ATTEMPT, 11),
  });
  assert.deepEqual(f.overridden, []);
  // The same ballot from another run of the former makes another epoch: the run is part of it.
  const g = attempt(knows(2, 21, null), knows(3, 31, null));
  assert.notDeepEqual(g.decide(knows(1, 12, null), noneRestarted).view.epoch, epochOf(ATTEMPT, 11));
});

test("decide: a view of a later epoch is the newest, whatever its id", () => {
  // Peer 5 kept view 6 of epoch E1 on its data dir; meanwhile 1, 2, 3, 4 and 6 restarted without
  // state and formed epoch 2/1/11, now at view 3. That view is newer than view 6, and is live.
  const v6 = viewOf(6, [1, 2, 3, 4, 5, 6], 1);
  const later = { round: 2, former: 1, run: 11 };
  const v3 = viewOf(3, [1, 2, 6], 1, [11, 21, 61], later);
  const restarted = (m: PeerId, r: number) => m !== 5 && r === run(m);
  const f = attempt(knows(1, 11, v3), knows(2, 21, v3), knows(6, 61, v3));
  assert.deepEqual(f.decide(knows(5, 50, v6), restarted), { kind: "live", view: v3 });
  // Only 1 of it answered: 2 and 6, not heard from as other runs, could still commit view 3 by
  // themselves; forming beside it could make two groups: undecided.
  const g = attempt(knows(1, 11, v3), knows(3, 31, null), knows(4, 41, null));
  const sixOld = (m: PeerId, r: number) => (m === 3 || m === 4) && r === run(m);
  assert.deepEqual(g.decide(knows(5, 50, v6), sixOld), { kind: "undecided", view: v3 });
  // A fresh view numbers above every id reported, the older epoch's view 6 included.
  const h = attempt(knows(1, 11, v3), knows(3, 31, null), knows(4, 41, null));
  const allButFive = (m: PeerId, r: number) => m !== 5 && r <= run(m) + 1;
  assert.deepEqual(h.decide(knows(5, 50, v6), allButFive).view.id, 7);
});

test("decide: undecided while the view a reported pending proposal makes could carry on without the lost runs", () => {
  // View 2 = [1,9]; peer 9 accepted ADD 7 (so view 3 = [1,7,9] may be chosen), and 1 and 7 are
  // out of reach, not restarted: together they are a majority of view 3 and may have gone on.
  const v2 = viewOf(2, [1, 9]);
  const add7 = {
    viewId: 2,
    op: { kind: "ADD" as const, peer: 7, incarnation: 70 },
    leader: 1,
    ballot: b(0, 1),
  };
  const f = attempt(knows(2, 20, null), knows(3, 30, null), knows(4, 40, null), knows(5, 50, null));
  const decision = f.decide(knows(9, 90, v2, { pending: add7 }), () => false);
  assert.equal(decision?.kind, "undecided");
  // Without that pending proposal view 2 is dead (only peer 1 could still vote), and it would be replaced.
  assert.equal(f.decide(knows(9, 90, v2), () => false)?.kind, "propose");
});

test("decide: a reported pending proposal that numbers its view above the next id is skipped past too", () => {
  // 2 holds a pending ADD 6 for view 5 that a leader numbered 12 (above a returning peer's view 11).
  const add6: Proposal = {
    viewId: 5,
    nextViewId: 12,
    op: { kind: "ADD", peer: 6, incarnation: 60 },
    leader: 1,
    ballot: b(0, 1),
  };
  const restarted = (m: PeerId, r: number) => m >= 3 && r === run(m);
  const f = attempt(knows(2, 20, v5, { pending: add6 }), knows(3, 31, null), knows(4, 41, null));
  assert.deepEqual(f.decide(knows(1, 10, v5), restarted)?.view.id, 13);
});

test("a formed view is installed only once the old view's members that only promised can no longer make its majority", () => {
  // Hostsfile of 7, view 5 = [1..5]; the former is peer 6, out of the group. 1 restarted (heard as
  // run 11), 4 and 5 are silent, 2 and 3 promised holding view 5, and so did 7. Neither the members
  // up in view 5 (2, 3) nor those that could still vote without having promised (4, 5) are a
  // majority of it: the attempt proposes.
  const oneRestarted = (m: PeerId, r: number) => m === 1 && r === run(1);
  const f = attempt(
    knows(1, run(1) + 1, null),
    knows(2, run(2), v5),
    knows(3, run(3), v5),
    knows(7, run(7), null),
  );
  const decision = f.decide(knows(6, run(6), null, { inView: false }), oneRestarted);
  assert.equal(decision?.kind, "propose");
  assert.deepEqual(f.overridden, [v5]);
  // 1, 7 and 2 accept: a majority of the hostsfile, the former counted; but 3's FORM_ACCEPT was
  // lost. 3 only promised: a takeover above the attempt's ballot can still gather 3, 4 and 5, a
  // majority of view 5, so the formed view must not be installed yet.
  for (const p of [1, 7, 2]) f.oks.add(p);
  assert.equal(f.accepted(7), true);
  assert.equal(f.overridesSafely(6, oneRestarted), false);
  // Once 3 accepted too (it votes in view 5 no more), or a newer run of 3 was heard from: safe.
  assert.equal(f.overridesSafely(6, (m, r) => oneRestarted(m, r) || (m === 3 && r === run(3))), true);
  f.oks.add(3);
  assert.equal(f.overridesSafely(6, oneRestarted), true);
});
