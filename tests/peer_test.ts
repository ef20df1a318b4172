// The library API, through mod.ts alone: start peers in one process, observe
// them without parsing stdout, stop them with nothing left running.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type HostAddress, MemoryNetwork, type Peer, type PeerEvent, startPeer } from "../mod.ts";
import { freePorts } from "./support/cluster.ts";
import { leakFree } from "./support/leak_free.ts";

const loopback = (ports: number[]): HostAddress[] => ports.map((port) => ({ hostname: "127.0.0.1", port }));

async function formGroup(hosts: HostAddress[], start: (id: number) => Promise<Peer>): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (let id = 1; id <= hosts.length; id++) peers.push(await start(id));
  const full = (v: { members: readonly number[] }) => v.members.length === hosts.length;
  const signal = AbortSignal.timeout(10_000);
  try {
    await Promise.all(peers.map((p) => p.waitForView(full, signal)));
  } catch (e) {
    await Promise.all(peers.map((p) => p.stop()));
    throw e;
  }
  return peers;
}

test("three peers over the in-memory network agree on view 3 and stop cleanly", async () => {
  const net = new MemoryNetwork();
  const hosts = loopback([7601, 7602, 7603]);
  const events: PeerEvent[] = [];
  const peers = await formGroup(
    hosts,
    (id) =>
      startPeer({ hosts, id, heartbeatMs: 20, transport: net.transport(), onEvent: (e) => events.push(e) }),
  );
  for (const p of peers) {
    assert.deepEqual(p.view?.members, [1, 2, 3]);
    assert.equal(p.view?.id, 3);
    assert.equal(p.leader, 1);
  }
  assert.equal(peers[0].role, "leader");
  assert.equal(peers[1].role, "member");
  // Peer 1's first view is seen too: onEvent is subscribed before it starts.
  assert.ok(events.some((e) => e.type === "view" && e.peer === 1 && e.view.id === 1));
  await Promise.all(peers.map((p) => p.stop()));
  await net.close();
});

leakFree("three peers over real sockets agree, and stop() leaves no socket or timer behind", async () => {
  const hosts = loopback(freePorts(3));
  const peers = await formGroup(
    hosts,
    (id) => startPeer({ hosts, id, heartbeatMs: 50, listen: hosts[id - 1] }),
  );
  assert.deepEqual(peers.map((p) => p.view?.id), [3, 3, 3]);
  await Promise.all(peers.map((p) => p.stop()));
});

test("events() yields views as they are installed and ends when the peer stops", async () => {
  const net = new MemoryNetwork();
  const hosts = loopback([7611, 7612]);
  const first = await startPeer({ hosts, id: 1, heartbeatMs: 20, transport: net.transport() });
  const seen: number[] = [];
  const reading = (async () => {
    for await (const e of first.events()) if (e.type === "view") seen.push(e.view.id);
  })();
  const second = await startPeer({ hosts, id: 2, heartbeatMs: 20, transport: net.transport() });
  await second.waitForView((v) => v.id === 2, AbortSignal.timeout(5_000));
  await first.waitForView((v) => v.id === 2);
  await first.stop();
  await reading; // the iterator ended
  await second.stop();
  await net.close();
  // View 1 is founded only once peer 2 asked to join (peer 1 forms then), so the reader subscribed
  // after start() sees it too.
  assert.deepEqual(seen, [1, 2]);
});

test("a crashed member is removed and the others report it unreachable", async () => {
  const net = new MemoryNetwork();
  const hosts = loopback([7621, 7622, 7623]);
  const events: PeerEvent[] = [];
  const peers = await formGroup(
    hosts,
    (id) =>
      startPeer({
        hosts,
        id,
        heartbeatMs: 20,
        failAfter: 3,
        transport: net.transport(),
        onEvent: (e) => events.push(e),
      }),
  );
  net.crash("127.0.0.1:7623");
  await peers[2].stop();
  const without3 = (v: { members: readonly number[] }) => !v.members.includes(3);
  await Promise.all(peers.slice(0, 2).map((p) => p.waitForView(without3, AbortSignal.timeout(5_000))));
  for (const id of [1, 2]) {
    assert.ok(
      events.some((e) => e.type === "unreachable" && e.peer === id && e.member === 3 && !e.isLeader),
      `peer ${id} reported peer 3 unreachable`,
    );
  }
  await Promise.all(peers.map((p) => p.stop()));
  await net.close();
});

test("startPeer rejects an id outside the hosts list and a port in use", async () => {
  const net = new MemoryNetwork();
  const hosts = loopback([7631]);
  await assert.rejects(startPeer({ hosts, id: 2, transport: net.transport() }), RangeError);
  const one = await startPeer({ hosts, id: 1, transport: net.transport() });
  await assert.rejects(startPeer({ hosts, id: 1, transport: net.transport() }), /in use/);
  await one.stop();
  await net.close();
});
