/**
 * The membership protocol as a pure state machine, in the manner of etcd's
 * raft library: the host feeds it messages and clock ticks, with the time,
 * and carries out the effects it returns. It does no I/O and reads no clock.
 *
 * Safety follows Paxos, one instance per view id: the members of view `v`
 * are the acceptors that choose view `v + 1`. A REQ is Paxos' accept, a
 * member's pending operation its accepted value, NEWLEADER the prepare of a
 * new ballot, and a takeover re-proposes the highest-ballot pending value it
 * learns of, unchanged, so every peer that installs view `v` installs the same.
 *
 * @module
 */

import { compareBallots, maxBallot, NO_BALLOT } from "./ballot.ts";
import type { CoreConfig } from "./config.ts";
import { JOIN_RETRY_MAX_MS, JOIN_RETRY_MIN_MS } from "./config.ts";
import type { Effect, LogLevel } from "./effects.ts";
import type {
  Ballot,
  HeartbeatMessage,
  JoinMessage,
  Message,
  NewLeaderMessage,
  NewViewMessage,
  Operation,
  PeerId,
  PendingMessage,
  Proposal,
  ReqMessage,
  View,
} from "./messages.ts";
import { foundingView, incarnationIn, majorityOf, nextView, operationError } from "./view.ts";

/** Where a peer stands: outside the group, in it, leading it, or taking over. */
export type Role = "joining" | "member" | "leader" | "candidate";

/** A member's accepted (pending) proposal. */
interface Accepted {
  readonly proposal: Proposal;
  readonly requestId: number;
}

/** Why the leader queued an operation. */
type Reason = "join" | "failed" | "restart";

interface LeaderState {
  readonly ballot: Ballot;
  readonly queue: { op: Operation; reason: Reason }[];
  current: {
    readonly requestId: number;
    readonly proposal: Proposal;
    readonly oks: Set<PeerId>;
    sentAt: number;
  } | null;
}

interface TakeoverState {
  readonly ballot: Ballot;
  readonly requestId: number;
  readonly replies: Map<PeerId, PendingMessage>;
  sentAt: number;
}

/**
 * One peer's protocol state. Every method takes the current time in ms and
 * returns the effects to carry out, in order.
 *
 * @example
 * ```ts
 * import { PeerCore } from "./peer_core.ts";
 * const core = new PeerCore({
 *   id: 1, peerCount: 3, incarnation: 1, heartbeatMs: 200, failAfter: 5, random: Math.random,
 * });
 * const effects = core.start(0); // peer 1 founds the group: a "view" event for view 1
 * console.log(effects[0]); // { kind: "event", event: { type: "view", peer: 1, view: {...} } }
 * ```
 */
export class PeerCore {
  readonly #cfg: CoreConfig;
  #now = 0;
  #out: Effect[] = [];
  #crashed = false;

  #view: View | null = null;
  /**
   * The newest committed view this peer knows, member or not: its installed
   * view, or the one that removed it, kept while it joins again to catch up
   * peers further behind (it may be the only one left who knows that view).
   */
  #newest: View | null = null;
  /** Paxos promise: no REQ or NEWLEADER below this ballot is accepted. */
  #promised: Ballot = NO_BALLOT;
  /** The ballot of the leader this peer follows, and when it last showed it leads. */
  #leaderBallot: Ballot = NO_BALLOT;
  #leaderHeardAt = 0;
  #pending: Accepted | null = null;
  #leading: LeaderState | null = null;
  #takeover: TakeoverState | null = null;
  #nextRequestId = 1;

  readonly #heardAt = new Map<PeerId, number>();
  readonly #suspected = new Set<PeerId>();
  readonly #incarnationSeen = new Map<PeerId, number>();
  readonly #catchUpSentAt = new Map<PeerId, number>();
  #lastTickAt = 0;

  #joinAt = 0;
  #joinBackoff = JOIN_RETRY_MIN_MS;
  #joinHint: PeerId | null = null;
  #everyoneJoined = false;
  /** Until then peer 1 waits for a live group to answer before admitting joiners. */
  #foundingUntil = 0;

  /** Creates the state machine; nothing happens until {@linkcode start}. */
  constructor(config: CoreConfig) {
    this.#cfg = config;
  }

  /** This peer's ID. */
  get id(): PeerId {
    return this.#cfg.id;
  }

  /** The installed view, or null while joining. */
  get view(): View | null {
    return this.#view;
  }

