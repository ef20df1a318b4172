// `make sea`: the Node single executable application dist/membership-node
// builds offline, answers the flags like the other builds, and joins a group
// of Deno peers.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assertConsistent,
  DENO_PEER,
  freePorts,
  PeerProcess,
  ROOT,
  sleep,
  stopAll,
  writeHostsfile,
} from "./support/cluster.ts";
import { buildSea, findNode, run, SEA_PEER } from "./support/node_build.ts";
import { VERSION } from "../mod.ts";

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
  const hostsfile = writeHostsfile(freePorts(4));
  const peers: PeerProcess[] = [];
  try {
    for (const id of [1, 2, 3]) {
      peers.push(new PeerProcess(id, [...DENO_PEER, "-h", hostsfile, "--id", `${id}`]));
      await sleep(20);
    }
    await Promise.all(peers.map((p) => p.waitFor("view 3", (q) => q.lastView()?.view === 3, 20_000)));
    peers.push(new PeerProcess(4, [...SEA_PEER, "-h", hostsfile, "--id", "4"]));
    await Promise.all(peers.map((p) => p.waitFor("view 4", (q) => q.lastView()?.view === 4, 20_000)));
    for (const p of peers) {
      assert.equal(p.lines.at(-1), `{peer_id: ${p.id}, view_id: 4, leader: 1, memb_list: [1,2,3,4]}`);
    }
    assertConsistent(peers);
  } catch (e) {
    for (const p of peers) console.log(p.describe());
    throw e;
  } finally {
    await stopAll(peers);
    Deno.removeSync(hostsfile);
  }
});
