/**
 * `deno task sim` / `make sim ARGS=...`: runs the deterministic simulator.
 *
 * - `--seed N [--peers K] [--verbose]` replays one seed (the trace with `--verbose`);
 * - `--seeds N [--from S] [--peers K]` runs N seeds from S (default 1); the peer
 *   count follows the seed (3 to 9) unless `--peers` is given;
 * - `--scale N[,N...] [--seed S] [--crash members|leader|both] [--idle-ms MS] [--out FILE]`
 *   runs the scale scenario (`scale.ts`) at each size: N peers started
 *   together form one group, idle, then 10 % crash at once; one line per run
 *   (formation and removal times, idle messages per peer per second), also
 *   written to FILE with `--out`.
 *
 * Ends with one summary line; exit code 1 if a guarantee was violated, 2 on bad flags.
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { writeFileSync } from "node:fs";
import { describeScale, runScale } from "./scale.ts";
import {
  describeScenario,
  describeViolation,
  peersForSeed,
  runSimulation,
  SIM_FAIL_AFTER,
  SIM_FAULT_PHASE_MS,
  SIM_HEARTBEAT_MS,
  SIM_QUIET_PHASE_MS,
  type SimOptions,
  type SimResult,
} from "./simulator.ts";

const USAGE = `usage: deno task sim [--seed N | --seeds N [--from S]] [--peers K] [--verbose] [--workload]
       [--heartbeat MS] [--fail-after N] [--fault-ms MS] [--quiet-ms MS]
   or: deno task sim --scale N[,N...] [--seed S] [--crash members|leader|both] [--idle-ms MS]
       [--heartbeat MS] [--fail-after N] [--out FILE]`;

/** The largest group the simulator runs. */
const MAX_PEERS = 10_000;

function fail(message: string): never {
  console.error(`sim: ${message}`);
  process.exit(2);
}

