// Tags and user events through the library (Peer), over the in-memory network in virtual time:
// tags agreed with the view, setTags within one view change, events in one order at every member,
// none lost when the leader is stopped mid-stream, and the bad input a user can give.
import assert from "node:assert/strict";
import { test } from "node:test";
import { tagsIn } from "../src/core/view.ts";
import {
  MAX_EVENT_PAYLOAD_BYTES,
  MemoryNetwork,
  type Peer,
  type PeerEvent,
  startPeer,
  VirtualScheduler,
} from "../mod.ts";
import { mulberry32 } from "./support/prng.ts";

interface Group {
  readonly clock: VirtualScheduler;
  readonly peers: Peer[];
  /** Each peer's delivered user events, as `origin:payload`, in the order delivered. */
  readonly delivered: Map<number, string[]>;
  /** Runs virtual time until `done` holds, or `limitMs` passes. */
  run(limitMs: number, done?: () => boolean): Promise<void>;
  close(): Promise<void>;
}

async function startGroup(tags: Record<string, string>[], seed = 1): Promise<Group> {
  const clock = new VirtualScheduler();
  const net = new MemoryNetwork({
    scheduler: clock,
    random: mulberry32(seed),
    faults: { minDelayMs: 1, maxDelayMs: 10 },
  });
  const hosts = tags.map((_, i) => ({ hostname: "10.0.0.1", port: 7600 + i + 1 }));
  const delivered = new Map<number, string[]>();
  const peers = await Promise.all(tags.map((t, i) => {
    delivered.set(i + 1, []);
    return startPeer({
      hosts,
      id: i + 1,
      heartbeatMs: 100,
      incarnation: 1,
      transport: net.transport(),
      scheduler: clock,
      tags: t,
      onEvent: (e: PeerEvent) => {
        if (e.type === "event") delivered.get(i + 1)!.push(`${e.event.origin}:${e.event.payload}`);
      },
    });
  }));
  const run = async (limitMs: number, done = () => false) => {
    for (let t = 0; t < limitMs && !done(); t += 5) {
      clock.advance(5);
      for (let i = 0; i < 4; i++) await Promise.resolve();
    }
  };
  const close = async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await net.close();
  };
  return { clock, peers, delivered, run, close };
}

const allIn = (g: Group, ids: number[]) => () =>
  ids.every((id) => g.peers[id - 1].view?.members.length === ids.length);

test("tags given at start are agreed in the view every peer installs; setTags shows everywhere within one view change", async () => {
  const g = await startGroup([{ role: "db" }, { role: "web" }, { role: "db", zone: "a" }]);
  try {
    await g.run(20_000, allIn(g, [1, 2, 3]));
    const view = g.peers[0].view!;
    for (const p of g.peers) assert.deepEqual(p.view, view, "every peer holds the same view, tags included");
    assert.deepEqual(tagsIn(view, 1), { role: "db" });
    assert.deepEqual(tagsIn(view, 2), { role: "web" });
    assert.deepEqual(tagsIn(view, 3), { role: "db", zone: "a" });
    const db = view.members.filter((m) => tagsIn(view, m).role === "db");
    assert.deepEqual(db, [1, 3]);

    const before = view.id;
    let settled = false;
    const change = g.peers[1].setTags({ role: "db", port: "5432" }).then(() => (settled = true));
    await g.run(5_000, () => settled && g.peers.every((p) => tagsIn(p.view!, 2).port === "5432"));
    await change;
    for (const p of g.peers) {
      assert.deepEqual(tagsIn(p.view!, 2), { role: "db", port: "5432" });
      assert.equal(p.view!.id, before + 1, "one view change");
      assert.deepEqual(p.status().members.find((m) => m.id === 2)?.tags, { role: "db", port: "5432" });
    }
  } finally {
    await g.close();
  }
});

test("events broadcast by three peers at once arrive in one identical order at every member", async () => {
  const g = await startGroup([{}, {}, {}, {}, {}], 7);
  try {
    await g.run(20_000, allIn(g, [1, 2, 3, 4, 5]));
    const sends: Promise<void>[] = [];
    for (let k = 0; k < 60; k++) {
      for (const p of [2, 3, 5]) sends.push(g.peers[p - 1].broadcast("deploy", `${p}-${k}`));
    }
    let done = 0;
    for (const s of sends) void s.then(() => done++);
    await g.run(
      20_000,
      () => done === sends.length && [...g.delivered.values()].every((d) => d.length === 180),
    );
    await Promise.all(sends);
    const orders = [...g.delivered.values()].map((d) => d.join(" "));
    assert.equal(g.delivered.get(1)!.length, 180);
    for (const o of orders) assert.equal(o, orders[0], "the same order at every member");
    assert.equal(new Set(g.delivered.get(1)).size, 180, "each once");
  } finally {
    await g.close();
  }
});

test("the leader stopped in the middle of a stream: the members that stay up deliver every event, in one order", async () => {
  const g = await startGroup([{}, {}, {}, {}, {}], 11);
  try {
    await g.run(20_000, allIn(g, [1, 2, 3, 4, 5]));
    const sends: Promise<void>[] = [];
    for (let k = 0; k < 100; k++) {
      for (const p of [2, 3, 4]) sends.push(g.peers[p - 1].broadcast("e", `${p}-${k}`));
      if (k === 40) await g.peers[0].stop(); // the leader, without a goodbye
      await g.run(5);
    }
    let done = 0;
    for (const s of sends) void s.then(() => done++);
    const all = () => [2, 3, 4, 5].every((id) => g.delivered.get(id)!.length >= 300);
    await g.run(30_000, () => done === sends.length && all());
    await Promise.all(sends); // none rejected: none lost
    const survivors = [2, 3, 4, 5].map((id) => g.delivered.get(id)!);
    for (const d of survivors) {
      assert.equal(new Set(d).size, d.length, "each once");
      assert.deepEqual(d, survivors[0], "one order");
    }
    assert.equal(survivors[0].length, 300, "every event delivered");
  } finally {
    await g.close();
  }
});

test("bad input from a user: tags and events that break the limits are refused with a reason", async () => {
  await assert.rejects(
    startPeer({ hosts: [{ hostname: "10.0.0.1", port: 7601 }], id: 1, tags: { "ro le": "db" } }),
    /tag key "ro le"/,
  );
  const g = await startGroup([{}]);
  try {
    await g.run(5_000, allIn(g, [1]));
    const peer = g.peers[0];
    await assert.rejects(peer.setTags({ big: "x".repeat(9_000) }), /more than 8192/);
    await assert.rejects(peer.broadcast("", "x"), /event name/);
    await assert.rejects(peer.broadcast("big", "x".repeat(MAX_EVENT_PAYLOAD_BYTES + 1)), /more than 65536/);
    const ok = peer.broadcast("fine", "x".repeat(MAX_EVENT_PAYLOAD_BYTES));
    await g.run(1_000);
    await ok;
    assert.equal(g.delivered.get(1)!.length, 1);
  } finally {
    await g.close();
  }
});
