// Recovery in the protocol core, scripted across several PeerCores wired by the
// harness's Router (delivery at once and in order, on a fake clock): forming the
// group anew in a new epoch when a majority of its view restarted without state,
// the one epoch rule (an older history is answered and dropped, a later one is
// followed), a peer back on its data dir that learns the hostsfile's epochs before
// it acts, and a former that stops once its group is live again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareEpochs } from "../src/core/epoch.ts";
import type { Ballot, Epoch, Proposal, View } from "../src/core/messages.ts";
import {
  b,
  E1,
  groupOf,
  heartbeat,
  links,
  log,
  memberOf,
  msg,
  persistFirst,
  Router,
  run,
  send,
  sends,
  shape,
  viewEvent,
  viewOf,
} from "./support/core_harness.ts";

const ALL = [1, 2, 3, 4, 5];

// ---- forming anew ----

test("a majority of view 5 restarted without state: peer 1 forms the group anew, in a new epoch, and every peer converges", () => {
  const net = groupOf(5);
  const t0 = net.now;
  for (const id of [3, 4, 5]) net.crash(id);
  for (const id of [3, 4, 5]) net.start(id, run(id) + 1); // new runs 31, 41, 51, joining
  // Leader 1 starts DEL 3 (the run 30 that 3's JOIN replaced): 1 and 2 accept it, and view 5
  // can gather no more. Once it has been dead for a failure timeout, peer 1 (first in line) forms anew.
  const v5 = viewOf(5, ALL);
  const done = () => [...net.cores.values()].every((c) => c.view?.members.length === 5 && c.view.id > 5);
  assert.ok(net.runUntil(done, 5_000), "converged");

  const form = net.sent("FORM", t0);
  assert.deepEqual(links(form), ["1>2", "1>3", "1>4", "1>5"]);
  // Above every promise peer 1 made: the founder's ballot was round 1.
  const ballot: Ballot = { round: 2, leader: 1 };
  assert.ok(form.every((c) => c.message.type === "FORM" && c.message.ballot.round === 2));
  assert.ok(form[0].at - t0 >= 500, "no sooner than a failure timeout");
  assert.deepEqual(net.logs.get(1)!.filter((l) => l.endsWith(" formation")), ["warning formation"]);
  // Every peer promises, having persisted the promise first, and reports the last view it
  // INSTALLED: 2 view 5 (1 and 2 hold its pending DEL 3); the restarted runs installed none.
  const promises = net.sent("FORM_PROMISE", t0);
  assert.deepEqual(links(promises), ["2>1", "3>1", "4>1", "5>1"]);
  for (const c of form) assert.deepEqual(c.persisted?.promised, ballot, `FORM to ${c.to}`);
  for (const c of promises) {
    const newest = c.message.from === 2 ? v5 : null;
    assert.deepEqual(c.message.type === "FORM_PROMISE" && c.message.newest, newest, `from ${c.message.from}`);
  }

  // The new view holds every live peer, skips view 6 (view 5 had a pending proposal that may have
  // been chosen), and belongs to a new epoch: the attempt's ballot and the former's run.
  const epoch: Epoch = { round: 2, former: 1, run: run(1) };
  const v7 = viewOf(7, ALL, 1, [10, 20, 31, 41, 51], epoch);
  assert.ok(compareEpochs(epoch, E1) > 0, "a later epoch than the founding one");
  const accepts = net.sent("FORM_ACCEPT", t0);
  assert.deepEqual(links(accepts), ["1>2", "1>3", "1>4", "1>5"]);
  for (const c of accepts) {
    assert.deepEqual(c.message.type === "FORM_ACCEPT" && c.message.view, v7);
    assert.deepEqual(c.persisted?.formAccepted, { ballot, view: v7 }, `FORM_ACCEPT to ${c.to}`);
  }
  assert.deepEqual(links(net.sent("FORM_OK", t0)), ["2>1", "3>1", "4>1", "5>1"]);
  const formed = net.sent("NEWVIEW", t0).filter((c) =>
    c.message.type === "NEWVIEW" && c.message.view.id === 7
  );
  assert.deepEqual(links(formed), ["1>2", "1>3", "1>4", "1>5"]);
  for (const c of formed) assert.deepEqual(c.message.type === "NEWVIEW" && c.message.ballot, ballot);
  assert.deepEqual(net.logs.get(1)!.filter((l) => l.endsWith(" formed")), ["warning formed"]);

  // The former reports it as an event too (a JSON line with --format json), above view 5.
  const formedEvents = (id: number) => (net.events.get(id) ?? []).filter((e) => e.type === "formed");
  assert.deepEqual(formedEvents(1), [{ type: "formed", peer: 1, view: v7, above: 5 }]);
  for (const id of [2, 3, 4, 5]) assert.deepEqual(formedEvents(id), []);
  for (const id of ALL) assert.deepEqual(net.views(id), [v7], `peer ${id} views`);
  assert.equal(net.core(1).role, "leader");
  // Settled: nothing more happens, and nobody forms again.
  net.run(2_000);
  for (const id of ALL) assert.deepEqual(net.core(id).view, v7, `peer ${id} later`);
  assert.equal(net.sent("FORM", t0).length, 4);
});

