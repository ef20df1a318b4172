/**
 * Test support: a test that fails if a socket, timer or op outlives it.
 *
 * @module
 */

/**
 * Registers `fn` as a Deno test with the ops and resources sanitizers on:
 * they are off by default in this Deno, and `node:test` tests get none, so a
 * test that claims "nothing is left running" must use this.
 *
 * @example
 * ```ts
 * import { leakFree } from "./leak_free.ts";
 * leakFree("close() leaves nothing running", async () => {});
 * ```
 */
export function leakFree(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeOps: true, sanitizeResources: true, fn });
}
