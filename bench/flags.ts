/**
 * The benches' flag helpers.
 *
 * @module
 */

/**
 * `text` as a positive whole number, for flag `--name`; throws with one line otherwise.
 *
 * @example
 * ```ts
 * import { positive } from "./flags.ts";
 * positive("sizes", "16"); // 16
 * ```
 */
export function positive(name: string, text: string): number {
  const x = Number(text);
  if (!Number.isInteger(x) || x < 1) throw new Error(`--${name} wants a positive whole number, not ${text}`);
  return x;
}