test("only a minority of view 5 restarted: no FORM is ever sent; DEL and ADD heal the group", () => {
  const net = groupOf(5);
  const t0 = net.now;
  for (const id of [4, 5]) net.crash(id);
  for (const id of [4, 5]) net.start(id, run(id) + 1);
  const v9 = viewOf(9, ALL, 1, [10, 20, 30, 41, 51]);
  assert.ok(net.runUntil(() => ALL.every((id) => net.core(id).view?.id === 9), 5_000), "converged");
  net.run(3_000);
  for (const id of ALL) assert.deepEqual(net.core(id).view, v9, `peer ${id}`);
  for (const type of ["FORM", "FORM_PROMISE", "FORM_ACCEPT", "FORM_OK"] as const) {
    assert.deepEqual(net.sent(type, t0), [], type);
  }
  // DEL 4, ADD 4, DEL 5, ADD 5 (views 6 to 9), each old run removed once found failed.
  assert.deepEqual(net.views(1).map((v) => `${v.id} [${v.members}]`), [
    "6 [1,2,3,5]",
    "7 [1,2,3,4,5]",
    "8 [1,2,3,4]",
    "9 [1,2,3,4,5]",
  ]);
});

// ---- the epoch rule ----

test("a view of an older epoch is answered with ours and dropped: nobody leaves, nothing spreads", () => {
  const net = groupOf(4);
  const v4 = viewOf(4, [1, 2, 3, 4]);
  const mark = net.carried.length;
  // View 99 = [1] of an epoch older than every real one, as a run of peer 1 that does not exist,
  // sent to peer 2 as peer 3 (before, such a view put peer 2 out of the group).
  const old: Epoch = { round: 0, former: 1, run: 0 };
  const v99: View = viewOf(99, [1], 1, [12345], old);
  net.inject(2, msg(3, { type: "NEWVIEW", view: v99, ballot: b(7, 1) }));
  assert.equal(net.core(2).role, "member");
  assert.deepEqual(net.core(2).view, v4);
  assert.deepEqual(net.logs.get(2), ["info epoch-older"]);
  // Its answer: our view 4, to the sender, whose epoch is later than 99's.
  const answers = net.carried.slice(mark).filter((c) => c.message.from === 2);
  assert.deepEqual(answers.map((c) => [c.to, c.message.type === "NEWVIEW" && c.message.view]), [[3, v4]]);
  // View 99 went nowhere, and the group stays as it was.
  net.run(2_000);
  const spread = net.carried.slice(mark).filter((c) =>
    c.message.type === "NEWVIEW" && c.message.view.id === 99
  );
  assert.deepEqual(links(spread), ["3>2"]);
  for (const id of [1, 2, 3, 4]) {
    assert.deepEqual(net.core(id).view, v4, `peer ${id}`);
    assert.deepEqual(net.events.get(id), [], `peer ${id}'s events`);
  }
});

