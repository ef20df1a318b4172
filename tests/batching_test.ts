// Batched view changes (PROTOCOL.md, "Operations and views", last bullet): in a
// group of more than 8 peers by hostsfile, the leader commits everything queued
// when it starts a view change in that one change; up to 8 peers, one change per
// operation. Scripted like tests/peer_core_test.ts: ONE PeerCore, fed messages by
// hand, the exact effects it returns checked at every step.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeDurableState,
  decodeMessage,
  encodeDurableState,
  encodeMessage,
  MAX_MESSAGE_BYTES,
} from "../src/core/codec.ts";
import type { DurableState, Effect } from "../src/core/effects.ts";
import { Formation } from "../src/core/formation.ts";
import { isLargeGroup, SMALL_GROUP_MAX_PEERS } from "../src/core/config.ts";
import { Leadership } from "../src/core/leadership.ts";
import {
  type Ballot,
  MAX_PROPOSAL_OPERATIONS,
  type Message,
  type Operation,
  type PeerId,
  type Proposal,
  type ReqMessage,
  type View,
} from "../src/core/messages.ts";
import type { PeerCore } from "../src/core/peer_core.ts";
import { canCommit } from "../src/core/quorum.ts";
import { nextView, proposalError, proposalOps } from "../src/core/view.ts";
import {
  found,
  FOUNDER,
  fresh,
  msg,
  newCore,
  persistedState,
  persistFirst,
  run,
  type Send,
  send,
  sendAll,
  sends,
  shape,
  viewEvent,
  viewOf,
} from "./support/core_harness.ts";

const persisted = persistedState;
const add = (peer: PeerId, incarnation = run(peer)): Operation => ({ kind: "ADD", peer, incarnation });
const del = (peer: PeerId, incarnation = run(peer)): Operation => ({ kind: "DEL", peer, incarnation });
const oks = (req: Send[]): Message[] =>
  req.map((r) => {
    const { requestId, proposal } = r.message as ReqMessage;
    return msg(r.to, { type: "OK", requestId, viewId: proposal.viewId, ballot: proposal.ballot });
  });

/**
 * Peer 1 of `peerCount` founds view 1 at 0 (every other peer asked; see the
 * harness's `found`), then `joiners` ask at 10: the first is added at once
 * (view 1 has no other member to ask), the second's ADD runs (its REQ to the
 * first), the rest wait in the queue. Returns the core and the REQ running.
 */
function founded(peerCount: number, joiners: PeerId[]): { core: PeerCore; req: Send[] } {
  const core = newCore(1, peerCount);
  found(core, peerCount);
  let req: Send[] = [];
  for (const p of joiners) {
    const fx = core.receive(10, fresh(p, { type: "JOIN", knownViewId: 0 }));
    if (sends(fx, "REQ").length > 0) req = sends(fx, "REQ");
  }
  return { core, req };
}

test("batching starts above 8 peers by hostsfile", () => {
  assert.equal(SMALL_GROUP_MAX_PEERS, 8);
  assert.equal(isLargeGroup(8), false);
  assert.equal(isLargeGroup(9), true);
});

