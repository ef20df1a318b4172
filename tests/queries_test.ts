// Queries in the library (src/runtime/queries.ts through Peer.query and Peer.onQuery), over
// in-process peers on the in-memory network: answers as they come, who was asked and who did not
// answer, ping, handlers and their errors, bad input, and nothing left running after stop().
import assert from "node:assert/strict";
import {
  type HostAddress,
  MAX_QUERY_PAYLOAD_BYTES,
  MemoryNetwork,
  type Peer,
  type QueryAnswer,
  startPeer,
} from "../mod.ts";
import { leakFree } from "./support/leak_free.ts";

interface Group {
  net: MemoryNetwork;
  hosts: HostAddress[];
  peers: Peer[];
  stop(): Promise<void>;
}

async function startGroup(n: number): Promise<Group> {
  const net = new MemoryNetwork();
  const hosts = Array.from({ length: n }, (_, i) => ({ hostname: "127.0.0.1", port: 7701 + i }));
  const peers: Peer[] = [];
  const stop = async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await net.close();
  };
  try {
    for (let id = 1; id <= n; id++) {
      peers.push(await startPeer({ hosts, id, heartbeatMs: 20, failAfter: 3, transport: net.transport() }));
    }
    const signal = AbortSignal.timeout(10_000);
    await Promise.all(peers.map((p) => p.waitForView((v) => v.members.length === n, signal)));
  } catch (e) {
    await stop();
    throw e;
  }
  return { net, hosts, peers, stop };
}

leakFree("ping: every member answers with its id; the asker's own answer comes too", async () => {
  const group = await startGroup(3);
  try {
    const q = group.peers[1].query("ping", "", { timeoutMs: 5_000 });
    assert.deepEqual(q.asked, [1, 2, 3]);
    const seen: QueryAnswer[] = [];
    for await (const a of q) seen.push(a);
    const result = await q.done;
    assert.deepEqual(seen.map((a) => a.from).sort(), [1, 2, 3]);
    for (const a of seen) {
      assert.equal(a.text, `pong from peer ${a.from}`);
      assert.equal(a.error, null);
      assert.ok(a.ms >= 0 && a.ms < 5_000);
    }
    assert.deepEqual(result.answered, [1, 2, 3]);
    assert.deepEqual(result.missing, []);
    assert.ok(result.elapsedMs < 5_000, "it ends as soon as every member answered");
    assert.equal(result.viewId, group.peers[1].view!.id);
  } finally {
    await group.stop();
  }
});

leakFree(
  "a handler answers; a peer without one answers with an error; a crashed one is missing",
  async () => {
    const group = await startGroup(3);
    try {
      const offs = group.peers.slice(0, 2).map((p) =>
        p.onQuery("echo", async ({ text, from }) => {
          await new Promise((r) => setTimeout(r, 5));
          return `${p.id} heard '${text}' from ${from}`;
        })
      );
      const q = group.peers[0].query("echo", "hi", { timeoutMs: 5_000 });
      const r = await q.done;
      const byPeer = new Map(r.answers.map((a) => [a.from, a]));
      assert.equal(byPeer.get(1)?.text, "1 heard 'hi' from 1");
      assert.equal(byPeer.get(2)?.text, "2 heard 'hi' from 1");
      assert.equal(byPeer.get(3)?.error, 'no handler for query "echo"');
      assert.equal(byPeer.get(3)?.payload.length, 0);

      offs[1](); // unsubscribed: peer 2 has no handler now
      group.peers[0].onQuery("boom", () => {
        throw new Error("disk on fire");
      });
      const boom = await group.peers[0].query("boom", "", { timeoutMs: 5_000 }).done;
      assert.equal(boom.answers.find((a) => a.from === 1)?.error, "handler failed: disk on fire");
      const echo2 = await group.peers[0].query("echo", "", { timeoutMs: 5_000 }).done;
      assert.equal(echo2.answers.find((a) => a.from === 2)?.error, 'no handler for query "echo"');

      // Peer 3 crashes: asked (still in the view), it never answers, and the query ends at its timeout.
      group.net.crash("127.0.0.1:7703");
      await group.peers[2].stop();
      const started = performance.now();
      const ping = await group.peers[0].query("ping", "", { timeoutMs: 300 }).done;
      assert.deepEqual(ping.asked, [1, 2, 3]);
      assert.deepEqual(ping.answered, [1, 2]);
      assert.deepEqual(ping.missing, [3]);
      assert.ok(performance.now() - started >= 290, "it waited for the timeout");
      offs[0]();
    } finally {
      await group.stop();
    }
  },
);

leakFree("bytes in, bytes out: a 64 KiB payload and answer", async () => {
  const group = await startGroup(2);
  try {
    const big = new Uint8Array(MAX_QUERY_PAYLOAD_BYTES).map((_, i) => i % 251);
    group.peers[1].onQuery("reverse", ({ payload }) => payload.slice().reverse());
    const r = await group.peers[0].query("reverse", big, { timeoutMs: 5_000 }).done;
    const two = r.answers.find((a) => a.from === 2)!;
    assert.deepEqual(two.payload, big.slice().reverse());
    // An answer over the limit goes as an error.
    group.peers[1].onQuery("huge", () => new Uint8Array(MAX_QUERY_PAYLOAD_BYTES + 1));
    const h = await group.peers[0].query("huge", "", { timeoutMs: 5_000 }).done;
    assert.match(h.answers.find((a) => a.from === 2)!.error!, /answer of 65537 bytes is over the limit/);
  } finally {
    await group.stop();
  }
});

leakFree("bad input: an oversize payload, a bad name or timeout, no group yet, ping taken", async () => {
  const group = await startGroup(1);
  const net = new MemoryNetwork();
  const hosts = [{ hostname: "127.0.0.1", port: 7711 }, { hostname: "127.0.0.1", port: 7712 }];
  const alone = await startPeer({ hosts, id: 2, heartbeatMs: 20, transport: net.transport() });
  try {
    const p = group.peers[0];
    assert.throws(() => p.query("x", new Uint8Array(MAX_QUERY_PAYLOAD_BYTES + 1)), RangeError);
    assert.throws(() => p.query("x", "a".repeat(MAX_QUERY_PAYLOAD_BYTES + 1)), /at most 65536 bytes/);
    assert.throws(() => p.query("no spaces", ""), TypeError);
    assert.throws(() => p.query("", ""), TypeError);
    assert.throws(() => p.query("x", "", { timeoutMs: 0 }), RangeError);
    assert.throws(() => p.onQuery("ping", () => ""), /ping is built in/);
    assert.throws(() => alone.query("ping"), /peer 2 is not in a group yet/);
  } finally {
    await alone.stop();
    await net.close();
    await group.stop();
  }
});

leakFree(
  "stop() ends a query under way and aborts a running handler; query() after stop throws",
  async () => {
    const group = await startGroup(2);
    let aborted = false;
    group.peers[1].onQuery(
      "slow",
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(signal.reason);
          })
        ),
    );
    const q = group.peers[0].query("slow", "", { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100));
    await group.stop();
    const r = await q.done;
    assert.deepEqual(r.missing, [1, 2].filter((m) => !r.answered.includes(m)));
    assert.ok(r.missing.includes(2));
    assert.ok(aborted, "peer 2's handler was aborted");
    assert.throws(() => group.peers[0].query("ping"), /stopped/);
  },
);
