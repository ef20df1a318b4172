/**
 * `make bench-events`: user events through one group of 5 and of 16 peer
 * processes on loopback, and through as many serf agents in the same run.
 *
 * - **Latency**: events sent one at a time, each from the next member in
 *   turn; the time from sending to delivery at every member (the slowest).
 * - **Throughput**: a burst sent as fast as it goes from 3 members at once;
 *   events delivered everywhere per second, from the first send to the last
 *   delivery at the last member, and whether every member delivered every
 *   event, once, in the same order.
 *
 * Ours: `deno run … mod.ts --format json --status HOST:PORT` per peer; events
 * go in through `POST /v1/event` (what `membership event` does; it answers
 * once the event is delivered at that peer), and each member's JSON `event`
 * line gives the delivery time on its own clock. Serf: `serf agent` per
 * member at its defaults (LAN profile); events go in through the agent's RPC
 * `event` command with `Coalesce: false` (what `serf event -coalesce=false`
 * sends, without a process per event), and come out of every agent's RPC
 * `stream` of user events, timed when they reach this process (so serf's
 * figures include one loopback RPC hop that ours do not). Everything is on
 * one machine, so every clock is the same clock.
 *
 * Writes `bench/results-events.md` and the `events bench` section of
 * `bench/results.md` (the rest of that file is left alone). Not a test: a
 * slow figure fails nothing; a group that does not form, or events that do
 * not arrive within the bounded wait, are reported as such.
 *
 *   deno run --allow-all bench/events.ts [--sizes 5,16] [--latency 200]
 *     [--burst 2000] [--senders 3] [--inflight 64] [--only ours,serf] [--out FILE]
 *
 * @module
 */

import { log, optionsOrExit, positive, runBench, Started, until } from "./script.ts";
import { parseArgs } from "node:util";
import { DENO, DENO_PEER, type PeerProcess, ROOT, sleep } from "../tests/support/cluster.ts";
import { choosePorts } from "./ports.ts";
import { commandText, loadAverage, machine, median } from "./proc_stats.ts";
import { replaceSection } from "./results_file.ts";
import { serfUntil, startSerfAgents } from "./serf.ts";
import { SerfRpc } from "./serf_rpc.ts";

// ---- arguments ----

const SYSTEMS = ["ours", "serf"] as const;
type System = typeof SYSTEMS[number];

const USAGE = `usage: bench/events.ts [--sizes 5,16] [--latency N] [--burst N] [--senders 3] [--inflight N]
       [--only ours,serf] [--out FILE]`;

function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: "string", default: "5,16" },
      latency: { type: "string", default: "200" },
      burst: { type: "string", default: "2000" },
      senders: { type: "string", default: "3" },
      inflight: { type: "string", default: "64" },
      only: { type: "string" },
      out: { type: "string", default: `${ROOT}bench/results-events.md` },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const only = values.only?.split(",").map((s) => s.trim()) ?? [...SYSTEMS];
  for (const s of only) {
    if (!(SYSTEMS as readonly string[]).includes(s)) {
      throw new Error(`--only wants some of ${SYSTEMS.join(", ")}, not ${s}`);
    }
  }
  return {
    sizes: values.sizes.split(",").map((s) => positive("sizes", s.trim())),
    latencyCount: positive("latency", values.latency),
    burstCount: positive("burst", values.burst),
    senders: positive("senders", values.senders),
    inflight: positive("inflight", values.inflight),
    systems: new Set(only as System[]),
    out: values.out,
  };
}
type Options = ReturnType<typeof parseOptions>;

/** Events the bench does not count: the first connections, the runtime's warm-up. */
const WARM_UP = 5;
/** How long one event of the latency run may take to reach every member. */
const EVENT_TIMEOUT_MS = 10_000;
/** The burst's bounded wait: this long without a new delivery anywhere ends it. */
const QUIET_MS = 10_000;
const FORM_TIMEOUT_MS = 120_000;
/** Every event has this name (serf coalesces by name; `Coalesce: false` turns that off). */
const NAME = "bench";

// ---- processes: every one started is killed on the way out, whatever happens ----

const started = new Started();

// ---- what the two systems have in common ----