test("9 peers: joiners queued behind a running change commit in one REQ, one view id step", () => {
  // View 1 = [1] adds 2 at once (view 2); ADD 3 runs, its REQ to 2; 4, 5 and 6 wait in the queue.
  const { core, req } = founded(9, [2, 3, 4, 5, 6]);
  const add3: Proposal = { viewId: 2, op: add(3), leader: 1, ballot: FOUNDER };
  assert.deepEqual(req, [send(1, 2, { type: "REQ", requestId: 3, proposal: add3 })]);
  assert.deepEqual(core.view, viewOf(2, [1, 2]));

  // ADD 3 commits; the three queued joiners go in the next change: ONE REQ carrying all three.
  const v3 = viewOf(3, [1, 2, 3]);
  const batch: Proposal = { viewId: 3, op: add(4), more: [add(5), add(6)], leader: 1, ballot: FOUNDER };
  const committed = core.receive(20, oks(req)[0]);
  assert.deepEqual(
    persisted(committed).accepted,
    batch,
    "the leader's own acceptance of the batch is durable",
  );
  assert.deepEqual(persistFirst(committed), [
    viewEvent(1, v3),
    ...sendAll(1, [2, 3], { type: "NEWVIEW", view: v3, ballot: FOUNDER }),
    ...sendAll(1, [2, 3], { type: "REQ", requestId: 4, proposal: batch }),
  ]);
  // Peers 7, 8 and 9 ask while it runs: they wait too.
  for (const p of [7, 8, 9]) {
    assert.deepEqual(core.receive(25, fresh(p, { type: "JOIN", knownViewId: 0 })), []);
  }

  // Every member of view 3 accepts: view 4 holds six, one view id step, one view line; and the three
  // that waited go in the next change, together.
  const batchOks = oks(sends(committed, "REQ"));
  for (const ok of batchOks.slice(0, -1)) assert.deepEqual(core.receive(30, ok), []);
  const v4 = viewOf(4, [1, 2, 3, 4, 5, 6]);
  const next: Proposal = { viewId: 4, op: add(7), more: [add(8), add(9)], leader: 1, ballot: FOUNDER };
  assert.deepEqual(persistFirst(core.receive(40, batchOks.at(-1)!)), [
    viewEvent(1, v4),
    ...sendAll(1, [2, 3, 4, 5, 6], { type: "NEWVIEW", view: v4, ballot: FOUNDER }),
    ...sendAll(1, [2, 3, 4, 5, 6], { type: "REQ", requestId: 5, proposal: next }),
  ]);
  assert.deepEqual(core.pending, next);
});

test("5 peers: queued joiners go one by one, each its own REQ and view id step", () => {
  const { core, req } = founded(5, [2, 3, 4]);
  const v3 = viewOf(3, [1, 2, 3]);
  const add4: Proposal = { viewId: 3, op: add(4), leader: 1, ballot: FOUNDER };
  assert.deepEqual(persistFirst(core.receive(20, oks(req)[0])), [
    viewEvent(1, v3),
    ...sendAll(1, [2, 3], { type: "NEWVIEW", view: v3, ballot: FOUNDER }),
    ...sendAll(1, [2, 3], { type: "REQ", requestId: 4, proposal: add4 }),
  ]);
  assert.deepEqual(core.receive(30, msg(2, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER })), []);
  const v4 = viewOf(4, [1, 2, 3, 4]);
  assert.deepEqual(
    persistFirst(core.receive(40, msg(3, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER }))),
    [
      viewEvent(1, v4),
      ...sendAll(1, [2, 3, 4], { type: "NEWVIEW", view: v4, ballot: FOUNDER }),
    ],
  );
});