test("a heartbeat of a later epoch is answered with a PROBE; that epoch's view is installed where it names us, else joined", () => {
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 3, 3);
  const later: Epoch = { round: 4, former: 2, run: run(2) };
  // Peer 2 formed a later epoch that peer 3 missed: its heartbeat makes peer 3 ask, with a PROBE.
  assert.deepEqual(core.receive(10, msg(2, heartbeat(5), run(2), later)), [send(3, 2, { type: "PROBE" })]);
  // Peer 2 answers (peer 3 being older to it) with its view, which names peer 3: installed.
  const v5 = viewOf(5, [1, 2, 3], 2, undefined, later);
  const fx = core.receive(20, msg(2, { type: "NEWVIEW", view: v5, ballot: b(4, 2) }));
  assert.deepEqual(shape(persistFirst(fx)), [log("warning", "epoch-newer"), viewEvent(3, v5)]);
  assert.deepEqual(core.view, v5);
  assert.deepEqual(core.epoch, later);
  // A view of a still later epoch that leaves peer 3 out: it is out of the group, and joins its leader.
  const latest: Epoch = { round: 6, former: 1, run: run(1) };
  const v8 = viewOf(8, [1, 2], 1, undefined, latest);
  const out = core.receive(30, msg(1, { type: "NEWVIEW", view: v8, ballot: b(6, 1) }));
  assert.equal(core.role, "joining");
  assert.deepEqual(sends(out, "JOIN").map((s) => s.to), [1]);
  // Its JOIN names the last view it installed, in its epoch: the later group numbers above it.
  assert.deepEqual(sends(out, "JOIN")[0].message, msg(3, { type: "JOIN", knownViewId: 5 }, run(3), later));
});

// ---- back on a data dir: learn the hostsfile's epochs before acting ----

/**
 * Peers 1, 3, 4 and 6 of six restarted without state and founded again (a later epoch) while
 * 2 and 5 slept on their data dirs holding view 6 = [2,5] of the old epoch, 2 with a pending
 * DEL 5; then 2 and 5 come back (soak seed 1289767: they carried on in the old epoch, printing
 * view ids the new group printed with other member lists). `cutMs`: how long nothing from the
 * later group reaches them.
 */
function sleepersWake(cutMs: number) {
  const net = new Router(6);
  const others = [1, 3, 4, 6];
  for (const id of others) net.start(id, run(id) + 1);
  assert.ok(net.runUntil(() => others.every((id) => net.core(id).view?.id === 4), 5_000), "founded again");
  const founded = net.core(1).view!.epoch;
  const oldEpoch: Epoch = { round: 1, former: 1, run: run(1) };
  assert.ok(compareEpochs(founded, oldEpoch) > 0, "the refounding's epoch is later (a newer run of peer 1)");
  const v6 = viewOf(6, [2, 5], 2, undefined, oldEpoch);
  const del5: Proposal = {
    viewId: 6,
    op: { kind: "DEL", peer: 5, incarnation: run(5) },
    leader: 2,
    ballot: b(3, 2),
  };
  const asleep = (id: number, accepted: Proposal | null) => ({
    incarnation: run(id),
    promised: b(3, 2),
    accepted,
    installed: v6,
    member: true,
    formAccepted: null,
  });
  const mark = net.carried.length;
  for (const from of others) for (const to of [2, 5]) net.cut.add(`${from}>${to}`);
  net.start(2, run(2), asleep(2, del5));
  net.start(5, run(5), asleep(5, null));
  for (const id of [2, 5]) {
    // Each asks the hostsfile first: its first message is a PROBE.
    const first = net.carried.slice(mark).find((c) => c.message.from === id);
    assert.equal(first?.message.type, "PROBE", `peer ${id}`);
  }
  net.run(cutMs);
  const probing = [net.core(2).probing, net.core(5).probing];
  const during = net.views(2);
  net.cut.clear();
  const all = [1, 2, 3, 4, 5, 6];
  assert.ok(
    net.runUntil(() => all.every((id) => net.core(id).view?.members.length === 6), 10_000),
    "one group",
  );
  const view = net.core(1).view!;
  assert.deepEqual(view.epoch, founded, "the later group goes on");
  for (const id of all) assert.deepEqual(net.core(id).view, view, `peer ${id}`);
  return { net, founded, oldEpoch, probing, during };
}

