/**
 * `make bench` / `deno task bench`: failure-detection, join, idle-cost and
 * stall measurements with real peer processes on loopback. Times come from
 * the peers' own `--format json` timestamps (same machine, same clock), so
 * the bench's polling does not add to them. Prints Markdown tables and
 * writes them to `bench/results.md`. Not a test: nothing here fails on a
 * slow number; an experiment that times out is reported and skipped.
 *
 * @module
 */

import { type Peer, startPeer } from "../mod.ts";
import {
  DENO,
  DENO_PEER,
  freePorts,
  PeerProcess,
  ROOT,
  sleep,
  writeHostsfile,
} from "../tests/support/cluster.ts";

// ---- processes ----

/** One event a peer printed with `--format json`. */
interface PeerEventLine {
  event: "view" | "unreachable";
  peer: number;
  view: number;
  leader: number;
  members?: number[];
  member?: number;
  /** The peer's timestamp, ms since the epoch. */
  at: number;
}

/** Every child process still running, killed on the way out whatever happens. */
const live = new Set<Child>();

/** A child process; peers also collect their `--format json` events. */
class Child {
  readonly process: PeerProcess;
  readonly status: Promise<Deno.CommandStatus>;
  exited = false;
  readonly #events: PeerEventLine[] = [];
  #parsed = 0;

  constructor(command: string[]) {
    this.process = new PeerProcess(0, command);
    live.add(this);
    this.status = this.process.status.finally(() => (this.exited = true));
  }

  get pid(): number {
    return this.process.pid;
  }

  get stderr(): string {
    return this.process.stderr.slice(-4000);
  }

  /** Every event printed so far (lines parsed as they are asked for). */
  get events(): PeerEventLine[] {
    for (; this.#parsed < this.process.lines.length; this.#parsed++) {
      const line = this.process.lines[this.#parsed];
      if (!line.startsWith("{")) continue;
      try {
        const e = JSON.parse(line);
        this.#events.push({ ...e, at: Date.parse(e.at) });
      } catch { /* not an event */ }
    }
    return this.#events;
  }

  /** SIGKILL, then waits for the exit and the pipes. */
  async kill(): Promise<void> {
    await this.process.stop();
    live.delete(this);
  }

  views(): PeerEventLine[] {
    return this.events.filter((e) => e.event === "view");
  }

  lastView(): PeerEventLine | undefined {
    return this.views().at(-1);
  }
}

async function killAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.kill()));
}

/** Polls `predicate` every 10 ms; throws after `timeoutMs`. */
async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

// ---- a group of peers on loopback ----

const same = (a: number[] | undefined, b: number[]) =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

class Group {
  readonly n: number;
  readonly heartbeatMs: number;
  readonly failAfter: number;
  readonly hostsfile: string;
  /** Index `id - 1`; null when that peer is not running. */
  readonly procs: (Child | null)[];

  constructor(n: number, heartbeatMs = 200, failAfter = 5) {
    this.n = n;
    this.heartbeatMs = heartbeatMs;
    this.failAfter = failAfter;
    this.hostsfile = writeHostsfile(freePorts(n));
    this.procs = Array(n).fill(null);
  }

  spawn(id: number): Child {
    const p = new Child([
      ...DENO_PEER,
      "-h",
      this.hostsfile,
      "--id",
      `${id}`,
      "--format",
      "json",
      "--heartbeat",
      `${this.heartbeatMs}`,
      "--fail-after",
      `${this.failAfter}`,
    ]);
    this.procs[id - 1] = p;
    return p;
  }

  /** The IDs of the running peers. */
  members(): number[] {
    return range(1, this.n).filter((id) => this.procs[id - 1] !== null);
  }

  running(): Child[] {
    return this.procs.filter((p): p is Child => p !== null);
  }

  /** Every running peer's last view holds exactly `ids`, with one view id. */
  converged(ids: number[]): boolean {
    const last = this.running().map((p) => p.lastView());
    return last.every((v) => v && same(v.members, ids) && v.view === last[0]!.view);
  }

  describe(): string {
    return this.running().map((p) =>
      `peer ${this.procs.indexOf(p) + 1}: last view ${JSON.stringify(p.lastView() ?? null)}${
        p.exited ? " (exited)" : ""
      }\n${p.stderr}`
    ).join("\n");
  }

