// The embedding examples: examples/embed_deno.ts (in-memory network and real
// sockets) and examples/embed_node.mjs (the Node library bundle, real sockets)
// each start three peers in one process, print the view of all three, stop
// them and exit 0.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DENO, freePorts } from "../support/cluster.ts";
import { buildNode, nodeSkip, run } from "../support/node_build.ts";

const skip = await nodeSkip("examples/embed_node.mjs");

const viewOfThree = (prefix: string) =>
  [1, 2, 3].map((i) => `${prefix}peer ${i}: view 3, leader 1, members [1,2,3]`).join("\n");

test("examples/embed_deno.ts: three peers in one Deno process, in memory and over sockets", async () => {
  const out = await run([DENO, "run", "--unstable-net", "--allow-net", "examples/embed_deno.ts"], {
    timeoutMs: 60_000,
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, `${viewOfThree("memory: ")}\n${viewOfThree("sockets: ")}\n`);
});

test("examples/embed_node.mjs: three peers in one Node process on dist/mod.mjs", { skip }, async () => {
  await buildNode();
  const ports = freePorts(3).map(String);
  const out = await run(["node", "examples/embed_node.mjs", ...ports], { timeoutMs: 60_000 });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, `${viewOfThree("")}\n`);
});
