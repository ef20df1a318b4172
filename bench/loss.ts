/**
 * `make bench-loss`: 5 peer processes in one network namespace whose
 * loopback drops a share of ALL packets (UDP and TCP, both directions) by
 * an nftables rule (`numgen random mod 100 < N drop`), as issue 11 measured:
 * 10 % for 120 s, 25 % and 40 % for 60 s by default. Reports, per run, the
 * time from the first spawn to all 5 in one view of all 5 (from the peers'
 * `--format json` timestamps), the false unreachable reports (every peer
 * stays up, so each is false), the view changes that removed a member, and
 * what the rule really dropped. Writes `bench/results-loss.md` (its own file;
 * `make bench` does not touch it), or `bench/results-loss-quick.md` with
 * `--quick`. Needs root, iproute2 and nftables. Not a test: nothing fails on
 * a figure.
 *
 * Flags: `--runs 10:120,25:60,40:60` (loss %:seconds, each run timed from
 * the first spawn), `--quick` (10:15,25:15,40:15), `--repeat K` (each run K
 * times, default 1), `--heartbeat MS` and `--fail-after N` (passed to the
 * peers; default: theirs).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type PeerProcess,
  ROOT,
  sleep,
  startGroup,
  stopAll,
  writeHostsfile,
} from "../tests/support/cluster.ts";
import { addRandomLoss, Namespaces, nftCounters, peerIn, whyNoNetns } from "../tests/support/netns.ts";

const N = 5;
const ALL = Array.from({ length: N }, (_, i) => i + 1);
const PORTS = ALL.map((id) => 7600 + id);

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "10:120,25:60,40:60" },
    quick: { type: "boolean", default: false },
    repeat: { type: "string", default: "1" },
    heartbeat: { type: "string" },
    "fail-after": { type: "string" },
  },
});
const runs = (flags.quick ? "10:15,25:15,40:15" : flags.runs).split(",").map((r) => {
  const [percent, seconds] = r.split(":").map(Number);
  if (!(percent >= 0 && percent <= 100 && seconds > 0)) {
    console.error(`bench/loss.ts: bad --runs entry "${r}" (want PERCENT:SECONDS)`);
    Deno.exit(2);
  }
  return { percent, seconds };
});
const repeat = Number(flags.repeat);
const peerFlags = [
  "--format",
  "json",
  ...(flags.heartbeat ? ["--heartbeat", flags.heartbeat] : []),
  ...(flags["fail-after"] ? ["--fail-after", flags["fail-after"]] : []),
];

/** One `--format json` event. */
interface Event {
  event: string;
  peer: number;
  view: number;
  members?: number[];
  member?: number;
  at: number;
}

const events = (p: PeerProcess): Event[] =>
  p.lines.flatMap((l) => {
    if (!l.startsWith("{")) return [];
    try {
      const e = JSON.parse(l);
      return [{ ...e, at: Date.parse(e.at) }];
    } catch {
      return [];
    }
  });

/** What one run showed. */
interface Result {
  percent: number;
  seconds: number;
  /** ms from the first spawn to all 5 in one view of all 5, or null. */
  formedMs: number | null;
  falseBefore: number;
  falseAfter: number;
  /** Distinct view ids that removed a member, before and after forming. */
  removalsBefore: number;
  removalsAfter: number;
  wholeAtEnd: boolean;
  lastViewId: number;
  dropped: string;
  /** Each false report: who reported whom, when (s from the first spawn), in which view. */
  reports: string[];
}

/** Replays every peer's view events in time order: when were all 5 first one view of all 5? */
function formedAt(all: Event[]): number | null {
  const last = new Map<number, Event>();
  for (const e of all.filter((e) => e.event === "view").sort((a, b) => a.at - b.at)) {
    last.set(e.peer, e);
    const views = [...last.values()];
    if (
      views.length === N &&
      views.every((v) => v.view === views[0].view && v.members!.join() === ALL.join())
    ) return e.at;
  }
  return null;
}

let active: { peers: PeerProcess[]; spaces: Namespaces } | null = null;

async function cleanUp(): Promise<void> {
  if (!active) return;
  const { peers, spaces } = active;
  active = null;
  await stopAll(peers);
  await spaces.deleteAll();
}

Deno.addSignalListener("SIGINT", () => {
  console.log("interrupted: stopping the peers and deleting the namespace");
  cleanUp().finally(() => Deno.exit(130));
});

