// Recovery in the protocol core, scripted across several PeerCores: forming
// the group anew when a majority of its view restarted without state, giving
// up when the group is live after all, a peer knocked out by a lone forged
// view taking its group's view back, and a peer back on its data dir after
// the group was founded again without it. A tiny in-test router delivers
// `send` effects between the cores at once and in order, on a fake clock; no
// network, no runtime.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DurableState, Effect, PeerEvent } from "../src/core/effects.ts";
import type { Ballot, Message, MessageType, PeerId, Proposal, View } from "../src/core/messages.ts";
import { PeerCore } from "../src/core/peer_core.ts";
import { b, run, viewOf } from "./support/fixtures.ts";

const HEARTBEAT_MS = 100;
const FAIL_AFTER = 5;

/** One message the router carried (or dropped), when, and what its delivery made the addressee persist. */
interface Carried {
  readonly at: number;
  readonly to: PeerId;
  readonly message: Message;
  readonly delivered: boolean;
  /** The durable state the addressee persisted handling it (before anything it sent), if any. */
  readonly persisted?: DurableState;
}

/**
 * The cores of one hostsfile, wired together: every `send` effect is
 * delivered at once, in order; a crashed peer (no core) or a cut link drops
 * it. Every step is checked to persist, if at all, once and first.
 */
class Router {
  readonly peerCount: number;
  now = 0;
  readonly cores = new Map<PeerId, PeerCore>();
  /** Every message sent, in order. */
  readonly carried: Carried[] = [];
  /** Events of each peer's current run. */
  readonly events = new Map<PeerId, PeerEvent[]>();
  /** Diagnostics of each peer's current run, as "level key". */
  readonly logs = new Map<PeerId, string[]>();
  /** Links that drop what they carry, as "from>to". */
  readonly cut = new Set<string>();
  readonly #queue: { to: PeerId; message: Message }[] = [];

  constructor(peerCount: number) {
    this.peerCount = peerCount;
  }

  /** Starts peer `id` as run `incarnation`, a fresh core that kept nothing (or `restored`), now. */
  start(id: PeerId, incarnation = run(id), restored?: DurableState): PeerCore {
    const core = new PeerCore({
      id,
      peerCount: this.peerCount,
      incarnation,
      heartbeatMs: HEARTBEAT_MS,
      failAfter: FAIL_AFTER,
      random: () => 0.5,
      restored,
    });
    this.cores.set(id, core);
    this.events.set(id, []);
    this.logs.set(id, []);
    this.#apply(id, core.start(this.now));
    this.flush();
    return core;
  }

  /** Peer `id` stops at once, keeping nothing. */
  crash(id: PeerId): void {
    this.cores.delete(id);
  }

  core(id: PeerId): PeerCore {
    return this.cores.get(id)!;
  }

  /** Hands `message` to its addressee as if it came off the network, then delivers what follows. */
  inject(to: PeerId, message: Message): void {
    this.#queue.push({ to, message });
    this.flush();
  }

  /** Delivers every queued message, and what each causes, in order. */
  flush(): void {
    for (let item = this.#queue.shift(); item; item = this.#queue.shift()) {
      const { to, message } = item;
      const core = this.cores.get(to);
      if (!core || this.cut.has(`${message.from}>${to}`)) {
        this.carried.push({ at: this.now, to, message, delivered: false });
        continue;
      }
      const persisted = this.#apply(to, core.receive(this.now, message));
      this.carried.push({ at: this.now, to, message, delivered: true, persisted });
    }
  }

  /** One heartbeat interval on: every core ticks, in ID order, each tick's messages delivered at once. */
  tick(): void {
    this.now += HEARTBEAT_MS;
    for (const id of [...this.cores.keys()].sort((a, b) => a - b)) {
      this.#apply(id, this.cores.get(id)!.tick(this.now));
      this.flush();
    }
  }

  /** Ticks for `ms`. */
  run(ms: number): void {
    for (const end = this.now + ms; this.now < end;) this.tick();
  }