test("9 peers: a restarted member's DEL and re-ADD go in consecutive changes; other queued operations join the first", () => {
  // View 4 = [1..5] (2 at once, then 3, then 4 and 5 together); ADD 6 runs.
  const { core, req } = founded(9, [2, 3, 4, 5]);
  const b3 = core.receive(20, oks(req)[0]);
  for (const ok of oks(sends(b3, "REQ"))) core.receive(30, ok);
  const v4 = viewOf(4, [1, 2, 3, 4, 5]);
  assert.deepEqual(core.view, v4);
  const req6 = persistFirst(core.receive(510, fresh(6, { type: "JOIN", knownViewId: 0 })));
  // Peer 3 restarted (run 31) and 7 asks, both while ADD 6 runs.
  assert.deepEqual(core.receive(520, fresh(3, { type: "JOIN", knownViewId: 0 }, 31)), []);
  assert.deepEqual(core.receive(520, fresh(7, { type: "JOIN", knownViewId: 0 })), []);
  const answers = oks(req6 as Send[]).filter((ok) => ok.from !== 3); // run 30 is gone
  for (const ok of answers) core.receive(530, ok);
  // Peer 3's run 30 has not answered, and is not held failed: ADD 6 waits for it (its OK, sent
  // before it restarted, arrives late).
  assert.deepEqual(core.view, v4);
  const fx = core.receive(540, msg(3, { type: "OK", requestId: 5, viewId: 4, ballot: FOUNDER }, 30));
  const v5 = viewOf(5, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(core.view, v5);
  // DEL 3 (run 30) and ADD 7 in one change; ADD 3 (run 31) names the same peer: it waits for the next.
  const first: Proposal = { viewId: 5, op: del(3), more: [add(7)], leader: 1, ballot: FOUNDER };
  assert.deepEqual(
    sends(fx, "REQ"),
    sendAll(1, [2, 3, 4, 5, 6], { type: "REQ", requestId: 6, proposal: first }),
  );
  // Run 30 of peer 3 is being deleted: it is not waited for.
  let last: Effect[] = [];
  for (const ok of oks(sends(fx, "REQ")).filter((ok) => ok.from !== 3)) last = core.receive(550, ok);
  const v6: View = viewOf(6, [1, 2, 4, 5, 6, 7]);
  const readd: Proposal = { viewId: 6, op: add(3, 31), leader: 1, ballot: FOUNDER };
  assert.deepEqual(shape(persistFirst(last)), [
    viewEvent(1, v6),
    ...sendAll(1, [2, 4, 5, 6, 7], { type: "NEWVIEW", view: v6, ballot: FOUNDER }),
    send(1, 3, { type: "NEWVIEW", view: v6, ballot: FOUNDER }), // the removed run learns it
    { kind: "log", level: "warning", key: "removal" },
    ...sendAll(1, [2, 4, 5, 6, 7], { type: "REQ", requestId: 7, proposal: readd }),
  ]);
});

test("9 peers: a member accepts a batch, keeps it durable, and reports it whole to a candidate", () => {
  const v3 = viewOf(3, [1, 2, 3, 4, 5, 6]);
  const core = newCore(3, 9);
  core.start(0);
  assert.deepEqual(persistFirst(core.receive(0, msg(1, { type: "NEWVIEW", view: v3, ballot: FOUNDER }))), [
    viewEvent(3, v3),
  ]);
  const batch: Proposal = { viewId: 3, op: add(7), more: [del(6), add(8)], leader: 1, ballot: FOUNDER };
  const fx = core.receive(10, msg(1, { type: "REQ", requestId: 5, proposal: batch }));
  assert.deepEqual(persisted(fx).accepted, batch);
  // DEL 6 is not a leaving: the member holds 6 unreachable, as for a lone DEL.
  assert.deepEqual(persistFirst(fx), [
    send(3, 1, { type: "OK", requestId: 5, viewId: 3, ballot: FOUNDER }),
    {
      kind: "event",
      event: { type: "unreachable", peer: 3, viewId: 3, leader: 1, member: 6, isLeader: false },
    },
    { kind: "reset", peer: 6 },
  ]);
  assert.deepEqual(core.pending, batch);
  const mine: Ballot = { round: 2, leader: 2 };
  assert.deepEqual(
    persistFirst(core.receive(20, msg(2, { type: "NEWLEADER", requestId: 1, viewId: 3, ballot: mine }))),
    [send(3, 2, { type: "PENDING", requestId: 1, ballot: mine, view: v3, pending: batch })],
  );
  // Its NEWVIEW settles the batch.
  const v4 = nextView(v3, batch);
  assert.deepEqual(v4, viewOf(4, [1, 2, 3, 4, 5, 7, 8]));
  persistFirst(core.receive(30, msg(1, { type: "NEWVIEW", view: v4, ballot: FOUNDER })));
  assert.equal(core.pending, null);
});

test("9 peers: a REQ whose batch names a peer twice, or cannot apply, is dropped", () => {
  const v3 = viewOf(3, [1, 2, 3, 4, 5, 6]);
  const core = newCore(3, 9);
  core.start(0);
  core.receive(0, msg(1, { type: "NEWVIEW", view: v3, ballot: FOUNDER }));
  for (const more of [[add(7), add(7, 71)], [del(6), add(6, 61)], [add(4)]]) {
    const proposal: Proposal = { viewId: 3, op: add(7), more, leader: 1, ballot: FOUNDER };
    assert.deepEqual(shape(core.receive(10, msg(1, { type: "REQ", requestId: 5, proposal }))), [
      { kind: "log", level: "warning", key: "req-invalid" },
    ]);
  }
  assert.equal(core.pending, null);
});

test("9 peers: a takeover finishes the whole pending batch, then removes the old leader", () => {
  const v3 = viewOf(3, [1, 2, 3, 4, 5, 6]);
  const core = newCore(2, 9);
  core.start(0);
  core.receive(0, msg(1, { type: "NEWVIEW", view: v3, ballot: FOUNDER }));
  // Leader 1 proposed ADD 7, 8, 9; peer 2 accepted; then 1 hands over (it leaves).
  const batch: Proposal = { viewId: 3, op: add(7), more: [add(8), add(9)], leader: 1, ballot: FOUNDER };
  core.receive(10, msg(1, { type: "REQ", requestId: 4, proposal: batch }));
  const mine: Ballot = { round: 2, leader: 2 };
  const fx = core.receive(20, msg(1, { type: "LEAVE" }));
  assert.deepEqual(
    sends(fx, "NEWLEADER"),
    sendAll(2, [1, 3, 4, 5, 6], { type: "NEWLEADER", requestId: 1, viewId: 3, ballot: mine }),
  );
  // 3 knows nothing pending, 4 the batch: with 2 they are no majority of six yet; with 5 they are.
  const pending = (from: PeerId, p: Proposal | null) =>
    msg(from, { type: "PENDING", requestId: 1, ballot: mine, view: v3, pending: p });
  assert.deepEqual(core.receive(30, pending(3, null)), []);
  assert.deepEqual(core.receive(30, pending(4, batch)), []);
  const again: Proposal = { ...batch, ballot: mine };
  const leads = core.receive(40, pending(5, null));
  assert.deepEqual(shape(persistFirst(leads)), [
    { kind: "log", level: "warning", key: "leading" },
    ...sendAll(2, [1, 3, 4, 5, 6], { type: "REQ", requestId: 2, proposal: again }),
  ]);
  assert.match(
    (leads.find((e) => e.kind === "log") as { text: string }).text,
    /finishing pending ADD 7, ADD 8, ADD 9/,
  );
  assert.deepEqual(core.pending, again);

  // Every member accepts: 1 is leaving, but neither held failed nor deleted by this batch, so it
  // is waited for. View 4 names leader 1, as first proposed; then the leaver's DEL.
  for (const p of [1, 3, 4, 5]) {
    assert.deepEqual(core.receive(50, msg(p, { type: "OK", requestId: 2, viewId: 3, ballot: mine })), []);
  }
  const v4 = viewOf(4, [1, 2, 3, 4, 5, 6, 7, 8, 9], 1);
  const del1: Proposal = { viewId: 4, op: { ...del(1), left: true }, leader: 2, ballot: mine };
  assert.deepEqual(
    persistFirst(core.receive(60, msg(6, { type: "OK", requestId: 2, viewId: 3, ballot: mine }))),
    [
      viewEvent(2, v4),
      ...sendAll(2, [1, 3, 4, 5, 6, 7, 8, 9], { type: "NEWVIEW", view: v4, ballot: mine }),
      ...sendAll(2, [1, 3, 4, 5, 6, 7, 8, 9], { type: "REQ", requestId: 3, proposal: del1 }),
    ],
  );
});

test("proposals: operations in order, the view a batch makes, and what makes one invalid", () => {
  const v3 = viewOf(3, [1, 2, 3, 4]);
  const single: Proposal = { viewId: 3, op: add(5), leader: 1, ballot: FOUNDER };
  assert.deepEqual(proposalOps(single), [add(5)]);
  const batch: Proposal = { ...single, more: [del(3), add(9), del(2)] };
  assert.deepEqual(proposalOps(batch), [add(5), del(3), add(9), del(2)]);
  assert.deepEqual(nextView(v3, batch), viewOf(4, [1, 4, 5, 9]));
  assert.equal(proposalError(v3, batch), null);
  assert.equal(proposalError(v3, { ...single, more: [add(5, 51)] }), "peer 5 is named twice");
  assert.equal(proposalError(v3, { ...single, more: [del(1)] }), "the leader cannot delete itself");
  assert.equal(proposalError(v3, { ...single, more: [add(2)] }), "peer 2 is a member already");
  const tooMany = Array.from({ length: MAX_PROPOSAL_OPERATIONS }, (_, i) => add(10 + i));
  assert.match(proposalError(v3, { ...single, more: tooMany }) ?? "", /more than/);
});

test("quorum of a batch: a majority, and every member neither held failed nor deleted by the batch", () => {
  const v = viewOf(5, [1, 2, 3, 4, 5]);
  const ops = [del(4), del(5), add(6)];
  assert.equal(canCommit(v, new Set([1, 2, 3]), new Set(), ops), true);
  assert.equal(canCommit(v, new Set([1, 2]), new Set(), ops), false, "a majority is still needed");
  assert.equal(canCommit(v, new Set([1, 2, 3]), new Set(), [del(4), add(6)]), false, "5 is waited for");
  assert.equal(canCommit(v, new Set([1, 2, 3]), new Set([5]), [del(4), add(6)]), true);
});

test("the leader's queue: batched, one operation per peer and the cap; unbatched, the first wanted", () => {
  const queued = (leadership: Leadership) => leadership.queue.map((q) => q.op);
  const l = new Leadership(FOUNDER);
  l.enqueue(del(3), "restart");
  l.enqueue(add(3, 31), "join");
  l.enqueue(add(4), "join");
  l.enqueue(add(5), "join");
  assert.deepEqual(l.take(false, (op) => op.peer !== 3), [add(4)], "unwanted operations are dropped");
  assert.deepEqual(queued(l), [add(5)]);

  const b = new Leadership(FOUNDER);
  b.enqueue(del(3), "restart");
  b.enqueue(add(3, 31), "join");
  b.enqueue(add(4), "join");
  b.enqueue(add(5), "join");
  assert.deepEqual(b.take(true, (op) => op.peer !== 5), [del(3), add(4)]);
  assert.deepEqual(queued(b), [add(3, 31)], "the re-ADD waits for the next change");
  // Running: an operation of the running batch is not queued again.
  b.begin(7, { viewId: 3, op: del(3), more: [add(4)], leader: 1, ballot: FOUNDER }, 1, 0);
  b.enqueue(add(4), "join");
  assert.deepEqual(queued(b), [add(3, 31)]);

  const many = new Leadership(FOUNDER);
  for (let p = 2; p < 2 + MAX_PROPOSAL_OPERATIONS + 5; p++) many.enqueue(add(p), "join");
  assert.equal(many.take(true, () => true).length, MAX_PROPOSAL_OPERATIONS);
  assert.equal(many.queue.length, 5, "beyond the cap stays queued");
});

test("forming anew sees a pending batch whole: the view it makes may have been chosen and carry on", () => {
  // View 2 = [1,9]; peer 9 accepted the batch ADD 5, 7, 8 (view 3 = [1,5,7,8,9] may be chosen). 1, 7
  // and 8 are out of reach, not restarted: a majority of view 3, which may have gone on without us.
  const v2 = viewOf(2, [1, 9]);
  const batch: Proposal = { viewId: 2, op: add(5), more: [add(7), add(8)], leader: 1, ballot: FOUNDER };
  const ballot: Ballot = { round: 3, leader: 9 };
  const f = new Formation(ballot, 7, 0);
  const knows = (from: PeerId, newest: View | null, pending: Proposal | null) => ({
    from,
    incarnation: run(from),
    newest,
    pending,
    accepted: null,
    inView: true,
  });
  for (const p of [2, 3, 4, 5, 6]) {
    f.promises.set(p, { type: "FORM_PROMISE", requestId: 7, ballot, ...knows(p, null, null) });
  }
  assert.deepEqual(f.decide(knows(9, v2, batch), () => false), {
    kind: "undecided",
    view: viewOf(3, [1, 5, 7, 8, 9]),
  });
  // Its first operation alone would make [1,5,9], which only 1 could vote in: that would be dead.
  assert.equal(f.decide(knows(9, v2, { ...batch, more: undefined }), () => false)?.kind, "propose");
});

// ---- the wire ----

const wireBatch: Proposal = {
  viewId: 4,
  op: add(7),
  more: [{ ...del(3), left: true }, del(5), add(9)],
  leader: 1,
  ballot: { round: 2, leader: 1 },
};

test("codec: a batch round-trips in REQ, PENDING, FORM_PROMISE and durable state", () => {
  const view = viewOf(4, [1, 2, 3, 5]);
  const messages: Message[] = [
    msg(1, { type: "REQ", requestId: 9, proposal: wireBatch }),
    msg(2, { type: "PENDING", requestId: 3, ballot: { round: 3, leader: 2 }, view, pending: wireBatch }),
    msg(2, {
      type: "FORM_PROMISE",
      requestId: 3,
      ballot: { round: 3, leader: 2 },
      newest: view,
      pending: wireBatch,
      accepted: null,
      inView: true,
    }),
  ];
  for (const m of messages) {
    assert.deepEqual(decodeMessage(encodeMessage(m)), { ok: true, message: m }, m.type);
  }
  const state: DurableState = {
    incarnation: 20,
    promised: { round: 2, leader: 1 },
    accepted: wireBatch,
    installed: view,
    member: true,
    formAccepted: null,
  };
  assert.deepEqual(decodeDurableState(encodeDurableState(state)), { ok: true, state });
});

test("codec: a single operation is encoded as before, a batch adds only `more`", () => {
  const single: Proposal = { viewId: 4, op: add(7), leader: 1, ballot: FOUNDER };
  assert.equal(
    encodeMessage(msg(1, { type: "REQ", requestId: 9, proposal: single })),
    '{"v":2,"type":"REQ","from":1,"inc":10,"epoch":[1,1,10],"request_id":9,"view_id":4,"op":"ADD","peer":7,' +
      '"peer_inc":70,"leader":1,"ballot":[1,1]}',
  );
  assert.equal(
    encodeMessage(msg(1, { type: "REQ", requestId: 9, proposal: wireBatch })),
    '{"v":2,"type":"REQ","from":1,"inc":10,"epoch":[1,1,10],"request_id":9,"view_id":4,"op":"ADD","peer":7,' +
      '"peer_inc":70,"more":[{"op":"DEL","peer":3,"peer_inc":30,"left":true},{"op":"DEL","peer":5,"peer_inc":50},' +
      '{"op":"ADD","peer":9,"peer_inc":90}],"leader":1,"ballot":[2,1]}',
  );
});

test("codec: a malformed batch is rejected with a reason", () => {
  const good = JSON.parse(encodeMessage(msg(1, { type: "REQ", requestId: 9, proposal: wireBatch })));
  const entry = (peer: number) => ({ op: "ADD", peer, peer_inc: 1 });
  const bad: [string, unknown, RegExp][] = [
    ["empty", [], /must list 1 to 63/],
    ["not a list", { op: "ADD", peer: 9, peer_inc: 1 }, /must list 1 to 63/],
    ["an entry not an object", [entry(9), [9]], /operation objects/],
    ["an entry null", [null], /operation objects/],
    ["an unknown op", [{ op: "MOVE", peer: 9, peer_inc: 1 }], /'op' must be ADD, DEL or TAG/],
    ["left on an ADD", [{ ...entry(9), left: true }], /'left' is for a DEL/],
    ["peer 0", [entry(0)], /'peer'/],
    ["no incarnation", [{ op: "DEL", peer: 9 }], /'peer_inc'/],
    ["the first op's peer again", [entry(7)], /peer 7 has two operations/],
    ["a peer twice", [entry(8), entry(9), entry(8)], /peer 8 has two operations/],
    [
      "too many",
      Array.from({ length: MAX_PROPOSAL_OPERATIONS }, (_, i) => entry(10 + i)),
      /must list 1 to 63/,
    ],
  ];
  for (const [why, more, reason] of bad) {
    const result = decodeMessage(JSON.stringify({ ...good, more }));
    assert.equal(result.ok, false, why);
    if (!result.ok) assert.match(result.error, reason, why);
  }
  // The durable state is read as strictly.
  const state = JSON.parse(encodeDurableState({
    incarnation: 20,
    promised: FOUNDER,
    accepted: wireBatch,
    installed: null,
    member: false,
    formAccepted: null,
  }));
  const result = decodeDurableState(
    JSON.stringify({ ...state, accepted: { ...state.accepted, more: [entry(7)] } }),
  );
  assert.equal(result.ok, false);
});

test("codec: the largest batch, with the largest numbers, stays well under the message limit", () => {
  const big = Number.MAX_SAFE_INTEGER;
  const op = (i: number): Operation => ({ kind: "DEL", peer: big - i, incarnation: big, left: true });
  const proposal: Proposal = {
    viewId: big,
    op: op(0),
    more: Array.from({ length: MAX_PROPOSAL_OPERATIONS - 1 }, (_, i) => op(i + 1)),
    leader: big,
    ballot: { round: big, leader: big },
  };
  const req = encodeMessage({ type: "REQ", from: big, incarnation: big, requestId: big, proposal });
  assert.ok(req.length < MAX_MESSAGE_BYTES / 2, `a full REQ takes ${req.length} bytes`);
  assert.deepEqual(decodeMessage(req), {
    ok: true,
    message: { type: "REQ", from: big, incarnation: big, requestId: big, proposal },
  });
});
