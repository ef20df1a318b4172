/**
 * The simulator's time and randomness: a virtual clock that runs scheduled
 * tasks in time order (ties in scheduling order) without any real timer, and
 * a small seeded PRNG, so that a seed replays exactly.
 *
 * @module
 */

import type { Scheduler } from "../../src/transport/memory.ts";

interface Task {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

/** True if task `a` runs before task `b`: earlier time, then earlier scheduling. */
function before(a: Task, b: Task): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * A virtual clock: a binary heap of tasks ordered by (time, insertion
 * sequence). Time only moves when {@linkcode VirtualClock.runNext} runs a task.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "./virtual_clock.ts";
 * const clock = new VirtualClock();
 * clock.schedule(10, () => console.log("at", clock.now())); // prints "at 10"
 * while (clock.runNext(Infinity));
 * ```
 */
export class VirtualClock implements Scheduler {
  #now = 0;
  #seq = 0;
  readonly #heap: Task[] = [];

  /** The virtual time in ms. */
  now(): number {
    return this.#now;
  }

  /** Schedules `task` `delayMs` from now (negative delays count as 0). */
  schedule(delayMs: number, task: () => void): () => void {
    const t: Task = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, run: task, cancelled: false };
    this.#push(t);
    return () => {
      t.cancelled = true;
    };
  }

  /** The time of the next live task, or Infinity if there is none. */
  nextAt(): number {
    this.#dropCancelled();
    return this.#heap.length > 0 ? this.#heap[0].at : Infinity;
  }

  /**
   * Runs the next task if it is due at or before `until`, moving the clock to
   * its time. Returns false (and leaves time alone) if there is none.
   */
  runNext(until: number): boolean {
    this.#dropCancelled();
    const next = this.#heap[0];
    if (!next || next.at > until) return false;
    this.#pop();
    this.#now = next.at;
    next.run();
    return true;
  }

  /** Moves the clock forward to `time` (never back) without running anything. */
  advanceTo(time: number): void {
    this.#now = Math.max(this.#now, time);
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0].cancelled) this.#pop();
  }

  #push(t: Task): void {
    const heap = this.#heap;
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  #pop(): Task {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < heap.length && before(heap[l], heap[min])) min = l;
        if (r < heap.length && before(heap[r], heap[min])) min = r;
        if (min === i) break;
        [heap[i], heap[min]] = [heap[min], heap[i]];
        i = min;
      }
    }
    return top;
  }
}

/**
 * mulberry32: a tiny, fast 32-bit PRNG, good enough for fault schedules.
 * Returns numbers in [0, 1).
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./virtual_clock.ts";
 * const random = mulberry32(42);
 * random() === mulberry32(42)(); // true
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An independent stream for one purpose (`salt`) of one seed, so that using
 * more randomness in one place does not shift the others.
 */
export function streamFor(seed: number, salt: number): () => number {
  // splitmix-style mixing of the pair into one 32-bit seed
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return mulberry32(x ^ (x >>> 16));
}
