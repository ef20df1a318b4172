/**
 * A follower's lease on its leader: the ballot of the leader it follows, and
 * when that leader last showed it leads. When the lease runs out, the next in
 * line takes over.
 *
 * @module
 */

import { compareBallots, NO_BALLOT } from "./ballot.ts";
import type { Ballot } from "./messages.ts";

/**
 * The leader this peer follows.
 *
 * @example
 * ```ts
 * import { LeaderLease } from "./lease.ts";
 * const lease = new LeaderLease();
 * lease.follow({ round: 1, leader: 2 }, 0);
 * lease.expired(1_500, 1_000); // true
 * ```
 */
export class LeaderLease {
  #ballot: Ballot = NO_BALLOT;
  #heardAt = 0;

  /** The ballot of the leader followed (NO_BALLOT when none shows itself). */
  get ballot(): Ballot {
    return this.#ballot;
  }

  /** Follows the leader of `ballot`, heard from now. */
  follow(ballot: Ballot, now: number): void {
    this.#ballot = ballot;
    this.#heardAt = now;
  }

  /** Follows the leader of `ballot` if it is at least the one followed. */
  observe(ballot: Ballot, now: number): void {
    if (compareBallots(ballot, this.#ballot) >= 0) this.follow(ballot, now);
  }

  /** The leader followed leads nothing now: follow whoever shows itself next. */
  forget(): void {
    this.#ballot = NO_BALLOT;
  }

  /** Starts the lease afresh, whoever leads. */
  renew(now: number): void {
    this.#heardAt = now;
  }

  /** Moves the deadline on by `ms` (this peer's own event loop stalled). */
  extend(ms: number): void {
    this.#heardAt += ms;
  }

  /** How long no leader has shown itself, in ms. */
  silentFor(now: number): number {
    return now - this.#heardAt;
  }

  /** Whether no leader has shown itself for longer than `timeoutMs`. */
  expired(now: number, timeoutMs: number): boolean {
    return now - this.#heardAt > timeoutMs;
  }
}
