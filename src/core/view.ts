/**
 * Pure functions over views: membership, quorums, applying an operation (or a batch).
 *
 * @module
 */

import { compareEpochs } from "./epoch.ts";
import {
  MAX_PROPOSAL_OPERATIONS,
  type Operation,
  type PeerId,
  type Proposal,
  type View,
} from "./messages.ts";
import { NO_TAGS, sameTags, type Tags } from "./tags.ts";

/**
 * The founding view: the founder alone, as run `incarnation`, leading view 1
 * of the epoch it formed under ballot round `round`.
 *
 * @example
 * ```ts
 * import { foundingView } from "./view.ts";
 * foundingView(1, 42);
 * // { epoch: { round: 1, former: 1, run: 42 }, id: 1, leader: 1, members: [1], incarnations: [42] }
 * ```
 */
export function foundingView(founder: PeerId, incarnation: number, round = 1): View {
  return {
    epoch: { round, former: founder, run: incarnation },
    id: 1,
    leader: founder,
    members: [founder],
    incarnations: [incarnation],
  };
}

/**
 * Orders views by epoch, then id: the newer of two views of different
 * histories belongs to the later one.
 *
 * @example
 * ```ts
 * import { compareViews, foundingView } from "./view.ts";
 * compareViews(foundingView(1, 42, 2), { ...foundingView(1, 42), id: 9 }); // > 0: a later epoch
 * ```
 */
export function compareViews(a: View | null, b: View | null): number {
  if (!a || !b) return (a ? 1 : 0) - (b ? 1 : 0);
  return compareEpochs(a.epoch, b.epoch) || a.id - b.id;
}

/**
 * The incarnation a view records for a peer, or undefined if it is no member.
 *
 * @example
 * ```ts
 * import { foundingView, incarnationIn } from "./view.ts";
 * incarnationIn(foundingView(1, 42), 1); // 42
 * ```
 */
export function incarnationIn(view: View, peer: PeerId): number | undefined {
  const i = memberIndex(view, peer);
  return i < 0 ? undefined : view.incarnations[i];
}

