// Scripted tests of the protocol core, in the manner of raft's interaction
// tests: ONE PeerCore, fed messages and ticks by hand, and the exact effects
// it returns checked at every step. No network, no runtime, no Peer class.
// Every precondition is reached through real messages, never private fields.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DurableState, Effect } from "../src/core/effects.ts";
import type { Ballot, Message, PeerId, Proposal, View } from "../src/core/messages.ts";
import { Monitoring } from "../src/core/monitoring.ts";
import { PeerCore } from "../src/core/peer_core.ts";
import {
  type Body,
  E1,
  events,
  FAIL_AFTER,
  FOUNDER,
  fresh,
  heartbeat,
  HEARTBEAT_MS,
  leaderOf,
  log,
  memberOf,
  msg,
  newCore,
  noPersist,
  okFor,
  persistedState,
  persistFirst,
  reset,
  run,
  runTicks,
  send,
  sendAll,
  sends,
  shape,
  unreachable,
  viewEvent,
  viewOf,
  withoutEvidence,
} from "./support/core_harness.ts";

// ---- the script helpers: the shared harness (tests/support/core_harness.ts) ----

// ---- 1. founding ----

/** A FORM_PROMISE answering `form` from `from`, knowing `newest` (none by default), out of a group. */
function promiseTo(form: Effect, from: PeerId, newest: View | null = null, inView = false): Message {
  const { requestId, ballot } = (form as Extract<Effect, { kind: "send" }>).message as Extract<
    Message,
    { type: "FORM" }
  >;
  const body = {
    type: "FORM_PROMISE" as const,
    requestId,
    ballot,
    newest,
    pending: null,
    accepted: null,
    inView,
  };
  return newest ? msg(from, body) : fresh(from, body);
}

test("peer 1 asks to join like every peer, and founds once every other peer has asked it to join: FORM, view 1", () => {
  const core = newCore(1, 3);
  // Nobody installed anything yet: no epoch on what it sends, nothing durable to write.
  assert.deepEqual(core.start(0), sendAll(1, [2, 3], { type: "JOIN", knownViewId: 0 }, "stream", null));
  assert.equal(core.role, "joining");
  assert.equal(core.view, null);
  assert.deepEqual(core.receive(10, fresh(2, { type: "JOIN", knownViewId: 0 })), []);
  assert.deepEqual(core.receive(20, fresh(3, { type: "JOIN", knownViewId: 0 })), []);
  // Every other peer asked: no group is left to find. At its next tick peer 1 asks the hostsfile to
  // form, under ballot 1/1, promising it itself first.
  const fx = core.tick(100);
  assert.deepEqual(persistedState(fx).promised, FOUNDER);
  const forms = sends(fx, "FORM");
  assert.deepEqual(
    forms,
    sendAll(1, [2, 3], { type: "FORM", requestId: 1, ballot: FOUNDER }, "stream", null),
  );
  // 2 promises knowing no view: with peer 1 a majority of 3; peer 3, heard lately, gets a retry interval.
  assert.deepEqual(noPersist(core.receive(110, promiseTo(forms[0], 2))), []);
  const v1 = viewOf(1, [1]);
  const accept = core.receive(120, promiseTo(forms[0], 3));
  assert.deepEqual(persistedState(accept).formAccepted, { ballot: FOUNDER, view: v1 });
  assert.deepEqual(
    sends(accept, "FORM_ACCEPT"),
    sendAll(1, [2, 3], { type: "FORM_ACCEPT", requestId: 1, ballot: FOUNDER, view: v1 }, "stream", null),
  );
  // One FORM_OK is a majority with peer 1's own acceptance: view 1 is founded, in epoch E1, and printed.
  const formed = core.receive(130, fresh(2, { type: "FORM_OK", requestId: 1, ballot: FOUNDER }));
  // (a view of peer 1 alone: no NEWVIEW to send; the joiners come in by ADD, one view each)
  assert.deepEqual(shape(persistFirst(formed)), [log("info", "formed"), viewEvent(1, v1)]);
  assert.equal(core.role, "leader");
  assert.deepEqual(core.epoch, E1);
});

test("peer 1 does not form on a minority of the hostsfile, however long it waits", () => {
  const core = newCore(1, 5);
  core.start(0);
  assert.deepEqual(core.receive(10, fresh(2, { type: "JOIN", knownViewId: 0 })), []);
  // No group shows itself for a failure timeout: it asks the hostsfile; only peer 2 answers, every
  // attempt (one gives up after ten retries, and the next starts).
  let attempts = 0;
  for (let t = 100; t <= 8_000; t += 100) {
    const fx = core.tick(t);
    assert.deepEqual(events(fx), [], `at ${t}`);
    assert.deepEqual(sends(fx, "FORM_ACCEPT"), [], `no FORM_ACCEPT at ${t}`);
    const forms = sends(fx, "FORM");
    if (forms.some((f) => f.to === 2)) {
      attempts++;
      assert.deepEqual(
        sends(core.receive(t + 10, promiseTo(forms.find((f) => f.to === 2)!, 2)), "FORM_ACCEPT"),
        [],
      );
    }
  }
  assert.ok(attempts > 0, "it tried");
  assert.equal(core.view, null);
  assert.equal(core.durableState.installed, null);
});

test("a promise that reports a live group: peer 1 joins it instead of founding beside it", () => {
  const core = newCore(1, 3);
  core.start(0);
  for (const p of [2, 3]) core.receive(10, fresh(p, { type: "JOIN", knownViewId: 0 }));
  const forms = sends(core.tick(100), "FORM");
  // Peers 2 and 3 are in view 4 of a group peer 1's earlier run belonged to (a newer run now).
  const v4 = viewOf(4, [1, 2, 3], 2, [9, 20, 30]);
  core.receive(110, promiseTo(forms[0], 2, v4, true));
  const fx = core.receive(120, promiseTo(forms[0], 3, v4, true));
  assert.deepEqual(sends(fx, "FORM_ACCEPT"), []);
  assert.deepEqual(shape(fx).filter((e) => (e as { kind: string }).kind === "log"), [
    log("info", "formation"),
    log("warning", "removed"),
  ]);
  // It joins that group's leader; its JOIN names no view (it never installed one).
  assert.deepEqual(sends(fx, "JOIN"), [send(1, 2, { type: "JOIN", knownViewId: 0 }, "stream", null)]);
  assert.equal(core.view, null);
  assert.equal(core.durableState.installed, null);
});

test("a message of a group's epoch shows peer 1 a group: it does not form while one shows itself", () => {
  const core = newCore(1, 5);
  core.start(0);
  core.receive(10, fresh(2, { type: "JOIN", knownViewId: 0 }));
  // A member of a live group redirects peer 1 (its JOIN answered) every few hundred ms.
  for (let t = 100; t <= 5_000; t += 100) {
    if (t % 300 === 0) core.receive(t - 5, msg(3, { type: "REDIRECT", leader: 4, viewId: 7 }));
    assert.deepEqual(sends(core.tick(t), "FORM"), [], `no FORM at ${t}`);
  }
});

