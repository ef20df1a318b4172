/**
 * Where time comes from: real timers, or a virtual clock that tests and the
 * simulator advance by hand, so a run replays exactly.
 *
 * @module
 */

/** Runs tasks later. */
export interface Scheduler {
  /** The current time in ms. */
  now(): number;
  /** Runs `task` after `delayMs`; returns a function that cancels it. */
  schedule(delayMs: number, task: () => void): () => void;
}

/**
 * A scheduler on real timers that can cancel everything it armed.
 *
 * @example
 * ```ts
 * import { RealTimeScheduler } from "./scheduler.ts";
 * const scheduler = new RealTimeScheduler();
 * scheduler.schedule(10, () => console.log("later"));
 * scheduler.cancelAll();
 * ```
 */
export class RealTimeScheduler implements Scheduler {
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  /** Milliseconds from the performance clock. */
  now(): number {
    return performance.now();
  }

  /** Arms a timer; the returned function disarms it. */
  schedule(delayMs: number, task: () => void): () => void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      task();
    }, delayMs);
    this.#timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.#timers.delete(timer);
    };
  }

  /** Disarms every timer still armed. */
  cancelAll(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

interface Task {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

/**
 * A virtual clock: tasks run in time order (ties in the order they were
 * scheduled) only when the caller advances time.
 *
 * @example
 * ```ts
 * import { VirtualScheduler } from "./scheduler.ts";
 * const clock = new VirtualScheduler();
 * clock.schedule(100, () => console.log("at", clock.now())); // at 100
 * clock.advance(1_000);
 * ```
 */
export class VirtualScheduler implements Scheduler {
  #now = 0;
  #seq = 0;
  readonly #heap: Task[] = [];

  /** Virtual time in ms. */
  now(): number {
    return this.#now;
  }

  /** Queues `task` at now + `delayMs`. */
  schedule(delayMs: number, task: () => void): () => void {
    const t: Task = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, run: task, cancelled: false };
    this.#push(t);
    return () => void (t.cancelled = true);
  }

  /** The time of the next task still armed, or Infinity if there is none. */
  nextAt(): number {
    this.#dropCancelled();
    return this.#heap.length > 0 ? this.#heap[0].at : Infinity;
  }

  /**
   * Runs the next task if it is due at or before `until`, moving the clock to
   * its time; returns false, and leaves the clock alone, if there is none.
   */
  runNext(until = Infinity): boolean {
    if (this.nextAt() > until) return false;
    const t = this.#pop();
    this.#now = t.at;
    t.run();
    return true;
  }

  /** Moves the clock forward to `time` (never back) without running anything. */
  advanceTo(time: number): void {
    this.#now = Math.max(this.#now, time);
  }

  /** Runs every task due within the next `ms`, then sets the clock there. */
  advance(ms: number): void {
    const until = this.#now + ms;
    while (this.runNext(until));
    this.advanceTo(until);
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0].cancelled) this.#pop();
  }

  // The heap moves a hole rather than swapping pairs, and compares inline:
  // the simulator pushes and pops one task per message.

  #push(t: Task): void {
    const h = this.#heap;
    let i = h.length;
    h.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const up = h[p];
      if (up.at < t.at || (up.at === t.at && up.seq < t.seq)) break;
      h[i] = up;
      i = p;
    }
    h[i] = t;
  }

  #pop(): Task {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        let child = h[l];
        if (r < n) {
          const right = h[r];
          if (right.at < child.at || (right.at === child.at && right.seq < child.seq)) {
            c = r;
            child = right;
          }
        }
        if (!(child.at < last.at || (child.at === last.at && child.seq < last.seq))) break;
        h[i] = child;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
