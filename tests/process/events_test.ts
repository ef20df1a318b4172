// Tags and user events end to end, as a user runs them: `--tag` on CLI peers, `members --tag`,
// `membership event URL NAME PAYLOAD` printed by every member (a JSON line, or on stderr in text
// mode), and 1,000 events POSTed through three peers at once while the leader is killed, in a
// keyed group of Deno and Node peers: one identical order at every member that stays up, none lost.
import assert from "node:assert/strict";
import { test } from "node:test";
import { generateKey } from "../../mod.ts";
import {
  DENO_PEER,
  freePorts,
  type PeerProcess,
  sleep,
  startGroup,
  stopAll,
  withGroup,
} from "../support/cluster.ts";
import { buildNode, NODE_PEER, nodeSkip, run } from "../support/node_build.ts";

const noNode = await nodeSkip("the Node peers of the events tests");

/** A peer's JSON lines of one kind (`--format json`). */
function jsonLines(p: PeerProcess, kind: string): Record<string, unknown>[] {
  return p.lines.flatMap((l) => {
    if (!l.startsWith('{"')) return [];
    const e = JSON.parse(l);
    return e.event === kind ? [e] : [];
  });
}

/** The members of the last view a `--format json` peer printed. */
const jsonMembers = (p: PeerProcess) => (jsonLines(p, "view").at(-1)?.members as number[] | undefined) ?? [];

async function assertUsageError(args: string[], pattern: RegExp): Promise<void> {
  const { code, stdout, stderr } = await run([...DENO_PEER, ...args]);
  assert.equal(code, 2, `exit code for ${args.join(" ").slice(0, 80)}: ${stderr}`);
  assert.equal(stdout, "");
  assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
  assert.match(stderr, pattern);
}

test("three peers with --tag: members --tag role=db lists exactly the db peers; event URL deploy v2 is printed by every member", async () => {
  const [statusPort] = freePorts(1);
  const url = `127.0.0.1:${statusPort}`;
  const tags: Record<number, string[]> = {
    1: ["--tag", "role=db"],
    2: ["--tag", "role=web"],
    3: ["--tag", "role=db", "--tag", "zone=a"],
  };
  await withGroup(
    () => startGroup(3, { flags: (id) => [...tags[id], ...(id === 1 ? ["--status", url] : [])] }),
    async (peers) => {
      await Promise.all(
        peers.map((p) => p.waitFor("view of 3", (q) => q.lastView()?.members.length === 3, 30_000)),
      );
      const db = await run([...DENO_PEER, "members", url, "--tag", "role=db", "--format", "json"]);
      assert.equal(db.code, 0, db.stderr);
      const rows = JSON.parse(db.stdout);
      assert.deepEqual(rows.map((r: { id: number }) => r.id), [1, 3]);
      assert.deepEqual(rows[1].tags, { role: "db", zone: "a" });
      const table = await run([...DENO_PEER, "members", url]);
      assert.match(table.stdout.split("\n")[0], /TAGS$/);
      assert.match(table.stdout, /^2 .* role=web$/m);

      const sent = await run([...DENO_PEER, "event", url, "deploy", "v2"]);
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout, /^event deploy delivered by peer 1 in view \d+\n$/);
      // Text mode: the seed's stdout is untouched; the event is an info line on stderr.
      for (const p of peers) {
        await p.waitFor(
          "the event on stderr",
          (q) => q.stderr.includes("event deploy from peer 1: v2"),
          10_000,
        );
      }
      const again = await run([...DENO_PEER, "event", url, "deploy", "v3"]);
      assert.equal(again.code, 0, again.stderr);
      for (const p of peers) {
        await p.waitFor("the second event", (q) => q.stderr.includes("event deploy from peer 1: v3"), 10_000);
        assert.ok(p.stderr.indexOf(": v2") < p.stderr.indexOf(": v3"), `peer ${p.id}: v2, then v3`);
      }
    },
  );
});