// ---- 2. joining ----

test("a joiner asks everyone, follows a REDIRECT to the leader, and retries with back-off", () => {
  const core = newCore(2, 3); // random 0.5: no jitter, so back-off is exactly 100, 200, 400, ...
  const join = { type: "JOIN" as const, knownViewId: 0 };
  assert.deepEqual(core.start(0), sendAll(2, [1, 3], join, "stream", null));
  assert.equal(core.role, "joining");

  // Peer 3 is a member of view 3 led by 1 (a REDIRECT of its epoch, later than none): ask peer 1
  // alone, at once.
  assert.deepEqual(core.receive(10, msg(3, { type: "REDIRECT", leader: 1, viewId: 3 })), [
    send(2, 1, join, "stream", null),
  ]);
  // A REDIRECT from the leader naming itself changes nothing: the retry will reach it.
  assert.deepEqual(core.receive(20, msg(1, { type: "REDIRECT", leader: 1, viewId: 3 })), []);

  // Retries on tick, every 10 ms of ticks: the hint was used once, so they go to everyone. Every
  // tick also tells the leader it was pointed at that it is here, by datagram (damping.ts).
  const joinsAt: number[] = [];
  for (let t = 30; t <= 11_100; t += 10) {
    const fx = core.tick(t);
    assert.deepEqual(
      fx.filter((e) => e.kind === "send" && e.channel === "datagram"),
      [send(2, 1, { ...join, probation: true }, "datagram", null)],
      `at ${t}`,
    );
    const stream = fx.filter((e) => !(e.kind === "send" && e.channel === "datagram"));
    if (stream.length === 0) continue;
    assert.deepEqual(stream, sendAll(2, [1, 3], join, "stream", null), `at ${t}`);
    joinsAt.push(t);
  }
  // The REDIRECT's JOIN at 10 armed 200 ms; then 400, 800, 1600, and 2000 at most.
  assert.deepEqual(joinsAt, [210, 610, 1_410, 3_010, 5_010, 7_010, 9_010, 11_010]);
});

test("a removed member's JOINs name the last view it installed, and go to the leader of the view that removed it", () => {
  const core = memberOf(viewOf(3, [1, 2, 3]), 2, 3);
  const v4 = viewOf(4, [1, 3]);
  const fx = core.receive(10, msg(1, { type: "NEWVIEW", view: v4, ballot: FOUNDER }));
  assert.equal(core.role, "joining");
  // It was removed while alive: it says so (its own health), and asks the leader of view 4.
  assert.deepEqual(shape(persistFirst(fx)), [
    log("warning", "removed"),
    log("warning", "health"),
    send(2, 1, { type: "JOIN", knownViewId: 3 }),
  ]);
  assert.deepEqual(core.health(10).removedWhileAlive, 1);
});

test("a joiner's REQ, heartbeat and NEWLEADER are ignored until it has a view", () => {
  const core = newCore(2, 3);
  core.start(0);
  const proposal: Proposal = {
    viewId: 1,
    op: { kind: "ADD", peer: 3, incarnation: 30 },
    leader: 1,
    ballot: FOUNDER,
  };
  // All of a group's epoch, later than none: a peer that never installed a view is joining already.
  assert.deepEqual(core.receive(10, msg(1, { type: "REQ", requestId: 1, proposal })), []);
  assert.deepEqual(core.receive(20, msg(1, heartbeat(1, FOUNDER))), []);
  assert.deepEqual(
    core.receive(30, msg(3, { type: "NEWLEADER", requestId: 1, viewId: 1, ballot: { round: 1, leader: 3 } })),
    [],
  );
  assert.equal(core.pending, null);
  assert.equal(core.view, null);
});

// ---- 3. the leader's view change ----

test("ADD: REQ to every member; a majority is not enough while a live member has not answered", () => {
  const core = leaderOf([1, 2, 3], 4); // view 3 formed at 500
  const add4: Proposal = {
    viewId: 3,
    op: { kind: "ADD", peer: 4, incarnation: 40 },
    leader: 1,
    ballot: FOUNDER,
  };
  // The leader accepts its own proposal first: durable before the REQ goes out.
  const fx = core.receive(510, msg(4, { type: "JOIN", knownViewId: 0 }));
  assert.deepEqual(persistedState(fx).accepted, add4);
  assert.deepEqual(persistFirst(fx), sendAll(1, [2, 3], { type: "REQ", requestId: 4, proposal: add4 }));
  // 1 and 2 are a majority of [1,2,3], but 3 is not held failed: wait for it.
  assert.deepEqual(core.receive(520, msg(2, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER })), []);
  assert.equal(core.view?.id, 3);
  // The same joiner asking again changes nothing: its ADD is running.
  assert.deepEqual(core.receive(525, msg(4, { type: "JOIN", knownViewId: 0 })), []);

  const v4 = viewOf(4, [1, 2, 3, 4]);
  assert.deepEqual(
    persistFirst(core.receive(530, msg(3, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER }))),
    [
      viewEvent(1, v4),
      ...sendAll(1, [2, 3, 4], { type: "NEWVIEW", view: v4, ballot: FOUNDER }),
    ],
  );
  assert.equal(core.pending, null);
});

test("an OK counts only from the run the view holds, for the running request", () => {
  const core = leaderOf([1, 2, 3], 4);
  core.receive(510, msg(4, { type: "JOIN", knownViewId: 0 }));
  assert.deepEqual(core.receive(520, msg(2, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER })), []);
  // An unknown request id, or the right one for another view: dropped.
  assert.deepEqual(
    shape(core.receive(521, msg(3, { type: "OK", requestId: 3, viewId: 3, ballot: FOUNDER }))),
    [
      log("debug", "stale-ok"),
    ],
  );
  assert.deepEqual(
    shape(core.receive(522, msg(3, { type: "OK", requestId: 4, viewId: 2, ballot: FOUNDER }))),
    [
      log("debug", "stale-ok"),
    ],
  );
  // Peer 3 restarted (run 31): its OK is no vote of the member the view holds (run 30).
  const fx = core.receive(530, msg(3, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER }, 31));
  assert.deepEqual(shape(fx), [log("info", "stale-ok")]);
  assert.equal(core.view?.id, 3);
});

