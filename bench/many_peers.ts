/**
 * N peers of one group in this one process, each on its own loopback port
 * over real sockets (the library's `startPeer`): what `scale.ts` measures
 * as "in one process". All start at once; prints one JSON line per event
 * that matters to the bench (`formed` with the ms from the first start to
 * every peer holding a view of all N, `unreachable` for each report), then
 * idles until SIGTERM or SIGINT, when it stops every peer and exits.
 *
 *   deno run --unstable-net --allow-net --allow-read bench/many_peers.ts HOSTSFILE
 *
 * @module
 */

import { parseHostsfile, type Peer, startPeer } from "../mod.ts";

const path = Deno.args[0];
if (!path) {
  console.error("usage: many_peers.ts HOSTSFILE (one 127.0.0.1:PORT line per peer)");
  Deno.exit(2);
}
const hosts = parseHostsfile(Deno.readTextFileSync(path));
const n = hosts.length;
const say = (line: Record<string, unknown>) => console.log(JSON.stringify(line));

const peers: Peer[] = [];
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    clearInterval(progress);
    await Promise.all(peers.map((p) => p.stop().catch(() => {})));
  }
  Deno.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => void stop(0));

const t0 = performance.now();
const whole = new Set<number>(); // peers whose latest view holds all n
const viewSize = new Array<number>(n).fill(0); // each peer's latest view, in members
let unreachable = 0;
let formed = false;
// Until the group forms, how far it got: what the bench reports if it never does.
const progress = setInterval(() => {
  const sizes = [...viewSize].sort((a, b) => a - b);
  say({
    event: "progress",
    ms: performance.now() - t0,
    whole: whole.size,
    largest: sizes[n - 1],
    median: sizes[n >> 1],
    unreachable,
  });
}, 2_000);
try {
  const started = await Promise.all(hosts.map((listen, i) =>
    startPeer({
      hosts,
      id: i + 1,
      listen,
      onEvent: (e) => {
        if (e.type === "unreachable") {
          unreachable++;
          say({ event: "unreachable", peer: e.peer, member: e.member, at: Date.now() });
        } else if (e.type === "view") {
          viewSize[e.peer - 1] = e.view.members.length;
          if (e.view.members.length === n) whole.add(e.peer);
          else whole.delete(e.peer);
          if (!formed && whole.size === n) {
            formed = true;
            clearInterval(progress);
            say({ event: "formed", ms: performance.now() - t0, at: Date.now() });
          }
        }
      },
    })
  ));
  peers.push(...started);
  say({ event: "started", peers: n, ms: performance.now() - t0 });
} catch (e) {
  console.error(`many_peers.ts: could not start ${n} peers: ${(e as Error).message}`);
  await stop(1);
}
