/**
 * The guarantees of PROTOCOL.md, checked as a simulated run goes: agreement,
 * monotonic views, quorum (a majority of view v accepted view v+1), accuracy
 * in fault-free runs, and at the end completeness and liveness. The run feeds
 * it every step, event and decode failure; the first broken guarantee is
 * thrown as {@linkcode ViolationFound}.
 *
 * @module
 */

import type { Effect, PeerEvent } from "../../src/core/effects.ts";
import type { PeerId, Proposal, View } from "../../src/core/messages.ts";
import type { Role } from "../../src/core/peer_core.ts";
import { majorityOf } from "../../src/core/quorum.ts";
import { nextView, sameView } from "../../src/core/view.ts";
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
  /** Whether liveness was demanded (a majority of the last live view was up). */
  livenessDemanded: boolean;
}

/** The run as the checker sees it. */
export interface CheckerOptions {
  /** How many peers: IDs 1 to this. */
  readonly peers: number;
  /** Whether the run is fault-free, where accuracy is demanded. */
  readonly faultFree: boolean;
  /** Where the checker counts. */
  readonly stats: GroupStats;
  /** Peer `p`'s core, or null before it starts. */
  core(p: PeerId): SimCore | null;
  /** Whether peer `p` has crashed. */
  crashed(p: PeerId): boolean;
  /** Adds a line to the run's trace. */
  note(text: string): void;
}

/** A view as text: `v3 L1 [1,2,3]`. */
function formatView(view: View): string {
  return `v${view.id} L${view.leader} [${view.members.join(",")}]`;
}

/** The identity of a view's contents, for agreement and quorum bookkeeping. */
function viewKey(view: View): string {
  return `${view.id}|${view.leader}|${view.members.join(",")}|${view.incarnations.join(",")}`;
}

/** The guarantee bookkeeping of one run. */
export class Checker {
  readonly #o: CheckerOptions;
  /** Index = peer id; index 0 unused. */
  readonly #lastInstalled: number[];
  readonly #lastPending: (Proposal | null)[];
  /** Views each peer sent NEWVIEW for in its current step: it committed them. */
  readonly #sentViews: Set<string>[];
  readonly #everLed = new Set<PeerId>();
  /** The first install of every view id: the agreed view. */
  readonly #agreed = new Map<number, { view: View; peer: PeerId }>();
  /** Who accepted (held as pending) the proposal leading to each view. */
  readonly #acceptors = new Map<string, Set<PeerId>>();

  /** A checker with nothing seen yet. */
  constructor(options: CheckerOptions) {
    this.#o = options;
    const n = options.peers + 1;
    this.#lastInstalled = new Array(n).fill(0);
    this.#lastPending = new Array(n).fill(null);
    this.#sentViews = Array.from({ length: n }, () => new Set());
  }