test("the leader retransmits an unanswered REQ after two heartbeat intervals, with a catch-up NEWVIEW", () => {
  const core = leaderOf([1, 2, 3], 4); // view 3 formed at 500; peer 2 and 3 heard then
  const v3 = viewOf(3, [1, 2, 3]);
  const add4: Proposal = {
    viewId: 3,
    op: { kind: "ADD", peer: 4, incarnation: 40 },
    leader: 1,
    ballot: FOUNDER,
  };
  core.receive(510, msg(4, { type: "JOIN", knownViewId: 0 }));
  core.receive(520, msg(2, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER }));
  const ticks = runTicks(core, 500, 700, [msg(2, heartbeat(3)), msg(3, heartbeat(3))]);
  // The members, and in turn one peer outside the view (peer 4, joining): histories meet.
  assert.deepEqual(ticks.get(600), sendAll(1, [2, 3, 4], heartbeat(3, FOUNDER), "datagram"));
  // Sent at 510: due at 710. Only peer 3 has not answered.
  // The heartbeat vouches for what the leader heard itself: both members, 10 ms ago.
  assert.deepEqual(core.tick(710), [
    ...sendAll(1, [2, 3, 4], heartbeat(3, FOUNDER, [[2, 10], [3, 10]]), "datagram"),
    send(1, 3, { type: "NEWVIEW", view: v3, ballot: FOUNDER }),
    send(1, 3, { type: "REQ", requestId: 4, proposal: add4 }),
  ]);
});

// ---- 4. a member's side of a view change ----

test("a member accepts a REQ for its view: OK back, and the proposal is pending until NEWVIEW", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 4);
  const add4: Proposal = {
    viewId: 3,
    op: { kind: "ADD", peer: 4, incarnation: 40 },
    leader: 1,
    ballot: FOUNDER,
  };
  // The acceptance is durable before the OK that depends on it.
  const accepted = core.receive(10, msg(1, { type: "REQ", requestId: 7, proposal: add4 }));
  assert.deepEqual(persistedState(accepted), {
    incarnation: 20,
    promised: FOUNDER,
    accepted: add4,
    installed: v3,
    member: true,
    formAccepted: null,
  });
  assert.deepEqual(persistFirst(accepted), [
    send(2, 1, { type: "OK", requestId: 7, viewId: 3, ballot: FOUNDER }),
  ]);
  assert.deepEqual(core.pending, add4);

  const v4 = viewOf(4, [1, 2, 3, 4]);
  const installed = core.receive(20, msg(1, { type: "NEWVIEW", view: v4, ballot: FOUNDER }));
  assert.deepEqual(persistedState(installed).installed, v4);
  assert.equal(persistedState(installed).accepted, null); // settled by the view
  assert.deepEqual(persistFirst(installed), [viewEvent(2, v4)]);
  assert.equal(core.pending, null);
  assert.deepEqual(core.view, v4);
  // The same NEWVIEW again is no news.
  assert.deepEqual(core.receive(30, msg(1, { type: "NEWVIEW", view: v4, ballot: FOUNDER })), []);
});

test("a member answers NEWLEADER with its pending proposal, then refuses the replaced leader's REQ", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 4);
  const add4: Proposal = {
    viewId: 3,
    op: { kind: "ADD", peer: 4, incarnation: 40 },
    leader: 1,
    ballot: FOUNDER,
  };
  core.receive(10, msg(1, { type: "REQ", requestId: 7, proposal: add4 }));

  const ballot3: Ballot = { round: 1, leader: 3 };
  // The promise is durable before the PENDING that gives it.
  const promised = core.receive(20, msg(3, { type: "NEWLEADER", requestId: 5, viewId: 3, ballot: ballot3 }));
  assert.deepEqual(persistedState(promised).promised, ballot3);
  assert.deepEqual(persistFirst(promised), [
    send(2, 3, { type: "PENDING", requestId: 5, ballot: ballot3, view: v3, pending: add4 }),
  ]);

  // A REQ under a ballot below the promise: REJECT, carrying the promise; pending unchanged.
  const del3: Proposal = {
    viewId: 3,
    op: { kind: "DEL", peer: 3, incarnation: 30 },
    leader: 1,
    ballot: FOUNDER,
  };
  assert.deepEqual(shape(core.receive(30, msg(1, { type: "REQ", requestId: 8, proposal: del3 }))), [
    log("info", "req-refused"),
    send(2, 1, { type: "REJECT", promised: ballot3 }),
  ]);
  assert.deepEqual(core.pending, add4);
  // So is a NEWLEADER below the promise.
  assert.deepEqual(
    core.receive(40, msg(1, { type: "NEWLEADER", requestId: 9, viewId: 3, ballot: { round: 1, leader: 1 } })),
    [send(2, 1, { type: "REJECT", promised: ballot3 })],
  );
});

test("a REQ for an older view gets a catch-up NEWVIEW (at most once per retry interval); one for a newer view waits", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 4);
  const old: Proposal = {
    viewId: 2,
    op: { kind: "ADD", peer: 3, incarnation: 30 },
    leader: 1,
    ballot: FOUNDER,
  };
  assert.deepEqual(shape(core.receive(10, msg(1, { type: "REQ", requestId: 2, proposal: old }))), [
    send(2, 1, { type: "NEWVIEW", view: v3, ballot: FOUNDER }),
    log("info", "req-stale"),
  ]);
  assert.deepEqual(shape(core.receive(20, msg(1, { type: "REQ", requestId: 2, proposal: old }))), [
    log("info", "req-stale"),
  ]);
  assert.equal(core.pending, null);

  const ahead: Proposal = {
    viewId: 4,
    op: { kind: "ADD", peer: 4, incarnation: 40 },
    leader: 1,
    ballot: FOUNDER,
  };
  assert.deepEqual(shape(core.receive(30, msg(1, { type: "REQ", requestId: 9, proposal: ahead }))), [
    log("debug", "req-ahead"),
  ]);
  assert.equal(core.pending, null);
});

// ---- 5. failure detection ----

test("a silent member: heartbeats as datagrams, then exactly one unreachable event and a reset", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 3); // installed at 0; peer 1 keeps heartbeating, peer 3 is silent
  const ticks = runTicks(core, 0, 1_000, [msg(1, heartbeat(3, FOUNDER))]);
  const beats = sendAll(2, [1, 3], heartbeat(3), "datagram");
  for (const [t, fx] of ticks) {
    // failAfter × heartbeat = 500 ms of silence is allowed; the tick after that reports.
    const expected = t === 600 ? [...beats, unreachable(2, v3, 3), reset(3)] : beats;
    assert.deepEqual(fx, expected, `at ${t}`);
  }
  assert.deepEqual([...core.suspected], [3]);
  assert.equal(core.role, "member"); // peer 1 leads, and is heard

  // Heard again (as the run the view holds): reachable, and reported again on the next failure.
  assert.deepEqual(shape(core.receive(1_010, msg(3, heartbeat(3)))), [log("info", "reachable")]);
  assert.deepEqual([...core.suspected], []);
});

test("a heartbeat from another run of a member does not keep it alive", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 3);
  // Peer 3 restarted as run 31 and heartbeats; the view holds run 30, which is silent.
  const ticks = runTicks(core, 0, 600, [msg(1, heartbeat(3, FOUNDER)), msg(3, heartbeat(3), 31)]);
  assert.deepEqual(events(ticks.get(500)!), []);
  assert.deepEqual(events(ticks.get(600)!), [
    { type: "unreachable", peer: 2, viewId: 3, leader: 1, member: 3, isLeader: false },
  ]);
});

