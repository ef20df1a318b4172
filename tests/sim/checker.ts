/**
 * The guarantees of docs/protocol.md, checked as a simulated run goes:
 * agreement ((epoch, view id) names one view, always), monotonic views,
 * quorum (a majority of view v accepted view v+1, or, for a view formed in a
 * new epoch, a majority of the hostsfile accepted it), accuracy in fault-free
 * runs, and at the end completeness and liveness. The run feeds it every
 * step, event, restart and decode failure; the first broken guarantee is
 * thrown as {@linkcode ViolationFound}.
 *
 * Across restarts: a run restarted with its state is the same run, so its
 * views keep rising from the last it printed before the crash; a run
 * restarted without state is a new run, whose views rise on their own, and
 * within the epoch its earlier run printed in, above what that run printed.
 * No history is forgotten and no seed is excused: a view id may repeat only
 * in another epoch, as docs/protocol.md says.
 *
 * @module
 */

import type { Effect, PeerEvent } from "../../src/core/effects.ts";
import { compareEpochs, formatEpoch } from "../../src/core/epoch.ts";
import type { Epoch, PeerId, Proposal, View } from "../../src/core/messages.ts";
import type { Role } from "../../src/core/peer_core.ts";
import { hostsfileMajority } from "../../src/core/formation.ts";
import { majorityOf } from "../../src/core/quorum.ts";
import { compareViews, nextView, proposalOps, sameView, tagsIn } from "../../src/core/view.ts";
import { NO_TAGS, sameTags, type Tags } from "../../src/core/tags.ts";
import type { ProtocolCore } from "../../src/runtime/effect_runner.ts";

/** What the simulator needs of a protocol core: the runner's entry points and what the checker reads. */
export interface SimCore extends ProtocolCore {
  /** The installed view, or null while joining. */
  readonly view: View | null;
  /** The leader this peer follows (itself when leading). */
  readonly leader: PeerId | null;
  /** Where this peer stands. */
  readonly role: Role;
  /** The accepted, not yet installed, proposal. */
  readonly pending: Proposal | null;
  /** Members this peer holds unreachable. */
  readonly suspected: ReadonlySet<PeerId>;
  /** Whether it waits to hear the hostsfile's epochs before it acts in its own. */
  readonly probing: boolean;
  /** The tags it asks for (a core without tags: none). */
  readonly tags?: Tags;
  /** How many of its own user events are not delivered yet (a core without events: none). */
  readonly pendingEvents?: number;
}

/** The guarantees of docs/protocol.md the simulator checks (plus the codec in the loop). */
export type Guarantee =
  | "agreement"
  | "monotonic"
  | "quorum"
  | "completeness"
  | "accuracy"
  | "liveness"
  | "codec"
  | "order";

/** Stops a run at its first broken guarantee; the run adds where and how to replay it. */
export class ViolationFound extends Error {
  /** A violation of `guarantee`: `detail` says what was seen. */
  constructor(readonly guarantee: Guarantee, readonly detail: string) {
    super(`${guarantee}: ${detail}`);
  }
}

/** What the checker counts of what the group did. */
export interface GroupStats {
  /** Peers other than 1 that became leader. */
  takeovers: number;
  /** Unreachable events. */
  unreachable: number;
  /** View installs. */
  installs: number;
  /** The highest view id installed. */
  highestViewId: number;
  /** Views formed anew above a known view (accepted by a majority of the hostsfile) that some peer installed. */
  formedAnew: number;
  /** Epochs some peer installed a view of (founding makes the first). */
  epochs: number;
  /** Whether liveness was demanded (a majority of the last live view was up). */
  livenessDemanded: boolean;
  /** User events delivered, counted at every peer. */
  eventsDelivered: number;
}