/**
 * A member's deliveries, in its order: payload → time (ms since the epoch).
 * For ours `at` is the member's own timestamp; for serf the time the record
 * of its RPC stream reached this process.
 */
class Deliveries {
  readonly order: string[] = [];
  readonly at = new Map<string, number>();
  duplicates = 0;

  add(payload: string, at: number): void {
    if (this.at.has(payload)) {
      this.duplicates++;
      return;
    }
    this.at.set(payload, at);
    this.order.push(payload);
  }
}

/** A group of either system: how to send an event through member `i`, and what each member delivered. */
interface Group {
  n: number;
  /** Sends through member `i` (0-based); resolves when that member's API answered. */
  send(i: number, payload: string): Promise<void>;
  /** Per member. */
  deliveries: Deliveries[];
  /** Throws if a member's process died. */
  check(): void;
}

interface Latency {
  /** Send → delivered at every member, per event delivered everywhere (ms). */
  everywhere: number[];
  /** Send → the API call returned (ours: delivered at the sender; serf: queued at its agent) (ms). */
  answered: number[];
  /** Events that did not reach every member within EVENT_TIMEOUT_MS. */
  missing: number;
}

/** Events one at a time, from member k mod n for the k-th; each waits until every member delivered it. */
async function latency(g: Group, count: number, tag: string): Promise<Latency> {
  const result: Latency = { everywhere: [], answered: [], missing: 0 };
  for (let k = 0; k < WARM_UP + count; k++) {
    const sentAt = Date.now();
    const payload = `${tag}:${k}:${sentAt}`; // the send time travels with the event, as the brief asks
    await g.send(k % g.n, payload);
    const answeredAt = Date.now();
    const arrived = () => g.deliveries.every((d) => d.at.has(payload));
    try {
      await until(
        () => `event ${k} not delivered everywhere`,
        () => (g.check(), arrived()),
        EVENT_TIMEOUT_MS,
        2,
      );
    } catch (e) {
      if (!arrived() && k >= WARM_UP) {
        result.missing++;
        continue;
      }
      throw e;
    }
    if (k < WARM_UP) continue;
    result.answered.push(answeredAt - sentAt);
    result.everywhere.push(Math.max(...g.deliveries.map((d) => d.at.get(payload)!)) - sentAt);
  }
  return result;
}

interface Throughput {
  sent: number;
  senders: number[];
  /** First send → every send's API call answered (ms). */
  sendingMs: number;
  /** Sends that failed (ours: a non-200 answer). */
  failed: number;
  /** Events delivered at every member. */
  everywhere: number;
  /** First send → the last delivery, at the slowest member, of an event delivered everywhere (ms). */
  elapsedMs: number;
  /** Per member: events of the burst delivered. */
  perMember: number[];
  duplicates: number;
  /** Members whose delivery order differs from the first member's. */
  orderDiffers: number;
}

/**
 * `count` events from `senders` members at once, `inflight` outstanding per
 * sender; waits until every member delivered every event, or nothing new
 * arrived for QUIET_MS.
 */
async function throughput(g: Group, count: number, senders: number[], inflight: number, tag: string) {
  const payloads = Array.from({ length: count }, (_, k) => `${tag}:${k}`);
  let failed = 0;
  const t0 = Date.now();
  // Sender s owns events s, s + S, s + 2S, …: each of its `inflight` workers takes the next of them.
  const queues = senders.map((_, s) => payloads.filter((_, k) => k % senders.length === s));
  await Promise.all(queues.flatMap((queue, s) => {
    let taken = 0;
    return Array.from({ length: inflight }, async () => {
      while (taken < queue.length) {
        const payload = queue[taken++];
        await g.send(senders[s], payload).catch(() => failed++);
      }
    });
  }));
  const sendingMs = Date.now() - t0;
  const total = () => g.deliveries.reduce((a, d) => a + payloads.filter((p) => d.at.has(p)).length, 0);
  let seen = -1, lastProgress = Date.now();
  while (g.deliveries.some((d) => payloads.some((p) => !d.at.has(p)))) {
    g.check();
    const now = total();
    if (now !== seen) (seen = now, lastProgress = Date.now());
    if (Date.now() - lastProgress > QUIET_MS) break;
    await sleep(20);
  }
  const everywhereSet = payloads.filter((p) => g.deliveries.every((d) => d.at.has(p)));
  const last = Math.max(
    ...g.deliveries.map((d) => Math.max(0, ...everywhereSet.map((p) => d.at.get(p)!))),
  );
  const inBurst = (d: Deliveries) => d.order.filter((p) => p.startsWith(`${tag}:`));
  const reference = inBurst(g.deliveries[0]).join(" ");
  return {
    sent: count,
    senders: senders.map((s) => s + 1),
    sendingMs,
    failed,
    everywhere: everywhereSet.length,
    elapsedMs: last - t0,
    perMember: g.deliveries.map((d) => inBurst(d).length),
    duplicates: g.deliveries.reduce((a, d) => a + d.duplicates, 0),
    orderDiffers: g.deliveries.filter((d) => inBurst(d).join(" ") !== reference).length,
  } satisfies Throughput;
}

