/**
 * Node's sockets (`node:net`, `node:dgram`).
 *
 * @module
 */

import { createSocket } from "node:dgram";
import { connect, createServer, type Socket } from "node:net";
import type { HostAddress } from "../core/hostsfile.ts";
import type { ByteConnection, NetAdapter } from "./sockets.ts";
import { AddressInUseError } from "./transport.ts";

function wrap(socket: Socket): ByteConnection {
  socket.setNoDelay(true);
  return {
    remote: { hostname: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 },
    readable: socket,
    write: (data) => new Promise((resolve, reject) => socket.write(data, (e) => e ? reject(e) : resolve())),
    close: () => void socket.destroy(),
  };
}

function inUse(local: HostAddress, e: unknown): unknown {
  return (e as { code?: string }).code === "EADDRINUSE"
    ? new AddressInUseError(`port ${local.port} is in use`)
    : e;
}

/**
 * Node's TCP and UDP, for {@linkcode SocketTransport}.
 *
 * @example
 * ```ts
 * import { nodeNet } from "./node.ts";
 * import { SocketTransport } from "./sockets.ts";
 * const transport = new SocketTransport(nodeNet);
 * ```
 */
export const nodeNet: NetAdapter = {
  listenStream(local, onConnection) {
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      onConnection(wrap(s));
    });
    return new Promise((resolve, reject) => {
      server.once("error", (e) => reject(inUse(local, e)));
      server.listen(local.port, local.hostname, () =>
        resolve({
          close: () =>
            new Promise((done) => {
              for (const s of sockets) s.destroy();
              server.close(() => done());
            }),
        }));
    });
  },
  connectStream(to) {
    return new Promise((resolve, reject) => {
      const socket = connect(to.port, to.hostname);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        socket.on("error", () => {}); // surfaces as a failed write or the end of reading
        resolve(wrap(socket));
      });
    });
  },
  bindDatagram(local, onDatagram) {
    const socket = createSocket({ type: local.hostname.includes(":") ? "udp6" : "udp4" });
    // A copy as a plain Uint8Array, not a Buffer, whose slice() would share memory.
    socket.on("message", (data, rinfo) => {
      onDatagram(new Uint8Array(data), { hostname: rinfo.address, port: rinfo.port });
    });
    return new Promise((resolve, reject) => {
      socket.once("error", (e) => reject(inUse(local, e)));
      socket.bind(local.port, local.hostname, () => {
        socket.on("error", () => {});
        resolve({
          send: (to, data) =>
            new Promise((ok, fail) => socket.send(data, to.port, to.hostname, (e) => e ? fail(e) : ok())),
          close: () => new Promise((done) => socket.close(() => done())),
        });
      });
    });
  },
};
