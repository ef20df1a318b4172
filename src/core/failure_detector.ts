/**
 * The failure detector: when each member of the view was last heard from,
 * directly or through another member's heartbeat (SWIM's indirect evidence:
 * one lossy or broken link alone never makes a live member unreachable),
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
  /** When each member was last heard from directly. */
  readonly #heardAt = new Map<PeerId, number>();
  /** When each member was last heard from by anyone (this peer, or a member that said so). */
  readonly #evidenceAt = new Map<PeerId, number>();
  /** Since when this peer watches each member it started watching within the view. */
  readonly #watchedSince = new Map<PeerId, number>();
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
    for (const [m, t] of this.#evidenceAt) this.#evidenceAt.set(m, t + late);
    for (const [m, t] of this.#watchedSince) this.#watchedSince.set(m, t + late);
    return late;
  }

  /** The view changed: members whose run changed are watched afresh, new members from now. */
  watch(previous: View | null, view: View, now: number): void {
    for (const m of [...this.#heardAt.keys()]) {
      if (incarnationIn(view, m) !== (previous && incarnationIn(previous, m))) {
        this.#heardAt.delete(m);
        this.#evidenceAt.delete(m);
        this.#watchedSince.delete(m);
        this.#suspected.delete(m);
      }
    }
    for (const m of view.members) {
      if (!this.#heardAt.has(m)) {
        this.#heardAt.set(m, now);
        this.#evidenceAt.set(m, now);
        // A member just added may install the view later than this peer (its NEWVIEW
        // waits on a lossy network's TCP retransmission), and it heartbeats only once it
        // has: one more timeout of grace, so that a slow join is not a failure.
        if (previous) this.#watchedSince.set(m, now + this.#timeoutMs);
      }
    }
  }

  /**
   * This peer starts watching `member` (its role or the observer layout
   * changed): silence before now is not held against it.
   */
  startWatching(member: PeerId, now: number): void {
    this.#watchedSince.set(member, Math.max(now, this.#watchedSince.get(member) ?? -Infinity));
  }

  /** When `member`'s silence starts to count: its last news, or when watching began. */
  #countsFrom(member: PeerId, news: Map<PeerId, number>, now: number): number {
    return Math.max(news.get(member) ?? now, this.#watchedSince.get(member) ?? -Infinity);
  }

  /** `member` was heard from; returns true if it was held unreachable until now. */
  heard(member: PeerId, now: number): boolean {
    this.#heardAt.set(member, now);
    return this.heardOf(member, now);
  }

  /**
   * `member` was heard at `at` (by another member, or by this peer when `at`
   * is now); returns true if it was held unreachable until now. News older
   * than the timeout is kept but clears nobody.
   */
  heardOf(member: PeerId, at: number, now = at): boolean {
    if (at <= (this.#evidenceAt.get(member) ?? -Infinity)) return false;
    this.#evidenceAt.set(member, at);
    return now - at <= this.#timeoutMs && this.#suspected.delete(member);
  }

  /**
   * How long ago, in ms, each of `members` was last heard from directly: what
   * a heartbeat tells the peers it goes to.
   */
  ages(members: readonly PeerId[], now: number): [PeerId, number][] {
    const ages: [PeerId, number][] = [];
    for (const m of members) {
      const at = this.#heardAt.get(m);
      if (at !== undefined) ages.push([m, Math.max(0, Math.round(now - at))]);
    }
    return ages;
  }

  /**
   * Members not heard from directly within the timeout: a leader does not wait
   * for their OK (they may be alive, vouched for by others, behind a bad link).
   */
  silent(members: readonly PeerId[], now: number): Set<PeerId> {
    return new Set(members.filter((m) => now - this.#countsFrom(m, this.#heardAt, now) > this.#timeoutMs));
  }

  /** When `member` was last heard from (stalls aside), if it is watched. */
  lastHeard(member: PeerId): number | undefined {
    return this.#heardAt.get(member);
  }

  /** Whether anyone heard `member` within the timeout. */
  vouchedFor(member: PeerId, now: number): boolean {
    return now - (this.#evidenceAt.get(member) ?? -Infinity) <= this.#timeoutMs;
  }

  /** Those of `members` not held unreachable that nobody has heard within the timeout. */
  expired(members: readonly PeerId[], now: number): PeerId[] {
    return members.filter((m) =>
      !this.#suspected.has(m) && now - this.#countsFrom(m, this.#evidenceAt, now) > this.#timeoutMs
    );
  }

  /** Holds `member` unreachable. */
  suspect(member: PeerId): void {
    this.#suspected.add(member);
  }

  /** No longer holds `member` unreachable (this peer stopped watching it). */
  unsuspect(member: PeerId): void {
    this.#suspected.delete(member);
  }

  /** Forgets everything (this peer left the view). */
  clear(): void {
    this.#heardAt.clear();
    this.#evidenceAt.clear();
    this.#watchedSince.clear();
    this.#suspected.clear();
  }
}