test("any message from the run the view holds keeps a member alive", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 3);
  runTicks(core, 0, 300, [msg(1, heartbeat(3, FOUNDER))]);
  // A late answer to this peer's first JOIN, no heartbeat: it still shows peer 3 is up.
  assert.deepEqual(core.receive(350, msg(3, { type: "REDIRECT", leader: 1, viewId: 3 })), []);
  const ticks = runTicks(core, 300, 1_000, [msg(1, heartbeat(3, FOUNDER))]);
  // Silent since 350: not reported at 600, but 500 ms on, at the tick of 900.
  for (const t of [400, 500, 600, 700, 800]) assert.deepEqual(events(ticks.get(t)!), [], `at ${t}`);
  assert.deepEqual(events(ticks.get(900)!).map((e) => e.type === "unreachable" && e.member), [3]);
});

test("a late tick (this peer's own stall) extends every deadline instead of reporting everyone", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 3);
  assert.deepEqual(withoutEvidence(core.tick(100)), sendAll(2, [1, 3], heartbeat(3), "datagram"));
  // Nothing ran for 700 ms: nobody was heard, through no fault of theirs.
  assert.deepEqual(shape(withoutEvidence(core.tick(800))), [
    log("info", "stall"),
    ...sendAll(2, [1, 3], heartbeat(3), "datagram"),
  ]);
  assert.deepEqual([...core.suspected], []);
});

test("one bad link: a member the leader cannot hear, but others do, is neither reported nor removed", () => {
  const core = leaderOf([1, 2, 3, 4, 5], 5); // view 5 at 500
  // Peers 2, 3 and 4 heartbeat the leader and say they heard peer 5 just now; 5 itself never gets through.
  const vouching = [2, 3, 4].map((p) => msg(p, heartbeat(5, null, [[5, 0]])));
  const ticks = runTicks(core, 500, 2_500, vouching);
  for (const [t, fx] of ticks) {
    assert.deepEqual(events(fx), [], `at ${t}`);
    assert.deepEqual(sends(fx, "REQ"), [], `at ${t}`);
  }
  // Once nobody has heard it for the timeout, it is reported and removed as before.
  const silent = runTicks(core, 2_500, 3_100, [2, 3, 4].map((p) => msg(p, heartbeat(5))));
  assert.deepEqual(events(silent.get(3_100)!).map((e) => e.type === "unreachable" && e.member), [5]);
  assert.deepEqual(sends(silent.get(3_100)!, "REQ").map((r) => r.to), [2, 3, 4, 5]);
});

test("a member the leader does not hear directly is not waited for, even while others vouch for it", () => {
  const core = leaderOf([1, 2, 3, 4, 5], 6); // view 5 at 500, peer 5 added: watched from 1000 on
  const vouching = [2, 3, 4].map((p) => msg(p, heartbeat(5, null, [[5, 0]])));
  runTicks(core, 500, 1_600, vouching); // peer 5 never heard directly
  const reqs = sends(core.receive(1_650, msg(6, { type: "JOIN", knownViewId: 0 })), "REQ");
  assert.deepEqual(reqs.map((r) => r.to), [2, 3, 4, 5]);
  for (const r of reqs.slice(0, 2)) assert.deepEqual(events(core.receive(1_660, okFor(r))), []);
  // OKs of 1, 2, 3: a majority; 4 has not answered and is heard, so the leader waits for it.
  assert.equal(core.view!.id, 5);
  const fx = core.receive(1_670, okFor(reqs[2]));
  assert.deepEqual(events(fx).map((e) => e.type === "view" && e.view.members), [[1, 2, 3, 4, 5, 6]]);
});

test("beyond 8 peers a member heartbeats its observers and the leader, and watches only its subjects and the leader", () => {
  const members = Array.from({ length: 20 }, (_, i) => i + 1);
  const v20 = viewOf(20, members);
  const layout = new Monitoring(v20, 7, 20);
  const core = memberOf(v20, 7, 20);
  const beats = sends(core.tick(100), "HEARTBEAT");
  assert.deepEqual(
    beats.map((s) => s.to).sort((a, b) => a - b),
    [1, ...layout.observers].sort((a, b) => a - b),
  );
  // It vouches for what it watches: its subjects and its leader.
  const vouched = (beats[0].message.type === "HEARTBEAT" ? beats[0].message.heard : []).map(([p]) => p);
  assert.deepEqual(vouched.sort((a, b) => a - b), [1, ...layout.subjects].sort((a, b) => a - b));
  // Only the leader and its subjects heartbeat it; the silence of the others is no failure.
  const [lost, ...heard] = layout.subjects;
  const chatter = [msg(1, heartbeat(20, FOUNDER)), ...heard.map((p) => msg(p, heartbeat(20)))];
  const ticks = runTicks(core, 100, 1_200, chatter);
  const reported = [...ticks.values()].flatMap(events).map((e) => e.type === "unreachable" && e.member);
  assert.deepEqual(reported, [lost]);
});

test("beyond 8 peers the leader heartbeats every member, vouching for nobody", () => {
  const members = Array.from({ length: 12 }, (_, i) => i + 1);
  const core = leaderOf(members, 12);
  const beats = sends(core.tick(600), "HEARTBEAT");
  assert.deepEqual(beats.map((s) => s.to), members.slice(1));
  assert.ok(beats.every((s) => s.message.type === "HEARTBEAT" && s.message.heard.length === 0));
  // One heartbeat to many is one message object, so the host encodes it once (EffectRunner).
  assert.ok(beats.every((s) => s.message === beats[0].message));
});

// ---- 6. leader failure and takeover ----

