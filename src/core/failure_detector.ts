/**
 * The failure detector: when each member of the view was last heard from,
 * which members are held unreachable, and stall compensation for this peer's
 * own event loop.
 *
 * @module
 */

import type { PeerId, View } from "./messages.ts";
import { incarnationIn } from "./view.ts";

/**
 * Watches the members of a view.
 *
 * @example
 * ```ts
 * import { FailureDetector } from "./failure_detector.ts";
 * const fd = new FailureDetector(200, 5);
 * fd.watch(null, { id: 2, leader: 1, members: [1, 2], incarnations: [1, 1] }, 0);
 * fd.expired([2], 1_201); // [2]
 * ```
 */
export class FailureDetector {
  readonly #heartbeatMs: number;
  readonly #timeoutMs: number;
  readonly #heardAt = new Map<PeerId, number>();
  readonly #suspected = new Set<PeerId>();
  #lastTickAt = 0;

  /** A detector that holds a member unreachable after `failAfter` silent heartbeat intervals. */
  constructor(heartbeatMs: number, failAfter: number) {
    this.#heartbeatMs = heartbeatMs;
    this.#timeoutMs = heartbeatMs * failAfter;
  }

  /** How long a member may stay silent, in ms. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Members held unreachable. */
  get suspected(): ReadonlySet<PeerId> {
    return this.#suspected;
  }

  /** Starts the tick clock. */
  start(now: number): void {
    this.#lastTickAt = now;
  }

  /**
   * A tick at `now`. If it came late, this event loop stalled: what was not
   * heard meanwhile says nothing about the others, so every deadline moves on
   * by the stall, which is returned (0 when on time).
   */
  tick(now: number): number {
    const late = now - this.#lastTickAt - this.#heartbeatMs;
    this.#lastTickAt = now;
    if (late <= this.#heartbeatMs) return 0;
    for (const [m, t] of this.#heardAt) this.#heardAt.set(m, t + late);
    return late;
  }

  /** The view changed: members whose run changed are watched afresh, new members from now. */
  watch(previous: View | null, view: View, now: number): void {
    for (const m of [...this.#heardAt.keys()]) {
      if (incarnationIn(view, m) !== (previous && incarnationIn(previous, m))) {
        this.#heardAt.delete(m);
        this.#suspected.delete(m);
      }
    }
    for (const m of view.members) if (!this.#heardAt.has(m)) this.#heardAt.set(m, now);
  }

  /** `member` was heard from; returns true if it was held unreachable until now. */
  heard(member: PeerId, now: number): boolean {
    this.#heardAt.set(member, now);
    return this.#suspected.delete(member);
  }

  /** When `member` was last heard from (stalls aside), if it is watched. */
  lastHeard(member: PeerId): number | undefined {
    return this.#heardAt.get(member);
  }

  /** Those of `members` not held unreachable whose deadline has passed. */
  expired(members: readonly PeerId[], now: number): PeerId[] {
    return members.filter((m) =>
      !this.#suspected.has(m) && now - (this.#heardAt.get(m) ?? now) > this.#timeoutMs
    );
  }

  /** Holds `member` unreachable. */
  suspect(member: PeerId): void {
    this.#suspected.add(member);
  }

  /** Forgets everything (this peer left the view). */
  clear(): void {
    this.#heardAt.clear();
    this.#suspected.clear();
  }
}
