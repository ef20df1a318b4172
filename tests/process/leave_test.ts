// Leaving on purpose with real processes (PROTOCOL.md, "Leaving"): SIGTERM or
// SIGINT makes a peer leave; survivors print "peer N left" (or "leader N
// left"), never unreachable, and install the view without it at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assertConsistent,
  hasView,
  sleep,
  startGroup,
  UNREACHABLE_LINE,
  withGroup,
} from "../support/cluster.ts";

const leftLine = (who: "peer" | "leader", id: number) => new RegExp(`message:"${who} ${id} left"`);

test("SIGTERM on a member, then on the leader: both leave at once, reported as left", async () => {
  await withGroup(() => startGroup(5), async (peers) => {
    await Promise.all(peers.map((p) => p.waitFor("view 5", (q) => q.lastView()?.view === 5)));
    const started = performance.now();
    peers[4].kill("SIGTERM");
    assert.equal((await peers[4].status).code, 0);
    await Promise.all(
      peers.slice(0, 4).map((p) =>
        p.waitFor("view [1,2,3,4]", (q) => hasView([1, 2, 3, 4], 1)(q.lastView()))
      ),
    );
    const memberMs = performance.now() - started;
    const leader = performance.now();
    peers[0].kill("SIGINT");
    assert.equal((await peers[0].status).code, 0);
    await Promise.all(
      peers.slice(1, 4).map((p) => p.waitFor("view [2,3,4]", (q) => hasView([2, 3, 4], 2)(q.lastView()))),
    );
    const leaderMs = performance.now() - leader;
    console.log(`member left in ${memberMs.toFixed(0)} ms, leader in ${leaderMs.toFixed(0)} ms`);
    // Far below one failure timeout (1 s at the defaults): nobody waited for a timeout.
    assert.ok(memberMs < 900 && leaderMs < 900, `${memberMs} / ${leaderMs} ms`);
    for (const p of peers.slice(1, 4)) {
      assert.ok(p.lines.some((l) => leftLine("peer", 5).test(l)), `peer ${p.id} reports peer 5 left`);
      assert.ok(p.lines.some((l) => leftLine("leader", 1).test(l)), `peer ${p.id} reports leader 1 left`);
    }
    for (const p of peers) {
      assert.ok(!p.lines.some((l) => UNREACHABLE_LINE.test(l)), `peer ${p.id}: no unreachable`);
    }
    assertConsistent(peers);
  });
});

test("a second SIGINT exits at once, even while the leave waits for a group that cannot commit", async () => {
  await withGroup(() => startGroup(2), async (peers) => {
    await Promise.all(peers.map((p) => p.waitFor("view 2", (q) => q.lastView()?.view === 2)));
    peers[0].kill("SIGKILL"); // the leader is gone: peer 2's leave cannot commit
    await sleep(100);
    const started = performance.now();
    peers[1].kill("SIGINT");
    await sleep(50);
    peers[1].kill("SIGINT");
    const { code } = await peers[1].status;
    assert.equal(code, 130);
    assert.ok(performance.now() - started < 800, "well before the bounded wait of one failure timeout");
  });
});
