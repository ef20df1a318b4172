/**
 * Which runtime this is: the one place the library asks, so that the socket
 * transport and the status server pick their adapter the same way.
 *
 * @module
 */

/**
 * Whether this runs under Deno (else Node).
 *
 * @example
 * ```ts
 * import { onDeno } from "./runtime_kind.ts";
 * console.log(onDeno() ? "Deno" : "Node");
 * ```
 */
export function onDeno(): boolean {
  return "Deno" in globalThis;
}
