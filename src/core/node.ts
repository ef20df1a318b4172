/**
 * One peer's protocol state, as the handlers in the files beside it see it
 * (etcd raft's `raft` struct): the installed view and what this peer knows of
 * the group's history, each sub-state (acceptor, lease, failure detector,
 * joiner, the role's leadership or takeover, a formation, a probe), and the
 * plumbing every handler shares: sending, logging, and the questions asked
 * of the view. `PeerCore` (peer_core.ts) owns one, routes each message to
 * the handlers of its role, and turns what they push into effects.
 *
 * It is not exported from `mod.ts`: its fields are the core's own.
 *
 * @module
 */

import { Acceptor } from "./acceptor.ts";
import { DeliveredEvents, type EventLog, Outbox } from "./events.ts";
import { NO_TAGS, type Tags } from "./tags.ts";
import type { CoreConfig } from "./config.ts";
import { Damping } from "./damping.ts";
import type { Channel, Effect, LogLevel } from "./effects.ts";
import { FailureDetector } from "./failure_detector.ts";
import type { Formation } from "./formation.ts";
import { Joiner } from "./joiner.ts";
import type { Leadership } from "./leadership.ts";
import { LeaderLease } from "./lease.ts";
import type { Ballot, Epoch, Message, Operation, PeerId, View } from "./messages.ts";
import { Monitoring } from "./monitoring.ts";
import type { Probe } from "./probe.ts";
import type { Takeover } from "./takeover.ts";
import { incarnationIn } from "./view.ts";

/** Where a peer stands: outside the group, in it, leading it, or taking over. */
export type Role = "joining" | "member" | "leader" | "candidate";

/** The role, with the state only that role has. */
export type RoleState =
  | { readonly name: "joining" }
  | { readonly name: "member" }
  | { readonly name: "leader"; readonly leadership: Leadership }
  | { readonly name: "candidate"; readonly takeover: Takeover };

/** A message without its envelope: the core adds sender, incarnation and epoch. */
export type Body = Message extends infer M
  ? M extends Message ? Omit<M, "from" | "incarnation" | "epoch"> : never
  : never;

/** The state of one peer's protocol, shared by its handlers (see the module doc). */
export class Node {
  readonly cfg: CoreConfig;
  now = 0;
  out: Effect[] = [];

