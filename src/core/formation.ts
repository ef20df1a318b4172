/**
 * Forming the group anew: the state of one attempt, and what it decides.
 *
 * When a majority of a view's members have restarted without their state (a
 * newer run of each has been heard from), that view can never gather its
 * quorum again. The group then forms anew by single-decree Paxos whose
 * acceptors are all the peers of the hostsfile: FORM (prepare) and
 * FORM_PROMISE, then FORM_ACCEPT and FORM_OK, each needing a majority of the
 * hostsfile. Two sides of a partition can never both gather one, and an
 * attempt that finds a view accepted by an earlier attempt proposes that one.
 *
 * @module
 */

import { compareBallots } from "./ballot.ts";
import type { Ballot, FormAcceptance, FormPromiseMessage, PeerId, Proposal, View } from "./messages.ts";
import { isMajority } from "./quorum.ts";
import { compareViews, incarnationIn, makeView, nextView, tagsIn } from "./view.ts";
import { NO_TAGS, type Tags } from "./tags.ts";

/** What one peer knows that bears on forming anew (a FORM_PROMISE, or the former itself). */
export interface FormKnowledge {
  /** The peer. */
  readonly from: PeerId;
  /** Its run. */
  readonly incarnation: number;
  /** The newest committed view it knows. */
  readonly newest: View | null;
  /** Its pending proposal for that view: it may have been chosen. */
  readonly pending: Proposal | null;
  /** The view it accepted in an earlier attempt, if any. */
  readonly accepted: FormAcceptance | null;
  /** Whether it is in a group now (not joining). */
  readonly inView: boolean;
  /** Its tags (the former's own: a founding view carries them). */
  readonly tags?: Tags;
}

/** What an attempt decides once a majority of the hostsfile promised. */
export type FormDecision =
  | {
    /** Propose `view`. */
    readonly kind: "propose";
    /** The view to form. */
    readonly view: View;
  }
  | {
    /**
     * `live`: a majority of the newest view's members answered as its runs, so
     * it can carry on by itself: join it instead. `undecided`: members not
     * heard from could still be a majority of it: try again later.
     */
    readonly kind: "live" | "undecided";
    /** That view. */
    readonly view: View;
  };

/**
 * How many peers of a hostsfile of `peerCount` make a majority.
 *
 * @example
 * ```ts
 * import { hostsfileMajority } from "./formation.ts";
 * hostsfileMajority(5); // 3
 * ```
 */
export function hostsfileMajority(peerCount: number): number {
  return Math.floor(peerCount / 2) + 1;
}

/**
 * Whether `view` can never gather its quorum again: the members whose run
 * could still vote in it (for which `mayVote` holds) are no majority of it.
 *
 * @example
 * ```ts
 * import { isDead } from "./formation.ts";
 * const view = { id: 5, leader: 1, members: [1, 2, 3, 4, 5], incarnations: [1, 1, 1, 1, 1] };
 * isDead(view, (m) => m <= 2); // true: 3, 4 and 5 restarted
 * ```
 */
export function isDead(view: View, mayVote: (member: PeerId) => boolean): boolean {
  return !isMajority(view, mayVote);
}

/**
 * One attempt to form the group anew.
 *
 * @example
 * ```ts
 * import { Formation } from "./formation.ts";
 * const formation = new Formation({ round: 1, leader: 4 }, 9, 0);
 * formation.promised(5); // false: only the former itself so far
 * ```
 */
export class Formation {
  /** The attempt's ballot. */
  readonly ballot: Ballot;
  /** Its request id. */
  readonly requestId: number;
  /** When its last round of messages went out. */
  sentAt: number;
  /** FORM_PROMISE answers, by peer. */
  readonly promises: Map<PeerId, FormPromiseMessage> = new Map();
  /** The view proposed, once decided. */
  proposal: View | null = null;
  /** Peers that accepted the proposal (the former aside). */
  readonly oks: Set<PeerId> = new Set();
  /** When a majority of the hostsfile had promised. */
  majorityAt: number | null = null;
  /** When the attempt started. */
  readonly startedAt: number;
  /**
   * The views the proposal goes over, once decided: the newest view reported
   * and any view a pending proposal for it would make. Until the members of
   * each that could still vote in it (neither accepted the proposal nor
   * restarted) are fewer than a majority of it, the proposal is not installed.
   */
  overridden: readonly View[] = [];

  /** An attempt under `ballot`, sent at `now`. */
  constructor(ballot: Ballot, requestId: number, now: number) {
    this.ballot = ballot;
    this.requestId = requestId;
    this.sentAt = now;
    this.startedAt = now;
  }

  /** Whether a majority of a hostsfile of `peerCount` promised (the former counts itself). */
  promised(peerCount: number): boolean {
    return this.promises.size + 1 >= hostsfileMajority(peerCount);
  }

  /** Whether a majority of the hostsfile accepted the proposal (the former counts itself). */
  accepted(peerCount: number): boolean {
    return this.oks.size + 1 >= hostsfileMajority(peerCount);
  }