/** Parses a whole number flag within bounds, or exits 2. */
function intFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) fail(`--${name} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) fail(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: {
      seed: { type: "string" },
      seeds: { type: "string" },
      from: { type: "string" },
      peers: { type: "string" },
      heartbeat: { type: "string" },
      "fail-after": { type: "string" },
      "fault-ms": { type: "string" },
      "quiet-ms": { type: "string" },
      scale: { type: "string" },
      crash: { type: "string" },
      "idle-ms": { type: "string" },
      out: { type: "string" },
      verbose: { type: "boolean", short: "v" },
      workload: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
} catch (e) {
  fail(e instanceof Error ? e.message.split("\n")[0] : String(e));
}
const flags = parsed.values;
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}
const seed = intFlag("seed", flags.seed, 0, 2 ** 32 - 1);
const count = intFlag("seeds", flags.seeds, 1, 10_000_000);
const from = intFlag("from", flags.from, 0, 2 ** 32 - 1);
const peers = intFlag("peers", flags.peers, 1, MAX_PEERS);
const heartbeatMs = intFlag("heartbeat", flags.heartbeat, 1, 60_000) ?? SIM_HEARTBEAT_MS;
const failAfter = intFlag("fail-after", flags["fail-after"], 1, 1_000) ?? SIM_FAIL_AFTER;
const faultPhaseMs = intFlag("fault-ms", flags["fault-ms"], 1_000, 3_600_000) ?? SIM_FAULT_PHASE_MS;
const quietPhaseMs = intFlag("quiet-ms", flags["quiet-ms"], 1_000, 3_600_000) ?? SIM_QUIET_PHASE_MS;
if (seed !== undefined && (count !== undefined || from !== undefined)) {
  fail("--seed replays one seed; use --seeds N --from S for a range");
}

if (flags.scale !== undefined) runScaleRuns(flags.scale);
if (flags.crash !== undefined || flags.out !== undefined || flags["idle-ms"] !== undefined) {
  fail("--crash, --idle-ms and --out go with --scale");
}

/** `--scale`: one run of the scale scenario per size (and crash variant); exits. */
function runScaleRuns(sizes: string): never {
  const ns = sizes.split(",").map((n) => intFlag("scale", n.trim(), 3, MAX_PEERS)!);
  if (count !== undefined || from !== undefined || peers !== undefined || flags.verbose) {
    fail("--scale takes only --seed, --crash, --idle-ms, --heartbeat, --fail-after and --out");
  }
  const idleMs = intFlag("idle-ms", flags["idle-ms"], 100, 3_600_000);
  const timing = {
    heartbeatMs: flags.heartbeat === undefined ? undefined : heartbeatMs,
    failAfter: flags["fail-after"] === undefined ? undefined : failAfter,
  };
  const crash = flags.crash ?? "members";
  if (!["members", "leader", "both"].includes(crash)) {
    fail(`--crash must be members, leader or both, got "${crash}"`);
  }
  const variants = crash === "both" ? [false, true] : [crash === "leader"];
  const lines = [
    `# sim --scale ${sizes} --seed ${seed ?? 1} --crash ${crash}: N peers started together form one group ` +
    `(heartbeat ${heartbeatMs} ms, fail-after ${failAfter}, 1-5 ms delays, no loss), idle ${
      idleMs ?? 2_000
    } ms, ` +
    `then 10 % crash at once; times are simulated, wall time is this machine's`,
  ];
  console.log(lines[0]);
  let violations = 0;
  const rates: number[] = [];
  for (const n of ns) {
    for (const crashLeader of variants) {
      const began = performance.now();
      // long runs say where they are (on stderr, so that the lines above stay the figures)
      const onPhase = n >= 256
        ? (text: string) =>
          console.error(`  ${n} peers: ${text} (wall ${((performance.now() - began) / 1000).toFixed(0)} s)`)
        : undefined;
      const result = runScale({ peers: n, seed: seed ?? 1, crashLeader, idleMs, ...timing, onPhase });
      const line = describeScale(result);
      console.log(line);
      lines.push(line);
      rates.push(result.idlePerPeerPerSecond);
      if (result.violation) {
        violations++;
        // at scale a liveness report names every peer's view: keep its head
        const v = result.violation;
        const detail = v.detail.length > 4_000 ? `${v.detail.slice(0, 4_000)} ...` : v.detail;
        console.log(describeViolation({ ...v, detail }));
      }
    }
  }
  const [low, high] = [Math.min(...rates), Math.max(...rates)];
  const spread =
    `# idle msgs/peer/s from ${Math.min(...ns)} to ${Math.max(...ns)} peers: ${low.toFixed(1)} to ` +
    `${high.toFixed(1)}, the highest ${((high / low - 1) * 100).toFixed(0)} % above the lowest ` +
    `(flat means within 20 %); ${violations} violation(s)`;
  console.log(spread);
  lines.push(spread);
  if (flags.out) writeFileSync(flags.out, lines.join("\n") + "\n");
  process.exit(violations > 0 ? 1 : 0);
}

const optionsFor = (s: number): SimOptions => ({
  seed: s,
  peers: peers ?? peersForSeed(s),
  heartbeatMs,
  failAfter,
  faultPhaseMs,
  quietPhaseMs,
  workload: flags.workload,
});