  /**
   * Peer `p` took a step that will carry out `effects`: notes what it commits
   * in them, what its core now holds as accepted, and whether it leads.
   */
  step(p: PeerId, effects: readonly Effect[]): void {
    const sent = this.#sentViews[p];
    sent.clear();
    for (const e of effects) {
      if (e.kind === "send" && e.message.type === "NEWVIEW") sent.add(viewKey(e.message.view));
    }
    this.#observe(p);
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
        let set = this.#acceptors.get(key);
        if (!set) this.#acceptors.set(key, set = new Set());
        set.add(p);
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
      note(
        `p${p} (view ${event.viewId}) finds ${
          event.isLeader ? "leader" : "peer"
        } ${event.member} unreachable`,
      );
      if (faultFree) {
        throw new ViolationFound(
          "accuracy",
          `peer ${p} reported peer ${event.member} unreachable in a fault-free run`,
        );
      }
      return;
    }
    const view = event.view;
    stats.installs++;
    stats.highestViewId = Math.max(stats.highestViewId, view.id);
    note(`p${p} installs ${formatView(view)}`);
    // (2) monotonic views
    const last = this.#lastInstalled[p];
    if (view.id <= last) {
      throw new ViolationFound("monotonic", `peer ${p} installed view ${view.id} after view ${last}`);
    }
    this.#lastInstalled[p] = view.id;
    // (1) agreement
    const agreed = this.#agreed.get(view.id);
    if (agreed && !sameView(agreed.view, view)) {
      throw new ViolationFound(
        "agreement",
        `peer ${p} installed ${formatView(view)} but peer ${agreed.peer} installed ${
          formatView(agreed.view)
        }`,
      );
    }
    if (!agreed) this.#agreed.set(view.id, { view, peer: p });
    if (view.id === 1) return; // the founding view needs no quorum
    // (3) quorum: a majority of view v accepted this very view v+1
    const previous = this.#agreed.get(view.id - 1);
    if (!previous) {
      throw new ViolationFound(
        "quorum",
        `peer ${p} installed ${formatView(view)} but nobody installed view ${view.id - 1}`,
      );
    }
    const key = viewKey(view);
    let accepted = this.#acceptors.get(key);
    if (!accepted) this.#acceptors.set(key, accepted = new Set());
    // The committer accepts its own proposal, possibly in this very step
    // (a one-member view commits as it proposes, so no pending is ever seen).
    if (this.#sentViews[p].has(key) && last === view.id - 1) accepted.add(p);
    const voters = previous.view.members.filter((m) => accepted.has(m));
    if (voters.length < majorityOf(previous.view)) {
      throw new ViolationFound(
        "quorum",
        `peer ${p} installed ${formatView(view)} accepted only by [${voters.join(",")}] of ` +
          `${formatView(previous.view)} (majority ${majorityOf(previous.view)})`,
      );
    }
    // (5) accuracy: nobody is removed in a fault-free run
    if (faultFree) {
      const removed = previous.view.members.filter((m) => !view.members.includes(m));
      if (removed.length > 0) {
        throw new ViolationFound(
          "accuracy",
          `peer ${p} installed ${formatView(view)}, removing [${removed}] in a fault-free run`,
        );
      }
    }
  }

  #live(): PeerId[] {
    const live: PeerId[] = [];
    for (let p = 1; p <= this.#o.peers; p++) if (!this.#o.crashed(p)) live.push(p);
    return live;
  }

  /** All live peers hold one view of exactly the live peers, suspect nobody, and follow one leader. */
  converged(): boolean {
    const live = this.#live();
    if (live.length === 0) return true;
    const core = (p: PeerId) => this.#o.core(p);
    const first = core(live[0])?.view;
    if (!first || first.members.join(",") !== live.join(",")) return false;
    let leaders = 0;
    for (const p of live) {
      const c = core(p);
      // A pending proposal may linger: a value only a minority accepted, which
      // a later leader overwrote elsewhere; it is harmless, so it is allowed.
      if (!c?.view || !sameView(c.view, first) || c.suspected.size > 0) return false;
      if (c.role === "leader") leaders++;
      else if (c.role !== "member") return false;
    }
    const leader = live.find((p) => core(p)!.role === "leader");
    return leaders === 1 && live.every((p) => core(p)!.leader === leader);
  }

  /**
   * (4) and (6), once the quiet phase of `quietPhaseMs` is over: demanded
   * only when a majority of the last view a live peer installed is up
   * (everything is connected in the quiet phase).
   */
  end(converged: boolean, quietPhaseMs: number): void {
    const { crashed, stats } = this.#o;
    const core = (p: PeerId) => this.#o.core(p)!;
    const live = this.#live();
    let last: View | null = null;
    for (const p of live) {
      const id = this.#lastInstalled[p];
      if (id > (last?.id ?? 0)) last = this.#agreed.get(id)!.view;
    }
    const up = last ? last.members.filter((m) => !crashed(m)).length : 0;
    stats.livenessDemanded = last !== null && up >= majorityOf(last);
    if (!stats.livenessDemanded || converged) return;
    const states = live.map((p) => {
      const c = core(p);
      const view = c.view ? formatView(c.view) : "joining";
      const pending = c.pending ? ` pending ${c.pending.op.kind} ${c.pending.op.peer}` : "";
      const suspects = c.suspected.size > 0 ? ` suspects [${[...c.suspected]}]` : "";
      return `p${p}: ${view} ${c.role} following ${c.leader}${pending}${suspects}`;
    }).join("; ");
    const views = live.map((p) => core(p).view);
    const oneView = views.every((v) => v && views[0] && sameView(v, views[0]));
    const holdsCrashed = oneView && views[0]!.members.some((m) => crashed(m));
    throw new ViolationFound(
      holdsCrashed ? "completeness" : "liveness",
      `${quietPhaseMs} ms after faults stopped, with ${up} of ${formatView(last!)} up, ` +
        `the live peers [${live}] have not converged: ${states}`,
    );
  }
}