test("sleepers back on their data dirs act in their old epoch only once the hostsfile answered, or a failure timeout passed; the later group wins", () => {
  // Answered within a failure timeout: nothing is committed in the old epoch.
  const quick = sleepersWake(400);
  assert.deepEqual(quick.probing, [true, true], "still asking after 400 ms");
  assert.deepEqual(quick.during, []);
  for (const id of [2, 5]) {
    const views = quick.net.views(id);
    assert.ok(views.every((v) => compareEpochs(v.epoch, quick.founded) === 0 && v.id > 6), `peer ${id}`);
  }
  // Nobody answers for longer than a failure timeout (a partition): a majority of their own view
  // answered, so they act (the pending DEL 5 is finished), and join the later group once they meet it.
  const slow = sleepersWake(2_000);
  assert.deepEqual(slow.probing, [false, false], "acting after a failure timeout");
  assert.ok(
    slow.during.some((v) => compareEpochs(v.epoch, slow.oldEpoch) === 0 && v.id === 7),
    "DEL 5 finished",
  );
  assert.ok(slow.net.views(2).at(-1)!.epoch === slow.net.core(2).view!.epoch);
  assert.deepEqual(slow.net.core(2).view!.epoch, slow.founded);
});

test("a peer back on its data dir in view 9 after the group was founded again: the group numbers above it", () => {
  const net = new Router(6);
  const others = [1, 2, 3, 4, 6];
  for (const id of others) net.start(id, run(id) + 1);
  assert.ok(net.runUntil(() => others.every((id) => net.core(id).view?.id === 5), 5_000), "founded again");
  const v9 = viewOf(9, [1, 2, 3, 4, 5, 6]);
  const t0 = net.now;
  net.start(5, run(5), {
    incarnation: run(5),
    promised: b(1, 1),
    accepted: null,
    installed: v9,
    member: true,
    formAccepted: null,
  });
  const all = [1, 2, 3, 4, 5, 6];
  assert.ok(net.runUntil(() => all.every((id) => net.core(id).view?.members.length === 6), 10_000));
  const view = net.core(1).view!;
  for (const id of all) assert.deepEqual(net.core(id).view, view, `peer ${id}`);
  // Peer 5 printed nothing at or below 9: the view that added it was numbered above 9.
  assert.ok(
    net.views(5).length > 0 && net.views(5).every((v) => v.id > 9),
    `${net.views(5).map((v) => v.id)}`,
  );
  const jumps = net.sent("REQ", t0).flatMap((c) =>
    c.message.type === "REQ" && c.message.proposal.nextViewId !== undefined ? [c.message.proposal] : []
  );
  assert.ok(jumps.length > 0 && jumps.every((p) => p.nextViewId === 10), "REQ numbered above 9");
  assert.ok(net.logs.get(1)!.includes("warning renumber"));
  net.run(2_000);
  for (const id of all) assert.deepEqual(net.core(id).view, view, `peer ${id} later`);
});

/**
 * Soak seed 9009173's shape: view 4 = [2,3,5] was formed anew (a later epoch) and accepted by
 * 2, 3 and 5, but none installed it before the whole group went down on its data dirs; peer 1
 * comes back without state. Before, peer 1 founded a new group beside it, and 5, which had
 * joined that one, later completed view 4 again, going back to a history set aside.
 */
test("a formed view only accepted, with its acceptors back on their data dirs: peer 1 proposes it again rather than found beside it", () => {
  const net = new Router(5);
  const formedEpoch: Epoch = { round: 3, former: 3, run: run(3) };
  const v4 = viewOf(4, [2, 3, 5], 3, undefined, formedEpoch);
  const v3 = viewOf(3, [1, 2, 3, 5]);
  const acceptor = (id: number) => ({
    incarnation: run(id),
    promised: b(3, 3),
    accepted: null,
    installed: v3,
    member: true,
    formAccepted: { ballot: b(3, 3), view: v4 },
  });
  net.start(1, run(1) + 1);
  net.start(4, run(4) + 1);
  for (const id of [2, 3, 5]) net.start(id, run(id), acceptor(id));
  const all = [1, 2, 3, 4, 5];
  assert.ok(
    net.runUntil(() => all.every((id) => net.core(id).view?.members.length === 5), 10_000),
    "one group",
  );
  // Every view any peer printed belongs to the formed epoch: view 4 again, then the joiners.
  for (const id of all) {
    assert.ok(net.views(id).every((v) => compareEpochs(v.epoch, formedEpoch) === 0), `peer ${id}`);
  }
  assert.ok(
    [2, 3, 5].every((id) => net.views(id)[0]?.id === 4 && net.views(id)[0].members.join() === "2,3,5"),
  );
  assert.deepEqual(net.views(1).filter((v) => v.id === 1), [], "no founding beside it");
});

