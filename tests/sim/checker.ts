/**
 * The guarantees of PROTOCOL.md, checked as a simulated run goes: agreement,
 * monotonic views, quorum (a majority of view v accepted view v+1, or, for a
 * view formed anew, a majority of the hostsfile accepted it), accuracy in
 * fault-free runs, and at the end completeness and liveness. The run feeds
 * it every step, event, restart and decode failure; the first broken
 * guarantee is thrown as {@linkcode ViolationFound}.
 *
 * Across restarts (PROTOCOL.md, "Agreement and monotonic views hold across
 * restarts"): a run restarted with its state is the same run, so its views
 * keep rising from the last it printed before the crash; a run restarted
 * without state is a new run, whose views rise on their own, and, while the
 * group history its earlier run printed in lives on, above what that run
 * printed (only the founding view 1 = [1] that a new run of peer 1 prints
 * before it finds the group is exempt). Agreement holds within a group
 * history, as long as some peer knows the view: the run tells the checker
 * which runs still know what they installed (up, or down with their state
 * to come back), and a view none of them knows is forgotten, as its id may
 * be numbered again; once every view is forgotten, the history has ended.
 * A view whose every knower is down with its state, or cut off (or back for
 * less than a failure timeout), sleeps: nobody can have told the peers it
 * reached about it ("never go backwards while any peer of its group history
 * is up (a restarted peer starts numbering above what the group it finds
 * knows)"). A peer 1 that founds while the whole history sleeps starts a new
 * line, and a view formed anew that reuses a sleeping view's id starts a
 * branch: their ids may repeat the sleeping ones; each returning peer's
 * views must still rise from the last it installed.
 *
 * @module
 */

import type { Effect, PeerEvent } from "../../src/core/effects.ts";
import type { PeerId, Proposal, View } from "../../src/core/messages.ts";
import type { Role } from "../../src/core/peer_core.ts";
import { hostsfileMajority } from "../../src/core/formation.ts";
import { majorityOf } from "../../src/core/quorum.ts";
import { nextView, proposalOps, sameView } from "../../src/core/view.ts";
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
}

/** The guarantees of PROTOCOL.md the simulator checks (plus the codec in the loop). */
export type Guarantee =
  | "agreement"
  | "monotonic"
  | "quorum"
  | "completeness"
  | "accuracy"
  | "liveness"
  | "codec";

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
  /** Views formed anew (accepted by a majority of the hostsfile) that some peer installed. */
  formedAnew: number;
  /** Group histories that ended (every peer that knew one down for good or restarted without state). */
  historiesEnded: number;
  /** Foundings while every peer that knew the history was down with its state: new lines. */
  newLines: number;
  /** Whether liveness was demanded (a majority of the last live view was up). */
  livenessDemanded: boolean;
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
  /** Whether every install and report goes into the trace (default true; large groups leave them out). */
  readonly traceViews?: boolean;
  /** Where the checker counts. */
  readonly stats: GroupStats;
  /** Peer `p`'s core, or null before it starts. */
  core(p: PeerId): SimCore | null;
  /** Whether peer `p` is down now. */
  crashed(p: PeerId): boolean;
  /**
   * Whether peer `b` has been up, and able to reach peer `a`, for at least a
   * failure timeout: long enough to have told `a` what it knows.
   */
  settled(a: PeerId, b: PeerId): boolean;
  /** The incarnation of peer `p`'s current (or last) run. */
  incarnation(p: PeerId): number;
  /** Adds a line to the run's trace. */
  note(text: string): void;
}

/** A view as text: `v3 L1 [1,2,3]`, with the incarnations when asked: `v3 L1 [1,2,3] runs [1,1,2]`. */
function formatView(view: View, runs = false): string {
  const text = `v${view.id} L${view.leader} [${view.members.join(",")}]`;
  return runs ? `${text} runs [${view.incarnations.join(",")}]` : text;
}

/** Keys already built: a leader sends one view object to every member, and each peer holds its own. */
const viewKeys = new WeakMap<View, string>();

