// The protocol core over the in-memory network, in virtual time: joins in
// every order, joins that arrive together, joiners that start before peer 1.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isLargeGroup } from "../src/core/config.ts";
import { mulberry32 } from "./support/prng.ts";
import {
  type HostAddress,
  MemoryNetwork,
  type Peer,
  type PeerEvent,
  startPeer,
  VirtualScheduler,
} from "../mod.ts";

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest])
  );
}

/**
 * Starts peer `id` at virtual time `startAt[id]`, runs `untilMs` of virtual
 * time, and returns every event. Each peer joins the same memory network.
 */
async function runGroup(startAt: Map<number, number>, untilMs: number, seed: number): Promise<PeerEvent[]> {
  const clock = new VirtualScheduler();
  const random = mulberry32(seed);
  const net = new MemoryNetwork({ scheduler: clock, random, faults: { minDelayMs: 1, maxDelayMs: 20 } });
  const hosts: HostAddress[] = [...startAt.keys()].sort((a, b) => a - b)
    .map((id) => ({ hostname: "10.0.0.1", port: 7600 + id }));
  const events: PeerEvent[] = [];
  const starting: Promise<Peer>[] = [];
  for (const [id, at] of startAt) {
    clock.schedule(at, () =>
      starting.push(startPeer({
        hosts,
        id,
        heartbeatMs: 100,
        incarnation: id,
        transport: net.transport(),
        scheduler: clock,
        onEvent: (e) => events.push(e),
      })));
  }
  // Peer.start awaits its (immediate) listen: let those continuations run between steps.
  for (let t = 0; t < untilMs; t += 5) {
    clock.advance(5);
    await Promise.resolve();
    await Promise.resolve();
  }
  const peers = await Promise.all(starting);
  await Promise.all(peers.map((p) => p.stop()));
  await net.close();
  return events;
}

/** Agreement and monotonic views over the events; returns each peer's last view. */
function checkViews(events: PeerEvent[]): Map<number, string> {
  const byId = new Map<number, string>();
  const last = new Map<number, number>();
  const lastView = new Map<number, string>();
  for (const e of events) {
    assert.equal(e.type, "view", `no failure without faults: ${JSON.stringify(e)}`);
    if (e.type !== "view") continue;
    const content = `leader ${e.view.leader} members [${e.view.members}]`;
    assert.equal(byId.get(e.view.id) ?? content, content, `agreement on view ${e.view.id}`);
    byId.set(e.view.id, content);
    assert.ok(e.view.id > (last.get(e.peer) ?? 0), `peer ${e.peer}: views increase`);
    last.set(e.peer, e.view.id);
    lastView.set(e.peer, `${e.view.id} ${content}`);
  }
  return lastView;
}

/**
 * Every peer's last view holds all `n`, led by 1. view_id rises by exactly one
 * per committed view change: up to 8 peers that is one per operation, so peer 1
 * saw 1..n; above 8 joiners queued together share a change, so peer 1 saw 1..k
 * for some k <= n. Returns k.
 */
function assertFormed(events: PeerEvent[], n: number, context: string): number {
  const lastView = checkViews(events);
  const all = Array.from({ length: n }, (_, i) => i + 1);
  const last = lastView.get(1)?.split(" ")[0] ?? "none";
  const k = isLargeGroup(n) ? Number(last) : n;
  assert.ok(k >= 1 && k <= n, `${context}: peer 1's last view ${last}`);
  for (const id of all) {
    assert.equal(lastView.get(id), `${k} leader 1 members [${all}]`, `${context}: peer ${id}`);
  }
  const leaderViews = events.flatMap((e) => e.type === "view" && e.peer === 1 ? [e.view.id] : []);
  assert.deepEqual(leaderViews, all.slice(0, k), context);
  return k;
}

test("1 to 9 peers join in every order (all orders up to 4 peers, sampled beyond)", async () => {
  const random = mulberry32(42);
  for (let n = 1; n <= 9; n++) {
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    const orders = n <= 4 ? permutations(ids) : Array.from({ length: 8 }, () => {
      const a = [...ids];
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [a[i], a[j]] = [a[j], a[i]];
      }
      return a;
    });
    for (const [k, order] of orders.entries()) {
      const startAt = new Map(order.map((id, i) => [id, i * Math.floor(random() * 400)]));
      const events = await runGroup(startAt, 8_000, n * 100 + k);
      assertFormed(events, n, `order ${order}`);
    }
  }
});

test("joins that arrive together wait in the leader's queue", async () => {
  const startAt = new Map([[1, 0], ...[2, 3, 4, 5, 6, 7, 8, 9].map((id) => [id, 500] as [number, number])]);
  const events = await runGroup(startAt, 6_000, 7);
  // Above 8 peers, joiners queued together are committed together: fewer view changes than joiners.
  assert.ok(assertFormed(events, 9, "together") < 9, "the queued joins were batched");
});

test("a joiner that starts before peer 1 is accepted once peer 1 is up", async () => {
  const startAt = new Map([[2, 0], [3, 0], [4, 100], [5, 200], [1, 3_000]]);
  const events = await runGroup(startAt, 10_000, 9);
  assertFormed(events, 5, "peer 1 last");
  const joined = events.find((e) => e.type === "view" && e.peer === 2);
  assert.ok(joined && joined.type === "view");
});