/** The run as the checker sees it. */
export interface CheckerOptions {
  /** How many peers: IDs 1 to this. */
  readonly peers: number;
  /** Whether the run is fault-free, where accuracy is demanded. */
  readonly faultFree: boolean;
  /**
   * Whether crashes are the only fault (no loss, no partition, small delays):
   * then accuracy is demanded of every live peer, so only a crashed peer may
   * be reported unreachable or removed.
   */
  readonly crashesOnly?: boolean;
  /** Whether peers `a` and `b` are the two ends of a cut link now: they may report each other. */
  readonly acrossCutLink?: (a: PeerId, b: PeerId) => boolean;
  /** Whether peer `p` loses what it sends now (a flaky host): it may be reported and removed. */
  readonly faulty?: (p: PeerId) => boolean;
  /** Whether every install and report goes into the trace (default true; large groups leave them out). */
  readonly traceViews?: boolean;
  /** Where the checker counts. */
  readonly stats: GroupStats;
  /** Peer `p`'s core, or null before it starts. */
  core(p: PeerId): SimCore | null;
  /** Whether peer `p` is down now. */
  crashed(p: PeerId): boolean;
  /** The incarnation of peer `p`'s current (or last) run. */
  incarnation(p: PeerId): number;
  /** Adds a line to the run's trace. */
  note(text: string): void;
}

/** A view as text: `v3 L1 [1,2,3]`, with the epoch and incarnations when asked. */
function formatView(view: View, full = false): string {
  const text = `v${view.id} L${view.leader} [${view.members.join(",")}]`;
  if (!full) return text;
  const cut = view.cut ? ` cut ${view.cut.count} of v${view.cut.of}` : "";
  const tags = view.tags ? ` tags ${JSON.stringify(view.tags)}` : "";
  return `${text} epoch ${formatEpoch(view.epoch)} runs [${view.incarnations.join(",")}]${cut}${tags}`;
}

const epochKey = (e: Epoch) => `${e.round}/${e.former}/${e.run}`;

/** Keys already built: a leader sends one view object to every member, and each peer holds its own. */
const viewKeys = new WeakMap<View, string>();

/** The identity of a view's contents, for agreement and quorum bookkeeping. */
function viewKey(view: View): string {
  let key = viewKeys.get(view);
  if (key === undefined) {
    const cut = view.cut ? `${view.cut.of}:${view.cut.count}` : "";
    key = `${epochKey(view.epoch)}|${view.id}|${view.leader}|${view.members.join(",")}|${
      view.incarnations.join(",")
    }|${cut}|${JSON.stringify(view.tags ?? [])}`;
    viewKeys.set(view, key);
  }
  return key;
}

/** The name of a view's slot: (epoch, id) names one view. */
const slot = (epoch: Epoch, id: number) => `${epochKey(epoch)}|${id}`;

/** The guarantee bookkeeping of one run. */
export class Checker {
  readonly #o: CheckerOptions;
  /** Index = peer id; index 0 unused. The last view the current run printed, or null. */
  readonly #lastPrinted: (View | null)[];
  /** The last view the current run installed, printed or not (its state says so). */
  readonly #lastDurable: (View | null)[];
  /** The last view an earlier run printed: a new run stays above it within its epoch. */
  readonly #earlierRun: (View | null)[];
  readonly #lastPending: (Proposal | null)[];
  /** Views each peer sent NEWVIEW for in its current step: it committed them. */
  readonly #sentViews: Set<string>[];
  readonly #everLed = new Set<PeerId>();
  /** User events by (epoch, view id, position): one event a position, whoever delivers it. */
  readonly #ordered = new Map<string, string>();
  /** What each peer's current run delivered last: the view (slot) and how many of its events. */
  #deliveredIn: { slot: string; count: number }[] = [];
  /** The events each peer's current run delivered, by key. */
  #deliveredKeys: Set<string>[] = [];
  /** Every event delivered anywhere, and those their sender was told will never be. */
  readonly #everDelivered = new Set<string>();
  readonly #undelivered = new Set<string>();
  /** The view each peer's run was last restored into, until it prints a view (it may never have printed that one). */
  readonly #restoredInto: (View | null)[] = [];
  /**
   * Views installed whose next view nobody installed yet, by slot, with how
   * many of their members (as the runs they hold) went down meanwhile: each
   * forgot the view's events it held (they are kept in memory).
   */
  readonly #open = new Map<string, { view: View; down: Set<PeerId> }>();
  readonly #forgotten = new Map<string, number>();
  /** How many events of each view (by slot) the first peer to install the next one delivered, and who. */
  readonly #cutDelivered = new Map<string, { peer: PeerId; count: number }>();

