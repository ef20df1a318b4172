/**
 * A returning peer's probe, in the manner of Raft's pre-vote: back on its
 * data dir, or cut off from a majority of its view for a failure timeout, a
 * peer asks every peer of the hostsfile which epoch it is in (PROBE) before it
 * commits anything in its own. A later epoch in any answer is followed (the
 * epoch rule, `epoch.ts`); the probe is over, and the peer may act, once a
 * majority of the hostsfile answered in no later epoch, or, a failure timeout
 * on, a majority of its own view did (so that a view whose hostsfile majority
 * is gone for good is not frozen: the peers of a later group that are up and
 * reachable answer within that time).
 *
 * @module
 */

import type { PeerId, View } from "./messages.ts";
import { isMajority } from "./quorum.ts";
import { hostsfileMajority } from "./formation.ts";

/**
 * One probe in progress.
 *
 * @example
 * ```ts
 * import { Probe } from "./probe.ts";
 * const probe = new Probe(0);
 * probe.answered.add(2);
 * probe.over(100, 5, { epoch: { round: 1, former: 1, run: 1 }, id: 3, leader: 1, members: [1, 2, 3], incarnations: [1, 1, 1] }, 1, 1000);
 * // false: 2 of 5 peers, and the failure timeout is not over yet
 * ```
 */
export class Probe {
  /** Peers that answered in an epoch no later than this peer's. */
  readonly answered: Set<PeerId> = new Set();
  /** When the probe started. */
  readonly startedAt: number;
  /** When PROBEs last went out. */
  sentAt = -Infinity;

  /** A probe started at `now`. */
  constructor(now: number) {
    this.startedAt = now;
  }

  /**
   * Whether the probe is over at `now`, for peer `self` in `view` of a
   * hostsfile of `peerCount`: a majority of the hostsfile answered (this peer
   * counted), or a failure timeout (`timeoutMs`) passed and a majority of the
   * view did.
   */
  over(now: number, peerCount: number, view: View, self: PeerId, timeoutMs: number): boolean {
    if (this.answered.size + 1 >= hostsfileMajority(peerCount)) return true;
    return now - this.startedAt >= timeoutMs && isMajority(view, (m) => m === self || this.answered.has(m));
  }
}
