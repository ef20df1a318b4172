/**
 * Test support: small builders for views and ballots in scripted core tests.
 *
 * @module
 */

import type { Ballot, Epoch, PeerId, View } from "../../mod.ts";

/** Each peer's first run in the scripts: peer 3 runs as incarnation 30 (31 once restarted). */
export const run = (id: PeerId): number => id * 10;

/** A ballot. */
export const b = (round: number, leader: PeerId): Ballot => ({ round, leader });

/** The epoch peer 1 founds in the scripts: ballot round 1, its first run. */
export const E1: Epoch = { round: 1, former: 1, run: run(1) };

/** A view; incarnations default to each member's first run, the epoch to {@linkcode E1}. */
export const viewOf = (
  id: number,
  members: PeerId[],
  leader = 1,
  incarnations = members.map(run),
  epoch: Epoch = E1,
): View => ({
  epoch,
  id,
  leader,
  members,
  incarnations,
});