// ---- the former stops when its group is live again ----

test("a peer out of the group that started to form anew stops once its group shows itself: no FORM follows", () => {
  // Before, an attempt, once started, went on: a peer back in its group (then by taking its view
  // back) kept sending FORM to it, and its leader stepped down for the higher ballot.
  const v3 = viewOf(3, [1, 2, 3]);
  const core = memberOf(v3, 3, 3);
  // Removed by view 4 = [1,2] (peer 3 was silent a while): it joins again.
  core.receive(10, msg(1, { type: "NEWVIEW", view: viewOf(4, [1, 2]), ballot: b(1, 1) }));
  assert.equal(core.role, "joining");
  // No group shows itself for a failure timeout (its JOINs are lost): it asks the hostsfile.
  let forms: number[] = [];
  for (let t = 100; t <= 1_500 && forms.length === 0; t += 100) {
    forms = sends(core.tick(t), "FORM").map(() => t);
  }
  assert.ok(forms.length > 0, "an attempt started");
  const started = forms[0];
  // The leader's heartbeat (a leader heartbeats the peers outside its view in turn) shows the group:
  // the attempt stops before its next retransmission, and no FORM goes out again.
  core.receive(started + 50, msg(1, heartbeat(4, b(1, 1))));
  const later: number[] = [];
  for (let t = started + 100; t <= started + 2_000; t += 100) {
    core.receive(t - 10, msg(1, heartbeat(4, b(1, 1))));
    if (sends(core.tick(t), "FORM").length > 0) later.push(t);
  }
  assert.deepEqual(later, [], "no FORM once the group showed itself");
});

test("a member that accepted a view formed in a later epoch votes in its own view no more, even under a higher ballot", () => {
  const net = groupOf(3);
  for (const to of [1, 3]) net.cut.add(`2>${to}`); // what 2 answers is recorded, not delivered
  const formBallot: Ballot = { round: 5, leader: 3 };
  const later: Epoch = { round: 5, former: 3, run: run(3) };
  const v6 = viewOf(6, [2, 3], 3, undefined, later);
  net.inject(2, msg(3, { type: "FORM", requestId: 1, ballot: formBallot }));
  net.inject(2, msg(3, { type: "FORM_ACCEPT", requestId: 1, ballot: formBallot, view: v6 }));
  const t0 = net.now;
  const mark = net.carried.length;
  const high: Ballot = { round: 9, leader: 1 };
  net.inject(2, msg(1, { type: "NEWLEADER", requestId: 4, viewId: 3, ballot: high }));
  const del3: Proposal = {
    viewId: 3,
    op: { kind: "DEL", peer: 3, incarnation: run(3) },
    leader: 1,
    ballot: high,
  };
  net.inject(2, msg(1, { type: "REQ", requestId: 5, proposal: del3 }));
  const answers = net.carried.slice(mark).filter((c) => c.message.from === 2);
  assert.deepEqual(answers.map((c) => c.message.type), [], "no PENDING, no OK");
  assert.deepEqual(net.logs.get(2)!.filter((l) => l.endsWith(" barred")), ["info barred", "info barred"]);
  assert.equal(net.core(2).pending, null);
  // Its view can gather no vote of its own: it forms anew, proposing the view it accepted again.
  net.cut.clear();
  net.crash(1);
  assert.ok(net.runUntil(() => net.core(2).view?.id === 6, 5_000), "view 6 installed");
  assert.deepEqual(net.core(2).view, v6);
  assert.ok(
    net.sent("FORM_ACCEPT", t0).some((c) =>
      c.message.from === 2 && c.message.type === "FORM_ACCEPT" && c.message.view.id === 6
    ),
  );
});