/** The identity of a view's contents, for agreement and quorum bookkeeping. */
function viewKey(view: View): string {
  let key = viewKeys.get(view);
  if (key === undefined) {
    key = `${view.id}|${view.leader}|${view.members.join(",")}|${view.incarnations.join(",")}`;
    viewKeys.set(view, key);
  }
  return key;
}

/** Whether two views print the same: id, leader and members (a printed view hides incarnations). */
function samePrinted(a: View, b: View): boolean {
  return a.id === b.id && a.leader === b.leader && a.members.length === b.members.length &&
    a.members.every((m, i) => m === b.members[i]);
}

/** Peer 1's founding view 1 = [1], which a new run of peer 1 prints before it finds the group. */
function isFounding(view: View): boolean {
  return view.id === 1 && view.leader === 1 && view.members.length === 1 && view.members[0] === 1;
}

/** The guarantee bookkeeping of one run. */
export class Checker {
  readonly #o: CheckerOptions;
  /** Index = peer id; index 0 unused. The last view id the current run printed (0: none yet). */
  readonly #lastInstalled: number[];
  /** The group history in which the current run printed it. */
  readonly #installedEpoch: number[];
  /**
   * The last view the current run installed, printed or not (a crash between
   * writing state and printing keeps it from printing), and in which history:
   * agreement and quorum are checked on installs.
   */
  readonly #lastDurable: ({ view: View; epoch: number } | null)[];
  /** The last view id an earlier run printed, and in which history: a new run stays above it. */
  readonly #earlierRun: ({ id: number; epoch: number } | null)[];
  readonly #lastPending: (Proposal | null)[];
  /** Views each peer sent NEWVIEW for in its current step: it committed them. */
  readonly #sentViews: Set<string>[];
  readonly #everLed = new Set<PeerId>();
  /** The current group history; it rises when one ends. */
  #epoch = 0;
  /** The first install of every view id in this history: the agreed view. */
  readonly #agreed = new Map<number, { view: View; peer: PeerId; knowers: [PeerId, number][] }>();
  /** The newest view of this history. */
  #newest: View | null = null;
  /** Which runs (`peer:incarnation`) accepted (held as pending) the proposal leading to each view. */
  readonly #acceptors = new Map<string, Set<string>>();
  /** The id of the view each proposed view was proposed from (`id - 1` but where a group renumbers). */
  readonly #bases = new Map<string, number>();
  /** Which peers accepted each view proposed to form the group anew (FORM_ACCEPT, as their state shows). */
  readonly #formAcceptors = new Map<string, Set<PeerId>>();
  /**
   * Every view forgotten, by key: one may still be installed, by a peer it
   * names that gets its NEWVIEW late (it was committed, with its quorum
   * checked, before every peer that knew it stopped).
   */
  readonly #ended = new Set<string>();
  /**
   * Views of a history set aside at a new line or a branch (every peer that
   * knew them down with its state, to come back, or cut off): by key. One may
   * still be installed late, by a peer its NEWVIEW was on its way to.
   */
  readonly #setAside = new Set<string>();

  /** Whether installs and reports go into the trace. */
  readonly #traceViews: boolean;

  /** A checker with nothing seen yet. */
  constructor(options: CheckerOptions) {
    this.#o = options;
    this.#traceViews = options.traceViews ?? true;
    const n = options.peers + 1;
    this.#lastInstalled = new Array(n).fill(0);
    this.#installedEpoch = new Array(n).fill(0);
    this.#lastDurable = new Array(n).fill(null);
    this.#earlierRun = new Array(n).fill(null);
    this.#lastPending = new Array(n).fill(null);
    this.#sentViews = Array.from({ length: n }, () => new Set());
  }

