/**
 * `make demo`: a local group of 5 peers on loopback (free ports, a temporary
 * hostsfile), started in random order. It shows every line they print, how
 * long the group took to form, then crashes peer 5 and shows its removal.
 * Peer 1 serves its status page while it runs; each peer's `--format json`
 * output is kept in `.tmp/demo/peerN.jsonl`, and the run is drawn as
 * `.tmp/demo/timeline.svg` at the end. It stops by itself, or on Ctrl-C;
 * with `HOLD=1` in the environment (`make demo HOLD=1`) the four survivors,
 * and peer 1's status page, stay up until Ctrl-C.
 *
 * With `--hold` (`make demo HOLD=1`) it keeps the four survivors running after
 * the removal, peer 1's status page included, until Ctrl-C; then it stops them
 * and draws the timeline as usual.
 *
 * @module
 */

import { formatEventText, type PeerEvent } from "../mod.ts";
import { fetchStatus, formatMembers } from "../src/runtime/members.ts";
import { readTimelineFiles, renderTimeline } from "../src/runtime/timeline.ts";
import {
  DENO_PEER,
  freePorts,
  PeerProcess,
  ROOT,
  shuffled,
  sleep,
  stopAll,
  writeHostsfile,
} from "../tests/support/cluster.ts";

const HOLD = Deno.args.includes("--hold");
const N = 5;
const OUT = `${ROOT}.tmp/demo/`;
Deno.mkdirSync(OUT, { recursive: true });
const jsonl = (id: number) => `${OUT}peer${id}.jsonl`;
for (let id = 1; id <= N; id++) Deno.writeTextFileSync(jsonl(id), "");

const ports = freePorts(N + 1);
const statusUrl = `http://127.0.0.1:${ports[N]}`;
const hostsfile = writeHostsfile(ports.slice(0, N));
console.log(`hostsfile ${hostsfile}:\n${Deno.readTextFileSync(hostsfile)}`);
console.log(
  `peer 1's status page while the demo runs: ${statusUrl}/ (or ./membership members ${statusUrl})` +
    (HOLD ? "; it stays up until Ctrl-C\n" : "; make demo HOLD=1 keeps it up until Ctrl-C\n"),
);

/** A `--format json` line as the protocol's text line (null: none, or not an event). */
function textLine(line: string): string | null {
  try {
    const e = JSON.parse(line);
    const notice = {
      peer: e.peer,
      viewId: e.view,
      leader: e.leader,
      member: e.member,
      isLeader: e.is_leader,
    };
    const event: PeerEvent | null = e.event === "view"
      ? {
        type: "view",
        peer: e.peer,
        view: {
          epoch: { round: 0, former: 1, run: 0 },
          id: e.view,
          leader: e.leader,
          members: e.members,
          incarnations: [],
        },
      }
      : e.event === "unreachable" || e.event === "left"
      ? { type: e.event, ...notice }
      : null;
    return event && formatEventText(event);
  } catch {
    return null;
  }
}

/** The view events a peer printed so far. */
function views(p: PeerProcess): { view: number; members: number[] }[] {
  return p.lines.flatMap((l) => {
    try {
      const e = JSON.parse(l);
      return e.event === "view" ? [e] : [];
    } catch {
      return [];
    }
  });
}

const peers: PeerProcess[] = [];
const shown = new Map<PeerProcess, number>();
/** Prints the new lines as text and keeps the JSON. */
const flush = () => {
  for (const p of peers) {
    if (!p) continue;
    const fresh = p.lines.slice(shown.get(p) ?? 0);
    shown.set(p, p.lines.length);
    if (fresh.length > 0) {
      Deno.writeTextFileSync(jsonl(p.id), fresh.map((l) => l + "\n").join(""), { append: true });
    }
    for (const line of fresh) {
      const text = textLine(line);
      if (text !== null) console.log(`  ${text}`);
    }
  }
};
const show = setInterval(flush, 20);

const stop = async () => {
  clearInterval(show);
  await stopAll(peers);
  flush();
  Deno.removeSync(hostsfile);
};
/** While holding, Ctrl-C ends the hold (the demo then stops and draws as usual). */
let endHold: (() => void) | null = null;
Deno.addSignalListener("SIGINT", () => {
  if (endHold) return endHold();
  console.log("\ninterrupted: stopping the peers");
  stop().finally(() => Deno.exit(130));
});

const started = performance.now();
const order = shuffled(Array.from({ length: N }, (_, i) => i + 1));
console.log(`starting peers in order ${order.join(", ")}`);
for (const id of order) {
  const crash = id === N ? ["-c", "3"] : []; // peer 5 crashes 3 s after it joins
  const status = id === 1 ? ["--status", `127.0.0.1:${ports[N]}`] : [];
  peers[id - 1] = new PeerProcess(id, [
    ...DENO_PEER,
    "-h",
    hostsfile,
    "--id",
    String(id),
    "--format",
    "json",
    ...status,
    ...crash,
  ]);
}
try {
  await Promise.all(peers.map((p) => p.waitFor("view 5", (q) => (views(q).at(-1)?.view ?? 0) >= N)));
  const formed = performance.now() - started;
  await sleep(100);
  console.log(
    `\nall ${N} peers in view ${N} ${formed.toFixed(0)} ms after start (process start-up included)`,
  );
  console.log(`\n./membership members ${statusUrl}`);
  console.log(formatMembers(await fetchStatus(statusUrl), "text"));
  console.log(`peer ${N} will crash 3 s after joining…`);
  await peers[N - 1].exited();
  const crashed = performance.now();
  const survivors = peers.slice(0, N - 1);
  await Promise.all(
    survivors.map((p) => p.waitFor("removal", (q) => views(q).at(-1)?.members.includes(N) === false)),
  );
  await sleep(100);
  console.log(
    `\npeer ${N} removed from every survivor's view ${
      (performance.now() - crashed).toFixed(0)
    } ms after it crashed`,
  );
  if (HOLD) {
    console.log(`\nholding: ${N - 1} peers keep running; ${statusUrl}/ is up until Ctrl-C`);
    await new Promise<void>((resolve) => (endHold = resolve));
    console.log("\nCtrl-C: stopping the peers");
  }
} finally {
  await sleep(100);
  await stop();
}
const files = Array.from({ length: N }, (_, i) => jsonl(i + 1));
Deno.writeTextFileSync(`${OUT}timeline.svg`, renderTimeline(await readTimelineFiles(files)));
console.log(`\neach peer's --format json output: ${OUT}peer1.jsonl … peer${N}.jsonl`);
console.log(`the run as a picture: ${OUT}timeline.svg (./membership timeline ${OUT}peer*.jsonl)`);