/** Members 1, the middle one and the last (0-based), or fewer in a small group. */
function senderIndexes(n: number, count: number): number[] {
  const spread = [0, Math.floor(n / 2), n - 1, ...Array.from({ length: n }, (_, i) => i)];
  return [...new Set(spread)].slice(0, Math.min(count, n));
}

interface Run {
  system: string;
  n: number;
  /** Spawn → every member sees all n. */
  formedMs: number;
  latency: Latency | null;
  throughput: Throughput | null;
  notes: string[];
}

/** The latency run, then the burst; a failure of either becomes a note. */
async function measure(g: Group, options: Options, run: Run): Promise<void> {
  try {
    log(`${run.system}, ${g.n}: ${options.latencyCount} events one at a time (after ${WARM_UP} to warm up)`);
    run.latency = await latency(g, options.latencyCount, "lat");
    const l = run.latency;
    log(
      `  send → delivered everywhere: p50 ${pct(l.everywhere, 50)} ms, p99 ${pct(l.everywhere, 99)} ms, ` +
        `max ${Math.max(...l.everywhere)} ms; missing ${l.missing}`,
    );
  } catch (e) {
    run.notes.push(`latency: ${(e as Error).message.split("\n")[0]}`);
    log(`  latency DID NOT FINISH: ${(e as Error).message}`);
  }
  try {
    const senders = senderIndexes(g.n, options.senders);
    log(
      `${run.system}, ${g.n}: a burst of ${options.burstCount} events from members ${
        senders.map((s) => s + 1)
      }`,
    );
    run.throughput = await throughput(g, options.burstCount, senders, options.inflight, "tp");
    const t = run.throughput;
    log(
      `  ${t.everywhere} of ${t.sent} delivered everywhere, ${rate(t)} events/s; order differs at ` +
        `${t.orderDiffers} members; duplicates ${t.duplicates}; failed sends ${t.failed}`,
    );
  } catch (e) {
    run.notes.push(`burst: ${(e as Error).message.split("\n")[0]}`);
    log(`  burst DID NOT FINISH: ${(e as Error).message}`);
  }
}

// ---- ours: peer processes with --status ----

/** Every `event` line `p` printed so far, parsed once. */
function oursDeliveries(p: PeerProcess, into: Deliveries, parsed: { lines: number }): void {
  for (; parsed.lines < p.lines.length; parsed.lines++) {
    const line = p.lines[parsed.lines];
    if (!line.startsWith('{"event":"event"')) continue;
    const e = JSON.parse(line);
    into.add(e.payload, Date.parse(e.at));
  }
}