  /** Peer `p` crashed: every view still current that holds it loses what it held of its events. */
  wentDown(p: PeerId): void {
    for (const [at, o] of this.#open) {
      if (!o.view.members.includes(p)) continue;
      o.down.add(p);
      this.#forgotten.set(at, o.down.size);
    }
  }
  /** Peers restored from their state into a view (`p@slot`): they lost the events they held there. */
  readonly #restoredIn = new Set<string>();
  /** The first install of every (epoch, view id): the agreed view. */
  readonly #agreed = new Map<string, { view: View; peer: PeerId }>();
  /** The newest view installed, by epoch then id. */
  #newest: View | null = null;
  readonly #epochs = new Set<string>();
  /** Which runs (`peer:incarnation`) accepted (held as pending) the proposal leading to each view. */
  readonly #acceptors = new Map<string, Set<string>>();
  /** The id of the view each proposed view was proposed from (`id - 1` but where a group renumbers). */
  readonly #bases = new Map<string, number>();
  /** Which peers accepted each view proposed to form the group (FORM_ACCEPT, as their state shows). */
  readonly #formAcceptors = new Map<string, Set<PeerId>>();
  /** Whether installs and reports go into the trace. */
  readonly #traceViews: boolean;

  /** A checker with nothing seen yet. */
  constructor(options: CheckerOptions) {
    this.#o = options;
    this.#traceViews = options.traceViews ?? true;
    const n = options.peers + 1;
    this.#lastPrinted = new Array(n).fill(null);
    this.#lastDurable = new Array(n).fill(null);
    this.#earlierRun = new Array(n).fill(null);
    this.#lastPending = new Array(n).fill(null);
    this.#sentViews = Array.from({ length: n }, () => new Set());
    this.#deliveredIn = Array.from({ length: n }, () => ({ slot: "", count: 0 }));
    this.#deliveredKeys = Array.from({ length: n }, () => new Set());
  }

  /** The newest view installed (by epoch, then id), or null. */
  get newestView(): View | null {
    return this.#newest;
  }