  /**
   * Whether no view the proposal goes over can commit again: in each, the
   * members that could still vote (neither the former `self`, nor one that
   * accepted the proposal, nor one `restarted` says a newer run of was heard
   * from) are fewer than a majority. A member that only promised is not bound:
   * a takeover above this attempt's ballot can still gather it.
   */
  overridesSafely(self: PeerId, restarted: (member: PeerId, run: number) => boolean): boolean {
    return this.overridden.every((v) =>
      isDead(v, (m) => m !== self && !this.oks.has(m) && !restarted(m, incarnationIn(v, m)!))
    );
  }

  /**
   * What to do, from the former's own knowledge (`own`) and the promises.
   * `restarted(m, run)` says whether a newer run than `run` of `m` has been
   * heard from. When nobody knows any view, the group is founded: view 1 of
   * the former alone, in a new epoch.
   */
  decide(own: FormKnowledge, restarted: (member: PeerId, run: number) => boolean): FormDecision {
    const all = [own, ...[...this.promises.values()]];
    let newest: View | null = null;
    for (const k of all) if (compareViews(k.newest, newest) > 0) newest = k.newest;
    // Paxos: a view an earlier attempt may have chosen is proposed again, unchanged (its epoch too).
    let earlier: FormAcceptance | null = null;
    for (const k of all) {
      const a = k.accepted;
      if (!a || compareViews(a.view, newest) <= 0) continue;
      if (!earlier || compareBallots(a.ballot, earlier.ballot) > 0) earlier = a;
    }
    const overridden = (v: View | null): View[] =>
      v ? [v, ...all.flatMap((k) => k.pending?.viewId === v.id ? [nextView(v, k.pending)] : [])] : [];
    const answer = (m: PeerId) => all.find((k) => k.from === m);
    // An earlier attempt's view whose runs are mostly gone (a newer run of each
    // answered or was heard from) could never carry on: proposing it again would
    // form a dead group for ever. It may have been chosen, and then it is the
    // newest view, and dead: the attempt decides over it (and over the newest
    // view reported, in case it was not chosen).
    let alsoOverridden: View[] = [];
    if (earlier) {
      const was = earlier.view;
      const gone = (m: PeerId) => {
        const run = incarnationIn(was, m)!;
        return (answer(m)?.incarnation ?? 0) > run || restarted(m, run);
      };
      if (!isDead(was, (m) => !gone(m))) {
        this.overridden = overridden(newest);
        return { kind: "propose", view: was };
      }
      alsoOverridden = overridden(newest);
      newest = was;
    }
    const epoch = { round: this.ballot.round, former: own.from, run: own.incarnation };
    if (!newest) {
      // Founding is forming in which nobody knows a view: view 1 of the former alone.
      this.overridden = [];
      const head = { epoch, id: 1, leader: own.from };
      return { kind: "propose", view: makeView(head, [[own.from, own.incarnation, own.tags ?? NO_TAGS]]) };
    }
    const view = newest;
    const run = (m: PeerId) => incarnationIn(view, m)!;
    // Members in a group that answered as the run the view holds are up in it
    // (one that missed the view learns it from the others; one out of the group,
    // joining, is not): if they are a majority, the view can carry on.
    const upInView = (m: PeerId) => {
      const a = answer(m);
      return a?.incarnation === run(m) && a.inView;
    };
    if (isMajority(view, upInView)) return { kind: "live", view };
    // Who could still vote in that view: runs neither gone (restarted) nor
    // bound by their promise here. Fewer than a majority: it can never commit again.
    const couldVote = (m: PeerId) => answer(m) === undefined && !restarted(m, run(m));
    if (!isDead(view, couldVote)) return { kind: "undecided", view };
    // A pending proposal for that view may have been chosen by the runs now gone:
    // its view id is skipped, so the new view never collides with it.
    const pendings = all.flatMap((k) => k.pending?.viewId === view.id ? [k.pending] : []);
    // The view a pending proposal would make may have been chosen, and then its own
    // members could carry on without the runs now gone: undecided while they could.
    for (const p of pendings) {
      const next = nextView(view, p);
      const couldVoteNext = (m: PeerId) => answer(m) === undefined && !restarted(m, incarnationIn(next, m)!);
      if (!isDead(next, couldVoteNext)) return { kind: "undecided", view: next };
    }
    // (numbered above every view id reported, so that nobody's printed ids go backwards)
    const above = Math.max(
      view.id,
      ...pendings.map((p) => nextView(view, p).id),
      ...all.map((k) => k.newest?.id ?? 0),
    );
    const members = all.map((k) => [k.from, k.incarnation] as const).sort((a, b) => a[0] - b[0]);
    this.overridden = [...overridden(view), ...alsoOverridden];
    // A member keeps the tags the dead view agreed for its run (a new run's come with its TAGS).
    const tags = (m: PeerId, run: number) => incarnationIn(view, m) === run ? tagsIn(view, m) : NO_TAGS;
    return {
      kind: "propose",
      view: makeView(
        { epoch, id: above + 1, leader: own.from },
        members.map(([m, run]) => [m, run, tags(m, run)] as const),
      ),
    };
  }
}
