/**
 * The socket transport of the runtime at hand: Deno's own sockets under
 * Deno, `node:net` and `node:dgram` under Node.
 *
 * @module
 */

import { denoNet } from "./deno.ts";
import { nodeNet } from "./node.ts";
import { SocketTransport } from "./sockets.ts";
import type { Transport } from "./transport.ts";

/**
 * A TCP and UDP transport for this runtime.
 *
 * @example
 * ```ts
 * import { socketTransport } from "./socket_transport.ts";
 * const transport = socketTransport();
 * ```
 */
export function socketTransport(): Transport {
  return new SocketTransport("Deno" in globalThis ? denoNet : nodeNet);
}