  /** Ticks until `done` holds (checked after every tick), for at most `ms`; returns whether it did. */
  runUntil(done: () => boolean, ms: number): boolean {
    for (const end = this.now + ms; this.now < end;) {
      this.tick();
      if (done()) return true;
    }
    return false;
  }

  /** Messages of one type sent from `since` on. */
  sent(type: MessageType, since: number): Carried[] {
    return this.carried.filter((c) => c.message.type === type && c.at >= since);
  }

  /** The views peer `id`'s current run installed (printed), in order. */
  views(id: PeerId): View[] {
    return (this.events.get(id) ?? []).flatMap((e) => e.type === "view" ? [e.view] : []);
  }

  /** Forgets the events and diagnostics so far. */
  clearOutput(): void {
    for (const id of this.cores.keys()) {
      this.events.set(id, []);
      this.logs.set(id, []);
    }
  }

  /** Carries out one step's effects; returns what it persisted. */
  #apply(id: PeerId, effects: Effect[]): DurableState | undefined {
    const persists = effects.flatMap((e, i) => e.kind === "persist" ? [i] : []);
    assert.ok(
      persists.length === 0 || (persists.length === 1 && persists[0] === 0),
      `peer ${id}: one persist a step, at its head`,
    );
    let persisted: DurableState | undefined;
    for (const e of effects) {
      if (e.kind === "persist") persisted = e.state;
      else if (e.kind === "send") this.#queue.push({ to: e.to, message: e.message });
      else if (e.kind === "event") this.events.get(id)!.push(e.event);
      else if (e.kind === "log") this.logs.get(id)!.push(`${e.level} ${e.key}`);
    }
    return persisted;
  }
}

const ALL = [1, 2, 3, 4, 5];

/** Peers 1..n started together at 0: they form view n = [1..n], led by 1. */
function groupOf(n: number): Router {
  const net = new Router(n);
  for (let id = 1; id <= n; id++) net.start(id);
  const everyone = Array.from({ length: n }, (_, i) => i + 1);
  assert.ok(net.runUntil(() => [...net.cores.values()].every((c) => c.view?.id === n), 2_000));
  for (const c of net.cores.values()) assert.deepEqual(c.view, viewOf(n, everyone));
  net.clearOutput();
  return net;
}

/** Who sent messages of a type, to whom, as "from>to". */
const links = (carried: Carried[]) => carried.map((c) => `${c.message.from}>${c.to}`);

// ---- forming anew ----

