// Bad input from the network: a running peer drops it with a rate-limited
// diagnostic, keeps running, keeps its state, and the group carries on.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeMessage } from "../../mod.ts";
import { hasView, sleep, startGroup, withGroup } from "../support/cluster.ts";

const encoder = new TextEncoder();

function portsOf(hostsfile: string): number[] {
  return Deno.readTextFileSync(hostsfile).trim().split("\n").map((l) => Number(l.split(":")[1]));
}

test("garbage over TCP and UDP is dropped; the peer keeps its view and the group still works", async () => {
  await withGroup(
    () => startGroup(3, { flags: () => ["--log-level", "info"] }),
    async (peers, hostsfile) => {
      await Promise.all(peers.map((p) => p.waitFor("view 3", (q) => q.lastView()?.view === 3)));
      const port = portsOf(hostsfile)[1]; // peer 2, a member that does not lead
      const junk = [
        "not json at all",
        "[1,2,3]",
        '{"v":9,"type":"JOIN","from":3,"inc":1}',
        '{"v":2,"type":"HELLO","from":3,"inc":1}',
        '{"v":2,"type":"OK","from":3,"inc":1}',
        '{"v":1,"type":"LEAVE","from":3,"inc":1}', // a peer of version 1, which had no epochs
        encodeMessage({ type: "JOIN", from: 42, incarnation: 1, knownViewId: 0 }), // no such peer
        encodeMessage({ type: "REDIRECT", from: 2, incarnation: 1, leader: 1, viewId: 1 }), // claims to be peer 2 itself
        encodeMessage({
          type: "NEWVIEW",
          from: 1,
          incarnation: 1,
          // of an older epoch than the group's (its former's run is long gone): answered and dropped
          view: { epoch: { round: 1, former: 1, run: 1 }, id: 2, leader: 1, members: [1], incarnations: [1] },
          ballot: { round: 0, leader: 1 },
        }),
        encodeMessage({
          type: "OK",
          from: 3,
          incarnation: 1,
          requestId: 999,
          viewId: 3,
          ballot: { round: 0, leader: 1 },
        }), // no such request
      ];
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        // (a write may take only part of a long buffer: write it all)
        const writeAll = async (bytes: Uint8Array) => {
          for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
        };
        await writeAll(encoder.encode(junk.join("\n") + "\n"));
        await writeAll(encoder.encode("x".repeat(25_165_825) + "\n")); // over-long line (the frame bound is 24 MiB)
        await writeAll(encoder.encode(junk[3] + "\n"));
      } finally {
        conn.close();
      }
      // The stream's junk first (its over-long line comes last but one): the diagnostics are rate
      // limited per kind, so datagrams read meanwhile could take the lines this test looks for.
      await peers[1].waitFor("the stream's junk read", (q) => /over-long frame/.test(q.stderr));
      const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      try {
        for (const text of [...junk, "\u0000\u0001", "y".repeat(20_000)]) {
          await udp.send(encoder.encode(text), { hostname: "127.0.0.1", port, transport: "udp" });
        }
      } finally {
        udp.close();
      }
      await sleep(500);
      const victim = peers[1];
      // The diagnostic names the sender's address.
      assert.match(victim.stderr, /dropped a message from 127\.0\.0\.1:\d+( \([^)]*\))?: not JSON/);
      assert.match(
        victim.stderr,
        /dropped a message from 127\.0\.0\.1:\d+( \([^)]*\))?: protocol version 9, not 2/,
      );
      assert.match(victim.stderr, /unknown message type/);
      assert.match(victim.stderr, /sender 42 is not another peer/);
      assert.match(victim.stderr, /over-long frame/);
      // Rate limited: ten malformed messages of one kind give at most five lines.
      assert.ok((victim.stderr.match(/dropped a message/g) ?? []).length <= 5, victim.stderr);
      for (const p of peers) assert.equal(p.lastView()?.view, 3, `peer ${p.id} kept view 3`);
      // State intact: a crash is still detected and removed everywhere.
      await peers[2].stop();
      await Promise.all(
        peers.slice(0, 2).map((p) => p.waitFor("view [1,2]", (q) => hasView([1, 2], 1)(q.lastView()))),
      );
    },
  );
});