  role: RoleState = { name: "joining" };
  /** The installed view: null exactly while joining. */
  view: View | null = null;
  /**
   * The newest committed view this peer knows, member or not: its installed
   * view, or the one that removed it, kept while it joins again to catch up
   * peers further behind (it may be the only one left who knows that view).
   */
  newest: View | null = null;
  /** The last view this peer installed, kept after it is removed (it never prints a lower one). */
  lastInstalled: View | null = null;
  /** Rises when the durable state outside the acceptor changes. */
  ownVersion = 0;
  readonly acceptor = new Acceptor();
  readonly lease = new LeaderLease();
  readonly detector: FailureDetector;
  readonly joiner: Joiner;
  /** The newest run heard from, by peer: a newer run than a view records means a restart. */
  readonly newestRun = new Map<PeerId, number>();
  /** When each peer was last heard from at all, member or not. */
  readonly lastHeardAny = new Map<PeerId, number>();
  /** When a message of this peer's epoch or a later one last came (a group showed itself), and the start. */
  groupSeenAt = -Infinity;
  startedAt = 0;
  /** Peers that asked this joining peer to join: when every other one has, no group is left to find. */
  readonly joinersHeard = new Set<PeerId>();
  /** When each peer was last sent a catch-up NEWVIEW. */
  readonly caughtUpAt = new Map<PeerId, number>();
  /**
   * The highest view id a joiner holds above this leader's view, and who: a
   * history the group could not know. The next view change numbers above it,
   * so that nobody's printed view ids go backwards.
   */
  above = { viewId: 0, peer: 0 };
  nextRequestId = 1;
  /** This peer's attempt to form the group anew, if any. */
  formation: Formation | null = null;
  /** Since when this peer's newest view has been known dead. */
  deadSince: number | null = null;
  /** When this peer last saw another peer's attempt to form anew. */
  formSeenAt = -Infinity;
  /** Back on its data dir, or cut off from its view: it learns the hostsfile's epochs before it acts (probe.ts). */
  probe: Probe | null = null;
  /** The next peer outside the view that a leader heartbeats, so that separate histories meet. */
  outsideNext = 0;
  /** This peer is leaving the group on purpose; `left` once it has. */
  leaving = false;
  left = false;
  /** Members known to be leaving on purpose, with the run that leaves. */
  readonly leavers = new Map<PeerId, number>();
  /** Removals of live peers, and their probation (damping.ts). */
  readonly damping: Damping;
  /** How often this very run was removed from a view while alive: its own health (Lifeguard's). */
  selfRemovals = 0;
  /** When this run came back on its data dir, if it did. */
  restoredAt: number | null = null;
  /**
   * Removed soon after it came back on its data dir: a removal proposed while
   * it was down, not a flap; its JOINs say so until it is admitted
   * (`restarted`, damping.ts).
   */
  restarted = false;
  /**
   * While joining, the leader it was last pointed at (a REDIRECT, or the view
   * that removed it): it sends it a JOIN datagram every interval, which proves
   * its health where it was removed while alive (damping.ts).
   */
  joinTarget: PeerId | null = null;
  /** Who watches whom in the installed view (computed once per view). */
  layout: Monitoring | null = null;
  /** The members this peer watched at its last check. */
  watchedLast: Set<PeerId> | null = null;
  /** The tags this peer asks for; a `TAG` operation makes the view agree. */
  tags: Tags;
  /** When this peer last asked its leader for its tags. */
  tagsSentAt = -Infinity;
  /** The user events of the installed view (broadcast.ts). */
  eventLog: EventLog | null = null;
  /** A view not installed yet for want of the events of its cut, and since when (broadcast.ts). */
  cutAwaited: { viewId: number; since: number } | null = null;
  /** Those of the view before, for a member that missed them. */
  previousLog: EventLog | null = null;
  /** Events delivered here, so that none is ordered twice. */
  readonly delivered = new DeliveredEvents();
  /** How often this run was restored from durable state (its processes after the first). */
  restarts = 0;
  /**
   * The view this process was restored into: it lost that view's events, so
   * it orders none there (as leader it makes a view of its own first).
   */
  restoredInto: number | null = null;
  /** This run's own events not yet delivered. */
  readonly outbox: Outbox;

  /** A peer of `config`, restored from `config.restored` if given. */
  constructor(config: CoreConfig) {
    this.cfg = config;
    this.detector = new FailureDetector(config.heartbeatMs, config.failAfter);
    this.joiner = new Joiner(config.id, config.peerCount);
    this.damping = new Damping(config.heartbeatMs, this.detector.timeoutMs);
    this.tags = config.tags ?? NO_TAGS;
    this.outbox = new Outbox(config.id, config.incarnation);
  }

  /** This peer's ID. */
  get id(): PeerId {
    return this.cfg.id;
  }

  /** The leader this peer follows (itself when leading), or null while joining. */
  get leader(): PeerId | null {
    if (this.role.name === "leader" || this.role.name === "candidate") return this.id;
    if (!this.view) return null;
    const l = this.lease.ballot.leader;
    return incarnationIn(this.view, l) !== undefined ? l : this.view.leader;
  }

  /** Whether a newer run than `run` of `member` has been heard from. */
  restartedSince = (member: PeerId, run: number): boolean => (this.newestRun.get(member) ?? 0) > run;

  /** This peer's epoch: that of the last view it installed (none before). */
  epoch(): Epoch | undefined {
    return this.lastInstalled?.epoch;
  }

  send(to: PeerId, body: Body, channel: Channel = "stream"): void {
    // (a NEWVIEW's envelope epoch is its view's: the wire has one field for both)
    const epoch = body.type === "NEWVIEW" ? body.view.epoch : this.epoch();
    // One body sent to many (a heartbeat, a REQ) is one message object, so that the host encodes
    // it once for all of them (EffectRunner keeps the bytes of the message it encoded last).
    let message = this.#sent?.body === body && this.#sent.epoch === epoch ? this.#sent.message : undefined;
    if (!message) {
      message = {
        ...body,
        from: this.id,
        incarnation: this.cfg.incarnation,
        ...(epoch ? { epoch } : {}),
      } as Message;
      this.#sent = { body, epoch, message };
    }
    this.out.push({ kind: "send", channel, to, message });
  }