async function ours(n: number, options: Options): Promise<Run> {
  const run: Run = { system: "ours", n, formedMs: NaN, latency: null, throughput: null, notes: [] };
  const ports = choosePorts(2 * n);
  const file = Deno.makeTempFileSync({ prefix: "events-hosts-", suffix: ".txt" });
  started.tempFile(file);
  Deno.writeTextFileSync(file, ports.slice(0, n).map((p) => `127.0.0.1:${p}`).join("\n") + "\n");
  const status = (i: number) => `127.0.0.1:${ports[n + i]}`;
  const t0 = Date.now();
  const peers = Array.from({ length: n }, (_, i) =>
    started.spawn(i + 1, [
      ...DENO_PEER,
      ...["-h", file, "--id", `${i + 1}`, "--format", "json", "--status", status(i)],
    ]));
  const whole = (p: PeerProcess) =>
    p.lines.some((l) => l.startsWith('{"event":"view"') && JSON.parse(l).members.length === n);
  await until(
    () => `${peers.filter(whole).length} of ${n} peers printed a view of all ${n}`,
    () => (started.noneExited(peers, "peer"), peers.every(whole)),
    FORM_TIMEOUT_MS,
    100,
  );
  run.formedMs = Date.now() - t0;
  log(`ours, ${n} peer processes: all in a view of ${n} after ${run.formedMs} ms`);
  await sleep(1_000);

  const deliveries = peers.map(() => new Deliveries());
  const parsed = peers.map(() => ({ lines: 0 }));
  const group: Group = {
    n,
    deliveries,
    check() {
      started.noneExited(peers, "peer");
      peers.forEach((p, i) => oursDeliveries(p, deliveries[i], parsed[i]));
    },
    async send(i, payload) {
      const response = await fetch(`http://${status(i)}/v1/event`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: NAME, payload, timeoutMs: 60_000 }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`POST /v1/event to peer ${i + 1}: ${response.status} ${text}`);
    },
  };
  // A view change or an unreachable line while events flow would show in the figures: say so.
  const before = peers.map((p) => p.lines.length);
  await measure(group, options, run);
  group.check();
  const during = peers.flatMap((p, i) => p.lines.slice(before[i]));
  const alarms = during.filter((l) => l.startsWith('{"event":"unreachable"')).length;
  if (alarms) run.notes.push(`${alarms} unreachable lines while events were sent`);
  const views = new Set(during.filter((l) => l.startsWith('{"event":"view"')).map((l) => JSON.parse(l).view));
  if (views.size) run.notes.push(`views installed while events were sent: ${[...views].join(", ")}`);
  return run;
}

// ---- serf ----

async function serf(n: number, options: Options): Promise<Run> {
  const run: Run = { system: "serf", n, formedMs: NaN, latency: null, throughput: null, notes: [] };
  const { agents, rpc, t0 } = await startSerfAgents(started, n, FORM_TIMEOUT_MS);
  let seen = 0;
  await serfUntil(
    started,
    agents.map((_, i) => rpc(i)),
    (m) => (seen = [...m.values()].filter((s) => s === "alive").length) === n,
    () => `serf: an agent lists ${seen} of ${n} alive`,
    FORM_TIMEOUT_MS,
    agents,
  );
  run.formedMs = Date.now() - t0;
  log(`serf, ${n} agents: every agent lists ${n} alive after ${run.formedMs} ms`);
  await sleep(1_000);

  const deliveries = agents.map(() => new Deliveries());
  const rpcs = await Promise.all(agents.map((_, i) => SerfRpc.connect(rpc(i))));
  rpcs.forEach((c) => started.onCleanUp(() => c.close()));
  await Promise.all(rpcs.map((c, i) => c.stream(NAME, (e) => deliveries[i].add(e.payload, e.at))));
  const group: Group = {
    n,
    deliveries,
    check: () => started.noneExited(agents, "serf agent"),
    send: (i, payload) => rpcs[i].event(NAME, payload, false),
  };
  const before = agents.map((a) => a.lines.length);
  await measure(group, options, run);
  // What the agents logged meanwhile (serf logs to stdout): its warnings say why events went missing.
  const warnings = new Map<string, number>();
  for (const [i, a] of agents.entries()) {
    for (const line of a.lines.slice(before[i])) {
      const m = /\[(WARN|ERR)\] (.*)/.exec(line);
      if (!m) continue;
      const kind = `[${m[1]}] ${m[2]}`.replace(/\d+/g, "N").replace(/'[^']*'/g, "…").slice(0, 80);
      warnings.set(kind, (warnings.get(kind) ?? 0) + 1);
    }
  }
  // What the two warnings that matter here mean (serf 0.8's source: serf.go, agent/ipc_event_stream.go).
  const meaning: [RegExp, string][] = [
    [/received old event/, "an event older than the last 512 Lamport times an agent keeps: dropped"],
    [
      /Dropping event to ipc\.client/,
      "received, but not handed to this bench's RPC stream (its buffer was full)",
    ],
  ];
  for (const [kind, count] of warnings) {
    const why = meaning.find(([re]) => re.test(kind))?.[1];
    run.notes.push(`agents logged ${count} × \`${kind}\`${why ? `: ${why}` : ""}`);
  }
  return run;
}