  /** The leader this peer follows (itself when leading), or null while joining. */
  get leader(): PeerId | null {
    if (this.#leading || this.#takeover) return this.id;
    if (!this.#view) return null;
    const l = this.#leaderBallot.leader;
    return this.#view.members.includes(l) ? l : this.#view.leader;
  }

  /** Where this peer stands. */
  get role(): Role {
    if (this.#leading) return "leader";
    if (this.#takeover) return "candidate";
    return this.#view ? "member" : "joining";
  }

  /** The accepted, not yet installed, proposal, if any. */
  get pending(): Proposal | null {
    return this.#pending?.proposal ?? null;
  }

  /** Members this peer currently holds unreachable. */
  get suspected(): ReadonlySet<PeerId> {
    return this.#suspected;
  }

  /** Starts the peer: peer 1 founds view 1; every other peer starts joining. */
  start(now: number): Effect[] {
    return this.#step(now, () => {
      this.#lastTickAt = now;
      if (this.id === 1) {
        const ballot = { round: 0, leader: this.id };
        this.#install(foundingView(this.id, this.#cfg.incarnation), ballot);
        this.#leading = { ballot, queue: [], current: null };
        // A restarted peer 1 must not found a second group beside a live one: it
        // asks the others first (the JOIN below), and admits nobody until they
        // had time to answer.
        this.#foundingUntil = now + this.#retryMs();
      }
      this.#sendJoin();
    });
  }

  /** Handles one decoded message from peer `message.from`. */
  receive(now: number, message: Message): Effect[] {
    return this.#step(now, () => {
      const from = message.from;
      if (from < 1 || from > this.#cfg.peerCount || from === this.id) {
        this.#log(
          "warning",
          `dropped ${message.type}: sender ${from} is not another peer of the hostsfile`,
          "sender",
        );
        return;
      }
      if (message.type !== "JOIN" && message.type !== "REDIRECT" && message.type !== "HEARTBEAT") {
        this.#heard(from);
      }
      switch (message.type) {
        case "JOIN":
          return this.#onJoin(message);
        case "REDIRECT":
          return this.#onRedirect(message.from, message.leader);
        case "REQ":
          return this.#onReq(message);
        case "OK":
          return this.#onOk(from, message.requestId, message.viewId);
        case "NEWVIEW":
          return this.#onNewView(message);
        case "NEWLEADER":
          return this.#onNewLeader(message);
        case "PENDING":
          return this.#onPending(message);
        case "REJECT":
          return this.#onHigherBallot(message.promised, `REJECT from ${from}`);
        case "HEARTBEAT":
          return this.#onHeartbeat(message);
      }
    });
  }

  /** Advances timers: heartbeats, failure detection, retries, takeover. */
  tick(now: number): Effect[] {
    return this.#step(now, () => {
      const late = now - this.#lastTickAt - this.#cfg.heartbeatMs;
      this.#lastTickAt = now;
      if (late > this.#cfg.heartbeatMs) {
        // This event loop stalled: what we did not hear meanwhile says
        // nothing about the others, so their deadlines move on by the stall.
        for (const [m, t] of this.#heardAt) this.#heardAt.set(m, t + late);
        this.#leaderHeardAt += late;
        this.#log("info", `event loop stalled ${late} ms; failure deadlines extended`, "stall");
      }
      if (!this.#view) {
        if (now >= this.#joinAt) this.#sendJoin();
        return;
      }
      this.#sendHeartbeats();
      this.#detectFailures();
      if (this.#crashed || !this.#view) return;
      this.#considerTakeover();
      this.#retransmit();
    });
  }

  // ---- plumbing ----

  #step(now: number, body: () => void): Effect[] {
    if (this.#crashed) return [];
    this.#now = now;
    this.#out = [];
    body();
    return this.#out;
  }

  #send(to: PeerId, message: Message): void {
    this.#out.push({ kind: "send", to, message });
  }

  #log(level: LogLevel, text: string, key: string): void {
    this.#out.push({ kind: "log", level, text: `peer ${this.id}: ${text}`, key });
  }

  #timeout(): number {
    return this.#cfg.failAfter * this.#cfg.heartbeatMs;
  }

  #others(view: View): PeerId[] {
    return view.members.filter((m) => m !== this.id);
  }

  #newestId(): number {
    return this.#newest?.id ?? 0;
  }

  /** How long before a request, a takeover or a catch-up is sent again. */
  #retryMs(): number {
    return 2 * this.#cfg.heartbeatMs;
  }

  #myBallot(): Ballot | null {
    return this.#leading?.ballot ?? this.#takeover?.ballot ?? null;
  }

  /** The lowest member this peer does not hold unreachable: who should lead. */
  #lowestAlive(): PeerId | undefined {
    return this.#view?.members.find((m) => m === this.id || !this.#suspected.has(m));
  }

  #sendView(to: PeerId): void {
    const view = this.#newest;
    if (!view) return;
    const last = this.#catchUpSentAt.get(to) ?? -Infinity;
    if (this.#now - last < this.#retryMs()) return;
    this.#catchUpSentAt.set(to, this.#now);
    this.#send(to, {
      type: "NEWVIEW",
      from: this.id,
      view,
      ballot: this.#leaderBallot,
    });
  }

  // ---- views ----

  /** Installs a committed view this peer belongs to. */
  #install(view: View, ballot: Ballot): void {
    const previous = this.#view;
    this.#view = view;
    this.#newest = view;
    if (this.#pending && this.#pending.proposal.viewId < view.id) this.#pending = null;
    this.#promised = maxBallot(this.#promised, ballot);
    if (compareBallots(ballot, this.#leaderBallot) >= 0) {
      this.#leaderBallot = ballot;
      this.#leaderHeardAt = this.#now;
    }
    if (!previous) this.#leaderHeardAt = this.#now;
    for (const m of [...this.#heardAt.keys()]) {
      if (incarnationIn(view, m) !== (previous && incarnationIn(previous, m))) {
        this.#heardAt.delete(m);
        this.#suspected.delete(m);
      }
    }
    for (const m of view.members) if (!this.#heardAt.has(m)) this.#heardAt.set(m, this.#now);
    if (view.members.length === this.#cfg.peerCount) this.#everyoneJoined = true;
    const cur = this.#leading?.current;
    if (cur && cur.proposal.viewId < view.id) this.#leading!.current = null; // decided elsewhere
    this.#out.push({ kind: "event", event: { type: "view", peer: this.id, view } });
  }

  /** This peer learned it is not in the group's view `view`: it joins again. */
  #removed(view: View): void {
    this.#log("info", `not a member of view ${view.id}: joining again`, "removed");
    this.#newest = view;
    this.#leave(view.leader);
  }

  /** Drops out of the group (or the founding) and joins again, asking `hint` first. */
  #leave(hint: PeerId | null): void {
    this.#view = null;
    this.#pending = null;
    this.#leading = null;
    this.#takeover = null;
    this.#foundingUntil = 0;
    this.#heardAt.clear();
    this.#suspected.clear();
    this.#joinHint = hint;
    this.#joinBackoff = JOIN_RETRY_MIN_MS;
    this.#sendJoin();
  }

  /** Installs `view` if it is newer; a view without this peer means removal. */
  #adopt(view: View, ballot: Ballot): void {
    if (view.id <= this.#newestId()) return;
    if (incarnationIn(view, this.id) === this.#cfg.incarnation) this.#install(view, ballot);
    else this.#removed(view);
  }

  #onNewView(m: NewViewMessage): void {
    if (m.view.id <= this.#newestId()) return;
    this.#adopt(m.view, m.ballot);
    this.#yieldTo(m.ballot);
    if (this.#takeover) this.#evaluateTakeover();
    else if (this.#leading) this.#pump();
  }

  // ---- joining ----

  #sendJoin(): void {
    const join: JoinMessage = { type: "JOIN", from: this.id, incarnation: this.#cfg.incarnation };
    const hint = this.#joinHint;
    this.#joinHint = null;
    if (hint !== null && hint !== this.id) {
      this.#send(hint, join);
    } else {
      for (let p = 1; p <= this.#cfg.peerCount; p++) if (p !== this.id) this.#send(p, join);
    }
    const jitter = 0.75 + this.#cfg.random() / 2;
    this.#joinAt = this.#now + this.#joinBackoff * jitter;
    this.#joinBackoff = Math.min(this.#joinBackoff * 2, JOIN_RETRY_MAX_MS);
  }

  #onRedirect(from: PeerId, leader: PeerId): void {
    if (leader > this.#cfg.peerCount) return;
    if (this.#view && this.#now < this.#foundingUntil) {
      // Our founding probe found a live group (that may still think our previous
      // run leads it): join it rather than found another.
      this.#log("warning", `peer ${from} belongs to a group led by ${leader}: joining it`, "found");
      return this.#leave(leader === this.id ? null : leader);
    }
    if (this.#view || leader === this.id) return;
    if (leader === from) return; // it leads, or believes so: the retry will reach it
    this.#joinHint = leader;
    this.#sendJoin();
  }

  #onJoin(m: JoinMessage): void {
    const seen = this.#incarnationSeen.get(m.from) ?? 0;
    if (m.incarnation < seen) {
      this.#log("info", `dropped JOIN from an old incarnation of peer ${m.from}`, "old-incarnation");
      return;
    }
    this.#incarnationSeen.set(m.from, m.incarnation);
    if (!this.#view) {
      // Peer 1's founding probe: it is up now, so ask it at once rather than
      // at the end of our back-off.
      if (m.from === 1) {
        this.#joinHint = 1;
        this.#joinBackoff = JOIN_RETRY_MIN_MS;
        this.#sendJoin();
      }
      return; // otherwise it retries; we cannot help yet
    }
    const known = incarnationIn(this.#view, m.from);
    // A member that missed its NEWVIEW: any member can catch it up, and must,
    // since a candidate may need that member's answer to reach a majority.
    if (known === m.incarnation) return this.#sendView(m.from);
    if (this.#takeover) return; // it retries; we cannot help yet
    if (!this.#leading) {
      this.#send(m.from, { type: "REDIRECT", from: this.id, leader: this.leader ?? 1 });
      return;
    }
    if (known !== undefined) this.#enqueue({ kind: "DEL", peer: m.from, incarnation: 0 }, "restart");
    this.#enqueue({ kind: "ADD", peer: m.from, incarnation: m.incarnation }, "join");
    // Founding (see start()): when every other peer asks to join, no live group is left to find.
    const asking = this.#leading.queue.filter((q) => q.op.kind === "ADD").length;
    if (asking === this.#cfg.peerCount - 1) this.#foundingUntil = 0;
    this.#pump();
  }

  // ---- failure detection ----

  #heard(from: PeerId): void {
    if (!this.#view?.members.includes(from)) return;
    this.#heardAt.set(from, this.#now);
    if (this.#suspected.delete(from)) {
      this.#log("info", `peer ${from} is reachable again`, "reachable");
    }
  }

  #onHeartbeat(m: HeartbeatMessage): void {
    const seen = this.#incarnationSeen.get(m.from) ?? 0;
    if (m.incarnation < seen) return; // an older run of that peer
    this.#incarnationSeen.set(m.from, m.incarnation);
    if (!this.#view) {
      if (m.viewId < this.#newestId()) this.#sendView(m.from);
      return;
    }
    if (incarnationIn(this.#view, m.from) === m.incarnation) this.#heard(m.from);
    if (m.viewId < this.#view.id) {
      // A peer behind us: catch it up; whatever ballot it holds is for an old view.
      this.#sendView(m.from);
    } else if (m.leading) {
      const cmp = compareBallots(m.leading, this.#leaderBallot);
      if (cmp >= 0 && m.leading.leader === m.from) {
        this.#leaderBallot = m.leading;
        this.#leaderHeardAt = this.#now;
      }
      const mine = this.#myBallot();
      if (mine && compareBallots(m.leading, mine) > 0) {
        this.#onHigherBallot(m.leading, `heartbeat of peer ${m.from}`);
      }
    } else if (this.#leaderBallot.leader === m.from) {
      // The peer we follow leads nothing now (a candidate that gave up, a leader
      // that stepped down): forget its ballot, so the leader heard next is followed
      // instead of a phantom.
      this.#leaderBallot = NO_BALLOT;
    }
  }

  #sendHeartbeats(): void {
    const view = this.#view!;
    // Cut off from a majority of its view, this peer may have been removed with
    // the news lost: it heartbeats the whole hostsfile so a peer further on can
    // catch it up (a heartbeat from an older view is answered with NEWVIEW).
    const reachable = view.members.filter((m) => m === this.id || !this.#suspected.has(m)).length;
    const to = reachable >= majorityOf(view)
      ? this.#others(view)
      : Array.from({ length: this.#cfg.peerCount }, (_, i) => i + 1).filter((p) => p !== this.id);
    for (const m of to) {
      this.#send(m, {
        type: "HEARTBEAT",
        from: this.id,
        viewId: view.id,
        incarnation: this.#cfg.incarnation,
        leading: this.#myBallot(),
      });
    }
  }

  #detectFailures(): void {
    const view = this.#view!;
    for (const m of this.#others(view)) {
      if (this.#suspected.has(m)) continue;
      if (this.#now - (this.#heardAt.get(m) ?? this.#now) <= this.#timeout()) continue;
      this.#suspect(m);
      if (this.#leading && this.#cfg.test4 && this.#everyoneJoined && !this.#leading.current) {
        return this.#crashMidDelete(m);
      }
      if (this.#leading) this.#enqueue({ kind: "DEL", peer: m, incarnation: 0 }, "failed");
    }
    // The running operation may have been waiting only for the member that just failed.
    if (this.#leading?.current) this.#maybeCommit();
    this.#pump();
  }

  /** Holds `m` unreachable and reports it, once per failure. */
  #suspect(m: PeerId): void {
    const view = this.#view!;
    this.#suspected.add(m);
    const isLeader = m === view.leader || m === this.leader;
    this.#out.push({
      kind: "event",
      event: {
        type: "unreachable",
        peer: this.id,
        viewId: view.id,
        leader: view.leader,
        member: m,
        isLeader,
      },
    });
  }

  /** Test case 4: REQ DEL to every member but the next leader, then crash. */
  #crashMidDelete(failed: PeerId): void {
    const nextLeader = this.#others(this.#view!)[0];
    this.#propose({
      viewId: this.#view!.id,
      op: { kind: "DEL", peer: failed, incarnation: 0 },
      leader: this.id,
      ballot: this.#leading!.ballot,
    }, nextLeader);
    this.#log(
      "warning",
      `test case 4: sent REQ DEL ${failed} to all but peer ${nextLeader}; crashing`,
      "test4",
    );
    this.#out.push({ kind: "crash" });
    this.#crashed = true;
  }

  // ---- the leader's operations ----

  #enqueue(op: Operation, reason: Reason): void {
    const leading = this.#leading!;
    const cur = leading.current?.proposal.op;
    const same = (o: Operation) =>
      o.kind === op.kind && o.peer === op.peer && o.incarnation === op.incarnation;
    if ((cur && same(cur)) || leading.queue.some((q) => same(q.op))) return;
    leading.queue.push({ op, reason });
  }

  /** Starts the next queued operation that still makes sense. */
  #pump(): void {
    if (this.#now < this.#foundingUntil) return; // see start()
    const leading = this.#leading;
    while (leading && leading === this.#leading && !leading.current && leading.queue.length > 0) {
      const { op, reason } = leading.queue.shift()!;
      const view = this.#view!;
      const known = incarnationIn(view, op.peer);
      if (op.kind === "ADD" && known === op.incarnation) continue;
      if (op.kind === "DEL" && reason === "failed" && !this.#suspected.has(op.peer)) continue;
      if (operationError(view, op, this.id)) continue;
      this.#propose({ viewId: view.id, op, leader: this.id, ballot: leading.ballot });
    }
  }

  /** Sends the REQ of `proposal` to every other member (but `skip`, for test case 4). */
  #propose(proposal: Proposal, skip?: PeerId): void {
    const leading = this.#leading!;
    const requestId = this.#nextRequestId++;
    this.#pending = { proposal, requestId };
    leading.current = { requestId, proposal, oks: new Set([this.id]), sentAt: this.#now };
    for (const m of this.#others(this.#view!)) {
      if (m !== skip) this.#send(m, { type: "REQ", from: this.id, requestId, proposal });
    }
    this.#maybeCommit();
  }

  #onOk(from: PeerId, requestId: number, viewId: number): void {
    const cur = this.#leading?.current;
    if (!cur || cur.requestId !== requestId || viewId !== this.#view?.id) {
      this.#log("debug", `dropped OK ${requestId} from ${from}: no such request running`, "stale-ok");
      return;
    }
    cur.oks.add(from);
    this.#maybeCommit();
  }

  /** Commits once a majority and every member not held failed said OK. */
  #maybeCommit(): void {
    const leading = this.#leading!;
    const cur = leading.current!;
    const view = this.#view!;
    const { op } = cur.proposal;
    const oks = view.members.filter((m) => cur.oks.has(m)).length;
    if (oks < majorityOf(view)) return;
    const waiting = view.members.some((m) =>
      !cur.oks.has(m) && !this.#suspected.has(m) && !(op.kind === "DEL" && m === op.peer)
    );
    if (waiting) return;
    const next = nextView(view, cur.proposal);
    leading.current = null;
    const newView: NewViewMessage = { type: "NEWVIEW", from: this.id, view: next, ballot: leading.ballot };
    if (!next.members.includes(this.id)) {
      // A takeover finished its predecessor's DEL of this very peer: the view is
      // chosen, so announce it, then leave and join again like any removed peer.
      for (const m of next.members) this.#send(m, newView);
      return this.#removed(next);
    }
    this.#install(next, leading.ballot);
    for (const m of this.#others(next)) this.#send(m, newView);
    if (op.kind === "DEL") this.#send(op.peer, newView); // so a live peer knows to join again
    this.#pump();
  }

  // ---- a member's side of operations ----

  #onReq(m: ReqMessage): void {
    const view = this.#view;
    const p = m.proposal;
    if (!view) return this.#log("debug", `dropped REQ from ${m.from}: not a member`, "req-joining");
    if (p.viewId < view.id) {
      this.#sendView(m.from);
      return this.#log("info", `dropped REQ for old view ${p.viewId} from ${m.from}`, "req-stale");
    }
    if (compareBallots(p.ballot, this.#promised) < 0) {
      this.#log("info", `refused REQ from replaced leader ${m.from}`, "req-refused");
      return this.#send(m.from, { type: "REJECT", from: this.id, promised: this.#promised });
    }
    if (p.viewId > view.id) {
      return this.#log("debug", `dropped REQ for view ${p.viewId}: still at ${view.id}`, "req-ahead");
    }
    const error = operationError(view, p.op, p.leader);
    if (error) return this.#log("warning", `dropped REQ from ${m.from}: ${error}`, "req-invalid");
    this.#promised = p.ballot;
    this.#followBallot(p.ballot);
    this.#pending = { proposal: p, requestId: m.requestId };
    this.#send(m.from, { type: "OK", from: this.id, requestId: m.requestId, viewId: p.viewId });
    // The leader found it failed a moment before our own deadline would have.
    const gone = p.op.peer;
    if (p.op.kind === "DEL" && gone !== this.id && !this.#suspected.has(gone)) this.#suspect(gone);
  }

  /** Follows the leader whose REQ this peer just accepted (its ballot is at least the promise). */
  #followBallot(ballot: Ballot): void {
    this.#yieldTo(ballot);
    // Even if a heartbeat showed a higher ballot: never promised, it belongs to a
    // candidate that did not win, and following it would name a phantom leader.
    this.#leaderBallot = ballot;
    this.#leaderHeardAt = this.#now;
  }

  // ---- leader takeover ----

  /** Someone holds a higher ballot: lead again above it if we should, else follow. */
  #onHigherBallot(ballot: Ballot, source: string): void {
    this.#promised = maxBallot(this.#promised, ballot);
    const mine = this.#myBallot();
    if (!mine || compareBallots(ballot, mine) <= 0) return;
    if (this.#lowestAlive() === this.id) {
      this.#log(
        "info",
        `${source} holds ballot ${ballot.round}/${ballot.leader}; taking over again`,
        "ballot",
      );
      this.#startTakeover();
    } else {
      this.#stepDown(ballot);
    }
  }

  /** Steps down if this peer leads, or seeks to, under a ballot lower than `ballot`. */
  #yieldTo(ballot: Ballot): void {
    const mine = this.#myBallot();
    if (mine && compareBallots(ballot, mine) > 0) this.#stepDown(ballot);
  }

  #stepDown(ballot: Ballot): void {
    this.#log("info", `stepping down for the leader of ballot ${ballot.round}/${ballot.leader}`, "step-down");
    this.#leading = null;
    this.#takeover = null;
    this.#leaderBallot = maxBallot(this.#leaderBallot, ballot);
    this.#leaderHeardAt = this.#now;
  }

  /** Takes over when nobody has led for a failure timeout and we are next in line. */
  #considerTakeover(): void {
    if (this.#leading) return;
    const lowest = this.#lowestAlive();
    if (this.#takeover) {
      if (lowest !== this.id) {
        this.#log("info", `giving up takeover: peer ${lowest} is reachable and comes first`, "abandon");
        this.#takeover = null;
        this.#leaderHeardAt = this.#now;
      }
      return;
    }
    if (lowest !== this.id) return;
    if (this.#now - this.#leaderHeardAt <= this.#timeout()) return;
    this.#startTakeover();
  }

  #startTakeover(): void {
    const view = this.#view!;
    const round = Math.max(this.#promised.round, this.#leaderBallot.round) + 1;
    const ballot = { round, leader: this.id };
    this.#promised = ballot;
    this.#leading = null;
    this.#takeover = { ballot, requestId: this.#nextRequestId++, replies: new Map(), sentAt: this.#now };
    this.#log("info", `taking over as leader of view ${view.id} with ballot ${round}/${this.id}`, "takeover");
    this.#sendNewLeader(this.#others(view));
    this.#evaluateTakeover();
  }

  #sendNewLeader(to: PeerId[]): void {
    const t = this.#takeover!;
    const message: NewLeaderMessage = {
      type: "NEWLEADER",
      from: this.id,
      requestId: t.requestId,
      viewId: this.#view!.id,
      ballot: t.ballot,
    };
    for (const m of to) this.#send(m, message);
    t.sentAt = this.#now;
  }

  #onNewLeader(m: NewLeaderMessage): void {
    const view = this.#view;
    if (!view) return;
    if (m.viewId < view.id) {
      this.#sendView(m.from);
      return this.#log(
        "info",
        `dropped NEWLEADER for old view ${m.viewId} from ${m.from}`,
        "newleader-stale",
      );
    }
    if (compareBallots(m.ballot, this.#promised) < 0) {
      return this.#send(m.from, { type: "REJECT", from: this.id, promised: this.#promised });
    }
    this.#promised = m.ballot;
    this.#yieldTo(m.ballot);
    const pending = this.#pending?.proposal.viewId === view.id ? this.#pending.proposal : null;
    this.#send(m.from, { type: "PENDING", from: this.id, requestId: m.requestId, view, pending });
  }

  #onPending(m: PendingMessage): void {
    const t = this.#takeover;
    if (!t || t.requestId !== m.requestId) {
      return this.#log(
        "debug",
        `dropped PENDING ${m.requestId} from ${m.from}: no such takeover`,
        "stale-pending",
      );
    }
    t.replies.set(m.from, m);
    this.#evaluateTakeover();
  }

  /** Leads once a majority of the view has answered NEWLEADER. */
  #evaluateTakeover(): void {
    const t = this.#takeover!;
    let newest = this.#view!;
    for (const r of t.replies.values()) if (r.view.id > newest.id) newest = r.view;
    if (newest !== this.#view) {
      this.#adopt(newest, NO_BALLOT);
      if (!this.#view || this.#takeover !== t) return;
    }
    const view = this.#view;
    const answered = view.members.filter((m) => m === this.id || t.replies.has(m));
    if (answered.length < majorityOf(view)) return;
    let recovered = this.#pending?.proposal.viewId === view.id ? this.#pending.proposal : null;
    for (const r of t.replies.values()) {
      const p = r.pending;
      if (!p || p.viewId !== view.id) continue;
      if (!recovered || compareBallots(p.ballot, recovered.ballot) > 0) recovered = p;
    }
    this.#takeover = null;
    this.#leading = { ballot: t.ballot, queue: [], current: null };
    this.#leaderBallot = t.ballot;
    this.#log(
      "info",
      `leading view ${view.id} with ballot ${t.ballot.round}/${this.id}` +
        (recovered ? `; finishing pending ${recovered.op.kind} ${recovered.op.peer}` : ""),
      "leading",
    );
    for (const s of this.#suspected) this.#enqueue({ kind: "DEL", peer: s, incarnation: 0 }, "failed");
    if (recovered && !operationError(view, recovered.op, recovered.leader)) {
      this.#propose({ ...recovered, ballot: t.ballot });
    } else {
      this.#pump();
    }
  }

  // ---- retries ----

  #retransmit(): void {
    const due = (sentAt: number) => this.#now - sentAt >= this.#retryMs();
    const cur = this.#leading?.current;
    if (cur && due(cur.sentAt)) {
      cur.sentAt = this.#now;
      for (const m of this.#others(this.#view!)) {
        if (cur.oks.has(m)) continue;
        this.#sendView(m); // a member behind us cannot accept the REQ
        this.#send(m, { type: "REQ", from: this.id, requestId: cur.requestId, proposal: cur.proposal });
      }
    }
    const t = this.#takeover;
    if (t && due(t.sentAt)) this.#sendNewLeader(this.#others(this.#view!).filter((m) => !t.replies.has(m)));
  }
}