  /** The body last sent and the message made of it (see send). */
  #sent: { readonly body: Body; readonly epoch: Epoch | undefined; readonly message: Message } | null = null;

  log(level: LogLevel, text: string, key: string): void {
    this.out.push({ kind: "log", level, text: `peer ${this.id}: ${text}`, key });
  }

  others(view: View): PeerId[] {
    return view.members.filter((m) => m !== this.id);
  }

  newestId(): number {
    return this.newest?.id ?? 0;
  }

  /** How long before a request, a takeover or a catch-up is sent again. */
  retryMs(): number {
    return 2 * this.cfg.heartbeatMs;
  }

  /** Whether `from`, as `incarnation`, is the member the view records. */
  isMember(from: PeerId, incarnation: number): boolean {
    return this.view !== null && incarnationIn(this.view, from) === incarnation;
  }

  /** The lowest member this peer does not hold unreachable or leaving: who should lead. */
  lowestAlive(): PeerId | undefined {
    const view = this.view;
    if (!view) return undefined;
    const watched = this.monitoring().allToAll ? null : new Set(this.watched());
    const timeout = this.detector.timeoutMs;
    return view.members.find((m, rank) => {
      if (m === this.id) return true;
      if (this.detector.suspected.has(m) || this.isLeaving(m)) return false;
      if (!watched || watched.has(m)) return true;
      // Not watched here (groups > 8): alive if anyone heard of it lately; else it
      // gets its turn to take over first, the longer the higher it stands in line.
      return this.detector.vouchedFor(m, this.now) ||
        this.lease.silentFor(this.now) <= timeout * (rank + 1);
    });
  }

  /** The observer layout of the installed view. */
  monitoring(): Monitoring {
    const view = this.view!;
    if (this.layout?.view !== view) this.layout = new Monitoring(view, this.id, this.cfg.peerCount);
    return this.layout;
  }

  /** Whether this peer leads, or seeks to: it heartbeats and watches every member. */
  leadsOrSeeks(): boolean {
    return this.role.name === "leader" || this.role.name === "candidate";
  }

  /** The members whose failure this peer detects: all of a small group; its subjects and the leader beyond. */
  watched(): PeerId[] {
    const view = this.view!;
    const layout = this.monitoring();
    if (layout.allToAll || this.leadsOrSeeks()) return this.others(view);
    const watched = new Set(layout.subjects);
    const leader = this.leader; // the leader it follows: the one that heartbeats it
    if (leader !== null && leader !== this.id) watched.add(leader);
    return [...watched];
  }

  /** Whether member `m` of the view asked to leave (as the run the view holds). */
  isLeaving(m: PeerId): boolean {
    return this.view !== null && this.leavers.get(m) === incarnationIn(this.view, m);
  }

  /** The ballot this peer leads, or seeks to lead, under. */
  myBallot(): Ballot | null {
    const role = this.role;
    if (role.name === "leader") return role.leadership.ballot;
    if (role.name === "candidate") return role.takeover.ballot;
    return null;
  }

  leadership(): Leadership | null {
    return this.role.name === "leader" ? this.role.leadership : null;
  }

  /**
   * Whether this peer votes in its installed view: not once it accepted a
   * view formed in a later epoch (see {@linkcode Acceptor.votesIn}).
   */
  votes(): boolean {
    return this.view !== null && this.acceptor.votesIn(this.view.epoch);
  }

  /** Whether this peer may lead, or commit, in its view: it votes there and is not probing. */
  mayAct(): boolean {
    return this.votes() && this.probe === null;
  }

  barredWhy(): string {
    return `it accepted view ${this.acceptor.formAccepted?.view.id} of a later epoch`;
  }

  everyOther(): PeerId[] {
    return Array.from({ length: this.cfg.peerCount }, (_, i) => i + 1).filter((p) => p !== this.id);
  }

  /** The DEL of member `m`: it names the run of `m` that the view holds. */
  deletion(m: PeerId): Operation {
    return { kind: "DEL", peer: m, incarnation: incarnationIn(this.view!, m) ?? 0 };
  }

  durableVersion(): number {
    return this.acceptor.version + this.ownVersion;
  }
}
