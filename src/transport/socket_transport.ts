/**
 * The socket transport of the runtime at hand: Deno's own sockets under
 * Deno, `node:net` and `node:dgram` under Node.
 *
 * @module
 */

import { denoNet } from "./deno.ts";
import { type NetAdapter, SocketTransport, type SocketTransportOptions } from "./sockets.ts";
import { onDeno, type Transport } from "./transport.ts";

/**
 * Node's adapter, loaded when first used: under Deno, `node:net` and
 * `node:dgram` would add several MiB to every peer process for nothing.
 */
const nodeNet: NetAdapter = {
  listenStream: async (local, onConnection) =>
    await (await import("./node.ts")).nodeNet.listenStream(local, onConnection),
  connectStream: async (to) => await (await import("./node.ts")).nodeNet.connectStream(to),
  bindDatagram: async (local, onDatagram) =>
    await (await import("./node.ts")).nodeNet.bindDatagram(local, onDatagram),
};

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
  return new SocketTransport(onDeno() ? denoNet : nodeNet, options);
}