test("takeover: the lowest live member asks for pending operations, finishes a pending DEL, then DELs the old leader", () => {
  // Test case 4: leader 1 sent REQ DEL 5 to every member but the next leader (2), and crashed; 5 had crashed.
  const v5 = viewOf(5, [1, 2, 3, 4, 5]);
  const core = memberOf(v5, 2, 5);
  const ticks = runTicks(core, 0, 600, [msg(3, heartbeat(5)), msg(4, heartbeat(5))]);
  for (const t of [100, 200, 300, 400, 500]) {
    assert.deepEqual(ticks.get(t), sendAll(2, [1, 3, 4, 5], heartbeat(5), "datagram"), `at ${t}`);
  }
  const mine: Ballot = { round: 2, leader: 2 }; // above the founder's { round: 1, leader: 1 }
  // The candidate's promise of its own ballot is durable before its NEWLEADER goes out.
  assert.deepEqual(persistedState(ticks.get(600)!).promised, mine);
  assert.deepEqual(shape(persistFirst(ticks.get(600)!)), [
    ...sendAll(2, [1, 3, 4, 5], heartbeat(5), "datagram"),
    unreachable(2, v5, 1, true),
    reset(1),
    unreachable(2, v5, 5),
    reset(5),
    log("warning", "takeover"),
    ...sendAll(2, [1, 3, 4, 5], { type: "NEWLEADER", requestId: 1, viewId: 5, ballot: mine }),
  ]);
  assert.equal(core.role, "candidate");
  assert.equal(core.leader, 2);

  const del5: Proposal = {
    viewId: 5,
    op: { kind: "DEL", peer: 5, incarnation: 50 },
    leader: 1,
    ballot: FOUNDER,
  };
  // 2 and 3 are not a majority of five.
  assert.deepEqual(
    core.receive(610, msg(3, { type: "PENDING", requestId: 1, ballot: mine, view: v5, pending: del5 })),
    [],
  );
  // With 4, they are: it leads, and re-proposes DEL 5 unchanged but for its own ballot.
  const again: Proposal = { ...del5, ballot: mine };
  assert.deepEqual(
    shape(persistFirst(
      core.receive(620, msg(4, { type: "PENDING", requestId: 1, ballot: mine, view: v5, pending: null })),
    )),
    [
      log("warning", "leading"),
      ...sendAll(2, [1, 3, 4, 5], { type: "REQ", requestId: 2, proposal: again }),
    ],
  );
  assert.equal(core.role, "leader");
  assert.deepEqual(core.pending, again);

  // 3 and 4 accept; 1 and 5 are held failed. View 6 names leader 1, the value as first proposed.
  assert.deepEqual(core.receive(630, msg(3, { type: "OK", requestId: 2, viewId: 5, ballot: mine })), []);
  const v6 = viewOf(6, [1, 2, 3, 4], 1);
  const del1: Proposal = {
    viewId: 6,
    op: { kind: "DEL", peer: 1, incarnation: 10 },
    leader: 2,
    ballot: mine,
  };
  assert.deepEqual(
    persistFirst(core.receive(640, msg(4, { type: "OK", requestId: 2, viewId: 5, ballot: mine }))),
    [
      viewEvent(2, v6),
      ...sendAll(2, [1, 3, 4], { type: "NEWVIEW", view: v6, ballot: mine }),
      send(2, 5, { type: "NEWVIEW", view: v6, ballot: mine }), // the removed peer learns it, to join again
      { kind: "log", level: "warning", text: "peer 2: removed peer 5 (run 50) in view 6", key: "removal" },
      ...sendAll(2, [1, 3, 4], { type: "REQ", requestId: 3, proposal: del1 }),
    ],
  );

  // Then the old leader goes; the queued DEL 5 is done already and is dropped.
  assert.deepEqual(core.receive(650, msg(3, { type: "OK", requestId: 3, viewId: 6, ballot: mine })), []);
  const v7 = viewOf(7, [2, 3, 4], 2);
  assert.deepEqual(
    persistFirst(core.receive(660, msg(4, { type: "OK", requestId: 3, viewId: 6, ballot: mine }))),
    [
      viewEvent(2, v7),
      ...sendAll(2, [3, 4], { type: "NEWVIEW", view: v7, ballot: mine }),
      send(2, 1, { type: "NEWVIEW", view: v7, ballot: mine }),
      { kind: "log", level: "warning", text: "peer 2: removed peer 1 (run 10) in view 7", key: "removal" },
    ],
  );
  assert.equal(core.pending, null);
});

test("a member that is not the lowest live one does not take over when the leader goes silent", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 3, 3); // peer 2 comes first, and is heard
  const ticks = runTicks(core, 0, 1_000, [msg(2, heartbeat(3))]);
  const all = [...ticks.values()].flat();
  assert.deepEqual(events(all), [{
    type: "unreachable",
    peer: 3,
    viewId: 3,
    leader: 1,
    member: 1,
    isLeader: true,
  }]);
  assert.deepEqual(sends(all, "NEWLEADER"), []);
  assert.equal(core.role, "member");
});

test("a candidate whose NEWLEADER goes unanswered sends it again to those that did not answer", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 3);
  const ticks = runTicks(core, 0, 600, [msg(3, heartbeat(3))]);
  const mine: Ballot = { round: 2, leader: 2 };
  assert.deepEqual(sends(ticks.get(600)!, "NEWLEADER").map((s) => s.to), [1, 3]);
  runTicks(core, 600, 700, [msg(3, heartbeat(3))]);
  // NEWLEADER at 600, due again at 800; the candidate heartbeats its ballot.
  assert.deepEqual(core.tick(800), [
    ...sendAll(2, [1, 3], heartbeat(3, mine, [[1, 800], [3, 100]]), "datagram"),
    ...sendAll(2, [1, 3], { type: "NEWLEADER", requestId: 1, viewId: 3, ballot: mine }),
  ]);
});

// ---- 7. a DEL names the run it removes ----

test("the leader DELs a failed member by the incarnation its view records", () => {
  const core = leaderOf([1, 2, 3], 3); // view 3 formed at 0: every other peer asked at once
  const v3 = viewOf(3, [1, 2, 3]);
  // Peer 3 was added at 0: one timeout of grace (500 ms), then 500 ms of silence; the tick after reports.
  const ticks = runTicks(core, 200, 1_100, [msg(2, heartbeat(3))]);
  for (const t of [600, 1_000]) assert.deepEqual(events(ticks.get(t)!), [], `at ${t}`);
  const del3: Proposal = {
    viewId: 3,
    op: { kind: "DEL", peer: 3, incarnation: 30 },
    leader: 1,
    ballot: FOUNDER,
  };
  assert.deepEqual(persistFirst(ticks.get(1_100)!), [
    ...sendAll(1, [2, 3], heartbeat(3, FOUNDER), "datagram"),
    unreachable(1, v3, 3),
    reset(3),
    ...sendAll(1, [2, 3], { type: "REQ", requestId: 4, proposal: del3 }),
  ]);
  // 1 and 2 are a majority, and 3 is both held failed and the member removed.
  const v4 = viewOf(4, [1, 2]);
  assert.deepEqual(
    persistFirst(core.receive(1_110, msg(2, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER }))),
    [
      viewEvent(1, v4),
      send(1, 2, { type: "NEWVIEW", view: v4, ballot: FOUNDER }),
      send(1, 3, { type: "NEWVIEW", view: v4, ballot: FOUNDER }),
      { kind: "log", level: "warning", text: "peer 1: removed peer 3 (run 30) in view 4", key: "removal" },
    ],
  );
});