test("1,000 events through three peers at once while the leader is killed (keyed, Deno and Node): one order at every member that stays up, none lost", async () => {
  if (!noNode) await buildNode();
  const keys = Deno.makeTempFileSync({ prefix: "events-test-" });
  Deno.writeTextFileSync(keys, `${generateKey()}\n`);
  const statusPorts = freePorts(3); // peers 2, 3 and 4 take the events
  const { peers, hostsfile } = await startGroup(5, {
    command: (id) => (!noNode && id >= 4 ? NODE_PEER : DENO_PEER),
    flags: (id) => [
      "--format",
      "json",
      "--key-file",
      keys,
      ...(id >= 2 && id <= 4 ? ["--status", `127.0.0.1:${statusPorts[id - 2]}`] : []),
    ],
  });
  try {
    await Promise.all(peers.map((p) => p.waitFor("view of 5", (q) => jsonMembers(q).length === 5, 30_000)));
    const post = async (via: number, k: number): Promise<number> => {
      const response = await fetch(`http://127.0.0.1:${statusPorts[via - 2]}/v1/event`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "e", payload: `${via}-${k}`, timeoutMs: 60_000 }),
      });
      await response.text();
      return response.status;
    };
    const statuses: Promise<number>[] = [];
    for (let k = 0; k < 334; k++) {
      for (const via of [2, 3, 4]) if (statuses.length < 1_000) statuses.push(post(via, k));
      if (k === 120) peers[0].kill("SIGKILL"); // the leader, in the middle of the stream
      if (k % 10 === 0) await sleep(5);
    }
    const codes = await Promise.all(statuses);
    assert.deepEqual(codes.filter((c) => c !== 200), [], "every POST answered 200: every event delivered");
    const survivors = peers.slice(1);
    const payloads = (p: PeerProcess) => jsonLines(p, "event").map((e) => `${e.from}:${e.payload}`);
    await Promise.all(
      survivors.map((p) => p.waitFor("1,000 events", (q) => payloads(q).length >= 1_000, 30_000)),
    );
    const orders = survivors.map(payloads);
    assert.equal(new Set(orders[0]).size, 1_000, "each of the 1,000 once");
    for (const [i, o] of orders.entries()) {
      assert.deepEqual(o, orders[0], `peer ${survivors[i].id}: the same order`);
    }
    // Each event's place in the group's order is the same everywhere: (view, position).
    const places = survivors.map((p) =>
      jsonLines(p, "event").map((e) => `${e.view}/${e.position}`).join(" ")
    );
    for (const p of places) assert.equal(p, places[0]);
    const views = new Set(jsonLines(survivors[0], "event").map((e) => e.view));
    assert.ok(
      views.size >= 2,
      `events were delivered before and after the leader's death (views ${[...views]})`,
    );
    assert.ok(survivors.every((p) => !jsonMembers(p).includes(1)), "the killed leader is out of the view");
  } catch (e) {
    for (const p of peers) console.log(p.describe().slice(-4_000));
    throw e;
  } finally {
    await stopAll(peers);
    Deno.removeSync(hostsfile);
    Deno.removeSync(keys);
  }
});

test("bad input: a tag without '=', tags over 8 KiB, an event name or payload out of bounds: one line, exit 2", async () => {
  await assertUsageError(
    ["-h", "examples/hosts.local.txt", "--id", "1", "--tag", "roledb"],
    /--tag "roledb": expected KEY=VALUE/,
  );
  await assertUsageError(
    ["-h", "examples/hosts.local.txt", "--id", "1", "--tag", "ro le=db"],
    /tag key "ro le"/,
  );
  await assertUsageError(
    ["-h", "examples/hosts.local.txt", "--id", "1", "--tag", `big=${"x".repeat(9_000)}`],
    /more than 8192/,
  );
  await assertUsageError(["members", "127.0.0.1:1", "--tag", "x"], /members: --tag "x": expected KEY=VALUE/);
  await assertUsageError(
    ["event", "127.0.0.1:1", "", "v2"],
    /event: an event name must be 1 to 128 characters/,
  );
  await assertUsageError(["event", "127.0.0.1:1", "big", "x".repeat(65_537)], /more than 65536/);
  await assertUsageError(["event", "127.0.0.1:1"], /event wants URL NAME \[PAYLOAD\]/);
});