async function run(percent: number, seconds: number): Promise<Result> {
  const spaces = new Namespaces(`bloss${percent}`);
  const hostsfile = writeHostsfile(PORTS);
  let peers: PeerProcess[] = [];
  try {
    const ns = await spaces.add("lo");
    active = { peers, spaces };
    await addRandomLoss(ns, percent);
    ({ peers } = await startGroup(N, { command: () => peerIn(ns), flags: () => peerFlags, hostsfile }));
    active = { peers, spaces };
    const start = peers[0].startedAt;
    await sleep(seconds * 1000 - (Date.now() - start));
    const c = await nftCounters(ns, "loss");
    const all = peers.flatMap(events);
    const formed = formedAt(all);
    const removalIds = (after: boolean) => {
      const ids = new Set<number>();
      for (const p of peers) {
        let previous: number[] | undefined;
        for (const e of events(p).filter((e) => e.event === "view")) {
          const isAfter = formed !== null && e.at >= formed;
          if (previous && previous.some((m) => !e.members!.includes(m)) && isAfter === after) ids.add(e.view);
          previous = e.members;
        }
      }
      return ids.size;
    };
    const unreachable = all.filter((e) => e.event === "unreachable");
    const lastViews = peers.map((p) => events(p).filter((e) => e.event === "view").at(-1));
    const share = (d: number, s: number) => `${d}/${s} (${s ? ((100 * d) / s).toFixed(1) : "–"} %)`;
    return {
      percent,
      seconds,
      formedMs: formed === null ? null : formed - start,
      falseBefore: unreachable.filter((e) => formed === null || e.at < formed).length,
      falseAfter: unreachable.filter((e) => formed !== null && e.at >= formed).length,
      removalsBefore: removalIds(false),
      removalsAfter: removalIds(true),
      wholeAtEnd: lastViews.every((v) =>
        v && v.view === lastViews[0]!.view && v.members!.join() === ALL.join()
      ),
      lastViewId: Math.max(0, ...lastViews.map((v) => v?.view ?? 0)),
      dropped: `TCP ${share(c.dropped_tcp ?? 0, c.sent_tcp ?? 0)}, UDP ${
        share(c.dropped_other ?? 0, c.sent_other ?? 0)
      }`,
      reports: unreachable.map((e) =>
        `peer ${e.peer} reported ${e.member} at ${((e.at - start) / 1000).toFixed(1)} s (view ${e.view})`
      ),
    };
  } finally {
    await cleanUp();
    await Deno.remove(hostsfile).catch(() => {});
  }
}

const reason = await whyNoNetns({ nftables: true });
if (reason) {
  console.error(`bench/loss.ts: cannot run here: ${reason}`);
  Deno.exit(1);
}

const started = new Date();
const loadBefore = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
const results: Result[] = [];
for (const { percent, seconds } of runs) {
  for (let i = 0; i < repeat; i++) {
    console.log(`${percent} % loss, ${seconds} s${repeat > 1 ? ` (${i + 1}/${repeat})` : ""}...`);
    const r = await run(percent, seconds);
    results.push(r);
    console.log(
      `  formed: ${r.formedMs === null ? "no" : `${(r.formedMs / 1000).toFixed(1)} s`}; false unreachable: ` +
        `${r.falseBefore} + ${r.falseAfter}; removals: ${r.removalsBefore} + ${r.removalsAfter}; ` +
        `one view at the end: ${r.wholeAtEnd ? "yes" : "no"}; dropped ${r.dropped}`,
    );
    for (const report of r.reports) console.log(`    ${report}`);
  }
}
const loadAfter = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");

const nproc = navigator.hardwareConcurrency;
const text = `# Packet-loss benchmark

Generated by \`make bench-loss\` (\`bench/loss.ts${
  Deno.args.length ? " " + Deno.args.join(" ") : ""
}\`); do not edit.
${started.toISOString().slice(0, 16).replace("T", " ")} UTC; ${nproc} CPUs; deno ${Deno.version.deno}.
Load average before ${loadBefore}, after ${loadAfter}. Peer flags: \`${peerFlags.join(" ")}\`.

${N} peer processes in one network namespace whose loopback drops the given share of every packet sent (UDP
and TCP, both directions: nftables \`numgen random mod 100 < N drop\` on the output hook). Each run lasts the
given time from the first spawn; every peer stays up throughout, so every unreachable line is a false report.
*Formed*: first spawn to the moment all ${N} had installed one view of all ${N} (peers' own timestamps).
*False reports* and *removals* (distinct view ids that dropped a member) are given as before + after forming.
*Dropped* is what the rule's counters saw: the real loss.

| loss | run (s) | formed after (s) | false unreachable reports | removals | one view of all ${N} at the end | last view id | dropped |
| --- | --- | --- | --- | --- | --- | --- | --- |
${
  results.map((r) =>
    `| ${r.percent} % | ${r.seconds} | ${
      r.formedMs === null ? "not formed" : (r.formedMs / 1000).toFixed(1)
    } | ` +
    `${r.falseBefore} + ${r.falseAfter} | ${r.removalsBefore} + ${r.removalsAfter} | ${
      r.wholeAtEnd ? "yes" : "no"
    } | ${r.lastViewId} | ${r.dropped} |`
  ).join("\n")
}

Issue 11's targets: under 25 % loss for 60 s no false report and nobody removed; under 40 % the group forms and
stays one view.
`;
const out = `${ROOT}bench/results-loss${flags.quick ? "-quick" : ""}.md`;
await Deno.writeTextFile(out, text);
// deno fmt's own line wrapping, so that `make check` stays clean after a run.
await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", out], stdout: "null" }).output();
console.log(`\n${text}\nwritten to ${out}`);