  /** Peers 1..n one after another, each once the previous ones agree (a staggered start). */
  async startOneByOne(timeoutMs = 30_000): Promise<void> {
    for (let id = 1; id <= this.n; id++) {
      this.spawn(id);
      await until(`peer ${id} of ${this.n} joined`, () => this.converged(range(1, id)), timeoutMs);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.running().map((p) => p.kill()));
    this.procs.fill(null);
    await Deno.remove(this.hostsfile).catch(() => {});
  }
}

// ---- statistics and machine facts ----

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const max = (xs: number[]) => xs.length ? Math.max(...xs) : NaN;
const ms = (x: number) => Number.isFinite(x) ? `${Math.round(x)}` : "–";
const ratio = (x: number, base: number) => Number.isFinite(x) ? (x / base).toFixed(2) : "–";

async function commandText(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

let clkTck = 100;

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // field 3 onwards
  return (Number(fields[11]) + Number(fields[12])) / clkTck; // utime (14), stime (15)
}

/** Resident set size of a process, in MiB. */
function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

// ---- experiments ----

/** `BENCH_QUICK=1`: a smoke run with tiny counts, to check the script itself. */
const QUICK = Deno.env.get("BENCH_QUICK") !== undefined;

const notes: string[] = [];
const log = (text: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${text}`);

/** Runs one experiment; a failure becomes a note, and its children are killed. */
async function attempt<T>(name: string, body: () => Promise<T>): Promise<T | null> {
  try {
    return await body();
  } catch (e) {
    const text = `${name}: ${(e as Error).message.split("\n")[0]}`;
    notes.push(text);
    log(`FAILED ${text}`);
    console.log((e as Error).message);
    return null;
  } finally {
    await killAll();
  }
}

interface CrashResult {
  kind: "member" | "leader";
  victim: number;
  /** Per survivor that printed the unreachable line: ms from SIGKILL. */
  detections: number[];
  /** Survivors, and how many of them printed the unreachable line. */
  survivors: number;
  /** Max over survivors of the ms from SIGKILL to a view without the victim. */
  everywhere: number;
}

interface IdleResult {
  cpuPercent: number[];
  rss: number[];
  falseAlarms: number;
}

interface ConfigResult {
  n: number;
  heartbeatMs: number;
  failAfter: number;
  crashes: CrashResult[];
  falseAlarms: number;
  idle: IdleResult | null;
}

/** Unreachable lines in `events[from..]` naming anyone but `except`. */
function falseAlarms(p: Child, from: number, except = -1): number {
  return p.events.slice(from).filter((e) => e.event === "unreachable" && e.member !== except).length;
}

/**
 * Crashes one peer of a converged group and measures; then restarts it and
 * waits until all are back, except peer 1, which stays down so that the
 * second leader crash is of the peer that took over from it.
 */
async function crashOnce(g: Group, kind: "member" | "leader"): Promise<CrashResult & { alarms: number }> {
  const members = g.members();
  const leader = g.running()[0].lastView()!.leader;
  const candidates = kind === "leader" ? [leader] : members.filter((id) => id !== leader && id !== 1);
  const victim = candidates[Math.floor(Math.random() * candidates.length)];
  const survivors = g.running().filter((p) => p !== g.procs[victim - 1]);
  const start = new Map(survivors.map((p) => [p, p.events.length]));
  const rest = members.filter((id) => id !== victim);

  const killedAt = Date.now();
  await g.procs[victim - 1]!.kill();
  g.procs[victim - 1] = null;
  const removedBy = (p: Child) =>
    p.events.slice(start.get(p)).find((e) => e.event === "view" && !e.members!.includes(victim));
  await until(`${kind} ${victim} removed by every survivor`, () => survivors.every(removedBy), 30_000);

  const detections: number[] = [];
  let everywhere = 0;
  for (const p of survivors) {
    const seen = p.events.slice(start.get(p)).find((e) => e.event === "unreachable" && e.member === victim);
    if (seen) detections.push(seen.at - killedAt);
    everywhere = Math.max(everywhere, removedBy(p)!.at - killedAt);
  }
  await until("survivors in one view", () => g.converged(rest), 30_000);
  if (victim !== 1) {
    g.spawn(victim); // a new incarnation
    await until(`restarted peer ${victim} back in`, () => g.converged(members), 30_000);
  }
  await sleep(300);
  // Anything else reported unreachable, through the restart, is a false alarm.
  const alarms = survivors.reduce((s, p) => s + falseAlarms(p, start.get(p)!, victim), 0);
  return { kind, victim, detections, survivors: survivors.length, everywhere, alarms };
}

/** Idle CPU and memory per peer over `windowMs`. */
async function idle(g: Group, windowMs: number): Promise<IdleResult> {
  const peers = g.running();
  const start = peers.map((p) => p.events.length);
  const before = peers.map((p) => cpuSeconds(p.pid));
  const t0 = performance.now();
  await sleep(windowMs);
  const elapsed = (performance.now() - t0) / 1000;
  const cpuPercent = peers.map((p, i) => (100 * (cpuSeconds(p.pid) - before[i])) / elapsed);
  const rss = peers.map((p) => rssMiB(p.pid));
  const falseAlarmCount = peers.reduce((s, p, i) => s + falseAlarms(p, start[i]), 0);
  return { cpuPercent, rss, falseAlarms: falseAlarmCount };
}

async function crashBench(
  n: number,
  heartbeatMs: number,
  memberCrashes: number,
  leaderCrashes: number,
  idleMs: number,
): Promise<ConfigResult> {
  const g = new Group(n, heartbeatMs);
  const result: ConfigResult = {
    n,
    heartbeatMs,
    failAfter: g.failAfter,
    crashes: [],
    falseAlarms: 0,
    idle: null,
  };
  try {
    log(`${n} peers, heartbeat ${heartbeatMs} ms: starting one by one`);
    await g.startOneByOne();
    await sleep(1_000);
    log(`${n} peers, heartbeat ${heartbeatMs} ms: idle window ${idleMs / 1000} s`);
    result.idle = await idle(g, idleMs);
    result.falseAlarms += result.idle.falseAlarms;
    const kinds = [
      ...Array<"member">(memberCrashes).fill("member"),
      ...Array<"leader">(leaderCrashes).fill("leader"),
    ];
    for (const kind of kinds) {
      const r = await crashOnce(g, kind);
      log(
        `  ${kind} ${r.victim} crash (${r.survivors} survivors): detected by ${r.detections.length}/${r.survivors} in ${
          r.detections.map(Math.round).join(",")
        } ms; new view everywhere ${Math.round(r.everywhere)} ms`,
      );
      result.crashes.push(r);
      result.falseAlarms += r.alarms;
    }
    return result;
  } catch (e) {
    (e as Error).message += `\n${g.describe()}`;
    throw e;
  } finally {
    await g.stop();
  }
}

/** Wall time of `mod.ts --version`: the runtime's start and module load, no networking. */
async function startupBaseline(runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await new Deno.Command(DENO_PEER[0], { args: [...DENO_PEER.slice(1), "--version"], stdout: "null" })
      .output();
    times.push(performance.now() - t0);
  }
  return times;
}

interface JoinResult {
  /** Joiner spawn to the view holding it installed at every member. */
  everywhere: number[];
  /** Joiner spawn to the leader's install of the view holding it (the commit). */
  leader: number[];
}

async function joinBench(rounds: number, n: number): Promise<JoinResult> {
  const r: JoinResult = { everywhere: [], leader: [] };
  for (let round = 0; round < rounds; round++) {
    const g = new Group(n);
    try {
      g.spawn(1);
      await until("peer 1 founds the group", () => g.converged([1]), 30_000);
      for (let id = 2; id <= n; id++) {
        await sleep(200);
        const spawnedAt = Date.now();
        g.spawn(id);
        await until(`peer ${id} joined`, () => g.converged(range(1, id)), 30_000);
        const firstWith = (p: Child) => p.views().find((v) => v.members!.includes(id))!.at;
        r.everywhere.push(Math.max(...g.running().map(firstWith)) - spawnedAt);
        r.leader.push(firstWith(g.procs[g.running()[0].lastView()!.leader - 1]!) - spawnedAt);
      }
    } finally {
      await g.stop();
    }
  }
  return r;
}

/** `make demo`-like: 5 peers started at once, until all 5 are in view 5. */
/**
 * The protocol's own join latency, without process start-up: peers in this
 * process over real loopback sockets; each joiner's JOIN goes out as it
 * starts, and the clock stops when every member has installed the view
 * holding it.
 */
async function protocolJoins(count: number): Promise<number[]> {
  const hosts = freePorts(count + 1).map((port) => ({ hostname: "127.0.0.1", port }));
  const peers: Peer[] = [await startPeer({ hosts, id: 1, listen: hosts[0] })];
  const times: number[] = [];
  try {
    await sleep(1_000); // past peer 1's founding probe
    for (let id = 2; id <= count + 1; id++) {
      const t0 = performance.now();
      peers.push(await startPeer({ hosts, id, listen: hosts[id - 1] }));
      const signal = AbortSignal.timeout(10_000);
      await Promise.all(peers.map((p) => p.waitForView((v) => v.members.includes(id), signal)));
      times.push(performance.now() - t0);
    }
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
  }
  return times;
}

async function demoStart(rounds: number): Promise<number[]> {
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const g = new Group(5);
    try {
      const t0 = Date.now();
      for (let id = 1; id <= 5; id++) g.spawn(id);
      await until("all 5 in view 5", () => g.running().every((p) => p.lastView()?.view === 5), 30_000);
      times.push(Math.max(...g.running().map((p) => p.lastView()!.at)) - t0);
    } finally {
      await g.stop();
    }
    await sleep(300);
  }
  return times;
}

interface StallResult {
  seconds: number;
  burners: number;
  unreachable: number;
  views: number;
}

/** 5 peers at `--heartbeat 50` for `seconds` while CPU burners keep every core busy. */
async function stallCheck(seconds: number, burners: number): Promise<StallResult> {
  const g = new Group(5, 50);
  try {
    await g.startOneByOne();
    await sleep(500);
    const start = g.running().map((p) => p.events.length);
    const burning = Array.from({ length: burners }, () => new Child([DENO, "eval", "for (;;) {}"]));
    log(`stall check: ${burners} CPU burners for ${seconds} s`);
    await sleep(seconds * 1000);
    await Promise.all(burning.map((b) => b.kill()));
    const after = g.running().map((p, i) => p.events.slice(start[i]));
    return {
      seconds,
      burners,
      unreachable: after.flat().filter((e) => e.event === "unreachable").length,
      views: after.flat().filter((e) => e.event === "view").length,
    };
  } finally {
    await g.stop();
  }
}

// ---- the report ----

function crashRows(c: ConfigResult): string[] {
  const base = c.heartbeatMs * c.failAfter;
  return (["member", "leader"] as const).flatMap((kind) => {
    const rs = c.crashes.filter((r) => r.kind === kind);
    if (rs.length === 0) return [];
    const det = rs.flatMap((r) => r.detections);
    const all = rs.map((r) => r.everywhere);
    const printed = rs.reduce((s, r) => s + r.detections.length, 0);
    const survivors = rs.reduce((s, r) => s + r.survivors, 0);
    return [
      `| ${
        [...new Set(rs.map((r) => r.survivors + 1))].join(", ")
      } | ${c.heartbeatMs} × ${c.failAfter} = ${base} | ${kind} | ${rs.length} | ${printed}/${survivors} | ${
        ms(median(det))
      } / ${ms(max(det))} | ${ratio(median(det), base)} / ${ratio(max(det), base)} | ${ms(median(all))} / ${
        ms(max(all))
      } | ${ratio(median(all), base)} / ${ratio(max(all), base)} |`,
    ];
  });
}

async function main(): Promise<void> {
  const began = Date.now();
  clkTck = Number(await commandText("getconf", ["CLK_TCK"])) || 100;
  const nproc = await commandText("nproc", []) || `${navigator.hardwareConcurrency}`;
  const denoVersion = (await commandText(DENO, ["--version"])).split("\n").join("; ");
  const cpuModel =
    /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))?.[1] ?? "?";
  const loadBefore = (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(
    " ",
  );

  log("deno startup baseline");
  const startup = await attempt("startup baseline", () => startupBaseline(QUICK ? 2 : 5)) ?? [];
  log("demo-like start: 5 peers at once");
  const demo = await attempt("demo start", () => demoStart(QUICK ? 1 : 3)) ?? [];
  log("protocol joins: 20 joiners, one at a time, in this process");
  const inProcess = await attempt("protocol joins", () => protocolJoins(QUICK ? 3 : 20)) ?? [];
  log("joins: 5 rounds of peers 2..6 joining a running group");
  const joins = await attempt("joins", () => joinBench(QUICK ? 1 : 5, 6));

  const configs: ConfigResult[] = [];
  for (const [n, hb] of QUICK ? [[5, 200], [6, 50]] : [[5, 200], [5, 50], [16, 200], [16, 50]]) {
    const r = await attempt(
      `${n} peers, heartbeat ${hb}`,
      () => crashBench(n, hb, QUICK ? 1 : 5, QUICK ? 1 : 2, QUICK ? 2_000 : 10_000),
    );
    if (r) configs.push(r);
  }
  const burners = 2 * Number(nproc || 2);
  const stall = await attempt("stall check", () => stallCheck(QUICK ? 3 : 30, burners));
  const loadAfter = (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(
    " ",
  );

  const out: string[] = [];
  out.push("# Benchmark results", "");
  out.push(
    `${
      new Date().toISOString().slice(0, 16).replace("T", " ")
    } UTC; \`nproc\` ${nproc} (${cpuModel}); ${denoVersion}.`,
    `Load average before ${loadBefore}, after ${loadAfter}; the bench took ${
      Math.round((Date.now() - began) / 1000)
    } s.`,
    "All peers on loopback, one process each. Times in ms, from the peers' `--format json` timestamps.",
    "",
  );
  out.push("## Crash detection (SIGKILL of one peer, which is then restarted before the next crash)", "");
  out.push(
    "*detection*: SIGKILL to a survivor's unreachable line, over every survivor that printed one (a survivor",
    "that installs the leader's view without the victim first has nothing left to report);",
    "*new view everywhere*: SIGKILL to the last survivor installing a view without the victim.",
    "Ratios are to the configured timeout, fail-after × heartbeat. Member crashes pick a random non-leader and",
    "restart it (a new incarnation) before the next crash. Leader crashes come last: the first kills peer 1, which",
    "is not restarted (so that the next leader crash is of the peer that took over from it), so the second leader",
    "crash (of the new leader) happens in a group one smaller: *peers* lists the group sizes.",
    "",
    "| peers | heartbeat × fail-after (ms) | crashed | crashes | printed unreachable | detection median / max | ratio | new view everywhere median / max | ratio |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...configs.flatMap(crashRows),
    "",
    `False alarms (unreachable lines naming a live peer) during these runs, idle windows included: ${
      configs.map((c) => `${c.n}×${c.heartbeatMs} ms: ${c.falseAlarms}`).join("; ")
    }.`,
    "",
  );
  out.push("## Joining", "");
  out.push("| measure | n | median | max |", "| --- | --- | --- | --- |");
  out.push(
    `| \`deno run … mod.ts --version\` (runtime start, no join) | ${startup.length} | ${
      ms(median(startup))
    } | ${ms(max(startup))} |`,
  );
  if (joins) {
    out.push(
      `| joiner spawned → the leader installs the view holding it | ${joins.leader.length} | ${
        ms(median(joins.leader))
      } | ${ms(max(joins.leader))} |`,
      `| joiner spawned → NEWVIEW installed by every member (group of 1..5 growing to 6) | ${joins.everywhere.length} | ${
        ms(median(joins.everywhere))
      } | ${ms(max(joins.everywhere))} |`,
    );
  }
  out.push(
    `| JOIN sent → NEWVIEW installed by every member, in one process (group growing from 1 to 21) | ${inProcess.length} | ${
      ms(median(inProcess))
    } | ${ms(max(inProcess))} |`,
  );
  out.push(
    `| 5 peers started at once (\`make demo\`-like) → all 5 in view 5 | ${demo.length} | ${
      ms(median(demo))
    } | ${ms(max(demo))} |`,
    "",
  );
  out.push("## Idle cost per peer (10 s window after the group formed)", "");
  out.push(
    "| peers | heartbeat (ms) | CPU % of one core, median / max | VmRSS MiB, median / max |",
    "| --- | --- | --- | --- |",
    ...configs.filter((c) => c.idle).map((c) =>
      `| ${c.n} | ${c.heartbeatMs} | ${median(c.idle!.cpuPercent).toFixed(2)} / ${
        max(c.idle!.cpuPercent).toFixed(2)
      } | ${median(c.idle!.rss).toFixed(1)} / ${max(c.idle!.rss).toFixed(1)} |`
    ),
    "",
  );
  out.push("## Event-loop stall check", "");
  if (stall) {
    out.push(
      "| peers | heartbeat × fail-after (ms) | CPU burners | duration | unreachable lines | views installed |",
      "| --- | --- | --- | --- | --- | --- |",
      `| 5 | 50 × 5 = 250 | ${stall.burners} (on ${nproc} cores) | ${stall.seconds} s | ${stall.unreachable} | ${stall.views} |`,
      "",
      "Both counts should be 0: a busy machine delays the peers but is not a failure.",
      "",
    );
  }
  if (notes.length) out.push("## Experiments that did not finish", "", ...notes.map((n) => `- ${n}`), "");
  const text = out.join("\n");
  console.log("\n" + text);
  await Deno.writeTextFile(`${ROOT}bench/results${QUICK ? "-quick" : ""}.md`, text);
  log(`wrote bench/results${QUICK ? "-quick" : ""}.md`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    killAll().finally(() => Deno.exit(130));
  });
}

try {
  await main();
} finally {
  await killAll();
}
Deno.exit(0);
