/**
 * The Deno runtime's sockets (`Deno.listen`, `Deno.connect`, and
 * `Deno.listenDatagram`, which needs `--unstable-net`).
 *
 * @module
 */

import type { HostAddress } from "../core/hostsfile.ts";
import type { ByteConnection, NetAdapter } from "./sockets.ts";
import { AddressInUseError } from "./transport.ts";

/** The largest UDP payload (over IPv4): a datagram never needs more room. */
const MAX_DATAGRAM_BYTES = 65_507;

/** A TCP or UDP address as a {@linkcode HostAddress}. */
function host(addr: Deno.Addr): HostAddress {
  const { hostname, port } = addr as Deno.NetAddr;
  return { hostname, port };
}

/** Bytes a connection reads at a time: more than a heartbeat-sized group's messages need at once. */
const READ_CHUNK_BYTES = 4_096;

/**
 * What a connection receives, read into one small buffer of its own (each chunk is only valid
 * until the next is asked for, which is how the transport uses them: framing copies what it
 * keeps). `conn.readable` would keep a fresh 64 KiB buffer in every pending read, and a peer keeps
 * a connection open to and from each member it has exchanged view changes with.
 */
async function* readChunks(conn: Deno.Conn): AsyncGenerator<Uint8Array> {
  const buffer = new Uint8Array(READ_CHUNK_BYTES);
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) return;
    yield buffer.subarray(0, n);
  }
}

function wrap(conn: Deno.Conn): ByteConnection {
  return {
    remote: host(conn.remoteAddr),
    readable: readChunks(conn),
    async write(data) {
      for (let n = 0; n < data.length;) n += await conn.write(data.subarray(n));
    },
    close() {
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  };
}

async function bind<T>(local: HostAddress, open: () => T): Promise<T> {
  try {
    return await open();
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new AddressInUseError(`port ${local.port} is in use`);
    }
    throw e;
  }
}

/**
 * Deno's TCP and UDP, for {@linkcode SocketTransport}.
 *
 * @example
 * ```ts
 * import { denoNet } from "./deno.ts";
 * import { SocketTransport } from "./sockets.ts";
 * const transport = new SocketTransport(denoNet);
 * ```
 */
export const denoNet: NetAdapter = {
  async listenStream(local, onConnection) {
    const listener = await bind(local, () => Deno.listen({ ...local, transport: "tcp" }));
    const accepting = (async () => {
      try {
        for await (const conn of listener) onConnection(wrap(conn));
      } catch { /* closed */ }
    })();
    return {
      async close() {
        try {
          listener.close();
        } catch { /* already closed */ }
        await accepting;
      },
    };
  },
  async connectStream(to) {
    const conn = await Deno.connect({ ...to, transport: "tcp" });
    conn.setNoDelay(true);
    return wrap(conn);
  },
  async bindDatagram(local, onDatagram) {
    const socket = await bind(local, () => Deno.listenDatagram({ ...local, transport: "udp" }));
    const receiving = (async () => {
      // One receive buffer, the datagram copied out at its size: left to itself, Deno allocates a
      // fresh zeroed 64 KiB buffer for every datagram, which at a heartbeat from every member made
      // memory and CPU grow with the group.
      const buffer = new Uint8Array(MAX_DATAGRAM_BYTES);
      try {
        while (true) {
          const [data, from] = await socket.receive(buffer);
          onDatagram(data.slice(), host(from));
        }
      } catch { /* closed */ }
    })();
    return {
      async send(to, data) {
        await socket.send(data, { ...to, transport: "udp" });
      },
      async close() {
        try {
          socket.close();
        } catch { /* already closed */ }
        await receiving;
      },
    };
  },
};