// ---- the report ----

/** The p-th percentile of `xs` (nearest rank), rounded; "–" when empty. */
function pct(xs: number[], p: number): string {
  if (!xs.length) return "–";
  const s = [...xs].sort((a, b) => a - b);
  return `${Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)])}`;
}

const rate = (t: Throughput) => t.elapsedMs > 0 ? Math.round(t.everywhere / (t.elapsedMs / 1000)) : NaN;

function tables(runs: Run[], options: Options, header: string[], serfVersion: string): string[] {
  const label = (r: Run) => r.system === "serf" ? `serf ${serfVersion}` : "ours";
  const latencyRows = runs.map((r) => {
    const l = r.latency;
    if (!l) return `| ${label(r)} | ${r.n} | did not finish (below) | | | | | | |`;
    return `| ${label(r)} | ${r.n} | ${l.everywhere.length} | ${pct(l.everywhere, 50)} | ${
      pct(l.everywhere, 90)
    } | ${pct(l.everywhere, 99)} | ${pct(l.everywhere, 100)} | ${pct(l.answered, 50)} | ${l.missing} |`;
  });
  const throughputRows = runs.map((r) => {
    const t = r.throughput;
    if (!t) return `| ${label(r)} | ${r.n} | did not finish (below) | | | | | | |`;
    const per = t.perMember;
    return `| ${label(r)} | ${r.n} | ${t.sent} from members ${t.senders.join(", ")} | ${
      (t.sendingMs / 1000).toFixed(2)
    } s | ${(t.elapsedMs / 1000).toFixed(2)} s | **${rate(t)}** | ${t.everywhere} of ${t.sent} | ${
      Math.min(...per)
    } / ${median(per)} | ${t.duplicates} | ${
      t.orderDiffers === 0 ? "yes" : `no: ${t.orderDiffers} of ${r.n - 1} differ from member 1`
    } |`;
  });
  const notes = runs.flatMap((r) => r.notes.map((x) => `- ${label(r)}, ${r.n}: ${x}`));
  const formed = runs.map((r) => `${label(r)} ${r.n}: ${Math.round(r.formedMs)} ms`).join("; ");
  return [
    ...header,
    "",
    `### Latency: ${options.latencyCount} events one at a time`,
    "",
    "Event k is sent through member k mod N, once the one before it reached every member (after",
    `${WARM_UP} not counted). *Everywhere*: send → the slowest member's delivery; *sender*: send → the`,
    "sending API call answered (ours: `POST /v1/event` answers when the sending peer delivered it; serf:",
    "the RPC `event` answers when its agent queued it for gossip). *Missing*: events that had not reached",
    `every member ${EVENT_TIMEOUT_MS / 1000} s after they were sent (not in the percentiles).`,
    "",
    "| system | members | events | everywhere p50 (ms) | p90 | p99 | max | sender p50 (ms) | missing |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...latencyRows,
    "",
    `### Throughput: a burst from ${options.senders} members at once`,
    "",
    `Ours: ${options.inflight} \`POST /v1/event\` outstanding per sender (each answers on delivery at the`,
    "sender); serf: as many RPC `event` calls outstanding per sender (each answers once queued).",
    "*Sending*: first send → the last send answered; *delivered*: first send → the last member's last",
    "delivery of the events that reached every member; *events/s*: those events over that time.",
    `The wait ends when every member has every event, or after ${QUIET_MS / 1000} s with no new delivery.`,
    "*Same order*: each member's sequence of the burst's events against member 1's.",
    "",
    "| system | members | sent | sending | delivered | events/s | delivered everywhere | per member, min / median | duplicates | same order everywhere |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...throughputRows,
    "",
    `Groups formed (spawn → every member sees all): ${formed}.`,
    "",
    ...(notes.length ? ["Notes:", "", ...notes, ""] : []),
  ];
}

