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
 * This file is the router: it holds one explicit role (joining, member,
 * leader, candidate), changes it only through a `become…` method, and hands
 * each message to the handler of its type. Each sub-state lives in its own
 * file: the acceptor (`acceptor.ts`), the leader's queue (`leadership.ts`),
 * the candidate's prepare phase (`takeover.ts`), the follower's lease
 * (`lease.ts`), the failure detector (`failure_detector.ts`), the joiner's
 * retries (`joiner.ts`), forming the group anew (`formation.ts`), and the
 * quorum rules (`quorum.ts`).
 *
 * What a peer must keep to stay the same voter (its promise, what it
 * accepted, the view it installed) is handed to the host as one `persist`
 * effect at the head of every step that changed it, so it is written before
 * any message or output of that step.
 *
 * @module
 */

import { Acceptor } from "./acceptor.ts";
import { compareBallots, NO_BALLOT } from "./ballot.ts";
import { type CoreConfig, isLargeGroup } from "./config.ts";
import type { Channel, DurableState, Effect, LogLevel } from "./effects.ts";
import { classifyEpoch, compareEpochs, formatEpoch } from "./epoch.ts";
import { FailureDetector } from "./failure_detector.ts";
import { Formation, type FormKnowledge, isDead } from "./formation.ts";
import { Joiner } from "./joiner.ts";
import { Leadership, type Reason } from "./leadership.ts";
import { LeaderLease } from "./lease.ts";
import { Monitoring } from "./monitoring.ts";
import { Probe } from "./probe.ts";
import type {
  Ballot,
  Epoch,
  FormAcceptMessage,
  FormMessage,
  FormOkMessage,
  FormPromiseMessage,
  HeartbeatMessage,
  JoinMessage,
  LeaveMessage,
  Message,
  NewLeaderMessage,
  NewViewMessage,
  OkMessage,
  Operation,
  PeerId,
  PendingMessage,
  Proposal,
  ReqMessage,
  View,
} from "./messages.ts";
import { canCommit, isMajority } from "./quorum.ts";
import { Takeover } from "./takeover.ts";
import { compareViews, incarnationIn, nextView, operationError, proposalError, proposalOps } from "./view.ts";

/**
 * Messages outside the epoch rule: a JOIN (how a peer of any history, or of
 * none, comes in) and forming anew, whose acceptors are the whole hostsfile.
 */
const ANY_EPOCH: ReadonlySet<Message["type"]> = new Set([
  "JOIN",
  "FORM",
  "FORM_PROMISE",
  "FORM_ACCEPT",
  "FORM_OK",
]);

/** Where a peer stands: outside the group, in it, leading it, or taking over. */
export type Role = "joining" | "member" | "leader" | "candidate";

/** A member of the view as one peer sees it. */
export interface MemberState {
  /** The member's ID. */
  readonly id: PeerId;
  /** The run of it that the view holds. */
  readonly incarnation: number;
  /** Milliseconds since it was last heard from. */
  readonly silentMs: number;
  /** Whether it is heard from, held unreachable, or leaving on purpose. */
  readonly state: "alive" | "suspected" | "leaving";
}

/** The role, with the state only that role has. */
type RoleState =
  | { readonly name: "joining" }
  | { readonly name: "member" }
  | { readonly name: "leader"; readonly leadership: Leadership }
  | { readonly name: "candidate"; readonly takeover: Takeover };

