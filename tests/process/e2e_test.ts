// The seed's test cases with real peer processes (`deno run mod.ts`) on
// loopback, each asserting what every peer printed.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DENO_PEER,
  freePorts,
  hasView,
  IPV6_LOOPBACK,
  PeerProcess,
  reportedUnreachable,
  shuffled,
  sleep,
  startGroup,
  testCase4,
  UNREACHABLE_LINE,
  withGroup,
  writeHostsfile,
} from "../support/cluster.ts";

test("test case 1: five peers in random order with random delays all end in view 5", async () => {
  const order = shuffled([1, 2, 3, 4, 5]);
  const delays = new Map(order.map((id) => [id, (Math.random() * 1.5).toFixed(2)]));
  console.log(`order ${order.join(",")}, delays ${[...delays].map(([id, d]) => `${id}:${d}s`).join(" ")}`);
  await withGroup(() => startGroup(5, { flags: (id) => ["-d", delays.get(id)!], order }), async (peers) => {
    await Promise.all(peers.map((p) => p.waitFor("view 5", (q) => q.lastView()?.view === 5)));
    for (const p of peers) {
      assert.equal(p.lines.at(-1), `{peer_id: ${p.id}, view_id: 5, leader: 1, memb_list: [1,2,3,4,5]}`);
    }
  });
});

test("test case 2: a crashed peer is reported by every survivor and removed", async () => {
  await withGroup(
    () => startGroup(5, { flags: (id) => id === 5 ? ["-d", "0.5", "-c", "1"] : [] }),
    async (peers) => {
      const survivors = peers.slice(0, 4);
      await peers[4].exited();
      await Promise.all(
        survivors.map((p) => p.waitFor("view without 5", (q) => hasView([1, 2, 3, 4], 1)(q.lastView()))),
      );
      for (const p of survivors) {
        assert.ok(reportedUnreachable(p, 5), `peer ${p.id} printed "peer 5 unreachable"`);
        assert.ok(
          p.lines.includes(`{peer_id: ${p.id}, view_id: 5, leader: 1, message:"peer 5 unreachable"}`),
        );
      }
    },
  );
});

test("test case 3: the last peer, the leader and another crash in turn; the rest carry on", async () => {
  // Crash times count from each peer's joining: 6 first, then the leader, then 3.
  const crash: Record<number, string> = { 6: "2", 1: "5", 3: "9" };
  await withGroup(
    () => startGroup(6, { flags: (id) => crash[id] ? ["-c", crash[id]] : [] }),
    async (peers) => {
      const survivors = [peers[1], peers[3], peers[4]];
      await Promise.all([peers[0], peers[2], peers[5]].map((p) => p.exited()));
      await Promise.all(
        survivors.map((p) => p.waitFor("view [2,4,5] led by 2", (q) => hasView([2, 4, 5], 2)(q.lastView()))),
      );
      for (const p of survivors) {
        for (const gone of [6, 1, 3]) {
          assert.ok(reportedUnreachable(p, gone), `peer ${p.id} reported ${gone}`);
        }
        assert.ok(
          p.lines.some((l) => l.includes('message:"leader 1 unreachable"')),
          `peer ${p.id}: leader 1`,
        );
      }
      const last = survivors.map((p) => p.lastView()!.view);
      assert.equal(new Set(last).size, 1, `one last view id: ${last}`);
    },
  );
});

test("test case 4: the leader crashes half-way through a DEL; peer 2 finishes it, then removes peer 1", async () => {
  await testCase4({}, (peers) => {
    for (const p of peers.slice(1, 4)) {
      assert.ok(
        p.lines.some((l) => l.includes('message:"leader 1 unreachable"')),
        `peer ${p.id}: leader 1`,
      );
      // The pending DEL 5 was finished first: a view without 5 but still with 1.
      const views = p.views();
      const finished = views.findLastIndex(hasView([1, 2, 3, 4]));
      assert.ok(finished >= 0 && views[finished].view > 5, `peer ${p.id} installed [1,2,3,4] after view 5`);
      assert.equal(views.at(-1)!.view, views[finished].view + 1, "then DEL 1 as the next view");
    }
    // The old leader sent its REQ to 3 and 4 only, and installed nothing after view 5.
    assert.ok(peers[0].lastView()!.members.includes(5));
  });
});

test("a restarted peer 1 joins the live group instead of founding a second one", async () => {
  await withGroup(() => startGroup(3), async (peers, hostsfile) => {
    await Promise.all(peers.map((p) => p.waitFor("view 3", (q) => q.lastView()?.view === 3)));
    await peers[0].stop(); // SIGKILL: a crash
    const again = new PeerProcess(1, [...DENO_PEER, "-h", hostsfile, "--id", "1"]);
    peers.push(again); // withGroup checks its output too, and stops it
    const everyone = (q: PeerProcess) => {
      const v = q.lastView();
      return !!v && v.view > 3 && hasView([1, 2, 3], 2)(v);
    };
    await Promise.all([peers[1], peers[2], again].map((p) => p.waitFor("[1,2,3] led by 2", everyone)));
    // It never prints a view below what the group it finds knows: no founding view 1 again.
    assert.ok(again.views()[0].view > 3, `its first view is the live group's, not ${again.views()[0].view}`);
    assert.equal(again.lastView()!.view, peers[1].lastView()!.view);
  });
});

const ipv6 = IPV6_LOOPBACK;
if (!ipv6) console.log("SKIPPED: the IPv6 test: this machine has no IPv6 loopback");

test(
  "IPv6: three peers listed as [::1]:PORT form a group",
  { skip: !ipv6 && "no IPv6 loopback" },
  async () => {
    const hostsfile = writeHostsfile(freePorts(3), "[::1]");
    await withGroup(
      () => startGroup(3, { hostsfile }),
      async (peers) => {
        await Promise.all(peers.map((p) => p.waitFor("view 3", (q) => q.lastView()?.view === 3)));
        for (const p of peers) {
          assert.equal(
            p.lines.at(-1),
            `{peer_id: ${p.id}, view_id: 3, leader: 1, memb_list: [1,2,3]}`,
          );
        }
      },
    );
  },
);

test("accuracy: five peers left alone for 30 s at --heartbeat 50 report nobody unreachable", async () => {
  await withGroup(() => startGroup(5, { flags: () => ["--heartbeat", "50"] }), async (peers) => {
    await Promise.all(peers.map((p) => p.waitFor("view 5", (q) => q.lastView()?.view === 5)));
    await sleep(30_000);
    for (const p of peers) {
      assert.ok(!p.lines.some((l) => UNREACHABLE_LINE.test(l)), `peer ${p.id} printed no unreachable line`);
      assert.equal(p.lastView()?.view, 5, `peer ${p.id} is still in view 5`);
    }
  });
});
