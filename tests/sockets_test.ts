import assert from "node:assert/strict";
import type { HostAddress } from "../src/core/hostsfile.ts";
import { denoNet } from "../src/transport/deno.ts";
import { nodeNet } from "../src/transport/node.ts";
import { type NetAdapter, SocketTransport, type SocketTransportOptions } from "../src/transport/sockets.ts";
import type { Packet } from "../src/transport/transport.ts";
import { freePorts } from "./support/cluster.ts";
import { leakFree } from "./support/leak_free.ts";

const encode = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** A transport on loopback that records what it receives. */
class Endpoint {
  readonly streams: Packet[] = [];
  readonly datagrams: Packet[] = [];
  readonly diagnostics: string[] = [];
  readonly transport: SocketTransport;
  #waiters: (() => void)[] = [];

  constructor(net: NetAdapter, readonly address: HostAddress, options?: SocketTransportOptions) {
    this.transport = new SocketTransport(net, options);
  }

  listen(): Promise<void> {
    const record = (list: unknown[]) => (item: unknown) => {
      list.push(item);
      for (const w of this.#waiters.splice(0)) w();
    };
    return this.transport.listen(this.address, {
      onStream: record(this.streams),
      onDatagram: record(this.datagrams),
      onDiagnostic: record(this.diagnostics),
    });
  }

  /** Resolves once `done()` holds; fails after a few seconds rather than hang. */
  async until(done: () => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!done()) {
      assert.ok(Date.now() < deadline, "timed out");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, 50);
      });
      clearTimeout(timer);
    }
  }
}

async function pair(net: NetAdapter, options?: SocketTransportOptions): Promise<[Endpoint, Endpoint]> {
  const [pa, pb] = freePorts(2);
  const a = new Endpoint(net, { hostname: "127.0.0.1", port: pa });
  const b = new Endpoint(net, { hostname: "127.0.0.1", port: pb }, options);
  await a.listen();
  await b.listen();
  return [a, b];
}

function checkPacket(p: Packet | undefined, text: string): Packet {
  assert.ok(p);
  assert.equal(decode(p.bytes), text);
  assert.equal(typeof p.receivedAt, "number");
  assert.ok(Number.isFinite(p.receivedAt));
  return p;
}

for (const [name, net] of [["Deno", denoNet], ["Node", nodeNet]] as const) {
  leakFree(`${name} sockets: stream messages and datagrams each way, with sender and time`, async () => {
    const [a, b] = await pair(net);
    try {
      a.transport.sendStream(b.address, encode("stream a→b €"));
      a.transport.sendDatagram(b.address, encode("datagram a→b"));
      b.transport.sendStream(a.address, encode("stream b→a"));
      b.transport.sendDatagram(a.address, encode("datagram b→a"));
      await a.until(() => a.streams.length >= 1 && a.datagrams.length >= 1);
      await b.until(() => b.streams.length >= 1 && b.datagrams.length >= 1);

      const ab = checkPacket(b.streams[0], "stream a→b €");
      const ba = checkPacket(a.streams[0], "stream b→a");
      // A stream's sender is the remote end of the connection: the right host, some ephemeral port.
      for (const p of [ab, ba]) {
        assert.match(p.from.hostname, /127\.0\.0\.1$/); // Node may say ::ffff:127.0.0.1
        assert.ok(p.from.port > 0);
      }
      // A datagram's sender is the socket it came from: the peer's own bound port.
      assert.deepEqual(checkPacket(b.datagrams[0], "datagram a→b").from, a.address);
      assert.deepEqual(checkPacket(a.datagrams[0], "datagram b→a").from, b.address);
      assert.deepEqual(a.diagnostics, []);
      assert.deepEqual(b.diagnostics, []);
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  });
}

leakFree("Deno sockets: many stream messages arrive in order, exact bytes, over one connection", async () => {
  const [a, b] = await pair(denoNet);
  try {
    const sent = Array.from({ length: 200 }, (_, i) => encode(`message ${i} ${"€".repeat(i % 7)}`));
    for (const m of sent) a.transport.sendStream(b.address, m);
    await a.transport.flush();
    await b.until(() => b.streams.length >= sent.length);
    assert.deepEqual(b.streams.map((p) => p.bytes), sent);
    assert.equal(new Set(b.streams.map((p) => p.from.port)).size, 1);
  } finally {
    await a.transport.close();
    await b.transport.close();
  }
});

leakFree(
  "Deno sockets: a frame over maxFrameBytes is dropped with a diagnostic; the next one arrives",
  async () => {
    const [a, b] = await pair(denoNet, { maxFrameBytes: 8 });
    try {
      a.transport.sendStream(b.address, encode("0123456789"));
      a.transport.sendStream(b.address, encode("ok"));
      await b.until(() => b.streams.length >= 1);
      assert.deepEqual(b.streams.map((p) => decode(p.bytes)), ["ok"]);
      assert.equal(b.diagnostics.length, 1);
      assert.match(b.diagnostics[0], /dropped 1 over-long frame/);
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  },
);

leakFree("Deno sockets: the sender may reuse its buffer right after sending", async () => {
  const [a, b] = await pair(denoNet);
  try {
    const buffer = encode("original");
    a.transport.sendStream(b.address, buffer);
    a.transport.sendDatagram(b.address, buffer);
    buffer.fill(0x21);
    await b.until(() => b.streams.length >= 1 && b.datagrams.length >= 1);
    assert.equal(decode(b.streams[0].bytes), "original");
    assert.equal(decode(b.datagrams[0].bytes), "original");
  } finally {
    await a.transport.close();
    await b.transport.close();
  }
});
