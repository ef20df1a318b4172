/**
 * Test support: small builders for views and ballots in scripted core tests.
 *
 * @module
 */

import type { Ballot, PeerId, View } from "../../mod.ts";

/** Each peer's first run in the scripts: peer 3 runs as incarnation 30 (31 once restarted). */
export const run = (id: PeerId): number => id * 10;

/** A ballot. */
export const b = (round: number, leader: PeerId): Ballot => ({ round, leader });

/** A view; incarnations default to each member's first run. */
export const viewOf = (id: number, members: PeerId[], leader = 1, incarnations = members.map(run)): View => ({
  id,
  leader,
  members,
  incarnations,
});
