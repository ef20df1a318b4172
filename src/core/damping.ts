/**
 * Flap damping: a member removed as unreachable while it was alive (it asks to
 * join again as the same run) is re-admitted only once it proves healthy,
 * not at its first JOIN that gets through.
 *
 * The proof is Rapid's high watermark over a window, measured where it
 * matters: the joiner sends its leader a `JOIN` datagram marked `probation`
 * every heartbeat interval, and the leader admits it once, over the last
 * probation window, at least {@linkcode PROBATION_WATERMARK} of the
 * datagrams it should have sent arrived. A peer that loses most of what it
 * sends (the flaky peer of serf's flapping reports) never reaches it, however
 * many of its JOINs TCP carries through; a healthy one reaches it one window
 * after it recovered. The window is {@linkcode PROBATION_BASE_TIMEOUTS}
 * failure timeouts, doubled for each earlier removal of the same peer
 * (at most {@linkcode PROBATION_MAX_DOUBLINGS} times), and removals decay:
 * one is forgotten every {@linkcode PENALTY_DECAY_MS} ms. Every member keeps
 * the record from the views it installs, so a new leader knows it too. A
 * restart is no flap: a new run is admitted at once, and so is a run back on
 * its data dir that was removed soon after it came back (its `JOIN` says
 * `restarted`): that removal was proposed while it was down.
 *
 * @module
 */

import type { PeerId } from "./messages.ts";

/** The share of probation datagrams that must arrive over the window. */
export const PROBATION_WATERMARK = 0.8;
/** The probation window after one removal, in failure timeouts. */
export const PROBATION_BASE_TIMEOUTS = 2;
/** How many times the window doubles for repeated removals. */
export const PROBATION_MAX_DOUBLINGS = 3;
/** One removal is forgotten every this many ms. */
export const PENALTY_DECAY_MS = 120_000;
/**
 * A run back on its data dir that is removed within this many failure
 * timeouts of coming back counts the removal as decided while it was down
 * (its `JOIN`s say `restarted`): removals of several members proposed while
 * they were down commit one view change at a time once their voters are back,
 * well within this, while a flaky peer is found unreachable only after a
 * whole timeout of loss, and then waits for a view change.
 */
export const RESTART_GRACE_TIMEOUTS = 2;

/** A peer on probation, as its leader sees it. */
export interface Probation {
  /** The peer. */
  readonly peer: PeerId;
  /** Its run that was removed. */
  readonly run: number;
  /** Its removals while alive that still count. */
  readonly removals: number;
  /** The window over which it must prove its health, in ms. */
  readonly windowMs: number;
  /** Its probation datagrams that arrived within the window (the watermark asks 80 % of one an interval). */
  readonly arrived: number;
}

/** What is known of one peer's removals while alive. */
interface Penalty {
  /** The run that was removed. */
  run: number;
  /** Removals, decayed to `at`. */
  count: number;
  /** When the count was last brought up to date. */
  at: number;
  /** When each probation datagram of that run arrived, oldest first, within the window. */
  arrivals: number[];
  /** When the first probation datagram of this probation arrived. */
  since: number | null;
}

/**
 * The removals of live peers, and their probation.
 *
 * @example
 * ```ts
 * import { Damping } from "./damping.ts";
 * const damping = new Damping(200, 1_000);
 * damping.removed(3, 30, 0);
 * damping.admits(3, 30, 100); // false: on probation
 * for (let t = 100; t <= 2_100; t += 200) damping.arrived(3, 30, t);
 * damping.admits(3, 30, 2_100); // true: 11 of 10 expected over 2 s
 * ```
 */
export class Damping {
  readonly #heartbeatMs: number;
  readonly #timeoutMs: number;
  readonly #penalties = new Map<PeerId, Penalty>();

  /** Damping for a group of this heartbeat interval and failure timeout. */
  constructor(heartbeatMs: number, timeoutMs: number) {
    this.#heartbeatMs = heartbeatMs;
    this.#timeoutMs = timeoutMs;
  }

  /** `peer`, as run `run`, was removed from the view at `now` without leaving. */
  removed(peer: PeerId, run: number, now: number): void {
    const p = this.#current(peer, run, now);
    this.#penalties.set(peer, { run, count: (p?.count ?? 0) + 1, at: now, arrivals: [], since: null });
  }

  /**
   * `peer` as run `run` was removed while it was down, and came back on its
   * data dir: no flap, so its record goes, as for a new run, and it is
   * admitted at once. Returns whether there was a record.
   */
  forgive(peer: PeerId, run: number, now: number): boolean {
    if (!this.#current(peer, run, now)) return false;
    this.#penalties.delete(peer);
    return true;
  }

  /** The removals of `peer` as run `run` that still count at `now` (0: none, or another run). */
  removals(peer: PeerId, run: number, now: number): number {
    return this.#current(peer, run, now)?.count ?? 0;
  }

  /** The probation window of `peer` as run `run` at `now`, in ms (0: none). */
  windowMs(peer: PeerId, run: number, now: number): number {
    return this.#window(this.removals(peer, run, now));
  }

  /** Each peer on probation at `now`: its removals, window, and the datagrams that arrived in it. */
  probations(now: number): Probation[] {
    return [...this.#penalties.keys()].flatMap((peer) => {
      const p = this.#current(peer, this.#penalties.get(peer)!.run, now);
      if (!p) return [];
      this.#prune(p, now);
      return [{
        peer,
        run: p.run,
        removals: p.count,
        windowMs: this.#window(p.count),
        arrived: p.arrivals.length,
      }];
    });
  }

  /** The window after `count` removals (0: none). */
  #window(count: number): number {
    if (count === 0) return 0;
    return PROBATION_BASE_TIMEOUTS * this.#timeoutMs * 2 ** Math.min(count - 1, PROBATION_MAX_DOUBLINGS);
  }

  /** A probation datagram of `peer` as run `run` arrived at `now`. */
  arrived(peer: PeerId, run: number, now: number): void {
    const p = this.#current(peer, run, now);
    if (!p) return;
    p.since ??= now;
    p.arrivals.push(now);
    this.#prune(p, now);
  }

  /**
   * Whether `peer` as run `run` may be admitted at `now`: it is on no
   * probation, or it has been on probation for a whole window and at least
   * the watermark of the datagrams it should have sent over that window
   * arrived.
   */
  admits(peer: PeerId, run: number, now: number): boolean {
    const window = this.windowMs(peer, run, now);
    if (window === 0) return true;
    const p = this.#penalties.get(peer)!;
    this.#prune(p, now);
    if (p.since === null || now - p.since < window) return false;
    return p.arrivals.length >= PROBATION_WATERMARK * (window / this.#heartbeatMs);
  }

  /** `peer`'s penalty if it is for run `run`, its count decayed to `now`; else none. */
  #current(peer: PeerId, run: number, now: number): Penalty | undefined {
    const p = this.#penalties.get(peer);
    if (!p || p.run !== run) return undefined;
    const forgotten = Math.floor((now - p.at) / PENALTY_DECAY_MS);
    if (forgotten > 0) {
      p.count = Math.max(0, p.count - forgotten);
      p.at += forgotten * PENALTY_DECAY_MS;
    }
    if (p.count === 0) {
      this.#penalties.delete(peer);
      return undefined;
    }
    return p;
  }

  /** Drops arrivals older than the window. */
  #prune(p: Penalty, now: number): void {
    const window = this.#window(p.count);
    while (p.arrivals.length > 0 && now - p.arrivals[0] > window) p.arrivals.shift();
  }
}