test("a majority of view 5 restarted without state: peer 1 forms the group anew, and every peer converges", () => {
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
  const ballot: Ballot = { round: 1, leader: 1 };
  assert.deepEqual(links(form), ["1>2", "1>3", "1>4", "1>5"]);
  assert.ok(
    form.every((c) => "ballot" in c.message && c.message.ballot.round === 1 && c.message.ballot.leader === 1),
  );
  assert.ok(form[0].at - t0 >= 500, "no sooner than a failure timeout");
  assert.deepEqual(net.logs.get(1)!.filter((l) => l.endsWith(" formation")), ["warning formation"]);
  // Every peer promises, having persisted the promise first, and reports the last view it
  // INSTALLED: 2 view 5 (1 and 2 hold its pending DEL 3); the restarted runs installed none (view 5
  // merely heard of from the leader's catch-up does not count).
  const promises = net.sent("FORM_PROMISE", t0);
  assert.deepEqual(links(promises), ["2>1", "3>1", "4>1", "5>1"]);
  for (const c of form) assert.deepEqual(c.persisted?.promised, ballot, `FORM to ${c.to}`);
  for (const c of promises) {
    const newest = c.message.from === 2 ? v5 : null;
    assert.deepEqual(c.message.type === "FORM_PROMISE" && c.message.newest, newest, `from ${c.message.from}`);
  }

  // 1, 2 and 3 are a majority of the hostsfile, but 4 and 5 were heard from lately: peer 1 gives them
  // time to answer, and they do, so the new view holds every live peer. View 5 had a pending
  // proposal that may have been chosen, so view 6 is skipped; the members are the runs that answered.
  const v7 = viewOf(7, ALL, 1, [10, 20, 31, 41, 51]);
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
  // Only peer 1 tried: the others saw its attempt and waited.
  assert.ok(form.every((c) => c.message.from === 1));

  // The former reports it as an event too (a JSON line with --format json), above view 5.
  const formedEvents = (id: PeerId) => (net.events.get(id) ?? []).filter((e) => e.type === "formed");
  assert.deepEqual(formedEvents(1), [{ type: "formed", peer: 1, view: v7, above: 5 }]);
  for (const id of [2, 3, 4, 5]) assert.deepEqual(formedEvents(id), []);
  // Every peer installed view 7 and nothing else.
  for (const id of ALL) assert.deepEqual(net.views(id), [v7], `peer ${id} views`);
  for (const id of ALL) assert.deepEqual(net.core(id).view, v7, `peer ${id}`);
  assert.equal(net.core(1).role, "leader");
  // No view 6 anywhere; settled: nothing more happens, and nobody forms again.
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

// ---- no stranded peers ----

test("a lone forged view removes peer 2: its JOIN gets view 4 back from the leader, silently; 99 spreads nowhere", () => {
  const net = groupOf(4);
  const v4 = viewOf(4, [1, 2, 3, 4]);
  const mark = net.carried.length;
  // A NEWVIEW no group ever chose: view 99 = [1] as a run of peer 1 that does not exist, sent to
  // peer 2 as peer 3 (its own run, so peer 3's real messages still count). Peer 2's JOIN to the
  // leader right after is lost.
  const v99: View = { id: 99, leader: 1, members: [1], incarnations: [12345] };
  net.cut.add("2>1");
  net.inject(2, {
    type: "NEWVIEW",
    view: v99,
    ballot: { round: 7, leader: 1 },
    from: 3,
    incarnation: run(3),
  });
  net.cut.delete("2>1");
  const p2 = net.core(2);
  assert.equal(p2.role, "joining");
  assert.equal(p2.view, null);
  assert.deepEqual(net.logs.get(2), ["warning removed"]);

  // One heartbeat interval on: leader 1 heartbeats view 4 to 2 (older than 99: a catch-up
  // occasion, refused, since 99 does not name peer 1's run); then 2's JOIN retry reaches 1,
  // which catches the member it knows up with view 4, and 2 takes it back.
  net.tick();
  const since = net.carried.slice(mark);
  assert.ok(since.some((c) => c.message.type === "HEARTBEAT" && c.message.from === 1 && c.to === 2));
  const back = since.find((c) => c.to === 2 && c.message.type === "NEWVIEW" && c.message.from === 1);
  assert.deepEqual(back?.message.type === "NEWVIEW" && back.message.view, v4);
  assert.equal(back?.persisted?.member, true);
  assert.equal(p2.role, "member");
  assert.deepEqual(p2.view, v4);
  assert.deepEqual(net.views(2), [], "view 4 is not printed again");
  assert.deepEqual(net.logs.get(2), ["warning removed", "warning rejoin"]);

  // View 99 went nowhere: peer 2 never passed it on, to peer 1 or anyone.
  const spread = net.carried.slice(mark).filter((c) =>
    c.message.type === "NEWVIEW" && c.message.view.id === 99
  );
  assert.deepEqual(links(spread), ["3>2"]); // the forged one alone
  // And the group stays as it was: nobody removed, nobody reported.
  net.run(2_000);
  for (const id of [1, 2, 3, 4]) {
    assert.deepEqual(net.core(id).view, v4, `peer ${id}`);
    assert.deepEqual(net.events.get(id), [], `peer ${id}'s events`);
  }
});

/** A forged NEWVIEW of `view`, posing as peer 3, to peers 1 and 2. */
function forgeNewView(net: Router, view: View, ballot: Ballot): void {
  for (const to of [1, 2]) net.inject(to, { type: "NEWVIEW", view, ballot, from: 3, incarnation: run(3) });
}

test("peers removed by a forged view form anew although a peer stuck in an older view keeps calling", () => {
  // View 4 = [1,2] (3 was removed while cut off; it stays in view 3 and tries to take over). Then
  // a forged view 31 removes 1 and 2. Peer 3's heartbeats and NEWLEADERs for view 3 are older
  // than what 1 and 2 installed: they show no group 1 or 2 could be in, so they must not keep
  // the two from forming the group anew (before, they did, for ever).
  const net = groupOf(3);
  for (const [a, c] of [[1, 3], [3, 1], [2, 3], [3, 2]]) net.cut.add(`${a}>${c}`);
  assert.ok(net.runUntil(() => net.core(1).view?.id === 4 && net.core(2).view?.id === 4, 3_000));
  assert.deepEqual(net.core(1).view?.members, [1, 2]);
  assert.deepEqual(net.core(3).view?.id, 3);
  const v31: View = { id: 31, leader: 2, members: [2, 3], incarnations: [0, 0] };
  // The forger poses as peer 3; 1 and 2's JOINs to each other right after are lost.
  net.cut.clear();
  for (const link of ["1>2", "2>1", "1>3", "2>3"]) net.cut.add(link);
  forgeNewView(net, v31, { round: 1, leader: 2 });
  assert.equal(net.core(1).role, "joining");
  assert.equal(net.core(2).role, "joining");
  net.cut.clear();
  const t0 = net.now;
  const done = () =>
    [1, 2, 3].every((id) => net.core(id).view?.members.length === 3 && net.core(id).view!.id > 4);
  assert.ok(net.runUntil(done, 5_000), "one view of all three");
  const view = net.core(1).view!;
  for (const id of [2, 3]) assert.deepEqual(net.core(id).view, view, `peer ${id}`);
  assert.ok(net.sent("FORM", t0).length > 0, "formed anew");
  assert.ok(net.sent("HEARTBEAT", t0).some((c) => c.message.from === 3 && c.to === 1), "3 kept calling");
});

test("forged views remove both live members of view 6 while half the hostsfile is down: each takes view 6 back", () => {
  // Peers 4 and 3 crash for good: view 6 = [1,2]. A forged view then removes 1 and 2, and their
  // JOINs to each other are lost. Forming anew needs three of four answers and only two peers
  // are up, so no attempt can finish; nobody in view 6 is left to send it back. An attempt's
  // answers show view 6's members both hold it as the runs it names: the former takes it back
  // (before, both stayed out for ever).
  const net = groupOf(4);
  net.crash(4);
  assert.ok(net.runUntil(() => net.core(1).view?.id === 5 && net.core(2).view?.id === 5, 3_000));
  net.crash(3);
  assert.ok(net.runUntil(() => net.core(1).view?.id === 6 && net.core(2).view?.id === 6, 3_000));
  const v6 = viewOf(6, [1, 2]);
  for (const id of [1, 2]) assert.deepEqual(net.core(id).view, v6, `peer ${id}`);
  net.clearOutput();
  const v40: View = { id: 40, leader: 3, members: [3, 4], incarnations: [0, 0] };
  for (const link of ["1>2", "2>1"]) net.cut.add(link);
  forgeNewView(net, v40, { round: 9, leader: 3 });
  assert.equal(net.core(1).role, "joining");
  assert.equal(net.core(2).role, "joining");
  net.cut.clear();
  const t0 = net.now;
  const back = () => [1, 2].every((id) => net.core(id).role !== "joining");
  assert.ok(net.runUntil(back, 10_000), "both back in the group");
  for (const id of [1, 2]) {
    assert.deepEqual(net.core(id).view, v6, `peer ${id}`);
    assert.deepEqual(net.views(id), [], `peer ${id} prints view 6 once, and no new view`);
    assert.ok(net.logs.get(id)!.includes("warning rejoin"), `peer ${id} took view 6 back`);
  }
  assert.ok(net.sent("FORM", t0).length > 0, "an attempt to form anew asked");
  assert.deepEqual(net.sent("FORM_ACCEPT", t0), [], "nothing was formed");
  // And it stays so: a leader leads view 6 again.
  net.run(2_000);
  for (const id of [1, 2]) assert.deepEqual(net.core(id).view, v6, `peer ${id} later`);
  assert.ok([1, 2].some((id) => net.core(id).role === "leader"), "view 6 has a leader");
});

/**
 * Peers 1-4 and 6 restarted without state (runs 11, 21, ...) while peer 5 was down with its data
 * dir, holding view 9; none of them can know view 9, so peer 1 founds again and they form view 5.
 * Then peer 5 comes back on its data dir (its first JOIN lost if `loseFirstJoin`). Returns the
 * router once all six are in one view, and when peer 5 came back.
 */
function backOnDataDir(loseFirstJoin: boolean): { net: Router; t0: number } {
  const net = new Router(6);
  const others = [1, 2, 3, 4, 6];
  for (const id of others) net.start(id, run(id) + 1);
  assert.ok(net.runUntil(() => others.every((id) => net.core(id).view?.id === 5), 3_000), "founded again");
  const v9 = viewOf(9, [1, 2, 3, 4, 5, 6]);
  const t0 = net.now;
  if (loseFirstJoin) { for (const id of others) net.cut.add(`5>${id}`); }
  net.start(5, run(5), {
    incarnation: run(5),
    promised: { round: 0, leader: 1 },
    accepted: null,
    installed: v9,
    member: true,
    formAccepted: null,
  });
  net.cut.clear();
  const all = [1, 2, 3, 4, 5, 6];
  const done = () => all.every((id) => net.core(id).view?.members.length === 6);
  assert.ok(net.runUntil(done, 10_000), "one view of all six");
  const view = net.core(1).view!;
  for (const id of all) assert.deepEqual(net.core(id).view, view, `peer ${id}`);
  // Nobody's views went backwards: peer 5 printed nothing at or below 9, and the view that
  // added it was numbered above 9 by a REQ that said so.
  assert.ok(
    net.views(5).length > 0 && net.views(5).every((v) => v.id > 9),
    `${net.views(5).map((v) => v.id)}`,
  );
  const jumps = net.sent("REQ", t0).flatMap((c) =>
    c.message.type === "REQ" && c.message.proposal.nextViewId !== undefined ? [c.message.proposal] : []
  );
  assert.ok(
    jumps.length > 0 && jumps.every((p) => p.nextViewId === 10 && p.viewId < 9),
    "REQ numbered above 9",
  );
  assert.ok(net.logs.get(1)!.includes("warning renumber"));
  // Settled: the ids rise by one again from there.
  net.run(2_000);
  for (const id of all) assert.deepEqual(net.core(id).view, view, `peer ${id} later`);
  return { net, t0 };
}

test("a peer back on its data dir in view 9 after the group was founded again: the group numbers above it", () => {
  const { net, t0 } = backOnDataDir(false);
  assert.deepEqual(net.sent("FORM", t0), [], "its first JOIN did it");
});

test("a peer back in view 9 whose first JOIN is lost: its attempt to form anew finds the later group, and joins", () => {
  const { net, t0 } = backOnDataDir(true);
  // View 9 is stuck (nobody answers as its runs): peer 5 asks the hostsfile, finds the group of
  // view 5 live (it holds newer runs of 1, 2, 3, 4 and 6), proposes nothing, and joins it.
  const form = net.sent("FORM", t0);
  assert.ok(form.length > 0 && form.every((c) => c.message.from === 5));
  assert.deepEqual(net.sent("FORM_ACCEPT", t0), []);
  const joins = net.sent("JOIN", form[0].at).filter((c) => c.message.from === 5);
  assert.ok(joins.length > 0 && joins.every((c) => c.message.type === "JOIN" && c.message.knownViewId === 9));
  assert.deepEqual(net.events.get(5)!.filter((e) => e.type === "formed"), []);
});

test("a view of another line: a non-member's NEWLEADER for our view id gets our view, and a later group's view is joined", () => {
  // Soak seed 1117965: peers 2 and 5 came back on their data dirs, a majority of their view 4, while
  // peer 1 (restarted without state) had formed a view 4 of its own with 3 and 4. They carried on side
  // by side. Here peer 2 holds view 5 = [1..5].
  const net = groupOf(5);
  const v5 = viewOf(5, ALL);
  // A NEWLEADER for view 5 from a run view 5 does not hold (4 as run 41): no promise, our view instead.
  let t0 = net.now;
  net.inject(2, { type: "NEWLEADER", from: 4, incarnation: 41, requestId: 1, viewId: 5, ballot: b(5, 4) });
  assert.deepEqual(net.sent("PENDING", t0), []);
  assert.deepEqual(
    net.sent("NEWVIEW", t0).map((c) => [c.to, c.message.type === "NEWVIEW" && c.message.view]),
    [[4, v5]],
  );
  assert.ok(net.logs.get(2)!.includes("info newleader-other"));
  assert.deepEqual(net.core(2).view, v5);
  // A view numbered no higher that holds a newer run of one of our members (1 as run 11), sent by
  // that run: a group formed after ours. Peer 2 joins it, its JOIN naming view 5 so that the group
  // numbers above it.
  t0 = net.now;
  const later = viewOf(4, [1, 3], 1, [11, 30]);
  for (const id of [1, 3, 4, 5]) net.cut.add(`2>${id}`); // (run 10 of peer 1 is still here: keep it out)
  net.inject(2, { type: "NEWVIEW", from: 1, incarnation: 11, view: later, ballot: b(2, 1) });
  assert.equal(net.core(2).view, null);
  assert.ok(net.logs.get(2)!.includes("warning later"));
  const joins = net.sent("JOIN", t0).filter((c) => c.message.from === 2);
  assert.ok(joins.length > 0 && joins.every((c) => c.message.type === "JOIN" && c.message.knownViewId === 5));
  // A newer view, or one holding no newer run, is no other line: installed, or ignored, as before.
  const net2 = groupOf(5);
  net2.inject(2, { type: "NEWVIEW", from: 1, incarnation: 10, view: viewOf(4, [1, 3]), ballot: b(2, 1) });
  assert.deepEqual(net2.core(2).view, v5);
});

test("a member that accepted a view formed anew above its own votes in its own view no more, even under a higher ballot", () => {
  // Peer 3 (cut off, say) formed view 6 = [2,3] anew and peer 2 accepted it; its FORM_OK may
  // have made it chosen. Were peer 2 to answer leader 1's takeover and REQ for view 3 (ballot
  // above the formation's), view 3 could commit a view 4 beside it, and ids would clash later.
  const net = groupOf(3);
  for (const to of [1, 3]) net.cut.add(`2>${to}`); // what 2 answers is recorded, not delivered
  const formBallot: Ballot = { round: 5, leader: 3 };
  const v6: View = { id: 6, leader: 3, members: [2, 3], incarnations: [run(2), run(3)] };
  const from3 = { from: 3, incarnation: run(3) };
  net.inject(2, { type: "FORM", requestId: 1, ballot: formBallot, ...from3 });
  net.inject(2, { type: "FORM_ACCEPT", requestId: 1, ballot: formBallot, view: v6, ...from3 });
  const t0 = net.now;
  const mark = net.carried.length;
  const high: Ballot = { round: 9, leader: 1 };
  const from1 = { from: 1, incarnation: run(1) };
  net.inject(2, { type: "NEWLEADER", requestId: 4, viewId: 3, ballot: high, ...from1 });
  const add: Proposal = {
    viewId: 3,
    op: { kind: "DEL", peer: 3, incarnation: run(3) },
    leader: 1,
    ballot: high,
  };
  net.inject(2, { type: "REQ", requestId: 5, proposal: add, ...from1 });
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
