/**
 * The socket transport of the runtime at hand: Deno's own sockets under
 * Deno, `node:net` and `node:dgram` under Node.
 *
 * @module
 */

import { denoNet } from "./deno.ts";
import { nodeNet } from "./node.ts";
import { SocketTransport, type SocketTransportOptions } from "./sockets.ts";
import type { Transport } from "./transport.ts";

export type { SocketTransportOptions } from "./sockets.ts";

/**
 * A TCP and UDP transport for this runtime.
 *
 * @example
 * ```ts
 * import { socketTransport } from "./socket_transport.ts";
 * const transport = socketTransport();
 * const strict = socketTransport({ maxFrameBytes: 16_384 });
 * ```
 */
export function socketTransport(options?: SocketTransportOptions): Transport {
  return new SocketTransport("Deno" in globalThis ? denoNet : nodeNet, options);
}