test("a member that restarted is DELeted as its old run, then ADDed as its new one", () => {
  const core = leaderOf([1, 2, 3], 3);
  const del3: Proposal = {
    viewId: 3,
    op: { kind: "DEL", peer: 3, incarnation: 30 },
    leader: 1,
    ballot: FOUNDER,
  };
  assert.deepEqual(
    persistFirst(core.receive(210, msg(3, { type: "JOIN", knownViewId: 0 }, 31))),
    sendAll(1, [2, 3], { type: "REQ", requestId: 4, proposal: del3 }),
  );
  const v4 = viewOf(4, [1, 2]);
  const add3: Proposal = {
    viewId: 4,
    op: { kind: "ADD", peer: 3, incarnation: 31 },
    leader: 1,
    ballot: FOUNDER,
  };
  assert.deepEqual(
    persistFirst(core.receive(220, msg(2, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER }))),
    [
      viewEvent(1, v4),
      send(1, 2, { type: "NEWVIEW", view: v4, ballot: FOUNDER }),
      send(1, 3, { type: "NEWVIEW", view: v4, ballot: FOUNDER }),
      { kind: "log", level: "warning", text: "peer 1: removed peer 3 (run 30) in view 4", key: "removal" },
      send(1, 2, { type: "REQ", requestId: 5, proposal: add3 }),
    ],
  );
  const v5 = viewOf(5, [1, 2, 3], 1, [10, 20, 31]);
  assert.deepEqual(
    persistFirst(core.receive(230, msg(2, { type: "OK", requestId: 5, viewId: 4, ballot: FOUNDER }))),
    [
      viewEvent(1, v5),
      ...sendAll(1, [2, 3], { type: "NEWVIEW", view: v5, ballot: FOUNDER }),
    ],
  );
});

// ---- 8. input the core must not trust ----

test("a message from an older run of a peer is dropped with a log and changes nothing", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 3);
  // Peer 1 restarted (run 11) and probes, as a founder does: this member points it at the leader it follows.
  assert.deepEqual(core.receive(10, msg(1, { type: "JOIN", knownViewId: 0 }, 11)), [
    send(2, 1, { type: "REDIRECT", leader: 1, viewId: 3 }),
  ]);
  // A REQ of a run older than the one view 3 records (10), delivered late: dropped before it is looked at.
  const add3: Proposal = {
    viewId: 3,
    op: { kind: "ADD", peer: 4, incarnation: 40 },
    leader: 1,
    ballot: FOUNDER,
  };
  const fx = core.receive(20, msg(1, { type: "REQ", requestId: 4, proposal: add3 }, 9));
  assert.deepEqual(shape(fx), [log("info", "old-incarnation")]);
  assert.match((fx[0] as { text: string }).text, /old incarnation of peer 1/);
  assert.equal(core.pending, null);
  assert.deepEqual(core.view, v3);
  assert.equal(core.role, "member");
  // Only the installed view decides which run is current: run 10, the one view 3 records, still
  // counts although run 11 was heard of (a forged or stale higher run never silences the real one).
  const accepted = core.receive(30, msg(1, { type: "REQ", requestId: 4, proposal: add3 }, 10));
  assert.deepEqual(persistFirst(accepted), [
    send(2, 1, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER }),
  ]);
  assert.deepEqual(core.pending, add3);
});

test("a sender outside the hostsfile, or this peer itself, is dropped with a warning", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 3);
  const add4: Proposal = {
    viewId: 3,
    op: { kind: "ADD", peer: 3, incarnation: 31 },
    leader: 1,
    ballot: FOUNDER,
  };
  for (const from of [0, 4, 2, -1]) {
    const fx = core.receive(10, msg(from, { type: "REQ", requestId: 1, proposal: add4 }, 1));
    assert.deepEqual(shape(fx), [log("warning", "sender")], `from ${from}`);
    assert.match((fx[0] as { text: string }).text, /not another peer of the hostsfile/);
  }
  assert.equal(core.pending, null);
  assert.deepEqual(core.view, v3);
});

// ---- 9. durable state: one persist, at the head of the step that changed it ----

test("persist comes first when a step accepts a REQ, promises a NEWLEADER or installs a view; a heartbeat tick has none", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 4); // installing view 3 persisted first (see memberOf)
  const beats = sendAll(2, [1, 3], heartbeat(3, null, [[1, 100], [3, 100]]), "datagram");
  assert.deepEqual(noPersist(core.tick(100)), beats);

  // Accepting a REQ: the acceptance is written before the OK.
  const add4: Proposal = {
    viewId: 3,
    op: { kind: "ADD", peer: 4, incarnation: 40 },
    leader: 1,
    ballot: FOUNDER,
  };
  const accepted = core.receive(110, msg(1, { type: "REQ", requestId: 7, proposal: add4 }));
  assert.deepEqual(persistFirst(accepted), [
    send(2, 1, { type: "OK", requestId: 7, viewId: 3, ballot: FOUNDER }),
  ]);
  assert.deepEqual(persistedState(accepted).accepted, add4);
  // The same REQ again (a retransmission) is answered OK again.
  const again = core.receive(115, msg(1, { type: "REQ", requestId: 7, proposal: add4 }));
  assert.deepEqual(sends(again), [send(2, 1, { type: "OK", requestId: 7, viewId: 3, ballot: FOUNDER })]);

  // Answering NEWLEADER: the promise is written before the PENDING.
  const ballot3: Ballot = { round: 1, leader: 3 };
  const promised = core.receive(120, msg(3, { type: "NEWLEADER", requestId: 4, viewId: 3, ballot: ballot3 }));
  assert.deepEqual(persistFirst(promised), [
    send(2, 3, { type: "PENDING", requestId: 4, ballot: ballot3, view: v3, pending: add4 }),
  ]);
  assert.deepEqual(persistedState(promised).promised, ballot3);

  // Installing a view: written before it is printed. Peer 3 finished the ADD it learned of.
  const v4 = viewOf(4, [1, 2, 3, 4]);
  const installed = core.receive(130, msg(3, { type: "NEWVIEW", view: v4, ballot: ballot3 }));
  assert.deepEqual(persistFirst(installed), [viewEvent(2, v4)]);
  assert.deepEqual(persistedState(installed), {
    incarnation: 20,
    promised: ballot3,
    accepted: null,
    installed: v4,
    member: true,
    formAccepted: null,
  });
  assert.deepEqual(
    withoutEvidence(noPersist(core.tick(200))),
    sendAll(2, [1, 3, 4], heartbeat(4), "datagram"),
  );
  assert.deepEqual(core.durableState, persistedState(installed));
});

// ---- 10. an OK or PENDING counts only for the ballot it answers ----

test("an OK naming another ballot than the running proposal's is not counted", () => {
  const core = leaderOf([1, 2, 3], 4);
  core.receive(510, msg(4, { type: "JOIN", knownViewId: 0 })); // REQ 3: ADD 4 under the founder's ballot
  const other: Ballot = { round: 1, leader: 3 };
  for (const from of [2, 3]) {
    const fx = core.receive(520, msg(from, { type: "OK", requestId: 4, viewId: 3, ballot: other }));
    assert.deepEqual(shape(fx), [log("debug", "stale-ok")], `OK from ${from}`);
  }
  assert.equal(core.view?.id, 3);
  // The same OKs for the ballot proposed: committed.
  assert.deepEqual(core.receive(530, msg(2, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER })), []);
  const fx = core.receive(540, msg(3, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER }));
  assert.deepEqual(events(persistFirst(fx)), [{ type: "view", peer: 1, view: viewOf(4, [1, 2, 3, 4]) }]);
});

