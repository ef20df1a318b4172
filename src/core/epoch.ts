/**
 * Group histories: the one rule that decides what a message's epoch means.
 *
 * Every view belongs to an epoch (see {@linkcode Epoch}), and every message
 * carries its sender's. On arrival a message's epoch is older than the
 * receiver's, the same, or newer; that alone says which history it belongs
 * to (no guessing from view ids or runs):
 *
 * - older: the sender is behind; it is answered with the receiver's view and
 *   the message is dropped;
 * - newer: the receiver is behind; a view that names it is installed,
 *   otherwise it joins that group;
 * - equal: the message is the per-view Paxos of one history.
 *
 * @module
 */

import type { Epoch } from "./messages.ts";

/**
 * Orders two epochs (absent: no epoch, below every epoch): by round, then
 * former, then run.
 *
 * @example
 * ```ts
 * import { compareEpochs } from "./epoch.ts";
 * compareEpochs({ round: 2, former: 1, run: 5 }, { round: 1, former: 3, run: 9 }); // > 0
 * compareEpochs(undefined, { round: 1, former: 1, run: 1 }); // < 0
 * ```
 */
export function compareEpochs(a: Epoch | undefined, b: Epoch | undefined): number {
  if (!a || !b) return (a ? 1 : 0) - (b ? 1 : 0);
  return a.round - b.round || a.former - b.former || a.run - b.run;
}

/** How a message's epoch stands to the receiver's. */
export type EpochOrder = "older" | "equal" | "newer";

/**
 * Where `theirs` (a message's epoch) stands to `mine` (the receiver's).
 *
 * @example
 * ```ts
 * import { classifyEpoch } from "./epoch.ts";
 * classifyEpoch({ round: 1, former: 1, run: 5 }, { round: 3, former: 2, run: 7 }); // "newer"
 * ```
 */
export function classifyEpoch(mine: Epoch | undefined, theirs: Epoch | undefined): EpochOrder {
  const order = compareEpochs(theirs, mine);
  return order < 0 ? "older" : order > 0 ? "newer" : "equal";
}

/**
 * An epoch as text, for logs and the status page: `round/former/run`.
 *
 * @example
 * ```ts
 * import { formatEpoch } from "./epoch.ts";
 * formatEpoch({ round: 3, former: 2, run: 1732400000002 }); // "3/2/1732400000002"
 * ```
 */
export function formatEpoch(epoch: Epoch | undefined): string {
  return epoch ? `${epoch.round}/${epoch.former}/${epoch.run}` : "none";
}