/** Where `peer` stands among the view's members, or -1. */
function memberIndex(view: View, peer: PeerId): number {
  // Members are ascending (the codec and nextView keep them so): a binary search, since
  // a large group asks this for every message.
  const members = view.members;
  let lo = 0, hi = members.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (members[mid] === peer) return mid;
    if (members[mid] < peer) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * The tags a view records for a member (none for a peer that is no member).
 *
 * @example
 * ```ts
 * import { foundingView, tagsIn } from "./view.ts";
 * tagsIn({ ...foundingView(1, 42), tags: [{ role: "db" }] }, 1); // { role: "db" }
 * ```
 */
export function tagsIn(view: View, peer: PeerId): Tags {
  const i = view.tags ? memberIndex(view, peer) : -1;
  return i < 0 ? NO_TAGS : view.tags![i];
}

/**
 * Why an operation cannot apply to a view, or null if it can.
 *
 * @example
 * ```ts
 * import { foundingView, operationError } from "./view.ts";
 * operationError(foundingView(1, 0), { kind: "DEL", peer: 2, incarnation: 5 }, 1); // "peer 2 is no member"
 * ```
 */
export function operationError(view: View, op: Operation, leader: PeerId): string | null {
  const member = view.members.includes(op.peer);
  if (op.kind === "ADD" && member) return `peer ${op.peer} is a member already`;
  if (op.kind !== "ADD" && !member) return `peer ${op.peer} is no member`;
  if (op.kind !== "ADD" && incarnationIn(view, op.peer) !== op.incarnation) {
    return `peer ${op.peer} is a member as another run than ${op.incarnation}`;
  }
  if (op.kind === "DEL" && op.peer === leader) return "the leader cannot delete itself";
  if (!view.members.includes(leader)) return `leader ${leader} is no member`;
  return null;
}

/**
 * Every operation of a proposal: its `op`, then a batch's `more`.
 *
 * @example
 * ```ts
 * import { proposalOps } from "./view.ts";
 * const op = { kind: "ADD" as const, peer: 2, incarnation: 9 };
 * proposalOps({ viewId: 1, op, leader: 1, ballot: { round: 0, leader: 1 } }); // [op]
 * ```
 */
export function proposalOps(proposal: Proposal): readonly Operation[] {
  return proposal.more ? [proposal.op, ...proposal.more] : [proposal.op];
}

/**
 * Why a proposal cannot apply to a view, or null if it can: each of its
 * operations must apply (see {@linkcode operationError}), no two may name the
 * same peer, and a batch holds at most {@linkcode MAX_PROPOSAL_OPERATIONS}.
 *
 * @example
 * ```ts
 * import { foundingView, proposalError } from "./view.ts";
 * const add2 = { kind: "ADD" as const, peer: 2, incarnation: 9 };
 * proposalError(foundingView(1, 0), { viewId: 1, op: add2, more: [add2], leader: 1, ballot: { round: 0, leader: 1 } });
 * // "peer 2 is named twice"
 * ```
 */
export function proposalError(view: View, proposal: Proposal): string | null {
  const ops = proposalOps(proposal);
  if (ops.length > MAX_PROPOSAL_OPERATIONS) return `more than ${MAX_PROPOSAL_OPERATIONS} operations`;
  const seen = new Set<PeerId>();
  for (const op of ops) {
    if (seen.has(op.peer)) return `peer ${op.peer} is named twice`;
    seen.add(op.peer);
    const error = operationError(view, op, proposal.leader);
    if (error) return error;
  }
  return null;
}

/**
 * The view a proposal leads to: its operations applied to `view`, id plus one
 * (or the proposal's `nextViewId`).
 *
 * @example
 * ```ts
 * import { foundingView, nextView } from "./view.ts";
 * const v2 = nextView(foundingView(1, 0), {
 *   viewId: 1,
 *   op: { kind: "ADD", peer: 2, incarnation: 9 },
 *   leader: 1,
 *   ballot: { round: 0, leader: 1 },
 * });
 * // v2: { epoch: { round: 1, former: 1, run: 0 }, id: 2, leader: 1, members: [1, 2], incarnations: [0, 9] }
 * ```
 */
export function nextView(view: View, proposal: Proposal): View {
  const ops = proposalOps(proposal);
  const named = new Set(ops.map((op) => op.peer));
  const entries = view.members.map((m, i) => [m, view.incarnations[i], view.tags?.[i] ?? NO_TAGS] as const)
    .filter(([m]) => !named.has(m));
  for (const op of ops) if (op.kind !== "DEL") entries.push([op.peer, op.incarnation, op.tags ?? NO_TAGS]);
  entries.sort((a, b) => a[0] - b[0]);
  return makeView(
    { epoch: view.epoch, id: proposal.nextViewId ?? view.id + 1, leader: proposal.leader },
    entries,
    proposal.events ? { of: proposal.viewId, count: proposal.events } : undefined,
  );
}

/**
 * A view from its members as `[id, run, tags]`, ascending: `tags` only when
 * some member has any, `cut` only when above 0, so that a view without
 * either reads (and encodes) as it always did.
 *
 * @example
 * ```ts
 * import { makeView } from "./view.ts";
 * const epoch = { round: 1, former: 1, run: 5 };
 * makeView({ epoch, id: 2, leader: 1 }, [[1, 5, {}], [2, 9, { role: "db" }]]);
 * // { epoch, id: 2, leader: 1, members: [1, 2], incarnations: [5, 9], tags: [{}, { role: "db" }] }
 * ```
 */
export function makeView(
  head: Pick<View, "epoch" | "id" | "leader">,
  entries: readonly (readonly [PeerId, number, Tags])[],
  cut?: View["cut"],
): View {
  const tagged = entries.some(([, , tags]) => Object.keys(tags).length > 0);
  return {
    ...head,
    members: entries.map(([m]) => m),
    incarnations: entries.map(([, inc]) => inc),
    ...(tagged ? { tags: entries.map(([, , tags]) => tags) } : {}),
    ...(cut ? { cut } : {}),
  };
}

/**
 * Whether two views are the same: same epoch, id, leader, members and incarnations.
 *
 * @example
 * ```ts
 * import { foundingView, sameView } from "./view.ts";
 * sameView(foundingView(1, 0), foundingView(1, 0)); // true
 * ```
 */
export function sameView(a: View, b: View): boolean {
  return a.id === b.id && compareEpochs(a.epoch, b.epoch) === 0 && a.leader === b.leader &&
    a.cut?.of === b.cut?.of && a.cut?.count === b.cut?.count && a.members.length === b.members.length &&
    a.members.every((m, i) =>
      m === b.members[i] && a.incarnations[i] === b.incarnations[i] &&
      sameTags(a.tags?.[i] ?? NO_TAGS, b.tags?.[i] ?? NO_TAGS)
    );
}