  /** The newest view installed in the current group history, or null. */
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
    if (sameRun) return;
    this.#lastDurable[p] = null;
    if (this.#lastInstalled[p] > 0) {
      this.#earlierRun[p] = { id: this.#lastInstalled[p], epoch: this.#installedEpoch[p] };
    }
    this.#lastInstalled[p] = 0;
  }

  /**
   * Forgets every view no run that installed it still knows: `knows(p, run)`
   * says whether run `run` of peer `p` is up, or down with its state to come
   * back. A view whose every knower stopped without its state may be
   * numbered again; once every view is forgotten, the group history ends.
   */
  forget(knows: (p: PeerId, run: number) => boolean): void {
    const gone: number[] = [];
    for (const [id, { knowers }] of this.#agreed) {
      if (!knowers.some(([p, run]) => knows(p, run))) gone.push(id);
    }
    if (gone.length === 0) return;
    const all = gone.length === this.#agreed.size;
    for (const id of gone) {
      this.#ended.add(viewKey(this.#agreed.get(id)!.view));
      this.#agreed.delete(id);
    }
    this.#findNewest();
    if (!all) {
      return this.#o.note(
        `views [${gone}] are forgotten: every peer that installed them is down for good or restarted without state`,
      );
    }
    this.#startEpoch();
    this.#o.stats.historiesEnded++;
    this.#o.note(
      "the group history ends: every peer that knew it is down for good or restarted without state",
    );
  }

  /** The newest view still agreed on, after some were forgotten or set aside. */
  #findNewest(): void {
    this.#newest = null;
    for (const { view } of this.#agreed.values()) if (view.id > (this.#newest?.id ?? 0)) this.#newest = view;
  }

  /** A new group history (or line) starts: what was accepted in the old one says nothing of it. */
  #startEpoch(): void {
    this.#epoch++;
    this.#acceptors.clear();
    this.#bases.clear();
    this.#formAcceptors.clear();
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
        this.#o.crashesOnly && !this.#o.crashed(event.member) && !this.#o.acrossCutLink?.(p, event.member)
      ) {
        throw new ViolationFound(
          "accuracy",
          `peer ${p} reported live peer ${event.member} unreachable where crashes are the only fault`,
        );
      }
      return;
    }
    if (event.type === "left") return note(`p${p} (view ${event.viewId}) reports peer ${event.member} left`);
    if (event.type === "formed") {
      return note(`p${p} reports the group formed anew as ${formatView(event.view)}`);
    }
    const view = event.view;
    stats.installs++;
    stats.highestViewId = Math.max(stats.highestViewId, view.id);
    if (this.#traceViews) note(`p${p} installs ${formatView(view, true)}`);
    // (2) monotonic views: within a run (a run restored from its state goes on from
    // before its crash), and a new run stays above its earlier run while their history lives
    const last = this.#lastInstalled[p];
    if (view.id <= last) {
      throw new ViolationFound("monotonic", `peer ${p} installed view ${view.id} after view ${last}`);
    }
    // (the bar is what some peer still knows: numbering restarts above that)
    const earlier = this.#earlierRun[p];
    const bar = earlier?.epoch === this.#epoch ? Math.min(earlier.id, this.#newest?.id ?? 0) : 0;
    if (view.id < bar && !isFounding(view)) {
      throw new ViolationFound(
        "monotonic",
        `peer ${p}, restarted without state, installed view ${view.id}, but its earlier run ` +
          `installed view ${earlier!.id} in the same group history, which peers still know up to view ${
            this.#newest!.id
          }`,
      );
    }
    this.#lastInstalled[p] = view.id;
    this.#installedEpoch[p] = this.#epoch;
  }

  /**
   * Whether one of `knowers` (runs that installed a view) is awake for peer
   * `p`: up as that run, and not cut off from `p`, for a failure timeout. A
   * view no awake run knows sleeps: down with their state, or behind a
   * partition (or only just back), its knowers cannot have told `p` about it.
   */
  #awake(knowers: readonly [PeerId, number][], p: PeerId): boolean {
    const { crashed, incarnation, settled } = this.#o;
    return knowers.some(([q, run]) => !crashed(q) && incarnation(q) === run && (q === p || settled(p, q)));
  }

  /** Whether views numbered `id` or above are known, and only by runs asleep for peer `p`. */
  #onlySleepingFrom(id: number, p: PeerId): boolean {
    const from = [...this.#agreed].filter(([known]) => known >= id);
    return from.length > 0 && from.every(([, { knowers }]) => !this.#awake(knowers, p));
  }

  /** Whether some view of the current history is awake for peer `p`. */
  #historyAwake(p: PeerId): boolean {
    for (const { knowers } of this.#agreed.values()) if (this.#awake(knowers, p)) return true;
    return false;
  }

  /**
   * A view formed anew (accepted by a majority of the hostsfile) reuses the id
   * of a sleeping view, or is numbered below views that only sleeping runs
   * know: the former numbered above every view the peers it reached know
   * (PROTOCOL.md), and no awake run knew these. It starts a branch: the
   * sleeping views from its id on are set aside, as at a new line.
   */
  #fork(view: View, p: PeerId): void {
    for (const [id, { view: old, knowers }] of this.#agreed) {
      if (id < view.id || this.#awake(knowers, p)) continue;
      this.#setAside.add(viewKey(old));
      this.#agreed.delete(id);
    }
    this.#findNewest();
    this.#o.stats.newLines++;
    this.#o.note(
      `${formatView(view)}, formed anew, reuses or numbers below ids only sleeping peers know: a branch`,
    );
  }

  /**
   * Peer 1 founds view 1 while no peer that knows the history is awake for it
   * (each down with its state to come back, or cut off: PROTOCOL.md, "a peer's
   * views never go backwards while any peer of its group history is up (a
   * restarted peer starts numbering above what the group it finds knows)";
   * peer 1 finds nobody who could tell it). The new group is a new line: its
   * ids may repeat the ones the sleeping history used, which are set aside.
   * What stays demanded is what the contract asks once they meet: a returning
   * peer's views still rise from the last it installed (the group it finds
   * numbers above it), and within each line a view id means one view.
   */
  #newLine(): void {
    for (const { view } of this.#agreed.values()) this.#setAside.add(viewKey(view));
    this.#agreed.clear();
    this.#newest = null;
    this.#startEpoch();
    this.#o.stats.newLines++;
    this.#o.note(
      "peer 1 founds while every peer that knows the group history is down with its state or cut off: a new line",
    );
  }

  /** Peer `p` installed `view` (its state says so): agreement, quorum and accuracy. */
  #installed(p: PeerId, view: View): void {
    const { stats, note, faultFree } = this.#o;
    if (p === 1 && isFounding(view) && this.#agreed.size > 0 && !this.#historyAwake(1)) this.#newLine();
    const clash = this.#agreed.get(view.id);
    const formers = this.#formAcceptors.get(viewKey(view));
    const formed = formers !== undefined && formers.size >= hostsfileMajority(this.#o.peers);
    const branches = clash
      ? !samePrinted(clash.view, view) && !this.#awake(clash.knowers, p)
      : this.#onlySleepingFrom(view.id, p);
    if (formed && branches) this.#fork(view, p);
    if (this.#setAside.has(viewKey(view))) {
      // a NEWVIEW of the line set aside, on its way before the founding: that line's, checked there
      this.#lastDurable[p] = { view, epoch: -1 };
      return note(`${formatView(view)}, of a line set aside, is installed late`);
    }
    const lastDurable = this.#lastDurable[p];
    const last = lastDurable?.epoch === this.#epoch ? lastDurable.view.id : 0;
    this.#lastDurable[p] = { view, epoch: this.#epoch };
    // (1) agreement, within the group history: what is printed, and the runs too
    // (but for the founding view a new run of peer 1 prints again)
    const agreed = this.#agreed.get(view.id);
    if (agreed && (!samePrinted(agreed.view, view) || (!sameView(agreed.view, view) && !isFounding(view)))) {
      const runs = samePrinted(agreed.view, view);
      throw new ViolationFound(
        "agreement",
        `peer ${p} installed ${formatView(view, runs)} but peer ${agreed.peer} installed ${
          formatView(agreed.view, runs)
        }`,
      );
    }
    if (agreed) {
      // quorum and accuracy were checked when it was first installed
      agreed.knowers.push([p, this.#o.incarnation(p)]);
      return;
    }
    this.#agreed.set(view.id, { view, peer: p, knowers: [[p, this.#o.incarnation(p)]] });
    if (view.id > (this.#newest?.id ?? 0)) this.#newest = view;
    if (view.id === 1) return; // the founding view needs no quorum
    const key = viewKey(view);
    if (this.#ended.has(key)) {
      // checked when first installed, before every peer that knew it stopped (its NEWVIEW came late)
      return note(`${formatView(view)}, forgotten, is installed again`);
    }
    // (3) quorum, for a view formed anew: a majority of the hostsfile accepted it
    if (formed) {
      stats.formedAnew++;
      return note(`${formatView(view)} was formed anew, accepted by [${[...formers].sort((a, b) => a - b)}]`);
    }
    // (3) quorum: a majority of view v accepted this very view v+1 (or the id it was
    // numbered with, above a peer's view from a history the group could not know)
    const sent = this.#sentViews[p].has(key);
    const base = this.#bases.get(key) ?? (sent && last > 0 ? last : view.id - 1);
    const previous = base < view.id ? this.#agreed.get(base) : undefined;
    if (!previous) {
      throw new ViolationFound(
        "quorum",
        `peer ${p} installed ${formatView(view)} but nobody installed view ${base}` +
          (formers ? `, and only [${[...formers]}] accepted it as a view formed anew` : ""),
      );
    }
    let accepted = this.#acceptors.get(key);
    if (!accepted) this.#acceptors.set(key, accepted = new Set());
    // The committer accepts its own proposal, possibly in this very step
    // (a one-member view commits as it proposes, so no pending is ever seen).
    if (sent && last === base) accepted.add(this.#run(p));
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
      const live = removed.filter((m) => !this.#o.crashed(m));
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
    }
    const leader = live.find((p) => core(p)!.role === "leader");
    return leaders === 1 && live.every((p) => core(p)!.leader === leader);
  }

  /**
   * (4) and (6), once the quiet phase of `quietPhaseMs` is over: demanded
   * unless a majority of the last view a live peer installed in this group
   * history is down for good (everything is connected in the quiet phase,
   * and whoever restarted, with its state or without, is up). When no live
   * peer installed any view of it, that is the founding view [1]: demanded
   * if peer 1 is up. Where a majority of that view restarted without state,
   * the group must form anew, which needs a majority of the hostsfile up too;
   * so does founding. A change of that view a live peer accepted may have
   * been chosen: where a majority of the view it would make is down for good,
   * that view holds the group still.
   */
  end(converged: boolean, quietPhaseMs: number): void {
    const { crashed, stats } = this.#o;
    const core = (p: PeerId) => this.#o.core(p)!;
    const live = this.#live();
    let last: View | null = null;
    for (const p of live) {
      const durable = this.#lastDurable[p];
      const view = durable?.epoch === this.#epoch ? durable.view : null;
      if (view && view.id > (last?.id ?? 0)) last = view;
    }
    const basis = last ?? { id: 0, leader: 1, members: [1], incarnations: [0] };
    const up = basis.members.filter((m) => !crashed(m)).length;
    // Runs of that view still up as themselves: fewer than a majority, and the group
    // must form anew, which takes answers from a majority of the hostsfile.
    const same = basis.members.filter((m, i) =>
      !crashed(m) && this.#o.incarnation(m) === basis.incarnations[i]
    );
    // Founding (no view of this history installed) also waits for a majority of the hostsfile.
    const mustForm = last === null || same.length < majorityOf(basis);
    const hostsfileUp = live.length >= hostsfileMajority(this.#o.peers);
    // A change of that view that a live peer accepted may have been chosen (nobody
    // can tell once the runs that could have voted for it are gone): a majority of the
    // view it makes down for good holds the group still too.
    const heldStill = live.some((p) => {
      const pending = core(p).pending;
      if (!last || pending?.viewId !== last.id) return false;
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
      return `p${p} (run ${
        this.#o.incarnation(p)
      }): ${view} ${c.role} following ${c.leader}${pending}${suspects}`;
    }).join("; ");
    const views = live.map((p) => core(p).view);
    const oneView = views.every((v) => v && views[0] && sameView(v, views[0]));
    const holdsCrashed = oneView && views[0]!.members.some((m) => crashed(m));
    const what = last ? `${up} of ${formatView(last)} up` : "peer 1 up and no view of this history installed";
    throw new ViolationFound(
      holdsCrashed ? "completeness" : "liveness",
      `${quietPhaseMs} ms after faults stopped, with ${what}, ` +
        `the live peers [${live}] have not converged: ${states}`,
    );
  }
}