const began = performance.now();
/** Running totals, so that long runs keep no traces in memory. */
const totals = {
  seeds: 0,
  steps: 0,
  crashes: 0,
  partitions: 0,
  takeoverSeeds: 0,
  test4Seeds: 0,
  restartsWithState: 0,
  restartsWithoutState: 0,
  withStateSeeds: 0,
  withoutStateSeeds: 0,
  majorityRestartSeeds: 0,
  wholeWithStateSeeds: 0,
  wholeWithoutStateSeeds: 0,
  persistCrashSeeds: 0,
  duplicateSeeds: 0,
  redeliverySeeds: 0,
  staleViewSeeds: 0,
  formedAnewSeeds: 0,
  newEpochSeeds: 0,
  faultFreeSeeds: 0,
  livenessSeeds: 0,
  eventsDelivered: 0,
  violations: 0,
  slowestConvergenceMs: 0,
};
const record = (r: SimResult) => {
  totals.seeds++;
  totals.steps += r.stats.steps;
  totals.crashes += r.stats.crashes;
  totals.partitions += r.stats.partitions;
  if (r.stats.takeovers > 0) totals.takeoverSeeds++;
  if (r.stats.test4Fired) totals.test4Seeds++;
  totals.restartsWithState += r.stats.restartsWithState;
  totals.restartsWithoutState += r.stats.restartsWithoutState;
  if (r.stats.restartsWithState > 0) totals.withStateSeeds++;
  if (r.stats.restartsWithoutState > 0) totals.withoutStateSeeds++;
  if (r.stats.majorityRestart) totals.majorityRestartSeeds++;
  if (r.stats.wholeGroupRestartWithState) totals.wholeWithStateSeeds++;
  if (r.stats.wholeGroupRestartWithoutState) totals.wholeWithoutStateSeeds++;
  if (r.stats.persistCrashFired) totals.persistCrashSeeds++;
  if (r.stats.duplicates > 0) totals.duplicateSeeds++;
  if (r.stats.redeliveries > 0) totals.redeliverySeeds++;
  if (r.stats.staleViews > 0) totals.staleViewSeeds++;
  if (r.stats.formedAnew > 0) totals.formedAnewSeeds++;
  if (r.stats.epochs > 1) totals.newEpochSeeds++;
  if (r.scenario.faultFree) totals.faultFreeSeeds++;
  if (r.stats.livenessDemanded) totals.livenessSeeds++;
  totals.eventsDelivered += r.stats.eventsDelivered;
  totals.slowestConvergenceMs = Math.max(totals.slowestConvergenceMs, r.stats.convergedAfterMs ?? 0);
  if (r.violation) {
    totals.violations++;
    console.log(describeViolation(r.violation));
  }
};
if (seed !== undefined) {
  const result = runSimulation(optionsFor(seed));
  console.log(`seed ${seed}, ${result.peers} peers: ${describeScenario(result.scenario)}`);
  if (flags.verbose) { for (const line of result.trace) console.log(`  ${line}`); }
  record(result);
} else {
  const first = from ?? 1;
  for (let s = first; s < first + (count ?? 100); s++) record(runSimulation(optionsFor(s)));
}

const seconds = ((performance.now() - began) / 1000).toFixed(1);
console.log(
  `sim: ${totals.seeds} seed(s), ${totals.violations} violation(s); ${totals.steps} steps, ` +
    `${totals.crashes} crashes, ${totals.partitions} partitions, takeovers in ${totals.takeoverSeeds} seeds, ` +
    `test case 4 fired in ${totals.test4Seeds}, ${totals.faultFreeSeeds} fault-free; ` +
    `restarts: ${totals.restartsWithState} with state (in ${totals.withStateSeeds} seeds), ` +
    `${totals.restartsWithoutState} without (in ${totals.withoutStateSeeds}), a majority at once in ` +
    `${totals.majorityRestartSeeds}, the whole group with state in ${totals.wholeWithStateSeeds} and without in ` +
    `${totals.wholeWithoutStateSeeds}, formed anew in ${totals.formedAnewSeeds}, more than one epoch in ` +
    `${totals.newEpochSeeds}; crash between persist and send in ${totals.persistCrashSeeds}, duplicates in ` +
    `${totals.duplicateSeeds}, re-deliveries in ${totals.redeliverySeeds}, stale views in ${totals.staleViewSeeds}; ` +
    `liveness demanded in ${totals.livenessSeeds}, ${totals.eventsDelivered} user events delivered, slowest convergence ${totals.slowestConvergenceMs} ms ` +
    `after faults stopped; ${seconds} s`,
);
process.exit(totals.violations > 0 ? 1 : 0);
