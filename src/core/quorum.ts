/**
 * Quorum rules, in one place: what a majority of a view is, when a leader may
 * commit, and when a candidate may lead.
 *
 * @module
 */

import type { Operation, PeerId, View } from "./messages.ts";

/**
 * How many members make a majority of the view.
 *
 * @example
 * ```ts
 * import { majorityOf } from "./quorum.ts";
 * majorityOf({ id: 5, leader: 1, members: [1, 2, 3, 4, 5], incarnations: [0, 0, 0, 0, 0] }); // 3
 * ```
 */
export function majorityOf(view: View): number {
  return Math.floor(view.members.length / 2) + 1;
}

/**
 * Whether the members for which `counts` holds are a majority of the view.
 *
 * @example
 * ```ts
 * import { isMajority } from "./quorum.ts";
 * const view = { id: 3, leader: 1, members: [1, 2, 3], incarnations: [0, 0, 0] };
 * isMajority(view, (m) => m !== 3); // true
 * ```
 */
export function isMajority(view: View, counts: (member: PeerId) => boolean): boolean {
  return view.members.filter(counts).length >= majorityOf(view);
}

/**
 * Whether a leader may commit `op` (or a batch of operations) on `view`: a
 * majority said OK, and so did every member it does not hold failed (the
 * members a DEL removes aside), so a slow live member is never left behind
 * by a view change it could have seen.
 *
 * @example
 * ```ts
 * import { canCommit } from "./quorum.ts";
 * const view = { id: 3, leader: 1, members: [1, 2, 3], incarnations: [0, 0, 0] };
 * const op = { kind: "DEL" as const, peer: 3, incarnation: 0 };
 * canCommit(view, new Set([1, 2]), new Set(), op); // true
 * ```
 */
export function canCommit(
  view: View,
  oks: ReadonlySet<PeerId>,
  failed: ReadonlySet<PeerId>,
  op: Operation | readonly Operation[],
): boolean {
  if (!isMajority(view, (m) => oks.has(m))) return false;
  const ops = "kind" in op ? [op] : op;
  const deleted = new Set(ops.flatMap((o) => o.kind === "DEL" ? [o.peer] : []));
  return view.members.every((m) => oks.has(m) || failed.has(m) || deleted.has(m));
}
