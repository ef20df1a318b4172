/**
 * A joining peer's retries: whom it asks next, and when, with jittered
 * exponential back-off.
 *
 * @module
 */

import { JOIN_RETRY_MAX_MS, JOIN_RETRY_MIN_MS } from "./config.ts";
import type { PeerId } from "./messages.ts";

/**
 * When and whom to ask to join.
 *
 * @example
 * ```ts
 * import { Joiner } from "./joiner.ts";
 * const joiner = new Joiner(3, 5);
 * joiner.next(0, () => 0.5); // [1, 2, 4, 5]: nobody to ask in particular, so everyone
 * joiner.due(50); // false: the next try is 100 ms on
 * ```
 */
export class Joiner {
  readonly #self: PeerId;
  readonly #peerCount: number;
  #at = 0;
  #backoffMs = JOIN_RETRY_MIN_MS;
  #hint: PeerId | null = null;

  /** Retries for peer `self` of a hostsfile of `peerCount` peers. */
  constructor(self: PeerId, peerCount: number) {
    this.#self = self;
    this.#peerCount = peerCount;
  }

  /** Whether the next try is due. */
  due(now: number): boolean {
    return now >= this.#at;
  }

  /** Asks `leader` next (a REDIRECT named it); `fresh` starts the back-off over. */
  askNext(leader: PeerId | null, fresh: boolean): void {
    this.#hint = leader;
    if (fresh) this.#backoffMs = JOIN_RETRY_MIN_MS;
  }

  /** Whom the JOIN goes to now: the peer named last, or everyone; arms the next try. */
  next(now: number, random: () => number): PeerId[] {
    const hint = this.#hint;
    this.#hint = null;
    const jitter = 0.75 + random() / 2;
    this.#at = now + this.#backoffMs * jitter;
    this.#backoffMs = Math.min(this.#backoffMs * 2, JOIN_RETRY_MAX_MS);
    if (hint !== null && hint !== this.#self) return [hint];
    return Array.from({ length: this.#peerCount }, (_, i) => i + 1).filter((p) => p !== this.#self);
  }
}