// ---- main ----

async function main(): Promise<void> {
  const options = optionsOrExit(() => parseOptions(Deno.args), USAGE);
  const began = Date.now();
  const { nproc, cpuModel, denoVersion } = await machine(DENO);
  const loadBefore = await loadAverage();
  const serfVersion = (await commandText("serf", ["version"])).split("\n")[0].replace(/^Serf v/, "");
  const runs: Run[] = [];
  const absent: string[] = [];
  log(`events bench: sizes ${options.sizes}; load average ${loadBefore}`);
  for (const n of options.sizes) {
    for (const system of SYSTEMS) {
      if (!options.systems.has(system)) continue;
      if (system === "serf" && !serfVersion) {
        if (!absent.length) absent.push("serf is not installed (`apt-get install -y serf`): no serf rows.");
        continue;
      }
      try {
        runs.push(await (system === "ours" ? ours(n, options) : serf(n, options)));
      } catch (e) {
        runs.push({
          system,
          n,
          formedMs: NaN,
          latency: null,
          throughput: null,
          notes: [(e as Error).message],
        });
        log(`${system}, ${n}: DID NOT FINISH: ${(e as Error).message}`);
      } finally {
        await started.cleanUp();
      }
    }
  }
  const loadAfter = await loadAverage();
  const header = [
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC by \`${
      ["bench/events.ts", ...Deno.args].join(" ")
    }\`${Deno.args.length ? "" : " (the defaults)"}; \`nproc\` ${nproc} (${cpuModel}); ${denoVersion}.`,
    `Load average before ${loadBefore}, after ${loadAfter}; the run took ${
      Math.round((Date.now() - began) / 1000)
    } s. Peers: \`deno run … mod.ts --format json --status\`, default flags; serf agents at their defaults`,
    "(LAN profile), events sent with `Coalesce: false`. All on loopback. Payloads of 7–25 bytes.",
    ...absent,
  ];
  const body = tables(runs, options, header, serfVersion);
  console.log("\n" + body.join("\n"));
  const file = [
    "# User events: latency and throughput, ours and serf",
    "",
    "Written by `make bench-events` (`bench/events.ts`, described in `bench/README.md`).",
    "",
    ...body,
  ];
  await Deno.writeTextFile(options.out, file.join("\n"));
  log(`wrote ${options.out}`);
  // The summary in bench/results.md, when the run wrote the default file.
  if (options.out === `${ROOT}bench/results-events.md`) {
    const results = `${ROOT}bench/results.md`;
    const existing = await Deno.readTextFile(results).catch(() => "# Benchmark results\n");
    await Deno.writeTextFile(results, replaceSection(existing, "events bench", summary(runs, serfVersion)));
    log(`wrote the events section of ${results}`);
  }
}

/** The `events bench` section of bench/results.md: one line per group, and where the rest is. */
function summary(runs: Run[], serfVersion: string): string[] {
  const rows = runs.map((r) => {
    const l = r.latency, t = r.throughput;
    return `| ${r.system === "serf" ? `serf ${serfVersion}` : "ours"} | ${r.n} | ${
      l ? `${pct(l.everywhere, 50)} / ${pct(l.everywhere, 99)}` : "–"
    } | ${t ? rate(t) : "–"} | ${t ? `${t.everywhere} of ${t.sent}` : "–"} | ${
      t ? (t.orderDiffers === 0 ? "yes" : "no") : "–"
    } |`;
  });
  return [
    "## User events (`make bench-events`)",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} on this machine; the full tables, the load and`,
    "what exactly is timed are in [results-events.md](results-events.md). Latency: one event at a time, send",
    "to delivery at every member; throughput: a burst from 3 members at once, events delivered everywhere",
    "per second.",
    "",
    "| system | members | latency p50 / p99 (ms) | events/s | delivered everywhere | same order everywhere |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ];
}

await runBench(main, started);
