// The Node build (`make build`): the bundle builds, `node dist/membership.mjs`
// behaves like `deno run mod.ts`, and groups of Node peers, or of Node and
// Deno peers together, pass the seed's test cases 1 and 4.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DENO_PEER,
  freePorts,
  ROOT,
  shuffled,
  startGroup,
  testCase4,
  withGroup,
  writeHostsfile,
} from "../support/cluster.ts";
import { buildNode, NODE_PEER, nodeSkip, run } from "../support/node_build.ts";
import { VERSION } from "../../mod.ts";

const skip = await nodeSkip("the Node build tests");

type Runtime = "node" | "deno";
const command = (runtime: Runtime) => runtime === "node" ? NODE_PEER : DENO_PEER;

async function joinAll(runtime: (id: number) => Runtime): Promise<void> {
  const order = shuffled([1, 2, 3, 4, 5]);
  const delays = new Map(order.map((id) => [id, (Math.random() * 1.5).toFixed(2)]));
  console.log(
    `order ${order.join(",")}, delays ${[...delays].map(([id, d]) => `${id}:${d}s`).join(" ")}, ` +
      `runtimes ${order.map((id) => `${id}:${runtime(id)}`).join(" ")}`,
  );
  await withGroup(
    () =>
      startGroup(5, { command: (id) => command(runtime(id)), flags: (id) => ["-d", delays.get(id)!], order }),
    async (peers) => {
      await Promise.all(peers.map((p) => p.waitFor("view 5", (q) => q.lastView()?.view === 5, 30_000)));
      for (const p of peers) {
        assert.equal(p.lines.at(-1), `{peer_id: ${p.id}, view_id: 5, leader: 1, memb_list: [1,2,3,4,5]}`);
      }
    },
  );
}

test("node build: scripts/build_node.mjs bundles the CLI and the library", { skip }, async () => {
  const out = await buildNode();
  assert.match(out.stdout, /built dist\/membership\.mjs/);
  assert.match(out.stdout, /built dist\/mod\.mjs/);
  for (const file of ["dist/membership.mjs", "dist/mod.mjs"]) {
    const { size } = Deno.statSync(`${ROOT}${file}`);
    console.log(`${file}: ${size} bytes`);
    // Self-contained: @logtape/logtape is bundled in, only node: built-ins are imported.
    const text = Deno.readTextFileSync(`${ROOT}${file}`);
    const imports = [...text.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    assert.deepEqual(imports.filter((s) => !s.startsWith("node:")), [], `${file} imports only node: modules`);
  }
});

test(
  "node build: node dist/membership.mjs answers the flags exactly as deno run mod.ts",
  { skip },
  async () => {
    await buildNode();
    const hostsfile = writeHostsfile(freePorts(2));
    try {
      for (
        const args of [
          ["--version"],
          ["--help"],
          ["--bogus"],
          ["-h", "/nonexistent/hosts.txt", "--id", "1"],
          ["-h", hostsfile, "--id", "3"],
          ["-h", hostsfile, "--id", "1", "--format", "xml"],
          ["-h", hostsfile, "--id", "1", "-d", "soon"],
          [],
        ]
      ) {
        const onNode = await run([...NODE_PEER, ...args]);
        const onDeno = await run([...DENO_PEER, ...args]);
        const shown = args.join(" ") || "(no flags)";
        assert.deepEqual(onNode, onDeno, `${shown}: node and deno differ`);
        if (args[0] === "--version") assert.equal(onNode.stdout, `membership ${VERSION}\n`);
        if (onNode.code !== 0) {
          assert.equal(onNode.code, 2, `${shown}: exit code`);
          assert.match(onNode.stderr, /^membership: [^\n]+\n$/, `${shown}: one line on stderr`);
        }
      }
    } finally {
      Deno.removeSync(hostsfile);
    }
  },
);

test("node build: importing dist/mod.mjs in Node gives the library and runs no CLI", { skip }, async () => {
  await buildNode();
  const program = `const m = await import(${JSON.stringify(`file://${ROOT}dist/mod.mjs`)});
    console.log([typeof m.startPeer, typeof m.MemoryNetwork, typeof m.parseHostsfile, m.VERSION].join(" "));`;
  const out = await run(["node", "--input-type=module", "-e", program], { timeoutMs: 20_000 });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, `function function function ${VERSION}\n`);
  assert.equal(out.stderr, "");
});

test(
  "node build: test case 1 on Node: five peers, random order and delays, all end in view 5",
  { skip },
  async () => {
    await buildNode();
    await joinAll(() => "node");
  },
);

test(
  "node build: test case 1 mixed: odd peers on Deno, even peers on Node, all end in view 5",
  { skip },
  async () => {
    await buildNode();
    await joinAll((id) => id % 2 === 1 ? "deno" : "node");
  },
);

test("node build: test case 4 on Node: the leader crashes half-way through DEL 5, peer 2 takes over", {
  skip,
}, async () => {
  await buildNode();
  await testCase4({ command: () => NODE_PEER });
});