test("a PENDING naming another ballot than the candidate's NEWLEADER is not counted", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 2, 3);
  runTicks(core, 0, 600, [msg(3, heartbeat(3))]); // leader 1 silent: 2 takes over at 600
  const mine: Ballot = { round: 2, leader: 2 };
  assert.equal(core.role, "candidate");
  // Peer 3's answer to some other NEWLEADER (same request id, ballot 1/3): no vote for this takeover.
  const elsewhere = msg(3, {
    type: "PENDING",
    requestId: 1,
    ballot: { round: 1, leader: 3 },
    view: v3,
    pending: null,
  });
  assert.deepEqual(shape(core.receive(610, elsewhere)), [log("debug", "stale-pending")]);
  assert.equal(core.role, "candidate");
  // Its answer to this one: 2 and 3 are a majority of [1,2,3]; it leads and DELs the silent leader.
  const fx = core.receive(
    620,
    msg(3, { type: "PENDING", requestId: 1, ballot: mine, view: v3, pending: null }),
  );
  const del1: Proposal = {
    viewId: 3,
    op: { kind: "DEL", peer: 1, incarnation: 10 },
    leader: 2,
    ballot: mine,
  };
  assert.deepEqual(shape(persistFirst(fx)), [
    log("warning", "leading"),
    ...sendAll(2, [1, 3], { type: "REQ", requestId: 2, proposal: del1 }),
  ]);
  assert.equal(core.role, "leader");
});

// ---- 11. restored from durable state ----

/** Peer `id` of `peerCount` started afresh on `state`, as the same run. */
function restoredCore(id: PeerId, peerCount: number, state: DurableState): PeerCore {
  return new PeerCore({
    id,
    peerCount,
    incarnation: state.incarnation,
    heartbeatMs: HEARTBEAT_MS,
    failAfter: FAIL_AFTER,
    random: () => 0.5,
    restored: state,
  });
}

test("restored on its durable state, a member of view 5 is that member at once, keeping its promise and acceptance", () => {
  const v5 = viewOf(5, [1, 2, 3, 4, 5]);
  const before = memberOf(v5, 2, 5);
  const del5: Proposal = {
    viewId: 5,
    op: { kind: "DEL", peer: 5, incarnation: 50 },
    leader: 1,
    ballot: FOUNDER,
  };
  before.receive(10, msg(1, { type: "REQ", requestId: 6, proposal: del5 }));
  const ballot3: Ballot = { round: 1, leader: 3 };
  before.receive(20, msg(3, { type: "NEWLEADER", requestId: 1, viewId: 5, ballot: ballot3 }));
  const state = before.durableState;
  assert.deepEqual(state, {
    incarnation: 20,
    promised: ballot3,
    accepted: del5,
    installed: v5,
    member: true,
    formAccepted: null,
  });

  const core = restoredCore(2, 5, state);
  assert.equal(core.role, "member");
  assert.deepEqual(core.view, v5);
  // No view printed (it printed view 5 in its earlier life), nothing to persist; before it acts in
  // its epoch it asks the hostsfile which epoch each peer is in (a later one may have formed).
  assert.deepEqual(shape(core.start(1_000)), [
    log("info", "restored"),
    ...sendAll(2, [1, 3, 4, 5], { type: "PROBE" }),
  ]);
  assert.equal(core.role, "member");
  assert.equal(core.probing, true);
  assert.deepEqual(core.pending, del5);

  // Its promise holds: the replaced leader's REQ is refused.
  const del4: Proposal = { ...del5, op: { kind: "DEL", peer: 4, incarnation: 40 } };
  assert.deepEqual(shape(core.receive(1_010, msg(1, { type: "REQ", requestId: 7, proposal: del4 }))), [
    log("info", "req-refused"),
    send(2, 1, { type: "REJECT", promised: ballot3 }),
  ]);
  // Its acceptance holds: a later NEWLEADER learns of the pending DEL 5. It says it forgot the
  // view's user events (they live in memory).
  const ballot4: Ballot = { round: 2, leader: 4 };
  const fx = core.receive(1_020, msg(4, { type: "NEWLEADER", requestId: 1, viewId: 5, ballot: ballot4 }));
  // (1 and 4 answered in its epoch: with itself a majority of the hostsfile, its probe is over)
  assert.deepEqual(shape(persistFirst(fx)), [
    log("info", "probe"),
    send(2, 4, { type: "PENDING", requestId: 1, ballot: ballot4, view: v5, pending: del5, forgot: true }),
  ]);
});

test("restored peer 1 does not found view 1: as a member of view 5 it is that member, not a new founder", () => {
  const v5 = viewOf(5, [1, 2, 3, 4, 5]);
  // Peer 1 as the other peers' leader would leave it: it founded, and view 5 was installed.
  const leader = leaderOf([1, 2, 3, 4, 5], 5);
  assert.deepEqual(leader.durableState.installed, v5);
  const core = restoredCore(1, 5, leader.durableState);
  const fx = core.start(1_000);
  assert.deepEqual(events(fx), []);
  assert.deepEqual(shape(fx), [
    log("info", "restored"),
    ...sendAll(1, [2, 3, 4, 5], { type: "PROBE" }),
  ]);
  assert.deepEqual(core.view, v5);
  assert.equal(core.role, "member"); // it leads again only through a takeover, with a higher ballot
  // Two answers in its epoch make a majority of the hostsfile with itself: the probe is over.
  assert.deepEqual(core.receive(1_010, msg(2, { type: "PROBE_ACK" })), []);
  assert.equal(core.probing, true);
  core.receive(1_020, msg(3, { type: "PROBE_ACK" }));
  assert.equal(core.probing, false);
});

test("back on its data dir and removed soon after, a member says so in its JOINs, and is no flap", () => {
  const v5 = viewOf(5, [1, 2, 3, 4, 5]);
  const core = restoredCore(2, 5, memberOf(v5, 2, 5).durableState);
  core.start(0);
  // Removals proposed while it was down commit one view change at a time once the voters are back:
  // DEL 4 first (a view it installs), then DEL 2.
  core.receive(100, msg(1, { type: "NEWVIEW", view: viewOf(6, [1, 2, 3, 5]), ballot: FOUNDER }));
  assert.equal(core.role, "member");
  const fx = core.receive(200, msg(1, { type: "NEWVIEW", view: viewOf(7, [1, 3, 5]), ballot: FOUNDER }));
  assert.equal(core.role, "joining");
  const joins = sends(fx, "JOIN");
  assert.ok(joins.length > 0);
  assert.ok(joins.every((j) => j.message.type === "JOIN" && j.message.restarted === true));
  assert.equal(core.health(200).removedWhileAlive, 0, "removed while it was down: not its own health");
  // Its probation datagrams say so too.
  const probation = core.tick(300).filter((e) => e.kind === "send" && e.channel === "datagram");
  assert.deepEqual(
    probation.map((e) => e.kind === "send" && e.message.type === "JOIN" && e.message.restarted),
    [true],
  );
  // Admitted again, and removed once more long after it came back (two failure timeouts, 1 s here):
  // a flap, its own health, and its JOINs say nothing of a restart.
  core.receive(400, msg(1, { type: "NEWVIEW", view: viewOf(8, [1, 2, 3, 5]), ballot: FOUNDER }));
  assert.equal(core.role, "member");
  const later = core.receive(
    1_100,
    msg(1, { type: "NEWVIEW", view: viewOf(9, [1, 3, 5]), ballot: FOUNDER }),
  );
  assert.ok(sends(later, "JOIN").length > 0);
  assert.ok(
    sends(later, "JOIN").every((j) => j.message.type === "JOIN" && j.message.restarted === undefined),
  );
  assert.equal(core.health(1_100).removedWhileAlive, 1);
});