/** A message without its envelope: the core adds sender and incarnation. */
type Body = Message extends infer M ? M extends Message ? Omit<M, "from" | "incarnation" | "epoch"> : never
  : never;

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

  #role: RoleState = { name: "joining" };
  /** The installed view: null exactly while joining. */
  #view: View | null = null;
  /**
   * The newest committed view this peer knows, member or not: its installed
   * view, or the one that removed it, kept while it joins again to catch up
   * peers further behind (it may be the only one left who knows that view).
   */
  #newest: View | null = null;
  /** The last view this peer installed, kept after it is removed (it never prints a lower one). */
  #lastInstalled: View | null = null;
  /** Rises when the durable state outside the acceptor changes. */
  #ownVersion = 0;
  readonly #acceptor = new Acceptor();
  readonly #lease = new LeaderLease();
  readonly #detector: FailureDetector;
  readonly #joiner: Joiner;
  /** The newest run heard from, by peer: a newer run than a view records means a restart. */
  readonly #newestRun = new Map<PeerId, number>();
  /** When each peer was last heard from at all, member or not. */
  readonly #lastHeardAny = new Map<PeerId, number>();
  /** When a message of this peer's epoch or a later one last came (a group showed itself), and the start. */
  #groupSeenAt = -Infinity;
  #startedAt = 0;
  /** Peers that asked this joining peer to join: when every other one has, no group is left to find. */
  readonly #joinersHeard = new Set<PeerId>();
  /** When each peer was last sent a catch-up NEWVIEW. */
  readonly #caughtUpAt = new Map<PeerId, number>();
  /**
   * The highest view id a joiner holds above this leader's view, and who: a
   * history the group could not know. The next view change numbers above it,
   * so that nobody's printed view ids go backwards.
   */
  #above = { viewId: 0, peer: 0 };
  #nextRequestId = 1;
  /** This peer's attempt to form the group anew, if any. */
  #formation: Formation | null = null;
  /** Since when this peer's newest view has been known dead. */
  #deadSince: number | null = null;
  /** When this peer last saw another peer's attempt to form anew. */
  #formSeenAt = -Infinity;
  /** Back on its data dir, or cut off from its view: it learns the hostsfile's epochs before it acts (probe.ts). */
  #probe: Probe | null = null;
  /** The next peer outside the view that a leader heartbeats, so that separate histories meet. */
  #outsideNext = 0;
  /** This peer is leaving the group on purpose; `#left` once it has. */
  #leaving = false;
  #left = false;
  /** Members known to be leaving on purpose, with the run that leaves. */
  readonly #leavers = new Map<PeerId, number>();
  /** Who watches whom in the installed view (computed once per view). */
  #layout: Monitoring | null = null;
  /** The members this peer watched at its last check. */
  #watchedLast: Set<PeerId> | null = null;

  /** Creates the state machine; nothing happens until {@linkcode start}. */
  constructor(config: CoreConfig) {
    this.#cfg = config;
    this.#detector = new FailureDetector(config.heartbeatMs, config.failAfter);
    this.#joiner = new Joiner(config.id, config.peerCount);
    const r = config.restored;
    if (r) {
      this.#acceptor.restore(r.promised, r.accepted, r.formAccepted);
      this.#lastInstalled = this.#newest = r.installed;
      if (r.member && r.installed && incarnationIn(r.installed, config.id) === config.incarnation) {
        this.#view = r.installed;
        this.#role = { name: "member" };
        this.#probe = new Probe(0);
      }
    }
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
    if (this.#role.name === "leader" || this.#role.name === "candidate") return this.id;
    if (!this.#view) return null;
    const l = this.#lease.ballot.leader;
    return incarnationIn(this.#view, l) !== undefined ? l : this.#view.leader;
  }

  /** Where this peer stands. */
  get role(): Role {
    return this.#role.name;
  }

  /** The accepted, not yet installed, proposal, if any. */
  get pending(): Proposal | null {
    return this.#acceptor.accepted;
  }

  /** Members this peer currently holds unreachable. */
  get suspected(): ReadonlySet<PeerId> {
    return this.#detector.suspected;
  }

  /**
   * Whether this peer, back on its data dir or cut off from its view, waits
   * to hear from a majority of the hostsfile before it acts in its epoch.
   */
  get probing(): boolean {
    return this.#probe !== null;
  }

  /** The epoch of the last view this peer installed, if any. */
  get epoch(): Epoch | undefined {
    return this.#epoch();
  }

  /** This peer's run. */
  get incarnation(): number {
    return this.#cfg.incarnation;
  }

  /**
   * Each member of the installed view as this peer sees it at `now`: its run,
   * how long since it was last heard from (0 for this peer), and its state.
   */
  members(now: number): MemberState[] {
    const view = this.#view;
    if (!view) return [];
    return view.members.map((id, i) => {
      const heard = id === this.id ? now : this.#detector.lastHeard(id) ?? now;
      const state = this.#detector.suspected.has(id)
        ? "suspected"
        : this.#isLeaving(id)
        ? "leaving"
        : "alive";
      return { id, incarnation: view.incarnations[i], silentMs: Math.max(0, now - heard), state };
    });
  }

  /** What this peer must keep across a restart to stay the same voter. */
  get durableState(): DurableState {
    return {
      incarnation: this.#cfg.incarnation,
      promised: this.#acceptor.promised,
      accepted: this.#acceptor.accepted,
      installed: this.#lastInstalled,
      member: this.#view !== null,
      formAccepted: this.#acceptor.formAccepted,
    };
  }

  /**
   * Starts the peer: every peer asks to join (peer 1 founds the group by
   * forming it once no group shows itself); a peer restored as a member first
   * asks the hostsfile which epoch each peer is in.
   */
  start(now: number): Effect[] {
    return this.#step(now, () => {
      this.#detector.start(now);
      this.#startedAt = now;
      if (this.#view) {
        // Restored from an earlier run's state: the same member, watching afresh.
        this.#detector.watch(null, this.#view, now);
        this.#lease.renew(now);
        this.#log("info", `restored view ${this.#view.id} from durable state`, "restored");
        this.#probe = new Probe(now);
        this.#sendProbes();
      } else this.#sendJoin();
    });
  }

  /** Handles one decoded message from peer `message.from`. */
  receive(now: number, message: Message): Effect[] {
    return this.#step(now, () => {
      const from = message.from;
      if (from < 1 || from > this.#cfg.peerCount || from === this.id) {
        return this.#log(
          "warning",
          `dropped ${message.type}: sender ${from} is not another peer of the hostsfile`,
          "sender",
        );
      }
      // Only the agreed view says which run of a member is current: a higher run
      // merely heard of (forged, or a clock that went back) never silences the real one.
      const recorded = this.#view ? incarnationIn(this.#view, from) : undefined;
      if (recorded !== undefined && message.incarnation < recorded) {
        return this.#log(
          "info",
          `dropped ${message.type} from an old incarnation of peer ${from}`,
          "old-incarnation",
        );
      }
      this.#newestRun.set(from, Math.max(this.#newestRun.get(from) ?? 0, message.incarnation));
      this.#lastHeardAny.set(from, now);
      const theirs = message.type === "NEWVIEW" ? message.view.epoch : message.epoch;
      const order = classifyEpoch(this.#epoch(), theirs);
      if (order !== "newer") this.#answered(from);
      if (!ANY_EPOCH.has(message.type)) {
        // The one rule for group histories (epoch.ts).
        if (order === "older") return this.#onOlder(message);
        this.#groupSeenAt = now;
        if (order === "newer") return this.#onNewer(message);
      }
      this.#heardFrom(from, message.incarnation);
      switch (message.type) {
        case "JOIN":
          return this.#onJoin(message);
        case "REDIRECT":
          return this.#onRedirect(from, message.leader);
        case "REQ":
          return this.#onReq(message);
        case "OK":
          return this.#onOk(message);
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
        case "FORM":
          return this.#onForm(message);
        case "FORM_PROMISE":
          return this.#onFormPromise(message);
        case "FORM_ACCEPT":
          return this.#onFormAccept(message);
        case "FORM_OK":
          return this.#onFormOk(message);
        case "LEAVE":
          return this.#onLeave(message);
        case "PROBE":
          return this.#send(from, { type: "PROBE_ACK" });
        case "PROBE_ACK":
          return;
      }
    });
  }

  /** This peer's epoch: that of the last view it installed (none before). */
  #epoch(): Epoch | undefined {
    return this.#lastInstalled?.epoch;
  }

  /** A message of an older history: its sender is behind; show it our view, and drop it. */
  #onOlder(m: Message): void {
    this.#catchUp(m.from, true);
    this.#log(
      "info",
      `dropped ${m.type} from peer ${m.from}: its epoch ${formatEpoch(m.epoch)} is older than ours`,
      "epoch-older",
    );
  }

  /**
   * A message of a later history: this peer is behind. A view of it that
   * names this very run is installed; any other view is joined; any other
   * message is answered with a PROBE, which the sender answers (ours being
   * older to it) with its view.
   */
  #onNewer(m: Message): void {
    if (this.#formation) this.#abandonFormation(`peer ${m.from} is in a later epoch`);
    if (m.type !== "NEWVIEW") {
      if (this.#now - (this.#caughtUpAt.get(m.from) ?? -Infinity) < this.#retryMs()) return;
      this.#caughtUpAt.set(m.from, this.#now);
      return this.#send(m.from, { type: "PROBE" });
    }
    // (a joiner that never installed a view is simply admitted: no news there)
    if (this.#epoch()) {
      this.#log(
        "warning",
        `peer ${m.from} is in the later epoch ${formatEpoch(m.view.epoch)}: following it`,
        "epoch-newer",
      );
    }
    this.#adopt(m.view, m.ballot);
  }

  /** Peer `from` answered in an epoch no later than ours: it counts toward the probe. */
  #answered(from: PeerId): void {
    this.#probe?.answered.add(from);
    this.#endProbe();
  }

  /** Ends the probe once it is over (see {@linkcode Probe.over}), and acts on what waited for it. */
  #endProbe(): void {
    const probe = this.#probe;
    const view = this.#view;
    if (!probe || !view) return;
    if (!probe.over(this.#now, this.#cfg.peerCount, view, this.id, this.#detector.timeoutMs)) return;
    this.#probe = null;
    this.#log("info", `no later epoch answered: acting in epoch ${formatEpoch(this.#epoch())}`, "probe");
    if (this.#leadership()?.current) this.#maybeCommit();
    this.#pump();
  }

  /** Asks every peer not yet heard since the probe started which epoch it is in. */
  #sendProbes(): void {
    const probe = this.#probe ??= new Probe(this.#now);
    if (this.#now - probe.sentAt < this.#retryMs()) return;
    probe.sentAt = this.#now;
    for (const p of this.#everyOther()) if (!probe.answered.has(p)) this.#send(p, { type: "PROBE" });
  }

  /**
   * Leaves the group on purpose: the leader is asked to remove this peer (a
   * leader hands over to the next in line first). Once the view without it
   * is committed, a `left` event names this peer and the core does nothing more.
   */
  leave(now: number): Effect[] {
    return this.#step(now, () => {
      if (this.#leaving) return;
      this.#leaving = true;
      const view = this.#view;
      if (!view || view.members.length === 1) return this.#finishLeaving(view);
      this.#askToLeave();
    });
  }

  /** Whether this peer has left the group on purpose. */
  get hasLeft(): boolean {
    return this.#left;
  }

  /** Advances timers: heartbeats, failure detection, retries, takeover. */
  tick(now: number): Effect[] {
    return this.#step(now, () => {
      const stall = this.#detector.tick(now);
      if (stall > 0) {
        this.#lease.extend(stall);
        this.#log("info", `event loop stalled ${stall} ms; failure deadlines extended`, "stall");
      }
      this.#considerFormation();
      if (!this.#view && this.#joiner.due(now)) this.#sendJoin();
      if (!this.#view) return;
      if (this.#probe) {
        this.#endProbe();
        if (this.#probe) this.#sendProbes();
      }
      this.#sendHeartbeats();
      this.#detectFailures();
      if (!this.#view) return;
      this.#considerTakeover();
      this.#retransmit();
      if (this.#leaving) this.#askToLeave();
    });
  }

  // ---- roles ----

  /** Drops out of the group and joins again, asking `hint` first. */
  #becomeJoining(hint: PeerId | null): void {
    this.#role = { name: "joining" };
    this.#view = null;
    this.#probe = null;
    this.#ownVersion++;
    // What it accepted stays: it is still an acceptor of that view's instance, and a removal
    // that nobody confirmed may leave that value the only trace of a choice.
    this.#detector.clear();
    this.#watchedLast = null;
    this.#joiner.askNext(hint, true);
    this.#sendJoin();
  }

  #becomeMember(): void {
    this.#role = { name: "member" };
  }

  #becomeLeader(ballot: Ballot): Leadership {
    const leadership = new Leadership(ballot);
    this.#role = { name: "leader", leadership };
    this.#lease.follow(ballot, this.#now);
    return leadership;
  }

  #becomeCandidate(): Takeover {
    const round = Math.max(this.#acceptor.promised.round, this.#lease.ballot.round) + 1;
    const takeover = new Takeover({ round, leader: this.id }, this.#nextRequestId++, this.#now);
    this.#acceptor.promise(takeover.ballot);
    this.#role = { name: "candidate", takeover };
    return takeover;
  }

  /** The ballot this peer leads, or seeks to lead, under. */
  #myBallot(): Ballot | null {
    const role = this.#role;
    if (role.name === "leader") return role.leadership.ballot;
    if (role.name === "candidate") return role.takeover.ballot;
    return null;
  }

  #leadership(): Leadership | null {
    return this.#role.name === "leader" ? this.#role.leadership : null;
  }

  // ---- plumbing ----

  #step(now: number, body: () => void): Effect[] {
    if (this.#left) return [];
    this.#now = now;
    this.#out = [];
    const version = this.#durableVersion();
    body();
    if (this.#durableVersion() !== version) this.#out.unshift({ kind: "persist", state: this.durableState });
    return this.#out;
  }

  #durableVersion(): number {
    return this.#acceptor.version + this.#ownVersion;
  }

  #send(to: PeerId, body: Body, channel: Channel = "stream"): void {
    // (a NEWVIEW's envelope epoch is its view's: the wire has one field for both)
    const epoch = body.type === "NEWVIEW" ? body.view.epoch : this.#epoch();
    const message = {
      ...body,
      from: this.id,
      incarnation: this.#cfg.incarnation,
      ...(epoch ? { epoch } : {}),
    } as Message;
    this.#out.push({ kind: "send", channel, to, message });
  }

  #log(level: LogLevel, text: string, key: string): void {
    this.#out.push({ kind: "log", level, text: `peer ${this.id}: ${text}`, key });
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

  /** Whether `from`, as `incarnation`, is the member the view records. */
  #isMember(from: PeerId, incarnation: number): boolean {
    return this.#view !== null && incarnationIn(this.#view, from) === incarnation;
  }

  /** The lowest member this peer does not hold unreachable or leaving: who should lead. */
  #lowestAlive(): PeerId | undefined {
    const view = this.#view;
    if (!view) return undefined;
    const watched = this.#monitoring().allToAll ? null : new Set(this.#watched());
    const timeout = this.#detector.timeoutMs;
    return view.members.find((m, rank) => {
      if (m === this.id) return true;
      if (this.#detector.suspected.has(m) || this.#isLeaving(m)) return false;
      if (!watched || watched.has(m)) return true;
      // Not watched here (groups > 8): alive if anyone heard of it lately; else it
      // gets its turn to take over first, the longer the higher it stands in line.
      return this.#detector.vouchedFor(m, this.#now) ||
        this.#lease.silentFor(this.#now) <= timeout * (rank + 1);
    });
  }

  /** The observer layout of the installed view. */
  #monitoring(): Monitoring {
    const view = this.#view!;
    if (this.#layout?.view !== view) this.#layout = new Monitoring(view, this.id, this.#cfg.peerCount);
    return this.#layout;
  }

  /** Whether this peer leads, or seeks to: it heartbeats and watches every member. */
  #leadsOrSeeks(): boolean {
    return this.#role.name === "leader" || this.#role.name === "candidate";
  }

  /** The members whose failure this peer detects: all of a small group; its subjects and the leader beyond. */
  #watched(): PeerId[] {
    const view = this.#view!;
    const layout = this.#monitoring();
    if (layout.allToAll || this.#leadsOrSeeks()) return this.#others(view);
    const watched = new Set(layout.subjects);
    const leader = this.leader; // the leader it follows: the one that heartbeats it
    if (leader !== null && leader !== this.id) watched.add(leader);
    return [...watched];
  }

  /** Whether member `m` of the view asked to leave (as the run the view holds). */
  #isLeaving(m: PeerId): boolean {
    return this.#view !== null && this.#leavers.get(m) === incarnationIn(this.#view, m);
  }

  /**
   * Sends `to` the newest view this peer knows, at most once per retry
   * interval. Outside the group, a peer passes on the view that removed it
   * only to the runs that view names, or to a peer of an older epoch
   * (`older`): a view it cannot place must not spread and strand others.
   */
  #catchUp(to: PeerId, older = false): void {
    const view = this.#newest;
    if (!view) return;
    if (!this.#view && !older && incarnationIn(view, to) !== this.#newestRun.get(to)) return;
    if (this.#now - (this.#caughtUpAt.get(to) ?? -Infinity) < this.#retryMs()) return;
    this.#caughtUpAt.set(to, this.#now);
    this.#send(to, { type: "NEWVIEW", view, ballot: this.#lease.ballot });
  }

  // ---- views ----

  /** Installs a committed view this peer belongs to, and reports it. */
  #install(view: View, ballot: Ballot): void {
    const previous = this.#view;
    const leaderBefore = this.leader;
    const epochChanged = compareEpochs(view.epoch, this.#epoch()) !== 0;
    // The history moved on: an attempt to form anew would now reuse a view id.
    if (this.#formation) this.#abandonFormation(`view ${view.id} installed meanwhile`);
    this.#view = view;
    this.#newest = view;
    this.#lastInstalled = view;
    this.#ownVersion++;
    this.#joinersHeard.clear();
    if (this.#role.name === "joining") this.#becomeMember();
    this.#acceptor.installed(view, ballot, epochChanged);
    // Beyond 8 peers a candidate that gave up tells only its observers so (its heartbeats
    // lead nothing now): a newer view committed under another ballot shows who leads.
    if (isLargeGroup(this.#cfg.peerCount) && this.#role.name === "member") {
      this.#lease.follow(ballot, this.#now);
    } else this.#lease.observe(ballot, this.#now);
    if (!previous) this.#lease.renew(this.#now);
    this.#detector.watch(previous, view, this.#now);
    const cur = this.#leadership()?.current;
    if (cur && (epochChanged || cur.proposal.viewId < view.id)) this.#leadership()!.current = null; // decided elsewhere
    this.#out.push({ kind: "event", event: { type: "view", peer: this.id, view } });
    // Members that left on purpose are reported as left, never as unreachable.
    for (const m of previous?.members ?? []) {
      if (incarnationIn(view, m) !== undefined || this.#leavers.get(m) !== incarnationIn(previous!, m)) {
        continue;
      }
      this.#leavers.delete(m);
      const isLeader = m === previous!.leader || m === leaderBefore;
      this.#out.push({
        kind: "event",
        event: { type: "left", peer: this.id, viewId: view.id, leader: view.leader, member: m, isLeader },
      });
    }
  }

  /** This peer learned it is not in the group's view `view`: it joins again (or, leaving, is done). */
  #removed(view: View): void {
    if (this.#leaving) return this.#finishLeaving(view);
    this.#log("warning", `not a member of view ${view.id}: joining again`, "removed");
    this.#newest = view;
    this.#becomeJoining(view.leader);
  }

  /**
   * Installs `view` if it names this run and is newer than the last view this
   * peer installed; a newer view without this peer means removal. Within the
   * epoch of the newest view known, only a view newer than that one counts
   * (the order of one history is agreed); a view of another epoch that names
   * this run outweighs a mere report of another history.
   */
  #adopt(view: View, ballot: Ballot): boolean {
    const newest = this.#newest;
    const sameHistory = newest !== null && compareEpochs(view.epoch, newest.epoch) === 0;
    if (incarnationIn(view, this.id) === this.#cfg.incarnation) {
      if (compareViews(view, this.#lastInstalled) <= 0 || (sameHistory && compareViews(view, newest) <= 0)) {
        return false;
      }
      this.#install(view, ballot);
    } else if (compareViews(view, newest) > 0) this.#removed(view);
    else return false;
    return true;
  }

  #onNewView(m: NewViewMessage): void {
    if (!this.#adopt(m.view, m.ballot)) return;
    this.#yieldTo(m.ballot);
    if (this.#role.name === "candidate") this.#evaluateTakeover(this.#role.takeover);
    else this.#pump();
  }

  // ---- leaving ----

  /** Asks the leader to remove this peer; a leader hands over to the next in line first. */
  #askToLeave(): void {
    const view = this.#view;
    if (!view) return;
    const role = this.#role.name;
    if (role === "leader" || role === "candidate" || this.leader === this.id) {
      const next = this.#others(view).find((m) => !this.#detector.suspected.has(m) && !this.#isLeaving(m));
      if (next === undefined) return this.#finishLeaving(view); // nobody to hand over to
      this.#becomeMember();
      this.#lease.forget();
      this.#send(next, { type: "LEAVE" });
    } else if (this.leader !== null) {
      this.#send(this.leader, { type: "LEAVE" });
    }
  }

  #onLeave(m: LeaveMessage): void {
    if (!this.#isMember(m.from, m.incarnation)) return;
    const wasLeader = m.from === this.leader;
    this.#leavers.set(m.from, m.incarnation);
    const role = this.#role;
    if (role.name === "leader") {
      role.leadership.enqueue({ ...this.#deletion(m.from), left: true }, "left");
      return this.#pump();
    }
    // The leader hands over: the next in line takes over at once, without waiting for a timeout.
    if (wasLeader && role.name === "member" && this.#lowestAlive() === this.id && this.#mayAct()) {
      this.#startTakeover();
    }
  }

  /** This peer has left: it reports so, keeps what it must, and does nothing more. */
  #finishLeaving(view: View | null): void {
    this.#log("info", view ? `left the group: view ${view.id} does not hold this peer` : "left", "left");
    const event = {
      type: "left" as const,
      peer: this.id,
      viewId: view?.id ?? 0,
      leader: view?.leader ?? this.id,
      member: this.id,
      isLeader: false,
    };
    if (view) this.#out.push({ kind: "event", event }); // never in a group: nothing to report
    if (view) this.#newest = view;
    this.#view = null;
    this.#role = { name: "joining" };
    this.#ownVersion++;
    this.#left = true;
  }

  // ---- joining ----

  #sendJoin(): void {
    // The JOIN names the last view this peer installed: a group of another history numbers above it.
    const knownViewId = this.#lastInstalled?.id ?? 0;
    for (const p of this.#joiner.next(this.#now, this.#cfg.random)) {
      this.#send(p, { type: "JOIN", knownViewId });
    }
  }

  #onRedirect(from: PeerId, leader: PeerId): void {
    if (leader > this.#cfg.peerCount || this.#view || leader === this.id) return;
    if (leader === from) return; // it leads, or believes so: the retry will reach it
    this.#joiner.askNext(leader, false);
    this.#sendJoin();
  }

  #onJoin(m: JoinMessage): void {
    if (!this.#view) {
      // Every other peer asking to join: no group is left to find (see #stuck).
      this.#joinersHeard.add(m.from);
      return; // it retries; we cannot help yet
    }
    const known = incarnationIn(this.#view, m.from);
    // A member that missed its NEWVIEW: any member can catch it up, and must,
    // since a candidate may need that member's answer to reach a majority.
    if (known === m.incarnation) return this.#catchUp(m.from);
    if (compareEpochs(m.epoch, this.#epoch()) > 0) {
      // It comes from a later history: it finds that group, or shows it to us.
      this.#send(m.from, { type: "PROBE" });
      return this.#log("info", `not admitting peer ${m.from}: its epoch is later than ours`, "join-later");
    }
    const role = this.#role;
    if (role.name === "candidate") return; // it retries; we cannot help yet
    if (role.name !== "leader") {
      return this.#send(m.from, { type: "REDIRECT", leader: this.leader ?? 1, viewId: this.#view.id });
    }
    const leadership = role.leadership;
    if (m.knownViewId > Math.max(this.#view.id, this.#above.viewId)) {
      this.#above = { viewId: m.knownViewId, peer: m.from };
    }
    if (known !== undefined) leadership.enqueue({ kind: "DEL", peer: m.from, incarnation: known }, "restart");
    leadership.enqueue({ kind: "ADD", peer: m.from, incarnation: m.incarnation }, "join");
    this.#pump();
  }

  // ---- failure detection ----

  /** The one liveness rule: any message from a member, as the run its view records. */
  #heardFrom(from: PeerId, incarnation: number): void {
    if (!this.#isMember(from, incarnation)) return;
    if (this.#detector.heard(from, this.#now)) {
      this.#log("info", `peer ${from} is reachable again`, "reachable");
    }
  }

  #onHeartbeat(m: HeartbeatMessage): void {
    // A peer behind us (or, while we join again, behind the view that removed us): catch it up.
    if (m.viewId < this.#newestId()) return this.#catchUp(m.from);
    const view = this.#view;
    if (!view) return;
    this.#observeLeadership(m.from, m.leading);
    if (m.viewId !== view.id || !this.#isMember(m.from, m.incarnation)) return;
    // What a member of the same view heard is evidence too (one bad link is not a failure).
    for (const [p, ageMs] of m.heard) {
      if (p === this.id || incarnationIn(view, p) === undefined) continue; // (a binary search: the leader reads N of these)
      if (this.#detector.heardOf(p, this.#now - ageMs, this.#now)) {
        this.#log("info", `peer ${p} is reachable again (heard by peer ${m.from})`, "reachable");
      }
    }
  }

  /** What a heartbeat of the current view says about who leads. */
  #observeLeadership(from: PeerId, leading: Ballot | null): void {
    if (!leading) {
      // The peer we follow leads nothing now (a candidate that gave up, a leader
      // that stepped down): forget its ballot, so the leader heard next is followed
      // instead of a phantom.
      if (this.#lease.ballot.leader === from) this.#lease.forget();
      return;
    }
    if (leading.leader === from) this.#lease.observe(leading, this.#now);
    const mine = this.#myBallot();
    if (mine && compareBallots(leading, mine) > 0) this.#onHigherBallot(leading, `heartbeat of peer ${from}`);
  }

  #sendHeartbeats(): void {
    const view = this.#view!;
    // Cut off from a majority of its view, this peer may have been removed with
    // the news lost: it heartbeats the whole hostsfile so a peer further on can
    // catch it up (a heartbeat from an older view is answered with NEWVIEW).
    const suspected = this.#detector.suspected;
    const layout = this.#monitoring();
    const leads = this.#leadsOrSeeks();
    let to: PeerId[];
    if (!isMajority(view, (m) => m === this.id || !suspected.has(m))) to = this.#everyOther();
    else if (layout.allToAll || leads) to = this.#others(view);
    else {
      // Beyond 8 peers: its observers, and the leader (which hears every member).
      const targets = new Set(layout.observers);
      const leader = this.leader;
      if (leader !== null && leader !== this.id) targets.add(leader);
      to = [...targets];
    }
    // A leader of a large group vouches for nobody: that list would grow with the group.
    const heard = !layout.allToAll && leads ? [] : this.#detector.ages(this.#watched(), this.#now);
    const heartbeat: Body = { type: "HEARTBEAT", viewId: view.id, leading: this.#myBallot(), heard };
    for (const m of to) this.#send(m, heartbeat, "datagram");
    // A leader also heartbeats one peer outside its view per interval, in turn: two histories
    // that formed apart (a partition, a restart without state) meet, and the older joins the later.
    const outside = to.length === this.#cfg.peerCount - 1 || this.#role.name !== "leader"
      ? []
      : this.#everyOther().filter((p) => incarnationIn(view, p) === undefined);
    if (outside.length > 0) {
      this.#outsideNext = (this.#outsideNext + 1) % outside.length;
      this.#send(outside[this.#outsideNext], heartbeat, "datagram");
    }
  }

  #detectFailures(): void {
    const watched = this.#watched();
    // Members it starts watching (a new layout, or it leads now): their silence counts from now.
    // (Small groups watch every member all along: nothing starts there.)
    const last = this.#watchedLast;
    if (last && !this.#monitoring().allToAll) {
      for (const m of watched) if (!last.has(m)) this.#detector.startWatching(m, this.#now);
    }
    this.#watchedLast = new Set(watched);
    // One it stopped watching is no longer its to hold unreachable (its observers judge it).
    for (const s of [...this.#detector.suspected]) if (!this.#watchedLast.has(s)) this.#detector.unsuspect(s);
    for (const m of this.#detector.expired(watched, this.#now)) {
      this.#suspect(m);
      this.#leadership()?.enqueue(this.#deletion(m), "failed");
    }
    // Cut off from a majority of its view for a failure timeout: before it commits anything
    // there again, it learns whether a later epoch formed meanwhile.
    const view = this.#view!;
    if (!this.#probe && !isMajority(view, (m) => m === this.id || !this.#detector.suspected.has(m))) {
      this.#log("info", "cut off from a majority of the view: asking the hostsfile for its epochs", "probe");
      this.#sendProbes();
    }
    // The running operation may have been waiting only for the member that just failed.
    if (this.#leadership()?.current) this.#maybeCommit();
    this.#pump();
  }

  /** Holds `m` unreachable and reports it, once per failure. */
  #suspect(m: PeerId): void {
    const view = this.#view!;
    this.#detector.suspect(m);
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
    this.#out.push({ kind: "reset", peer: m });
  }

  // ---- the leader's operations ----

  /** The DEL of member `m`: it names the run of `m` that the view holds. */
  #deletion(m: PeerId): Operation {
    return { kind: "DEL", peer: m, incarnation: incarnationIn(this.#view!, m) ?? 0 };
  }

  /**
   * Starts the next view change: the next queued operation that still makes
   * sense, or in a group of more than 8 peers every such operation queued
   * (see {@linkcode Leadership.take}).
   */
  #pump(): void {
    const leadership = this.#leadership();
    if (!this.#mayAct()) return;
    while (
      leadership && leadership === this.#leadership() && !leadership.current && leadership.queue.length > 0
    ) {
      const batched = isLargeGroup(this.#cfg.peerCount);
      const [op, ...more] = leadership.take(batched, (o, reason) => this.#stillWanted(o, reason));
      if (!op) break;
      const viewId = this.#view!.id;
      this.#propose({
        viewId,
        ...this.#jump(viewId),
        op,
        ...(more.length > 0 ? { more } : {}),
        leader: this.id,
        ballot: leadership.ballot,
      });
    }
  }

  /**
   * The id the next view takes when a joiner holds a higher one from a history
   * this group could not know: above it, so that nobody's views go backwards
   * and the ids of the merged history are unique from then on. Else none.
   */
  #jump(viewId: number): { nextViewId?: number } {
    const { viewId: held, peer } = this.#above;
    if (held <= viewId) return {};
    this.#log(
      "warning",
      `peer ${peer} holds view ${held}, from a group history this group could not know: ` +
        `numbering the next view ${held + 1}`,
      "renumber",
    );
    return { nextViewId: held + 1 };
  }

  /** Whether a queued operation still applies to the view, and is still wanted. */
  #stillWanted(op: Operation, reason: Reason): boolean {
    const view = this.#view!;
    if (op.kind === "ADD" && incarnationIn(view, op.peer) === op.incarnation) return false;
    if (op.kind === "DEL" && reason === "failed" && !this.#detector.suspected.has(op.peer)) return false;
    return operationError(view, op, this.id) === null;
  }

  /** Accepts `proposal` itself and sends its REQ to every other member. */
  #propose(proposal: Proposal): void {
    const requestId = this.#nextRequestId++;
    this.#acceptor.accept(proposal);
    this.#leadership()!.begin(requestId, proposal, this.id, this.#now);
    for (const m of this.#others(this.#view!)) this.#send(m, { type: "REQ", requestId, proposal });
    this.#maybeCommit();
  }

  #onOk(m: OkMessage): void {
    const { from, requestId } = m;
    const cur = this.#leadership()?.current;
    if (
      !cur || cur.requestId !== requestId || m.viewId !== this.#view?.id ||
      compareBallots(m.ballot, cur.proposal.ballot) !== 0
    ) {
      return this.#log("debug", `dropped OK ${requestId} from ${from}: no such request running`, "stale-ok");
    }
    // A vote counts only from the run of `from` that the view holds.
    if (!this.#isMember(from, m.incarnation)) {
      return this.#log("info", `dropped OK from peer ${from}: not the run the view holds`, "stale-ok");
    }
    cur.oks.add(from);
    this.#maybeCommit();
  }

  /** Commits once a majority and every member not held failed said OK. */
  #maybeCommit(): void {
    if (this.#probe) return; // it commits once the probe is over (see #pump)
    const leadership = this.#leadership()!;
    const cur = leadership.current!;
    const view = this.#view!;
    // Members not heard from directly are not waited for, even when others vouch for them.
    const notWaitedFor = this.#detector.silent(this.#others(view), this.#now);
    for (const s of this.#detector.suspected) notWaitedFor.add(s);
    const ops = proposalOps(cur.proposal);
    if (!canCommit(view, cur.oks, notWaitedFor, ops)) return;
    const next = nextView(view, cur.proposal);
    leadership.current = null;
    const newView: Body = { type: "NEWVIEW", view: next, ballot: leadership.ballot };
    // Each member a DEL removes hears of it too, so a live one knows to join again.
    const removed = ops.flatMap((op) => op.kind === "DEL" && op.peer !== this.id ? [op] : []);
    if (!next.members.includes(this.id)) {
      // A takeover finished its predecessor's DEL of this very peer: the view is
      // chosen, so announce it, then leave and join again like any removed peer.
      for (const m of next.members) this.#send(m, newView);
      for (const op of removed) this.#send(op.peer, newView);
      return this.#removed(next);
    }
    this.#install(next, leadership.ballot);
    for (const m of this.#others(next)) this.#send(m, newView);
    for (const op of removed) {
      this.#send(op.peer, newView);
      if (!op.left) {
        this.#log("warning", `removed peer ${op.peer} (run ${op.incarnation}) in view ${next.id}`, "removal");
      }
    }
    this.#pump();
  }

  // ---- a member's side of operations ----

  #onReq(m: ReqMessage): void {
    const view = this.#view;
    const p = m.proposal;
    if (!view) return this.#log("debug", `dropped REQ from ${m.from}: not a member`, "req-joining");
    if (p.viewId < view.id) {
      this.#catchUp(m.from);
      return this.#log("info", `dropped REQ for old view ${p.viewId} from ${m.from}`, "req-stale");
    }
    if (!this.#votes()) {
      return this.#log("info", `dropped REQ from ${m.from}: ${this.#barredWhy()}`, "barred");
    }
    if (this.#acceptor.refuses(p.ballot)) {
      this.#log("info", `refused REQ from replaced leader ${m.from}`, "req-refused");
      return this.#send(m.from, { type: "REJECT", promised: this.#acceptor.promised });
    }
    if (p.viewId > view.id) {
      return this.#log("debug", `dropped REQ for view ${p.viewId}: still at ${view.id}`, "req-ahead");
    }
    const error = proposalError(view, p);
    if (error) return this.#log("warning", `dropped REQ from ${m.from}: ${error}`, "req-invalid");
    this.#acceptor.accept(p);
    this.#yieldTo(p.ballot);
    // Even if a heartbeat showed a higher ballot: never promised, it belongs to a
    // candidate that did not win, and following it would name a phantom leader.
    this.#lease.follow(p.ballot, this.#now);
    this.#send(m.from, { type: "OK", requestId: m.requestId, viewId: p.viewId, ballot: p.ballot });
    for (const op of proposalOps(p)) {
      const gone = op.peer;
      if (op.kind !== "DEL" || gone === this.id) continue;
      if (op.left) this.#leavers.set(gone, op.incarnation);
      // The leader found it failed a moment before our own deadline would have.
      else if (!this.#detector.suspected.has(gone)) this.#suspect(gone);
    }
  }

  // ---- leader takeover ----

  /** Someone holds a higher ballot: lead again above it if we should, else follow. */
  #onHigherBallot(ballot: Ballot, source: string): void {
    this.#acceptor.promise(ballot);
    const formation = this.#formation;
    if (formation && compareBallots(ballot, formation.ballot) > 0) {
      this.#formation = null; // another attempt to form anew is ahead: it will finish
      this.#formSeenAt = this.#now;
    }
    const mine = this.#myBallot();
    if (!mine || compareBallots(ballot, mine) <= 0) return;
    if (this.#lowestAlive() === this.id && this.#mayAct()) {
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
    this.#log(
      "warning",
      `stepping down for the leader of ballot ${ballot.round}/${ballot.leader}`,
      "step-down",
    );
    this.#becomeMember();
    this.#lease.observe(ballot, this.#now);
    this.#lease.renew(this.#now);
  }

  /** Takes over when nobody has led for a failure timeout and we are next in line. */
  #considerTakeover(): void {
    const role = this.#role.name;
    if (role === "leader") return;
    const lowest = this.#lowestAlive();
    if (role === "candidate") {
      // Beyond 8 peers a candidate watches members it did not before: it yields only to one
      // that someone heard lately, not to one merely not yet timed out (a restarted run).
      const yields = lowest !== this.id &&
        (this.#monitoring().allToAll ||
          (lowest !== undefined && this.#detector.vouchedFor(lowest, this.#now)));
      if (yields) {
        this.#log("info", `giving up takeover: peer ${lowest} is reachable and comes first`, "abandon");
        this.#becomeMember();
        // It leads nothing: follow whoever shows itself next, not its own ballot (seed 1175774).
        if (this.#lease.ballot.leader === this.id) this.#lease.forget();
        this.#lease.renew(this.#now);
      }
      return;
    }
    if (lowest !== this.id || !this.#mayAct()) return;
    if (!this.#lease.expired(this.#now, this.#detector.timeoutMs)) return;
    this.#startTakeover();
  }

  #startTakeover(): void {
    const view = this.#view!;
    const takeover = this.#becomeCandidate();
    const { round } = takeover.ballot;
    this.#log(
      "warning",
      `taking over as leader of view ${view.id} with ballot ${round}/${this.id}`,
      "takeover",
    );
    this.#sendNewLeader(takeover, this.#others(view));
    this.#evaluateTakeover(takeover);
  }

  #sendNewLeader(takeover: Takeover, to: PeerId[]): void {
    const { requestId, ballot } = takeover;
    for (const m of to) this.#send(m, { type: "NEWLEADER", requestId, viewId: this.#view!.id, ballot });
    takeover.sentAt = this.#now;
  }

  #onNewLeader(m: NewLeaderMessage): void {
    const view = this.#view;
    if (!view) return;
    if (m.viewId < view.id) {
      this.#catchUp(m.from);
      return this.#log(
        "info",
        `dropped NEWLEADER for old view ${m.viewId} from ${m.from}`,
        "newleader-stale",
      );
    }
    if (!this.#votes()) {
      return this.#log("info", `dropped NEWLEADER from ${m.from}: ${this.#barredWhy()}`, "barred");
    }
    if (this.#acceptor.refuses(m.ballot)) {
      return this.#send(m.from, { type: "REJECT", promised: this.#acceptor.promised });
    }
    this.#acceptor.promise(m.ballot);
    this.#yieldTo(m.ballot);
    const pending = this.#acceptor.acceptedFor(view.id);
    this.#send(m.from, { type: "PENDING", requestId: m.requestId, ballot: m.ballot, view, pending });
  }

  #onPending(m: PendingMessage): void {
    const role = this.#role;
    if (
      role.name !== "candidate" || role.takeover.requestId !== m.requestId ||
      compareBallots(m.ballot, role.takeover.ballot) !== 0
    ) {
      return this.#log(
        "debug",
        `dropped PENDING ${m.requestId} from ${m.from}: no such takeover`,
        "stale-pending",
      );
    }
    role.takeover.replies.set(m.from, m);
    this.#evaluateTakeover(role.takeover);
  }

  /** Leads once a majority of the view has answered NEWLEADER. */
  #evaluateTakeover(takeover: Takeover): void {
    const newest = takeover.newestView(this.#view!);
    if (newest !== this.#view) {
      this.#adopt(newest, NO_BALLOT);
      if (this.#role.name !== "candidate" || this.#role.takeover !== takeover) return;
    }
    const view = this.#view!;
    if (!takeover.answeredBy(view, this.id)) return;
    const recovered = takeover.recovered(this.#acceptor.accepted, view.id);
    const leadership = this.#becomeLeader(takeover.ballot);
    this.#log(
      "warning",
      `leading view ${view.id} with ballot ${takeover.ballot.round}/${this.id}` +
        (recovered
          ? `; finishing pending ${proposalOps(recovered).map((o) => `${o.kind} ${o.peer}`).join(", ")}`
          : ""),
      "leading",
    );
    for (const s of this.#detector.suspected) leadership.enqueue(this.#deletion(s), "failed");
    for (const m of view.members) {
      if (this.#isLeaving(m)) leadership.enqueue({ ...this.#deletion(m), left: true }, "left");
    }
    if (recovered && !proposalError(view, recovered)) {
      this.#propose({ ...recovered, ballot: takeover.ballot });
    } else {
      this.#pump();
    }
  }

  // ---- forming anew ----

  /**
   * Whether this peer votes in its installed view: not once it accepted a
   * view formed in a later epoch (see {@linkcode Acceptor.votesIn}).
   */
  #votes(): boolean {
    return this.#view !== null && this.#acceptor.votesIn(this.#view.epoch);
  }

  /** Whether this peer may lead, or commit, in its view: it votes there and is not probing. */
  #mayAct(): boolean {
    return this.#votes() && this.#probe === null;
  }

  #barredWhy(): string {
    return `it accepted view ${this.#acceptor.formAccepted?.view.id} of a later epoch`;
  }

  /**
   * Whether this peer should form the group: out of the group, when no group
   * of its epoch or a later one has shown itself for a failure timeout (or
   * every other peer asked it to join: none is left to find), and only peer 1
   * founds where it knows no view; in the group, when its view can vote no
   * more, or the members whose run could vote in it and that were heard from
   * lately are no majority of it (restarted without state, or silent).
   */
  #stuck(): boolean {
    const view = this.#lastInstalled;
    if (!this.#view) {
      if (this.#leaving || (!view && this.id !== 1)) return false;
      if (this.#joinersHeard.size === this.#cfg.peerCount - 1) return true;
      const quiet = this.#detector.timeoutMs;
      return this.#now - this.#groupSeenAt > quiet && this.#now - this.#startedAt > quiet;
    }
    if (!this.#votes()) return true; // it can vote in it no more: finish forming the view it accepted
    // Beyond 8 peers a member hears only those it watches: the silence of the
    // others says nothing, only a newer run heard of does (the leader watches all).
    const watched = this.#monitoring().allToAll ? null : new Set(this.#watched());
    return isDead(this.#view, (m) => {
      const run = incarnationIn(this.#view!, m)!;
      if (m === this.id) return run === this.#cfg.incarnation;
      const heard = this.#now - (this.#lastHeardAny.get(m) ?? -Infinity) <= this.#detector.timeoutMs;
      return (heard || (watched !== null && !watched.has(m))) && (this.#newestRun.get(m) ?? 0) <= run;
    });
  }

  /**
   * Starts forming once this peer is stuck: a view dead for a failure timeout
   * (out of the group, the quiet timeout is the wait); lower IDs go first, and
   * a peer that saw another's attempt waits. An attempt not yet proposed stops
   * once the peer is stuck no more (it got back into a live group).
   */
  #considerFormation(): void {
    const f = this.#formation;
    if (f) {
      if (!f.proposal && !this.#stuck()) return this.#abandonFormation("the group is live again");
      this.#evaluateFormation(f);
      if (this.#formation === f) this.#retransmitFormation(f);
      return;
    }
    if (!this.#stuck()) {
      this.#deadSince = null;
      return;
    }
    this.#deadSince ??= this.#now;
    const wait = (this.#view ? this.#detector.timeoutMs : 0) + (this.id - 1) * this.#retryMs();
    if (this.#now - this.#deadSince < wait || this.#now - this.#formSeenAt < wait) return;
    this.#startFormation();
  }

  #startFormation(): void {
    // Above every promise, so above the round of every epoch this peer installed or accepted.
    const round = Math.max(this.#acceptor.promised.round, this.#lease.ballot.round) + 1;
    const f = new Formation({ round, leader: this.id }, this.#nextRequestId++, this.#now);
    this.#formation = f;
    this.#acceptor.promise(f.ballot);
    const last = this.#lastInstalled;
    this.#log(
      last ? "warning" : "info",
      last
        ? `view ${last.id} cannot gather its quorum (its members restarted without their state, ` +
          `or are silent): asking the hostsfile to form the group anew, ballot ${f.ballot.round}/${this.id}`
        : `no group has shown itself: asking the hostsfile to found one, ballot ${f.ballot.round}/${this.id}`,
      "formation",
    );
    for (const p of this.#everyOther()) {
      this.#send(p, { type: "FORM", requestId: f.requestId, ballot: f.ballot });
    }
    this.#evaluateFormation(f);
  }

  #everyOther(): PeerId[] {
    return Array.from({ length: this.#cfg.peerCount }, (_, i) => i + 1).filter((p) => p !== this.id);
  }

  #onForm(m: FormMessage): void {
    if (this.#acceptor.refuses(m.ballot)) {
      return this.#send(m.from, { type: "REJECT", promised: this.#acceptor.promised });
    }
    this.#acceptor.promise(m.ballot);
    this.#formSeenAt = this.#now;
    const mine = this.#formation;
    if (mine && compareBallots(m.ballot, mine.ballot) > 0) this.#formation = null;
    this.#yieldTo(m.ballot);
    const { newest, pending, accepted, inView } = this.#formKnowledge();
    this.#send(m.from, {
      type: "FORM_PROMISE",
      requestId: m.requestId,
      ballot: m.ballot,
      newest,
      pending,
      accepted,
      inView,
    });
  }

  #onFormPromise(m: FormPromiseMessage): void {
    const f = this.#formation;
    if (!f || f.requestId !== m.requestId || compareBallots(m.ballot, f.ballot) !== 0) {
      return this.#log("debug", `dropped FORM_PROMISE from ${m.from}: no such attempt`, "stale-form");
    }
    if (f.proposal) {
      // A late answer that knows a later history than the one proposed: that one goes on.
      if (m.newest && compareEpochs(m.newest.epoch, f.proposal.epoch) > 0) {
        this.#abandonFormation(`peer ${m.from} knows view ${m.newest.id} of a later epoch`);
      }
      return;
    }
    f.promises.set(m.from, m);
    this.#evaluateFormation(f);
  }

  /** Once a majority of the hostsfile promised: propose the view to form, or find the group live. */
  #evaluateFormation(f: Formation): void {
    if (f.proposal || !f.promised(this.#cfg.peerCount)) return;
    // A majority suffices, but peers heard from lately get a retry interval to answer
    // too, so that the new view holds every live peer it can.
    f.majorityAt ??= this.#now;
    const live = (p: PeerId) =>
      this.#now - (this.#lastHeardAny.get(p) ?? -Infinity) <= this.#detector.timeoutMs;
    const waiting = this.#everyOther().some((p) => !f.promises.has(p) && live(p));
    if (waiting && this.#now - f.majorityAt < this.#retryMs()) return;
    const decision = f.decide(this.#formKnowledge(), this.#restartedSince);
    if (decision.kind !== "propose") {
      this.#abandonFormation(
        decision.kind === "live"
          ? `view ${decision.view.id} can carry on by itself`
          : `members of view ${decision.view.id} not heard from could still commit it`,
      );
      if (decision.kind !== "live") return;
      // Join the live group: install its view if it is newer and names this run, else ask its leader.
      if (compareViews(decision.view, this.#newest) > 0) this.#adopt(decision.view, NO_BALLOT);
      else if (!this.#view) {
        this.#joiner.askNext(decision.view.leader === this.id ? null : decision.view.leader, true);
      }
      return;
    }
    f.proposal = decision.view;
    f.sentAt = this.#now;
    this.#acceptor.acceptForm({ ballot: f.ballot, view: decision.view });
    for (const p of f.promises.keys()) this.#sendFormAccept(f, p);
    this.#maybeFormed(f);
  }

  /** What this peer itself knows that bears on forming anew. */
  #formKnowledge(): FormKnowledge {
    const newest = this.#lastInstalled;
    return {
      from: this.id,
      incarnation: this.#cfg.incarnation,
      newest,
      pending: newest ? this.#acceptor.acceptedFor(newest.id) : null,
      accepted: this.#acceptor.formAccepted,
      inView: this.#view !== null,
    };
  }

  /** Whether a newer run than `run` of `member` has been heard from. */
  #restartedSince = (member: PeerId, run: number): boolean => (this.#newestRun.get(member) ?? 0) > run;

  /** Gives up this attempt; another may start after a full wait. */
  #abandonFormation(why: string): void {
    this.#log("info", `not forming anew: ${why}`, "formation");
    this.#formation = null;
    this.#deadSince = null;
    this.#formSeenAt = this.#now;
  }

  #sendFormAccept(f: Formation, to: PeerId): void {
    this.#send(to, { type: "FORM_ACCEPT", requestId: f.requestId, ballot: f.ballot, view: f.proposal! });
  }

  #onFormAccept(m: FormAcceptMessage): void {
    if (this.#acceptor.refuses(m.ballot)) {
      return this.#send(m.from, { type: "REJECT", promised: this.#acceptor.promised });
    }
    this.#acceptor.acceptForm({ ballot: m.ballot, view: m.view });
    this.#formSeenAt = this.#now;
    this.#send(m.from, { type: "FORM_OK", requestId: m.requestId, ballot: m.ballot });
  }

  #onFormOk(m: FormOkMessage): void {
    const f = this.#formation;
    if (!f || !f.proposal || f.requestId !== m.requestId || compareBallots(m.ballot, f.ballot) !== 0) {
      return this.#log("debug", `dropped FORM_OK from ${m.from}: no such attempt`, "stale-form");
    }
    f.oks.add(m.from);
    this.#maybeFormed(f);
  }

  /** Once a majority of the hostsfile accepted: the view is chosen; install it and lead it. */
  #maybeFormed(f: Formation): void {
    if (!f.accepted(this.#cfg.peerCount) || !f.overridesSafely(this.id, this.#restartedSince)) return;
    const view = f.proposal!;
    this.#formation = null;
    this.#deadSince = null;
    const above = this.#newestId();
    this.#log(
      above > 0 ? "warning" : "info",
      above > 0
        ? `formed the group anew as view ${view.id} [${view.members.join(",")}] above view ${above}`
        : `founded the group as view ${view.id} of epoch ${formatEpoch(view.epoch)}`,
      "formed",
    );
    const newView: Body = { type: "NEWVIEW", view, ballot: f.ballot };
    for (const m of view.members) if (m !== this.id) this.#send(m, newView);
    // (founding, where nobody knew a view, is reported by the view event alone, as the seed prints it)
    if (above > 0) this.#out.push({ kind: "event", event: { type: "formed", peer: this.id, view, above } });
    if (incarnationIn(view, this.id) !== this.#cfg.incarnation) return this.#removed(view);
    this.#install(view, f.ballot);
    const leadership = this.#becomeLeader(f.ballot);
    for (const s of this.#detector.suspected) leadership.enqueue(this.#deletion(s), "failed");
    this.#pump();
  }

  #retransmitFormation(f: Formation): void {
    // An attempt that cannot finish (a promiser crashed before accepting) makes way for a new one.
    if (this.#now - f.startedAt > 10 * this.#retryMs()) return this.#abandonFormation("no answer");
    if (this.#now - f.sentAt < this.#retryMs()) return;
    f.sentAt = this.#now;
    if (!f.proposal) {
      for (const p of this.#everyOther()) {
        if (!f.promises.has(p)) this.#send(p, { type: "FORM", requestId: f.requestId, ballot: f.ballot });
      }
    } else {
      for (const p of f.promises.keys()) if (!f.oks.has(p)) this.#sendFormAccept(f, p);
    }
  }

  // ---- retries ----

  #retransmit(): void {
    const due = (sentAt: number) => this.#now - sentAt >= this.#retryMs();
    const role = this.#role;
    const cur = role.name === "leader" ? role.leadership.current : null;
    if (cur && due(cur.sentAt)) {
      cur.sentAt = this.#now;
      for (const m of this.#others(this.#view!)) {
        if (cur.oks.has(m)) continue;
        this.#catchUp(m); // a member behind us cannot accept the REQ
        this.#send(m, { type: "REQ", requestId: cur.requestId, proposal: cur.proposal });
      }
    }
    if (role.name === "candidate" && due(role.takeover.sentAt)) {
      const t = role.takeover;
      this.#sendNewLeader(t, this.#others(this.#view!).filter((m) => !t.replies.has(m)));
    }
  }
}
