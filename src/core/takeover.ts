/**
 * A candidate's state while it takes over: its ballot, its NEWLEADER's
 * request id, and the members' answers (Paxos' prepare phase).
 *
 * @module
 */

import { compareBallots } from "./ballot.ts";
import type { Ballot, PeerId, PendingMessage, Proposal, View } from "./messages.ts";
import { isMajority } from "./quorum.ts";
import { incarnationIn } from "./view.ts";

/**
 * A takeover in progress.
 *
 * @example
 * ```ts
 * import { Takeover } from "./takeover.ts";
 * const view = { id: 4, leader: 1, members: [2, 3, 4], incarnations: [1, 1, 1] };
 * const takeover = new Takeover({ round: 1, leader: 2 }, 7, 0);
 * takeover.answeredBy(view, 2); // false: only the candidate itself so far
 * ```
 */
export class Takeover {
  /** The candidate's ballot. */
  readonly ballot: Ballot;
  /** The NEWLEADER's request id. */
  readonly requestId: number;
  /** Answers (PENDING) by member. */
  readonly replies: Map<PeerId, PendingMessage> = new Map();
  /** When NEWLEADER last went out. */
  sentAt: number;
  /** When the takeover started. */
  readonly startedAt: number;

  /** A takeover under `ballot`, asking with `requestId`, sent at `now`. */
  constructor(ballot: Ballot, requestId: number, now: number) {
    this.ballot = ballot;
    this.requestId = requestId;
    this.sentAt = now;
    this.startedAt = now;
  }

  /** The newest view among `own` and every answer. */
  newestView(own: View): View {
    let newest = own;
    for (const r of this.replies.values()) if (r.view.id > newest.id) newest = r.view;
    return newest;
  }

  /**
   * Whether a majority of `view` answered (the candidate `self` counts
   * itself). An answer counts only from the run of its sender that `view`
   * holds: a restarted peer is never the acceptor it replaced.
   */
  answeredBy(view: View, self: PeerId): boolean {
    return isMajority(view, (m) => m === self || this.replies.get(m)?.incarnation === incarnationIn(view, m));
  }

  /**
   * What the new leader must finish: the highest-ballot proposal for view
   * `viewId` among its own (`own`) and those the members accepted. Paxos:
   * if any value may have been chosen, it is that one.
   */
  recovered(own: Proposal | null, viewId: number): Proposal | null {
    let recovered = own?.viewId === viewId ? own : null;
    for (const r of this.replies.values()) {
      const p = r.pending;
      if (!p || p.viewId !== viewId) continue;
      if (!recovered || compareBallots(p.ballot, recovered.ballot) > 0) recovered = p;
    }
    return recovered;
  }
}
