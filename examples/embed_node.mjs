// Embedding the membership library in a Node program: three peers in one
// process, over real TCP and UDP sockets on loopback.
//
//   make build                                  # writes dist/mod.mjs
//   node examples/embed_node.mjs [PORT PORT PORT]
//
// Without ports it picks three free ones. It waits until every peer has
// installed the view of all three, prints that view, stops the peers and
// exits 0 (1 if the view does not come within 10 seconds).

import { createServer } from "node:net";
import process from "node:process";

// A Node program that installed the package writes `import { startPeer } from "@membership-ts/membership"`.
// Here the path is computed, so that `deno check examples/` does not need dist/ to be built.
const library = new URL("../dist/mod.mjs", import.meta.url).href;
let startPeer;
try {
  ({ startPeer } = await import(library));
} catch (e) {
  if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
  console.error("embed_node: dist/mod.mjs is missing; run `make build` first");
  process.exit(1);
}

/** A port the OS says is free now (a sketch: the test suite also checks UDP). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const ports = process.argv.length > 2
  ? process.argv.slice(2).map(Number)
  : [await freePort(), await freePort(), await freePort()];
const hosts = ports.map((port) => ({ hostname: "127.0.0.1", port }));

// Peer 1 founds the group; 2 and 3 join it. Each binds its own port.
const peers = [];
const deadline = AbortSignal.timeout(10_000);
try {
  for (let id = 1; id <= hosts.length; id++) {
    peers.push(await startPeer({ hosts, id, listen: hosts[id - 1], heartbeatMs: 100 }));
  }
  const all = (view) => view.members.length === hosts.length;
  const views = await Promise.all(peers.map((peer) => peer.waitForView(all, deadline)));
  for (const [i, view] of views.entries()) {
    console.log(`peer ${i + 1}: view ${view.id}, leader ${view.leader}, members [${view.members}]`);
  }
} catch (e) {
  console.error(`embed_node: ${deadline.aborted ? "no view of all three within 10 s" : e}`);
  process.exitCode = 1;
} finally {
  await Promise.all(peers.map((peer) => peer.stop()));
}
