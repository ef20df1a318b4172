// `make sea`: the Node single executable application dist/membership-node
// builds offline, answers the flags like the other builds, and joins a group
// of Deno peers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DENO_PEER, ROOT, startGroup, withGroup } from "../support/cluster.ts";
import { buildSea, findNode, run, SEA_PEER } from "../support/node_build.ts";
import { VERSION } from "../../mod.ts";

const node = await findNode();
const skip = node === null
  ? "no node on PATH"
  : node.major < 20
  ? `node ${node.version} has no single executable applications (Node 20+)`
  : !["linux", "darwin"].includes(Deno.build.os)
  ? `the SEA build is written for Linux and macOS, not ${Deno.build.os}`
  : false;
if (skip) console.log(`SKIPPED: the Node single executable tests: ${skip}`);

test(
  "sea: scripts/build_node.mjs --sea builds dist/membership-node, which answers the flags",
  { skip },
  async () => {
    const out = await buildSea();
    assert.match(out.stdout, /built dist\/membership-node/);
    const { size } = Deno.statSync(`${ROOT}dist/membership-node`);
    console.log(`dist/membership-node: ${size} bytes (Node ${node!.version})`);
    const version = await run([...SEA_PEER, "--version"], { timeoutMs: 20_000 });
    assert.deepEqual(version, { code: 0, stdout: `membership ${VERSION}\n`, stderr: "" });
    const bad = await run([...SEA_PEER, "--bogus"], { timeoutMs: 20_000 });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, (await run([...DENO_PEER, "--bogus"])).stderr);
  },
);

test("sea: dist/membership-node joins a group of three Deno peers", { skip }, async () => {
  await buildSea();
  await withGroup(
    () =>
      startGroup(4, {
        command: (id) => id === 4 ? SEA_PEER : DENO_PEER,
        flags: (id) => id === 4 ? ["-d", "1"] : [],
      }),
    async (peers) => {
      await Promise.all(peers.map((p) => p.waitFor("view 4", (q) => q.lastView()?.view === 4, 20_000)));
      for (const p of peers) {
        assert.equal(p.lines.at(-1), `{peer_id: ${p.id}, view_id: 4, leader: 1, memb_list: [1,2,3,4]}`);
      }
    },
  );
});