test("the leader admits at once a run removed while alive whose JOIN says it was down and back on its data dir", () => {
  for (const restarted of [false, true]) {
    const core = leaderOf([1, 2, 3], 3);
    // Peer 3 is silent: DEL 3 is proposed and, with 2's OK, committed (as in the test above).
    runTicks(core, 200, 1_100, [msg(2, heartbeat(3))]);
    core.receive(1_110, msg(2, { type: "OK", requestId: 4, viewId: 3, ballot: FOUNDER }));
    assert.deepEqual(core.view!.members, [1, 2]);
    // The same run of 3 asks back.
    const join: Body = { type: "JOIN", knownViewId: 3, ...(restarted ? { restarted: true } : {}) };
    const reqs = sends(core.receive(1_200, msg(3, join)), "REQ");
    if (restarted) {
      assert.deepEqual(reqs.map((r) => r.to), [2], "admitted at once: REQ ADD 3");
      assert.deepEqual(core.health(1_200).probation, []);
    } else {
      assert.deepEqual(reqs, [], "on probation");
      assert.deepEqual(core.health(1_200).probation.map((p) => p.peer), [3]);
    }
  }
});

test("a restored member takes no part in a takeover until its probe is over", () => {
  const v5 = viewOf(5, [1, 2, 3, 4, 5]);
  const core = restoredCore(2, 5, memberOf(v5, 2, 5).durableState);
  core.start(0);
  // Leader 1 is silent and peer 2 is next in line; only 3 answers (its heartbeats): neither a majority
  // of the hostsfile nor of its view. A later group may have formed: it never takes over.
  for (let t = 100; t <= 5_000; t += 100) {
    core.receive(t - 5, msg(3, heartbeat(5)));
    assert.deepEqual(sends(core.tick(t), "NEWLEADER"), [], `no takeover at ${t}`);
  }
  assert.equal(core.probing, true);
  // 4 answers too: a majority of the hostsfile, in its epoch; at the next tick it takes over.
  core.receive(5_010, msg(4, { type: "PROBE_ACK" }));
  assert.equal(core.probing, false);
  assert.ok(sends(core.tick(5_100), "NEWLEADER").length > 0, "it takes over once its probe is over");
});

// ---- 12. forming anew: an attempt that finds the group live gives up ----

test("an attempt to form anew whose promises show a newer view that can still gather its quorum gives up", () => {
  // Peer 3 of 5, member of view 3 = [1,2,3], was cut off. Meanwhile the group went on to view 9 =
  // [1,2,4] (led by 4), where 1 and 2 are new runs (11, 21): peer 3 hears from those runs, so to
  // it view 3 can never gather its quorum again.
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 3, 5);
  const v9 = viewOf(9, [1, 2, 4], 4, [11, 21, 40]);
  const newRuns = [msg(1, heartbeat(9), 11), msg(2, heartbeat(9), 21)];
  for (const m of newRuns) core.receive(10, m);
  // Dead since the tick at 100: it waits a failure timeout (500) plus (3 - 1) × 2 heartbeats (400).
  for (const [t, fx] of runTicks(core, 0, 900)) {
    assert.deepEqual(sends(fx, "FORM"), [], `no FORM yet at ${t}`);
  }
  const fx = core.tick(1_000);
  const forms = sends(fx, "FORM");
  assert.deepEqual(forms.map((s) => s.to), [1, 2, 4, 5]);
  assert.deepEqual(shape(fx).filter((e) => (e as { key?: string }).key === "formation"), [
    log("warning", "formation"),
  ]);
  const { requestId, ballot } = forms[0].message as Extract<Message, { type: "FORM" }>;
  assert.equal(ballot.leader, 3);
  // Its own takeover attempt (1/3, when 1 and 2 went silent) came first: the attempt's ballot is above it.
  assert.deepEqual(ballot, { round: 2, leader: 3 });
  assert.deepEqual(persistedState(fx).promised, ballot);

  // 1 and 2 promise, reporting view 9: with peer 3 that is a majority of the hostsfile. View 9's
  // members 1 and 2 answered as the runs it holds, and 4 was never heard as another run: view 9
  // can gather its quorum. No FORM_ACCEPT: peer 3 adopts view 9, which does not hold it, and joins.
  const promise = (from: PeerId, incarnation: number) =>
    msg(
      from,
      {
        type: "FORM_PROMISE",
        requestId,
        ballot,
        newest: v9,
        pending: null,
        accepted: null,
        inView: true,
      },
      incarnation,
    );
  assert.deepEqual(core.receive(1_010, promise(1, 11)), []);
  const decided = core.receive(1_020, promise(2, 21));
  assert.deepEqual(sends(decided, "FORM_ACCEPT"), []);
  // (1 and 2 answered in no later epoch: its probe, started when it was cut off, is over too; and
  // it says it was removed while alive, its own health)
  assert.deepEqual(shape(persistFirst(decided)), [
    log("info", "probe"),
    log("info", "formation"),
    log("warning", "removed"),
    log("warning", "health"),
    send(3, 4, { type: "JOIN", knownViewId: 3 }),
  ]);
  assert.equal(core.role, "joining");
  assert.equal(core.view, null);
  // A late promise finds no attempt; and none starts again.
  assert.deepEqual(
    shape(
      core.receive(
        1_030,
        promise(4, run(4)),
      ),
    ),
    [
      log("debug", "stale-form"),
    ],
  );
  // While the group shows itself (view 9's leader answering its JOINs), it starts none again.
  const redirect = msg(4, { type: "REDIRECT", leader: 4, viewId: 9 });
  const later = [...runTicks(core, 1_000, 3_000, [redirect]).values()].flat();
  assert.deepEqual(sends(later, "FORM"), []);
  assert.deepEqual(sends(later, "FORM_ACCEPT"), []);
});

test("a lone peer 1 that never founded leaves without a left event: it was in no view", () => {
  const core = newCore(1, 3);
  core.start(0);
  for (let t = 100; t <= 2_000; t += 100) core.tick(t); // nobody answers: no group, no founding
  assert.equal(core.view, null);
  const fx = core.leave(2_010);
  assert.deepEqual(events(fx), []);
  assert.equal(core.hasLeft, true);
});
