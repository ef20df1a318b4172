// The address a peer binds by default (`anyAddress` in src/runtime/peer.ts):
// its own hosts entry when that is a loopback address, all interfaces
// otherwise. Seen from outside: with the peer bound to 127.0.0.1:P, the port P
// of 127.0.0.2 is still free; bound to 0.0.0.0:P, it is taken.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type HostAddress, startPeer } from "../mod.ts";
import { freePorts, IPV6_LOOPBACK } from "./support/cluster.ts";

/** Whether `hostname:port` can be bound now, for TCP and for UDP. */
function free(hostname: string, port: number): { tcp: boolean; udp: boolean } {
  const attempt = (open: () => { close(): void }) => {
    try {
      open().close();
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) return false;
      throw e;
    }
  };
  return {
    tcp: attempt(() => Deno.listen({ hostname, port, transport: "tcp" })),
    udp: attempt(() => Deno.listenDatagram({ hostname, port, transport: "udp" })),
  };
}

async function withPeer(own: HostAddress, check: () => void | Promise<void>): Promise<void> {
  const peer = await startPeer({ hosts: [own], id: 1, heartbeatMs: 50 });
  try {
    await peer.waitForView((v) => v.members.includes(1));
    await check();
  } finally {
    await peer.stop();
  }
}

const ipv6 = IPV6_LOOPBACK;

test("a peer whose own entry is 127.0.0.1 binds 127.0.0.1 only", async () => {
  const [port] = freePorts(1);
  await withPeer({ hostname: "127.0.0.1", port }, async () => {
    assert.deepEqual(free("127.0.0.1", port), { tcp: false, udp: false }, "the peer holds 127.0.0.1");
    assert.deepEqual(free("127.0.0.2", port), { tcp: true, udp: true }, "but not the other addresses");
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
  });
});

test("any address of 127.0.0.0/8 and localhost are loopback too", async () => {
  for (const hostname of ["127.0.0.2", "localhost"]) {
    const [port] = freePorts(1);
    const other = hostname === "127.0.0.2" ? "127.0.0.1" : "127.0.0.2";
    await withPeer({ hostname, port }, () => {
      assert.deepEqual(free(other, port), { tcp: true, udp: true }, `${hostname}: ${other} is free`);
    });
  }
});

test("a peer whose own entry is ::1 binds ::1 only", { skip: !ipv6 && "no IPv6 loopback" }, async () => {
  const [port] = freePorts(1);
  await withPeer({ hostname: "::1", port }, () => {
    assert.deepEqual(free("::1", port), { tcp: false, udp: false }, "the peer holds ::1");
    assert.deepEqual(free("127.0.0.1", port), { tcp: true, udp: true }, "but not 127.0.0.1");
  });
});

test("a peer whose own entry is not loopback binds all interfaces", async () => {
  const [port] = freePorts(1);
  // 192.0.2.1 (TEST-NET-1) is nobody's address; a group of one never sends to it.
  await withPeer({ hostname: "192.0.2.1", port }, () => {
    assert.deepEqual(free("127.0.0.2", port), { tcp: false, udp: false }, "0.0.0.0 covers 127.0.0.2");
  });
});