  #run(p: PeerId): string {
    return `${p}:${this.#o.incarnation(p)}`;
  }

  /**
   * Peer `p` took a step that will carry out `effects`: notes what it commits
   * in them, what it accepted to form anew (its persisted state), what its
   * core now holds as accepted, and whether it leads; and checks the views it
   * installed in it. Those are the step's view events, whether or not they
   * get printed: the step's persisted state, which heads it, is written even
   * when the peer crashes before the rest of the step.
   */
  step(p: PeerId, effects: readonly Effect[]): void {
    const sent = this.#sentViews[p];
    sent.clear();
    const installed: View[] = [];
    for (const e of effects) {
      if (e.kind === "send" && e.message.type === "NEWVIEW") sent.add(viewKey(e.message.view));
      if (e.kind === "event" && e.event.type === "view") installed.push(e.event.view);
      if (e.kind === "persist" && e.state.formAccepted) {
        const key = viewKey(e.state.formAccepted.view);
        let set = this.#formAcceptors.get(key);
        if (!set) this.#formAcceptors.set(key, set = new Set());
        set.add(p);
      }
    }
    this.#observe(p);
    for (const view of installed) this.#installed(p, view);
  }

  /**
   * Peer `p` starts again after a crash: as the same run (restored from its
   * state) or as a new run (without state).
   */
  restarted(p: PeerId, sameRun: boolean): void {
    this.#lastPending[p] = null;
    this.#sentViews[p].clear();
    // Events are kept in memory: a process restarted, even as the same run, delivers afresh.
    this.#deliveredIn[p] = { slot: "", count: 0 };
    this.#deliveredKeys[p] = new Set();
    const kept = this.#lastDurable[p];
    if (kept && sameRun) {
      this.#restoredIn.add(`${p}@${slot(kept.epoch, kept.id)}`);
      this.#restoredInto[p] = kept;
    }
    if (sameRun) return;
    this.#lastDurable[p] = null;
    if (this.#lastPrinted[p]) this.#earlierRun[p] = this.#lastPrinted[p];
    this.#lastPrinted[p] = null;
  }

  /** Peer `p` could not decode a message (`text` says which and why): the codec broke. */
  undecodable(p: PeerId, text: string): never {
    throw new ViolationFound("codec", `peer ${p} ${text}`);
  }

  /** Records what the core holds as accepted, and who leads. */
  #observe(p: PeerId): void {
    const core = this.#o.core(p)!;
    const pending = core.pending;
    if (pending && pending !== this.#lastPending[p]) {
      const view = core.view;
      if (view && view.id === pending.viewId) {
        const key = viewKey(nextView(view, pending));
        this.#bases.set(key, pending.viewId);
        let set = this.#acceptors.get(key);
        if (!set) this.#acceptors.set(key, set = new Set());
        set.add(this.#run(p));
      }
    }
    this.#lastPending[p] = pending;
    if (p !== 1 && !this.#everLed.has(p) && core.role === "leader") {
      this.#everLed.add(p);
      this.#o.stats.takeovers++;
      this.#o.note(`p${p} leads view ${core.view?.id}`);
    }
  }

  /** Checks an event of peer `p`, reported in the step last passed to {@linkcode step}. */
  event(p: PeerId, event: PeerEvent): void {
    const { stats, note, faultFree } = this.#o;
    if (event.type === "unreachable") {
      stats.unreachable++;
      if (this.#traceViews) {
        note(
          `p${p} (view ${event.viewId}) finds ${
            event.isLeader ? "leader" : "peer"
          } ${event.member} unreachable`,
        );
      }
      if (faultFree) {
        throw new ViolationFound(
          "accuracy",
          `peer ${p} reported peer ${event.member} unreachable in a fault-free run`,
        );
      }
      if (
        this.#o.crashesOnly && !this.#o.crashed(event.member) && !this.#o.acrossCutLink?.(p, event.member) &&
        !this.#o.faulty?.(event.member) && !this.#o.faulty?.(p)
      ) {
        throw new ViolationFound(
          "accuracy",
          `peer ${p} reported live peer ${event.member} unreachable where crashes are the only fault`,
        );
      }
      return;
    }
    if (event.type === "left") return note(`p${p} (view ${event.viewId}) reports peer ${event.member} left`);
    if (event.type === "event") return this.#delivered(p, event);
    if (event.type === "formed") {
      return note(`p${p} reports the group formed anew as ${formatView(event.view, true)}`);
    }
    const view = event.view;
    stats.installs++;
    stats.highestViewId = Math.max(stats.highestViewId, view.id);
    if (this.#traceViews) note(`p${p} installs ${formatView(view, true)}`);
    // (2) monotonic views: within a run (a run restored from its state goes on from
    // before its crash) views rise by epoch, then id (a later epoch may number lower:
    // docs/protocol.md, "Group histories"), and a new run stays above its earlier run
    // within the epoch that run printed in
    const last = this.#lastPrinted[p];
    if (last && compareViews(view, last) <= 0) {
      throw new ViolationFound(
        "monotonic",
        `peer ${p} installed ${formatView(view, true)} after ${formatView(last, true)}`,
      );
    }
    const earlier = this.#earlierRun[p];
    if (earlier && compareEpochs(earlier.epoch, view.epoch) === 0 && view.id <= earlier.id) {
      throw new ViolationFound(
        "monotonic",
        `peer ${p}, restarted without state, installed ${formatView(view, true)}, but its earlier run ` +
          `installed view ${earlier.id} in the same epoch`,
      );
    }
    this.#viewSynchronous(p, last, view);
    this.#lastPrinted[p] = view;
    this.#restoredInto[p] = null;
  }

  /**
   * (7) one order: every peer delivers the events of (epoch, view) at the same
   * positions, each once, consecutively from 1, while in that very view.
   */
  #delivered(p: PeerId, event: Extract<PeerEvent, { type: "event" }>): void {
    const view = this.#currentView(p);
    const { origin, originRun, number, name } = event.event;
    const key = `${origin}/${originRun}/${number}`;
    if (!view || view.id !== event.viewId) {
      throw new ViolationFound(
        "order",
        `peer ${p} delivered event ${key} of view ${event.viewId} while in ${
          view ? formatView(view, true) : "no view"
        }`,
      );
    }
    this.#place(p, view, event.position, key);
    if (this.#undelivered.has(key)) {
      throw new ViolationFound(
        "order",
        `peer ${p} delivered event ${key}, which its sender was told is undelivered`,
      );
    }
    this.#everDelivered.add(key);
    if (this.#deliveredKeys[p].has(key)) {
      throw new ViolationFound("order", `peer ${p} delivered event ${key} (${name}) twice`);
    }
    this.#deliveredKeys[p].add(key);
    this.#o.stats.eventsDelivered++;
  }

  /** Peer `p` took position `position` of `view` with event `key`: the next in its order, the same everywhere. */
  #place(p: PeerId, view: View, position: number, key: string): void {
    const at = slot(view.epoch, view.id);
    const was = this.#deliveredIn[p];
    const expected = was.slot === at ? was.count + 1 : 1;
    if (position !== expected) {
      throw new ViolationFound(
        "order",
        `peer ${p} delivered event ${key} at position ${position} of ${
          formatView(view, true)
        }, expected ${expected}`,
      );
    }
    const name = `${at}#${position}`;
    const agreed = this.#ordered.get(name);
    if (agreed === undefined) this.#ordered.set(name, key);
    else if (agreed !== key) {
      throw new ViolationFound(
        "order",
        `peer ${p} delivered event ${key} at position ${position} of ${formatView(view, true)}, ` +
          `where another peer delivered ${agreed}`,
      );
    }
    this.#deliveredIn[p] = { slot: at, count: position };
  }

  /**
   * Peer `p` passed over position `position` of view `viewId`: it holds event
   * `key`, which it delivered before (the group forgot it, and its sender sent
   * it again). It must have; the position counts as delivered for the order.
   */
  deliveredAgain(p: PeerId, key: string, position: number, viewId: number): void {
    if (!this.#deliveredKeys[p].has(key)) {
      throw new ViolationFound("order", `peer ${p} passed over event ${key}, which it never delivered`);
    }
    const view = this.#currentView(p);
    if (view && view.id === viewId) this.#place(p, view, position, key);
  }

  /** The view peer `p` is in: the one it printed last, or one its run was restored into since. */
  #currentView(p: PeerId): View | null {
    const restored = this.#restoredInto[p] ?? null;
    const printed = this.#lastPrinted[p];
    return restored && compareViews(restored, printed) > 0 ? restored : printed;
  }

  /** The sender of event `key` was told it will never be delivered: nobody may have, or may later. */
  undelivered(key: string, reason: string): void {
    if (this.#everDelivered.has(key)) {
      throw new ViolationFound("order", `event ${key} was delivered, but its sender was told: ${reason}`);
    }
    this.#undelivered.add(key);
    this.#o.note(`event ${key} undelivered: ${reason}`);
  }

  /**
   * (7) view synchrony: a peer that installs the view after `last` (its cut
   * names `last`, or it is `last.id + 1` of the same epoch) delivered exactly
   * the cut's events of `last` first.
   */
  #viewSynchronous(p: PeerId, last: View | null, view: View): void {
    if (!last || compareEpochs(last.epoch, view.epoch) !== 0) return;
    const follows = view.cut ? view.cut.of === last.id : view.id === last.id + 1;
    if (!follows) return;
    const was = this.#deliveredIn[p];
    const count = was.slot === slot(last.epoch, last.id) ? was.count : 0;
    // Events are kept in memory: a run restored from its state lost those it held (it may
    // deliver fewer), and the guarantee holds while a majority of the view stays up: no more
    // than a minority of its members went down (a restart counts) while it was current.
    const at = slot(last.epoch, last.id);
    const minority = last.members.length - majorityOf(last);
    const void_ = this.#restoredIn.has(`${p}@${at}`) || (this.#forgotten.get(at) ?? 0) > minority;
    const cut = view.cut?.count ?? 0;
    // The cut bounds what is delivered; where its last events were never held by a majority and
    // their only holders went down, every peer delivers the same fewer (their senders send them again).
    const agreed = this.#cutDelivered.get(at);
    if (!void_ && (count > cut || (agreed !== undefined && count !== agreed.count))) {
      throw new ViolationFound(
        "order",
        `peer ${p} delivered ${count} events of ${formatView(last, true)} before installing ` +
          `${formatView(view, true)}, whose cut is ${cut}` +
          (agreed ? `; peer ${agreed.peer} delivered ${agreed.count}` : ""),
      );
    }
    if (agreed === undefined && !void_) this.#cutDelivered.set(at, { peer: p, count });
  }

  /** Peer `p` installed `view` (its state says so): agreement, quorum and accuracy. */
  #installed(p: PeerId, view: View): void {
    const { stats, note, faultFree } = this.#o;
    const last = this.#lastDurable[p];
    this.#lastDurable[p] = view;
    // (1) agreement: (epoch, view id) names one view, its runs included
    const name = slot(view.epoch, view.id);
    const agreed = this.#agreed.get(name);
    if (agreed) {
      if (!sameView(agreed.view, view)) {
        throw new ViolationFound(
          "agreement",
          `peer ${p} installed ${formatView(view, true)} but peer ${agreed.peer} installed ${
            formatView(agreed.view, true)
          }`,
        );
      }
      return; // quorum and accuracy were checked when it was first installed
    }
    this.#agreed.set(name, { view, peer: p });
    this.#open.set(name, { view, down: new Set() });
    // The view it follows is no longer current (its events up to the cut are settled).
    const follows = view.cut ? view.cut.of : view.id - 1;
    this.#open.delete(slot(view.epoch, follows));
    if (compareViews(view, this.#newest) > 0) this.#newest = view;
    if (!this.#epochs.has(epochKey(view.epoch))) {
      this.#epochs.add(epochKey(view.epoch));
      stats.epochs++;
    }
    const key = viewKey(view);
    // (3) quorum, for a view formed in a new epoch: a majority of the hostsfile accepted it
    const formers = this.#formAcceptors.get(key);
    if (formers !== undefined && formers.size >= hostsfileMajority(this.#o.peers)) {
      if (view.id > 1) stats.formedAnew++;
      return note(
        `${formatView(view, true)} was formed, accepted by [${[...formers].sort((a, b) => a - b)}]`,
      );
    }
    // (3) quorum: a majority of view v of the same epoch accepted this very view v+1 (or the id
    // it was numbered with, above a peer's view from another history)
    const sent = this.#sentViews[p].has(key);
    const sameEpoch = last !== null && compareEpochs(last.epoch, view.epoch) === 0;
    const base = this.#bases.get(key) ?? (sent && sameEpoch ? last.id : view.id - 1);
    const previous = base < view.id ? this.#agreed.get(slot(view.epoch, base)) : undefined;
    if (!previous) {
      throw new ViolationFound(
        "quorum",
        `peer ${p} installed ${formatView(view, true)} but nobody installed view ${base} of its epoch` +
          (formers ? `, and only [${[...formers]}] accepted it as a view formed anew` : ""),
      );
    }
    let accepted = this.#acceptors.get(key);
    if (!accepted) this.#acceptors.set(key, accepted = new Set());
    // The committer accepts its own proposal, possibly in this very step (a one-member
    // view commits as it proposes, so no pending is ever seen, and may send no NEWVIEW:
    // a TAG of its only member). The view names its first proposer as leader.
    if ((sent || view.leader === p) && sameEpoch && last.id === base) accepted.add(this.#run(p));
    const voters = previous.view.members.filter((m, i) =>
      accepted.has(`${m}:${previous.view.incarnations[i]}`)
    );
    if (voters.length < majorityOf(previous.view)) {
      throw new ViolationFound(
        "quorum",
        `peer ${p} installed ${formatView(view, true)} accepted only by [${voters.join(",")}] of ` +
          `${formatView(previous.view, true)} (majority ${majorityOf(previous.view)})`,
      );
    }
    // (5) accuracy: nobody is removed in a fault-free run, and only crashed
    // peers where crashes are the only fault
    if (faultFree || this.#o.crashesOnly) {
      const kept = new Set(view.members);
      const removed = previous.view.members.filter((m) => !kept.has(m));
      if (faultFree && removed.length > 0) {
        throw new ViolationFound(
          "accuracy",
          `peer ${p} installed ${formatView(view)}, removing [${removed}] in a fault-free run`,
        );
      }
      const live = removed.filter((m) => !this.#o.crashed(m) && !this.#o.faulty?.(m));
      if (live.length > 0) {
        throw new ViolationFound(
          "accuracy",
          `peer ${p} installed ${formatView(view)}, removing live [${live}] where crashes are the only fault`,
        );
      }
    }
  }

  #live(): PeerId[] {
    const live: PeerId[] = [];
    for (let p = 1; p <= this.#o.peers; p++) if (!this.#o.crashed(p) && this.#o.core(p)) live.push(p);
    return live;
  }

  /**
   * All live peers hold one view of exactly the live runs, suspect nobody,
   * and follow one leader.
   */
  converged(): boolean {
    const live = this.#live();
    if (live.length === 0) return true;
    const core = (p: PeerId) => this.#o.core(p);
    const first = core(live[0])?.view;
    if (!first || first.members.join(",") !== live.join(",")) return false;
    if (!live.every((p, i) => first.incarnations[i] === this.#o.incarnation(p))) return false;
    let leaders = 0;
    for (const p of live) {
      const c = core(p);
      // A pending proposal may linger: a value only a minority accepted, which
      // a later leader overwrote elsewhere; it is harmless, so it is allowed.
      // (the keys are built once per view object, so this stays linear in the group)
      if (
        !c?.view || c.view.id !== first.id || (c.view !== first && viewKey(c.view) !== viewKey(first)) ||
        c.suspected.size > 0
      ) {
        return false;
      }
      if (c.role === "leader") leaders++;
      else if (c.role !== "member") return false;
      // Every live peer's tags agreed, and its events delivered.
      if (!sameTags(tagsIn(first, p), c.tags ?? NO_TAGS) || (c.pendingEvents ?? 0) > 0) return false;
    }
    const leader = live.find((p) => core(p)!.role === "leader");
    return leaders === 1 && live.every((p) => core(p)!.leader === leader);
  }

  /**
   * (4) and (6), once the quiet phase of `quietPhaseMs` is over: demanded
   * unless a majority of the newest view a live peer installed (by epoch, then
   * id) is down for good (everything is connected in the quiet phase, and
   * whoever restarted, with its state or without, is up). When no live peer
   * installed any view, that is the founding view [1]: demanded if peer 1 is
   * up. Where a majority of that view restarted without state, the group must
   * form anew, which needs a majority of the hostsfile up too; so does
   * founding. A change of that view a live peer
   * accepted may have been chosen: where a majority of the view it would make
   * is down for good, that view holds the group still.
   */
  end(converged: boolean, quietPhaseMs: number): void {
    const { crashed, stats } = this.#o;
    const core = (p: PeerId) => this.#o.core(p)!;
    const live = this.#live();
    let last: View | null = null;
    for (const p of live) {
      const view = this.#lastDurable[p];
      if (compareViews(view, last) > 0) last = view;
    }
    const basis = last ??
      { epoch: { round: 0, former: 1, run: 0 }, id: 0, leader: 1, members: [1], incarnations: [0] };
    const up = basis.members.filter((m) => !crashed(m)).length;
    // Runs of that view still up as themselves: fewer than a majority, and the group
    // must form anew, which takes answers from a majority of the hostsfile.
    const same = basis.members.filter((m, i) =>
      !crashed(m) && this.#o.incarnation(m) === basis.incarnations[i]
    );
    const mustForm = last === null || same.length < majorityOf(basis);
    const hostsfileUp = live.length >= hostsfileMajority(this.#o.peers);
    // A change of that view that a live peer accepted may have been chosen (nobody
    // can tell once the runs that could have voted for it are gone): a majority of the
    // view it makes down for good holds the group still too.
    const heldStill = live.some((p) => {
      const pending = core(p).pending;
      const view = core(p).view;
      // (its pending applies to its view, or, while it joins, to the last it installed)
      if (!last || pending?.viewId !== last.id) return false;
      if (view && compareEpochs(view.epoch, last.epoch) !== 0) return false;
      const next = nextView(last, pending);
      return next.members.filter((m) => !crashed(m)).length < majorityOf(next);
    });
    stats.livenessDemanded = live.length > 0 && up >= majorityOf(basis) && (!mustForm || hostsfileUp) &&
      !heldStill;
    if (!stats.livenessDemanded || converged) return;
    const states = live.map((p) => {
      const c = core(p);
      const view = c.view ? formatView(c.view, true) : "joining";
      const ops = c.pending ? proposalOps(c.pending).map((op) => `${op.kind} ${op.peer}`) : [];
      const pending = ops.length > 0 ? ` pending ${ops.join(", ")}` : "";
      const suspects = c.suspected.size > 0 ? ` suspects [${[...c.suspected]}]` : "";
      const probing = c.probing ? " probing" : "";
      const events = (c.pendingEvents ?? 0) > 0 ? ` ${c.pendingEvents} own events undelivered` : "";
      const tags = c.view && !sameTags(tagsIn(c.view, p), c.tags ?? NO_TAGS)
        ? ` tags ${JSON.stringify(c.tags)} not agreed (the view holds ${JSON.stringify(tagsIn(c.view, p))})`
        : "";
      return `p${p} (run ${
        this.#o.incarnation(p)
      }): ${view} ${c.role}${probing} following ${c.leader}${pending}${suspects}${events}${tags}`;
    }).join("; ");
    const views = live.map((p) => core(p).view);
    const oneView = views.every((v) => v && views[0] && sameView(v, views[0]));
    const holdsCrashed = oneView && views[0]!.members.some((m) => crashed(m));
    const what = last
      ? `${up} of ${formatView(last, true)} up`
      : "peer 1 up and no view of this history installed";
    throw new ViolationFound(
      holdsCrashed ? "completeness" : "liveness",
      `${quietPhaseMs} ms after faults stopped, with ${what}, ` +
        `the live peers [${live}] have not converged: ${states}`,
    );
  }
}
