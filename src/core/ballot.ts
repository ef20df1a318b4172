/**
 * Ballot ordering: by round, then by leader ID.
 *
 * @module
 */

import type { Ballot } from "./messages.ts";

/** The ballot below every real one: nothing promised yet. */
export const NO_BALLOT: Ballot = { round: 0, leader: 0 };

/**
 * Compares two ballots: negative if `a` is lower, 0 if equal, positive if higher.
 *
 * @example
 * ```ts
 * import { compareBallots } from "./ballot.ts";
 * compareBallots({ round: 1, leader: 2 }, { round: 0, leader: 1 }); // > 0
 * ```
 */
export function compareBallots(a: Ballot, b: Ballot): number {
  return a.round !== b.round ? a.round - b.round : a.leader - b.leader;
}

/**
 * The higher of two ballots.
 *
 * @example
 * ```ts
 * import { maxBallot } from "./ballot.ts";
 * maxBallot({ round: 0, leader: 1 }, { round: 1, leader: 2 }); // { round: 1, leader: 2 }
 * ```
 */
export function maxBallot(a: Ballot, b: Ballot): Ballot {
  return compareBallots(a, b) >= 0 ? a : b;
}
