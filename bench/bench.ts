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

import { join } from "node:path";
import { type DurableState, encodeMessage, FileStorage, type Peer, startPeer, type Storage } from "../mod.ts";
import { clockTicks, cpuSeconds, loadAverage, machine, max, median, rssMiB } from "./proc_stats.ts";
import { extractSection } from "./results_file.ts";
import {
  DENO,
  DENO_PEER,
  DENO_PEER_RW,
  freePorts,
  PeerProcess,
  ROOT,
  sleep,
  writeHostsfile,
} from "../tests/support/cluster.ts";

// ---- processes ----

/** One event a peer printed with `--format json`. */
interface PeerEventLine {
  event: "view" | "unreachable" | "left";
  peer: number;
  view: number;
  leader: number;
  members?: number[];
  member?: number;
  /** On an unreachable or left line: whether that member was the leader. */
  is_leader?: boolean;
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

  /** Sends `signal` and waits for the process to exit by itself (a graceful leave). */
  async signal(signal: Deno.Signal): Promise<Deno.CommandStatus> {
    this.process.kill(signal);
    const status = await this.process.exited();
    live.delete(this);
    return status;
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
  readonly ports: number[];
  /** Index `id - 1`; null when that peer is not running. */
  readonly procs: (Child | null)[];
  /** A data dir per peer (`--data-dir`, kept across restarts), under this temporary dir; or null. */
  readonly dataRoot: string | null;
  /** `--log-level info`: what the recovery runs read from stderr (a restored view, forming anew). */
  readonly info: boolean;

  constructor(
    n: number,
    heartbeatMs = 200,
    failAfter = 5,
    options: { dataDir?: boolean; info?: boolean } = {},
  ) {
    this.n = n;
    this.heartbeatMs = heartbeatMs;
    this.failAfter = failAfter;
    this.ports = freePorts(n);
    this.hostsfile = writeHostsfile(this.ports);
    this.procs = Array(n).fill(null);
    this.dataRoot = options.dataDir ? Deno.makeTempDirSync({ prefix: "bench-data-" }) : null;
    this.info = options.info ?? false;
  }

  spawn(id: number): Child {
    const p = new Child([
      ...(this.dataRoot ? DENO_PEER_RW : DENO_PEER),
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
      ...(this.dataRoot ? ["--data-dir", join(this.dataRoot, `peer-${id}`)] : []),
      ...(this.info ? ["--log-level", "info"] : []),
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

  /**
   * Peers 1..n one after another, each once the previous ones agree (a staggered start). The
   * first majority of the hostsfile starts together: peer 1 founds only once a majority asked.
   */
  async startOneByOne(timeoutMs = 30_000): Promise<void> {
    const first = founders(this.n);
    for (let id = 1; id <= first; id++) this.spawn(id);
    await until(`peers 1..${first} of ${this.n} formed`, () => this.converged(range(1, first)), timeoutMs);
    for (let id = first + 1; id <= this.n; id++) {
      this.spawn(id);
      await until(`peer ${id} of ${this.n} joined`, () => this.converged(range(1, id)), timeoutMs);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.running().map((p) => p.kill()));
    this.procs.fill(null);
    await Deno.remove(this.hostsfile).catch(() => {});
    if (this.dataRoot) await Deno.remove(this.dataRoot, { recursive: true }).catch(() => {});
  }
}

/** How many peers must be up before peer 1 founds: a majority of the hostsfile. */
function founders(n: number): number {
  return Math.floor(n / 2) + 1;
}

// ---- statistics and machine facts ----

const ms = (x: number) => Number.isFinite(x) ? `${Math.round(x)}` : "–";
const ratio = (x: number, base: number) => Number.isFinite(x) ? (x / base).toFixed(2) : "–";

/** Clock ticks per second, for {@linkcode cpuSeconds}; read once in `main`. */
let clkTck = 100;

// ---- experiments ----

/** `BENCH_QUICK=1`: a smoke run with tiny counts, to check the script itself. */
const QUICK = Deno.env.get("BENCH_QUICK") !== undefined;

/**
 * `--only recovery`: only the recovery sections (heal times, the cost of
 * `--data-dir`); `--only leave`: only the graceful-leave section. Either is
 * merged into the existing results file in place of its previous version;
 * the other sections are kept as they were.
 */
const ONLY = (() => {
  const i = Deno.args.indexOf("--only");
  if (i === -1) return null;
  const what = Deno.args[i + 1];
  if (what !== "recovery" && what !== "leave") {
    console.error(`bench.ts: --only wants "recovery" or "leave", not ${JSON.stringify(what ?? "")}`);
    Deno.exit(2);
  }
  return what;
})();

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
  const before = peers.map((p) => cpuSeconds(p.pid, clkTck));
  const t0 = performance.now();
  await sleep(windowMs);
  const elapsed = (performance.now() - t0) / 1000;
  const cpuPercent = peers.map((p, i) => (100 * (cpuSeconds(p.pid, clkTck) - before[i])) / elapsed);
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
      const first = founders(n);
      for (let id = 1; id <= first; id++) g.spawn(id);
      await until("peer 1 founds the group", () => g.converged(range(1, first)), 30_000);
      for (let id = first + 1; id <= n; id++) {
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

/**
 * The protocol's own join latency, without process start-up: peers in this
 * process over real loopback sockets; each joiner's JOIN goes out as it
 * starts, and the clock stops when every member has installed the view
 * holding it.
 */
async function protocolJoins(count: number): Promise<number[]> {
  return (await joinsWithStorage(count, false)).times;
}

/** `make demo`-like: 5 peers started at once, until all 5 are in view 5. */
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

// ---- recovery after restarts ----

/** The time of a `--log-level info` line on stderr ("2026-11-24 18:05:39.868 +00:00 [INF] …"), ms since the epoch. */
function logTime(line: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+) ([+-]\d\d:\d\d)/.exec(line);
  return m ? Date.parse(`${m[1]}T${m[2]}${m[3]}`) : NaN;
}

/** The stderr lines of `p` that match `re`. */
const logLines = (p: Child, re: RegExp) => p.process.stderr.split("\n").filter((l) => re.test(l));

/** The view a peer is in: its last view event, or the view it restored from its data dir (not printed again). */
interface PeerView {
  view: number;
  leader: number;
  members: number[];
  /** When this peer entered it (its event's timestamp, or the time of the restore on stderr). */
  at: number;
}

/** Every view event any run printed, by view id: what a restored view id stands for. */
const viewsSeen = new Map<number, PeerEventLine>();

function viewOf(p: Child): PeerView | undefined {
  for (const v of p.views()) viewsSeen.set(v.view, v);
  const last = p.lastView();
  if (last) return { view: last.view, leader: last.leader, members: last.members!, at: last.at };
  const restored = logLines(p, /restored view \d+ from durable state/).at(-1);
  if (!restored) return undefined;
  const seen = viewsSeen.get(Number(/restored view (\d+)/.exec(restored)![1]));
  return seen && { view: seen.view, leader: seen.leader, members: seen.members!, at: logTime(restored) };
}

/** Every peer 1..n runs and is in one view (one id, one leader) of exactly 1..n. */
function whole(g: Group): PeerView[] | null {
  if (g.running().length !== g.n) return null;
  const views = g.running().map(viewOf);
  const first = views[0];
  const ok = views.every((v) =>
    v !== undefined && same(v.members, range(1, g.n)) && v.view === first!.view && v.leader === first!.leader
  );
  return ok ? views as PeerView[] : null;
}

/**
 * Waits until the group is whole and then stays so, with no new view
 * anywhere, for `quietMs`; returns when the last peer entered that final
 * view, counted from `t0` (0 if no peer had to move: the group never left
 * it). A peer that left on a forged view and came back without printing
 * counts from its "back in the group" line.
 */
async function settle(g: Group, t0: number, timeoutMs = 20_000, quietMs = 2_000): Promise<number> {
  const deadline = t0 + timeoutMs;
  let stableSince = -1;
  let marker = "";
  for (;;) {
    const views = whole(g);
    const now = Date.now();
    const key = views ? `${views[0].view}/${g.running().map((p) => p.events.length).join(",")}` : "";
    if (!views) stableSince = -1;
    else if (key !== marker) stableSince = now;
    marker = key;
    if (views && now - stableSince >= quietMs) {
      const entered = g.running().map((p, i) => {
        const back = logLines(p, /back in the group/).map(logTime).filter((t) => t >= t0);
        return Math.max(views[i].at, ...back);
      });
      return Math.max(0, Math.max(...entered) - t0);
    }
    if (now > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for one view of all ${g.n}\n${g.describe()}`);
    }
    await sleep(20);
  }
}

interface HealResult {
  /** Last restart (or the forged line) to one view everywhere, that then stayed. */
  healMs: number;
  /** The view id the group settled on. */
  view: number;
  /** Some peer said on stderr that it formed the group anew. */
  formedAnew: boolean;
  /** Peers that printed a view with an id at or below one the previous run of that ID printed. */
  wentBack: number;
}

/** Peers 1..n started together, until all are in view n. */
async function formAll(g: Group): Promise<void> {
  for (let id = 1; id <= g.n; id++) g.spawn(id);
  await until(`all ${g.n} in view ${g.n}`, () => g.converged(range(1, g.n)), 30_000);
}

/** SIGKILL `victims` at once, start them again `downMs` later; time until one view of all, from the last start. */
async function restartRun(victims: number[], dataDir: boolean, downMs: number): Promise<HealResult> {
  const g = new Group(5, 200, 5, { dataDir, info: true });
  try {
    await formAll(g);
    await sleep(300);
    const before = new Map(victims.map((id) => [id, g.procs[id - 1]!.lastView()!.view]));
    await Promise.all(victims.map((id) => g.procs[id - 1]!.kill()));
    for (const id of victims) g.procs[id - 1] = null;
    await sleep(downMs);
    for (const id of victims) g.spawn(id);
    const t0 = Date.now(); // just after the last spawn: process start-up counts
    const healMs = await settle(g, t0);
    const wentBack = victims.filter((id) =>
      (g.procs[id - 1]!.views()[0]?.view ?? Infinity) <= before.get(id)!
    )
      .length;
    return {
      healMs,
      view: whole(g)![0].view,
      formedAnew: g.running().some((p) => logLines(p, /formed the group anew/).length > 0),
      wentBack,
    };
  } catch (e) {
    (e as Error).message += `\n${g.describe()}`;
    throw e;
  } finally {
    await g.stop();
  }
}

/** A NEWVIEW for view 99 = [1] to peers 2, 3, 4 of a group of 4 in view 4, as peers 4, 4 and 3. */
async function forgedRun(
  incarnation: () => number,
): Promise<HealResult & { dropped: number; rejoined: number }> {
  const g = new Group(4, 200, 5, { info: true });
  try {
    await formAll(g);
    await sleep(300);
    const t0 = Date.now();
    const inc = incarnation();
    await Promise.all([[2, 4], [3, 4], [4, 3]].map(async ([to, from]) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: g.ports[to - 1] });
      try {
        await conn.write(new TextEncoder().encode(
          encodeMessage({
            type: "NEWVIEW",
            from,
            incarnation: inc,
            view: {
              epoch: { round: 1, former: 1, run: 1 },
              id: 99,
              leader: 1,
              members: [1],
              incarnations: [1],
            },
            ballot: { round: 0, leader: 1 },
          }) + "\n",
        ));
      } finally {
        conn.close();
      }
    }));
    await sleep(300);
    const healMs = await settle(g, t0);
    return {
      healMs,
      view: whole(g)![0].view,
      formedAnew: false,
      wentBack: 0,
      dropped: g.running().filter((p) =>
        logLines(p, /dropped NEWVIEW from an old incarnation/).length
      ).length,
      rejoined: g.running().filter((p) => logLines(p, /back in the group/).length).length,
    };
  } catch (e) {
    (e as Error).message += `\n${g.describe()}`;
    throw e;
  } finally {
    await g.stop();
  }
}

interface HealRow {
  scenario: string;
  runs: HealResult[];
  /** Extra facts for the table's last column. */
  notes: string;
}

async function recoveryBench(rounds: number): Promise<HealRow[]> {
  const rows: HealRow[] = [];
  const scenarios: [string, (i: number) => Promise<HealResult & { dropped?: number; rejoined?: number }>][] =
    [];
  for (const dataDir of [false, true]) {
    const mode = dataDir ? "with `--data-dir`" : "without `--data-dir`";
    scenarios.push(
      [
        `5 peers, SIGKILL 3, 4, 5 at once, restarted 2 s later, ${mode}`,
        () => restartRun([3, 4, 5], dataDir, 2_000),
      ],
      [
        `5 peers, SIGKILL 1 (the leader), 2, 3 at once, restarted 2 s later, ${mode}`,
        () => restartRun([1, 2, 3], dataDir, 2_000),
      ],
    );
  }
  scenarios.push(
    [
      "5 peers with `--data-dir`, SIGKILL all 5, restarted 1 s later",
      () => restartRun([1, 2, 3, 4, 5], true, 1_000),
    ],
    ["4 peers, a forged NEWVIEW (view 99 = [1]) as an old run of the sender", () => forgedRun(() => 1)],
    [
      "4 peers, a forged NEWVIEW (view 99 = [1]) as a newer run of the sender",
      () => forgedRun(() => Date.now() + 10_000_000),
    ],
  );
  for (const [scenario, run] of scenarios) {
    const runs: (HealResult & { dropped?: number; rejoined?: number })[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await attempt(`heal: ${scenario} (run ${i + 1})`, () => run(i));
      if (r) runs.push(r);
      if (r) {
        log(
          `  ${scenario}: ${Math.round(r.healMs)} ms, view ${r.view}${r.formedAnew ? ", formed anew" : ""}`,
        );
      }
    }
    const facts: string[] = [];
    const anew = runs.filter((r) => r.formedAnew).length;
    if (anew) facts.push(`formed anew in ${anew}/${runs.length}`);
    const back = runs.reduce((s, r) => s + r.wentBack, 0);
    if (back) facts.push(`**${back} restarted peer(s) printed a view id at or below their previous run's**`);
    if (runs.some((r) => r.dropped !== undefined)) {
      facts.push(
        `dropped by ${runs.map((r) => r.dropped).join("/")} peers, left and came back: ${
          runs.map((r) => r.rejoined).join("/")
        }`,
      );
    }
    facts.push(`settled on view ${[...new Set(runs.map((r) => r.view))].join(", ")}`);
    rows.push({ scenario, runs, notes: facts.join("; ") });
  }
  return rows;
}

// ---- what --data-dir costs ----

/** A FileStorage that counts its writes, their size and how long each took. */
class CountingStorage implements Storage {
  readonly inner: FileStorage;
  saves = 0;
  bytes = 0;
  readonly latency: number[] = [];

  constructor(inner: FileStorage) {
    this.inner = inner;
  }

  load(): Promise<DurableState | null> {
    return this.inner.load();
  }

  save(state: DurableState): Promise<void> {
    const t0 = performance.now();
    const writing = this.inner.save(state);
    writing.then(() => {
      this.latency.push(performance.now() - t0);
      this.saves++;
      try {
        this.bytes += Deno.statSync(this.inner.path).size;
      } catch { /* the next write renamed it away meanwhile */ }
    }, () => {});
    return writing;
  }
}

interface JoinCost {
  /** Per joiner: JOIN sent → NEWVIEW installed by every member. */
  times: number[];
  /** Writes over all peers, their bytes and their latencies; 0 without data dirs. */
  saves: number;
  bytes: number;
  latency: number[];
}

/**
 * Joins one at a time into a group of peers in this process (see
 * {@linkcode protocolJoins}), every peer keeping its state in its own data dir
 * (a FileStorage on the real disk, under `.tmp/`), or none.
 */
async function joinsWithStorage(count: number, dataDir: boolean): Promise<JoinCost> {
  if (dataDir) Deno.mkdirSync(`${ROOT}.tmp`, { recursive: true });
  const root = dataDir ? Deno.makeTempDirSync({ dir: `${ROOT}.tmp`, prefix: "bench-storage-" }) : null;
  const hosts = freePorts(count + 1).map((port) => ({ hostname: "127.0.0.1", port }));
  const storages: CountingStorage[] = [];
  const storage = (id: number) => {
    if (!root) return undefined;
    const s = new CountingStorage(new FileStorage(join(root, `peer-${id}`), { peer: id, hosts }));
    storages.push(s);
    return s;
  };
  // Peer 1 founds once a majority of the hostsfile asked: those start together, unmeasured.
  const first = founders(hosts.length);
  const peers: Peer[] = [];
  for (let id = 1; id <= first; id++) {
    peers.push(await startPeer({ hosts, id, listen: hosts[id - 1], storage: storage(id) }));
  }
  const times: number[] = [];
  try {
    const formed = AbortSignal.timeout(10_000);
    await Promise.all(peers.map((p) => p.waitForView((v) => v.members.length === first, formed)));
    for (let id = first + 1; id <= count + 1; id++) {
      const t0 = performance.now();
      peers.push(await startPeer({ hosts, id, listen: hosts[id - 1], storage: storage(id) }));
      const signal = AbortSignal.timeout(10_000);
      await Promise.all(peers.map((p) => p.waitForView((v) => v.members.includes(id), signal)));
      times.push(performance.now() - t0);
    }
    await sleep(200); // the last writes settle
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    if (root) await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  return {
    times,
    saves: storages.reduce((s, x) => s + x.saves, 0),
    bytes: storages.reduce((s, x) => s + x.bytes, 0),
    latency: storages.flatMap((x) => x.latency),
  };
}

interface StorageCost {
  joins: number;
  without: number[];
  with: number[];
  saves: number;
  bytes: number;
  latency: number[];
  /** Runs of each kind. */
  rounds: number;
  /** Members summed over the views installed by the joins: writes per member and view change = saves / this. */
  memberViews: number;
}

/** Alternates runs without and with data dirs, `rounds` each, `count` joins a run. */
async function storageCost(rounds: number, count: number): Promise<StorageCost> {
  const r: StorageCost = {
    joins: 0,
    without: [],
    with: [],
    saves: 0,
    bytes: 0,
    latency: [],
    rounds,
    memberViews: 0,
  };
  for (let i = 0; i < rounds; i++) {
    r.without.push(...(await joinsWithStorage(count, false)).times);
    const w = await joinsWithStorage(count, true);
    r.with.push(...w.times);
    r.saves += w.saves;
    r.bytes += w.bytes;
    r.latency.push(...w.latency);
    r.joins += w.times.length; // the measured joins, after the founding majority
    // the view that adds peer k has k members
    for (let k = count + 2 - w.times.length; k <= count + 1; k++) r.memberViews += k;
  }
  return r;
}

interface LeaveRun {
  kind: "member" | "leader";
  victim: number;
  /** Ms from SIGTERM to the last survivor installing a view without the victim. */
  everywhere: number;
  /** Survivors, and how many printed `peer N left` (`leader N left` for the leader). */
  survivors: number;
  reported: number;
  /** The leaving peer's exit code, and ms from SIGTERM to its exit (as this process saw it). */
  code: number;
  exitMs: number;
  /** Unreachable lines from SIGTERM until the restarted peer was back in (there should be none). */
  unreachable: number;
}

/**
 * Graceful leave: 5 peers at the defaults; SIGTERM to a random non-leader
 * `rounds` times, then to the leader `rounds` times. The peer that left is
 * restarted (a new incarnation) and back in the view before the next run.
 */
async function leaveBench(rounds: number): Promise<LeaveRun[]> {
  const g = new Group(5);
  const runs: LeaveRun[] = [];
  try {
    log("leave: 5 peers, started at once");
    for (let id = 1; id <= g.n; id++) g.spawn(id);
    await until("all 5 in one view", () => g.converged(range(1, g.n)), 30_000);
    await sleep(1_000);
    for (
      const kind of [...Array(rounds).fill("member"), ...Array(rounds).fill("leader")] as LeaveRun["kind"][]
    ) {
      const leader = g.running()[0].lastView()!.leader;
      const others = g.members().filter((id) => id !== leader);
      const victim = kind === "leader" ? leader : others[Math.floor(Math.random() * others.length)];
      const leaving = g.procs[victim - 1]!;
      const survivors = g.running().filter((p) => p !== leaving);
      const from = new Map(g.running().map((p) => [p, p.events.length]));
      const since = (p: Child) => p.events.slice(from.get(p));
      const removedBy = (p: Child) =>
        since(p).find((e) => e.event === "view" && !e.members!.includes(victim));

      const sentAt = Date.now();
      const exit = leaving.signal("SIGTERM").then((s) => ({ code: s.code, exitMs: Date.now() - sentAt }));
      await until(`${kind} ${victim} removed by every survivor`, () => survivors.every(removedBy), 10_000);
      const { code, exitMs } = await exit;
      g.procs[victim - 1] = null;
      const everywhere = Math.max(...survivors.map((p) => removedBy(p)!.at - sentAt));
      const reported = survivors.filter((p) =>
        since(p).some((e) =>
          e.event === "left" && e.member === victim && e.is_leader === (kind === "leader")
        )
      ).length;

      const back = g.spawn(victim);
      from.set(back, 0);
      await until(`peer ${victim} back in`, () =>
        g.converged(range(1, g.n)), 30_000);
      await sleep(300);
      const unreachable = [...from.keys()].reduce(
        (sum, p) => sum + since(p).filter((e) => e.event === "unreachable").length,
        0,
      );
      log(
        `  ${kind} ${victim} left: new view everywhere ${everywhere} ms; ${reported}/${survivors.length} printed left; exit ${code} after ${exitMs} ms; ${unreachable} unreachable`,
      );
      runs.push({
        kind,
        victim,
        everywhere,
        survivors: survivors.length,
        reported,
        code,
        exitMs,
        unreachable,
      });
    }
    return runs;
  } catch (e) {
    (e as Error).message += `\n${g.describe()}`;
    throw e;
  } finally {
    await g.stop();
  }
}

/** serf's graceful leave, seen by every member, on this machine (issue 10): about 0.8 s. */
const SERF_LEAVE_MS = 800;

/** The leave section of the report. */
function leaveSection(runs: LeaveRun[] | null, header: string[]): string[] {
  const out = ["## Graceful leave (SIGTERM)", "", ...header];
  if (!runs) return [...out, "Not measured (see the experiments that did not finish).", ""];
  out.push(
    "5 peers, default flags (heartbeat 200 ms, fail-after 5). SIGTERM to a random non-leader, then to the leader;",
    "the peer that left is restarted and back in the view before the next run. *New view everywhere*: SIGTERM to",
    "the last survivor installing a view without it. *Exit*: SIGTERM to the leaving process's exit, as the bench",
    "saw it (pipes closed).",
    "",
    "| peers | left | runs | new view everywhere median / max | survivors that printed `left` | exit codes | exit median / max |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const kind of ["member", "leader"] as const) {
    const rs = runs.filter((r) => r.kind === kind);
    if (rs.length === 0) continue;
    const all = rs.map((r) => r.everywhere);
    const exits = rs.map((r) => r.exitMs);
    out.push(
      `| 5 | ${kind} | ${rs.length} | ${ms(median(all))} / ${ms(max(all))} | ${
        rs.reduce((s, r) => s + r.reported, 0)
      }/${rs.reduce((s, r) => s + r.survivors, 0)} | ${[...new Set(rs.map((r) => r.code))].join(", ")} | ${
        ms(median(exits))
      } / ${ms(max(exits))} |`,
    );
  }
  const worst = max(runs.map((r) => r.everywhere));
  out.push(
    "",
    `Unreachable lines anywhere during these runs (restarts included): ${
      runs.reduce((s, r) => s + r.unreachable, 0)
    }.`,
    `serf's graceful leave is seen by every member in about ${
      SERF_LEAVE_MS / 1000
    } s on this machine (issue 10);`,
    `the slowest leave here (${ms(worst)} ms) is ${
      (SERF_LEAVE_MS / Math.max(worst, 1)).toFixed(0)
    } times faster.`,
    "",
  );
  return out;
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

/** The recovery sections of the report: heal times and the cost of `--data-dir`. */
function recoverySections(heal: HealRow[], cost: StorageCost | null, header: string[]): string[] {
  const out: string[] = [];
  out.push("## Recovery after restarts (heal time)", "", ...header);
  out.push(
    "Default flags (heartbeat 200 ms, fail-after 5), `--log-level info`. *Heal time*: from the last restarted peer's",
    "spawn (or the forged line) to the moment the last peer entered the view the group then kept (no new view",
    "anywhere for 2 s): its view event's timestamp, or, for a peer restarted on its data dir that had nothing new",
    "to print, the time it restored its view (from its stderr). Process start-up (about 120 ms, see Joining) is",
    "included. Without `--data-dir` a restarted peer is a new incarnation; a majority of view 5 restarted so, the",
    "group must form anew (PROTOCOL.md, Restarts).",
    "",
    "| scenario | runs | heal time median / max | notes |",
    "| --- | --- | --- | --- |",
    ...heal.map((r) => {
      const t = r.runs.map((x) => x.healMs);
      return `| ${r.scenario} | ${r.runs.length} | ${ms(median(t))} / ${ms(max(t))} | ${r.notes} |`;
    }),
    "",
  );
  out.push(
    "## What `--data-dir` costs per view change",
    "",
    ...(header.length ? ["Measured in the same run as the section above.", ""] : []),
  );
  if (cost) {
    const lat = cost.latency;
    out.push(
      `Peers in this process over loopback sockets (\`startPeer\`), the group growing from 1 to ${
        cost.joins / cost.rounds + 1
      } one joiner at a time, ${cost.rounds} runs without and ${cost.rounds} with a data dir per peer (a`,
      "`FileStorage` on the machine's ext4 disk, under `.tmp/`), alternated. Each join is one view change: JOIN sent to",
      "NEWVIEW installed by every member.",
      "",
      "| measure | n | median | max |",
      "| --- | --- | --- | --- |",
      `| JOIN sent → NEWVIEW installed everywhere, no data dir (ms) | ${cost.without.length} | ${
        ms(median(cost.without))
      } | ${ms(max(cost.without))} |`,
      `| JOIN sent → NEWVIEW installed everywhere, a data dir per peer (ms) | ${cost.with.length} | ${
        ms(median(cost.with))
      } | ${ms(max(cost.with))} |`,
      `| one state write (temporary file, flush, rename, flush the directory) (ms) | ${lat.length} | ${
        median(lat).toFixed(1)
      } | ${max(lat).toFixed(1)} |`,
      "",
      `Writes: ${cost.saves} over ${cost.joins} view changes, ${
        (cost.saves / cost.joins).toFixed(1)
      } per view change over`,
      `the whole group, ${
        (cost.saves / cost.memberViews).toFixed(2)
      } per member of the new view (the joiner's own included);`,
      `${
        Math.round(cost.bytes / Math.max(1, cost.saves))
      } bytes a write on average (the whole state file is rewritten each time).`,
      "",
    );
  } else {
    out.push("Not measured (see the experiments that did not finish).", "");
  }
  return out;
}

/** The headings of what `--only recovery` and `--only leave` measure (their start suffices). */
const SECTIONS = {
  recovery: ["## Recovery after restarts", "## What `--data-dir` costs"],
  leave: ["## Graceful leave"],
};

/** Replaces the sections headed `ours` in an existing report (or appends them), keeping the rest. */
function mergeSections(existing: string, sections: string[], ours: string[]): string {
  const lines = existing.trimEnd().split("\n");
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    // A section ends at the next heading, or at a generated section's marker (results_file.ts).
    if (line.startsWith("## ") || line.startsWith("<!-- ")) skipping = ours.some((h) => line.startsWith(h));
    if (!skipping) kept.push(line);
  }
  const notes = kept.findIndex((l) => l.startsWith("## Experiments that did not finish"));
  const at = notes === -1 ? kept.length : notes;
  kept.splice(at, 0, ...(kept[at - 1] === "" ? [] : [""]), ...sections);
  return kept.join("\n").trimEnd() + "\n";
}

async function main(): Promise<void> {
  const began = Date.now();
  clkTck = await clockTicks();
  const { nproc, cpuModel, denoVersion } = await machine(DENO);
  const loadBefore = await loadAverage();
  const healRounds = QUICK ? 1 : 3;

  if (ONLY) {
    let measured: (header: string[]) => string[];
    if (ONLY === "recovery") {
      log("recovery: heal times after restarts and a forged view");
      const heal = await recoveryBench(healRounds);
      log("recovery: the cost of --data-dir per view change");
      const cost = await attempt("data-dir cost", () => storageCost(QUICK ? 1 : 3, QUICK ? 5 : 20));
      measured = (header) => recoverySections(heal, cost, header);
    } else {
      const runs = await attempt("leave", () => leaveBench(QUICK ? 1 : 5));
      measured = (header) => leaveSection(runs, header);
    }
    const loadAfter = await loadAverage();
    const header = [
      `Measured ${
        new Date().toISOString().slice(0, 16).replace("T", " ")
      } UTC by \`bench.ts --only ${ONLY}\`; \`nproc\` ${nproc} (${cpuModel}); ${denoVersion}.`,
      `Load average before ${loadBefore}, after ${loadAfter}; ${
        ONLY === "leave" ? "this section" : "these sections"
      } took ${Math.round((Date.now() - began) / 1000)} s.${
        notes.length ? ` Did not finish: ${notes.join("; ")}.` : ""
      }`,
      "",
    ];
    const sections = measured(header);
    console.log("\n" + sections.join("\n"));
    const file = `${ROOT}bench/results${QUICK ? "-quick" : ""}.md`;
    const existing = await Deno.readTextFile(file).catch(() => "# Benchmark results\n");
    await Deno.writeTextFile(file, mergeSections(existing, sections, SECTIONS[ONLY]));
    log(`merged the ${ONLY} sections into bench/results${QUICK ? "-quick" : ""}.md`);
    return;
  }

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
  const leaves = await attempt("leave", () => leaveBench(QUICK ? 1 : 5));
  log("recovery: heal times after restarts and a forged view");
  const heal = await recoveryBench(healRounds);
  log("recovery: the cost of --data-dir per view change");
  const cost = await attempt("data-dir cost", () => storageCost(QUICK ? 1 : 3, QUICK ? 5 : 20));
  const loadAfter = await loadAverage();

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
  out.push(...leaveSection(leaves, []));
  out.push(...recoverySections(heal, cost, []));
  if (notes.length) out.push("## Experiments that did not finish", "", ...notes.map((n) => `- ${n}`), "");
  const text = out.join("\n");
  console.log("\n" + text);
  const file = `${ROOT}bench/results${QUICK ? "-quick" : ""}.md`;
  // The scale and events sections belong to bench/scale.ts and bench/events.ts (`make bench-scale`,
  // `make bench-events`): carried over as they were.
  const previous = await Deno.readTextFile(file).catch(() => "");
  const kept = ["scale bench", "events bench"].flatMap((name) => extractSection(previous, name) ?? []);
  await Deno.writeTextFile(file, [text.trimEnd(), ...kept].join("\n\n") + "\n");
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
