/**
 * Seeded randomness for tests and the simulator, so that a seed replays exactly.
 *
 * @module
 */

/**
 * mulberry32: a tiny, fast 32-bit PRNG, good enough for fault schedules.
 * Returns numbers in [0, 1).
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./prng.ts";
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
