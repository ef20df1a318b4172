/**
 * A joining peer's retries: whom it asks next, and when, with jittered
 * exponential back-off.
 *
 * @module
 */

import { isLargeGroup, JOIN_FANOUT, JOIN_RETRY_MAX_MS, JOIN_RETRY_MIN_MS } from "./config.ts";
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

  /**
   * Whom the JOIN goes to now: the peer named last; else everyone in a small
   * group, and in a large one peer 1 (the founder, and usually the leader)
   * with {@linkcode JOIN_FANOUT} others at random, so that a crowd of joiners
   * does not cost N² connections (peer 1 itself still asks everyone: before
   * it founds, it must find any group there is). Arms the next try.
   */
  next(now: number, random: () => number): PeerId[] {
    const hint = this.#hint;
    this.#hint = null;
    const jitter = 0.75 + random() / 2;
    this.#at = now + this.#backoffMs * jitter;
    this.#backoffMs = Math.min(this.#backoffMs * 2, JOIN_RETRY_MAX_MS);
    if (hint !== null && hint !== this.#self) return [hint];
    const others = Array.from({ length: this.#peerCount }, (_, i) => i + 1).filter((p) => p !== this.#self);
    // Peer 1 asks everyone, whatever the size: before it founds, it must reach any group there is.
    if (!isLargeGroup(this.#peerCount) || this.#self === 1) return others;
    const rest = others.filter((p) => p !== 1);
    for (let i = 0; i < JOIN_FANOUT; i++) {
      const j = i + Math.floor(random() * (rest.length - i));
      [rest[i], rest[j]] = [rest[j], rest[i]];
    }
    const asked = rest.slice(0, JOIN_FANOUT);
    if (this.#self !== 1) asked.push(1);
    return asked.sort((a, b) => a - b);
  }
}
