/**
 * `make demo`: a local group of 5 peers on loopback (free ports, a temporary
 * hostsfile), started in random order. It shows every line they print, how
 * long the group took to form, then crashes peer 5 and shows its removal.
 * It stops by itself, or on Ctrl-C.
 *
 * @module
 */

import {
  DENO_PEER,
  freePorts,
  PeerProcess,
  shuffled,
  sleep,
  stopAll,
  writeHostsfile,
} from "../tests/support/cluster.ts";

const N = 5;
const hostsfile = writeHostsfile(freePorts(N));
console.log(`hostsfile ${hostsfile}:\n${Deno.readTextFileSync(hostsfile)}`);
const peers: PeerProcess[] = [];
const shown = new Map<PeerProcess, number>();
const show = setInterval(() => {
  for (const p of peers) {
    for (const line of p?.lines.slice(shown.get(p) ?? 0) ?? []) console.log(`  ${line}`);
    if (p) shown.set(p, p.lines.length);
  }
}, 20);

const stop = async () => {
  clearInterval(show);
  await stopAll(peers);
  Deno.removeSync(hostsfile);
};
Deno.addSignalListener("SIGINT", () => {
  console.log("\ninterrupted: stopping the peers");
  stop().finally(() => Deno.exit(130));
});

const started = performance.now();
const order = shuffled(Array.from({ length: N }, (_, i) => i + 1));
console.log(`starting peers in order ${order.join(", ")}`);
for (const id of order) {
  const crash = id === N ? ["-c", "3"] : []; // peer 5 crashes 3 s after it joins
  peers[id - 1] = new PeerProcess(id, [...DENO_PEER, "-h", hostsfile, "--id", String(id), ...crash]);
}
try {
  await Promise.all(peers.map((p) => p.waitFor("view 5", (q) => (q.lastView()?.view ?? 0) >= N)));
  const formed = performance.now() - started;
  await sleep(100);
  console.log(
    `\nall ${N} peers in view ${N} ${formed.toFixed(0)} ms after start (process start-up included)`,
  );
  console.log(`peer ${N} will crash 3 s after joining…`);
  await peers[N - 1].exited();
  const crashed = performance.now();
  const survivors = peers.slice(0, N - 1);
  await Promise.all(
    survivors.map((p) => p.waitFor("removal", (q) => q.lastView()?.members.includes(N) === false)),
  );
  await sleep(100);
  console.log(
    `\npeer ${N} removed from every survivor's view ${
      (performance.now() - crashed).toFixed(0)
    } ms after it crashed`,
  );
} finally {
  await sleep(100);
  await stop();
}
