// Leaving on purpose (PROTOCOL.md, "Leaving"): the peer asks the leader to
// remove it, survivors report it as left (never unreachable), and a leader
// hands over so the next one takes over at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type HostAddress,
  MemoryNetwork,
  type Peer,
  type PeerEvent,
  startPeer,
  VirtualScheduler,
} from "../mod.ts";

async function group(n: number) {
  const clock = new VirtualScheduler();
  const net = new MemoryNetwork({ scheduler: clock });
  const hosts: HostAddress[] = Array.from(
    { length: n },
    (_, i) => ({ hostname: "10.0.0.1", port: 7601 + i }),
  );
  const events: PeerEvent[] = [];
  const peers: Peer[] = [];
  for (let id = 1; id <= n; id++) {
    peers.push(
      await startPeer({
        hosts,
        id,
        heartbeatMs: 100,
        incarnation: id,
        transport: net.transport(),
        scheduler: clock,
        onEvent: (e) => events.push(e),
      }),
    );
  }
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 5) {
      clock.advance(5);
      await Promise.resolve();
    }
  };
  await run(2_000);
  for (const p of peers) assert.deepEqual(p.view?.members, hosts.map((_, i) => i + 1));
  return { peers, events, run, clock, net };
}

const lastViews = (peers: Peer[]) =>
  peers.map((p) => p.view && `${p.view.id} L${p.view.leader} [${p.view.members}]`);

test("a member that leaves is removed at once and reported as left by every survivor", async () => {
  const { peers, events, run, net } = await group(4);
  events.length = 0;
  const leaving = peers[3].leave();
  await run(100); // well under one failure timeout (500 ms)
  await leaving;
  assert.deepEqual(lastViews(peers.slice(0, 3)), ["5 L1 [1,2,3]", "5 L1 [1,2,3]", "5 L1 [1,2,3]"]);
  const notices = events.filter((e) => e.type !== "view").map((e) =>
    e.type === "left" && `${e.peer}:${e.member}`
  );
  assert.deepEqual(notices.sort(), ["1:4", "2:4", "3:4", "4:4"]);
  assert.ok(!events.some((e) => e.type === "unreachable"), "nobody is reported unreachable");
  await Promise.all(peers.slice(0, 3).map((p) => p.stop()));
  await net.close();
});

test("a leader that leaves hands over: the next one takes over at once, and reports it as left", async () => {
  const { peers, events, run, net } = await group(4);
  events.length = 0;
  const leaving = peers[0].leave();
  await run(100);
  await leaving;
  for (const p of peers.slice(1)) {
    assert.deepEqual(p.view?.members, [2, 3, 4]);
    assert.equal(p.leader, 2);
  }
  const survivors = events.filter((e) => e.type === "left" && e.peer !== 1);
  assert.deepEqual(survivors.map((e) => e.type === "left" && e.isLeader), [true, true, true]);
  assert.ok(!events.some((e) => e.type === "unreachable"), "nobody is reported unreachable");
  await Promise.all(peers.slice(1).map((p) => p.stop()));
  await net.close();
});

/** Whether `promise` has settled (after the microtasks queued so far). */
function tracked(promise: Promise<void>): () => boolean {
  let settled = false;
  void promise.then(() => (settled = true));
  return () => settled;
}

test("a peer alone, or not yet in a group, leaves at once", async () => {
  const { peers, events, run, net } = await group(1);
  assert.deepEqual(peers[0].view?.members, [1], "peer 1 founded view 1 alone");
  events.length = 0;
  const leaving = peers[0].leave();
  const left = tracked(leaving);
  await run(10);
  await new Promise((resolve) => setTimeout(resolve, 0)); // stop()'s awaits, no time passing
  assert.ok(left(), "leave() resolved within 10 ms of virtual time");
  await leaving;
  assert.equal(peers[0].view, null, "it holds no view");
  assert.deepEqual(
    events.map((e) => e.type === "left" && `${e.peer}:${e.member} view ${e.viewId}`),
    ["1:1 view 1"],
    "it reports leaving the view it reported",
  );
  await net.close();
});

test("leave() waits one failure timeout on the peer's scheduler when the group cannot commit", async () => {
  const { peers, run, net } = await group(3);
  await Promise.all([peers[0].stop(), peers[1].stop()]); // nobody left to remove peer 3
  const leaving = peers[2].leave();
  const left = tracked(leaving);
  await run(400); // under one failure timeout (5 × 100 ms) of virtual time
  assert.ok(!left(), "still waiting for the view without it");
  await run(200); // past it, in virtual time: a real timer would still be running
  assert.ok(left(), "leave() resolved after one failure timeout of virtual time");
  await leaving;
  await net.close();
});
