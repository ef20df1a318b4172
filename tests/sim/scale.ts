/**
 * The scale scenario: N peers started together (peer 1 founds, the rest
 * join) over a network that neither loses nor partitions; once every peer
 * holds one view of all N, the group runs idle while its messages are
 * counted, then a share of it (10 % by default, drawn from the seed, the
 * leader in or out) crashes at once, and every survivor must install the
 * view without them. The guarantees are checked after every step, as in
 * every simulated run, and accuracy throughout: only a crashed peer may be
 * reported unreachable or removed.
 *
 * @module
 */

import process from "node:process";
import type { PeerId } from "../../src/core/messages.ts";
import { streamFor } from "../support/prng.ts";
import type { Scenario } from "./scenario.ts";
import {
  type CoreFactory,
  type ScaleOutcome,
  type ScalePlan,
  SIM_FAIL_AFTER,
  SIM_HEARTBEAT_MS,
  type SimStats,
  Simulation,
  type Violation,
} from "./simulation.ts";

/** Options of one scale run. */
export interface ScaleOptions {
  /** The group size. */
  readonly peers: number;
  /** The seed: which peers crash, and every delay. */
  readonly seed: number;
  /** Whether the leader is among the crashed peers (default false). */
  readonly crashLeader?: boolean;
  /** The share of the group that crashes at once (default 0.1). */
  readonly crashShare?: number;
  /** The idle window in which messages are counted, in virtual ms (default 2000). */
  readonly idleMs?: number;
  /** The longest wait for the group to form, in virtual ms (default 120000). */
  readonly formLimitMs?: number;
  /** The longest wait for the crashed peers to be dropped, in virtual ms (default 20000). */
  readonly removeLimitMs?: number;
  /** Heartbeat interval in virtual ms (default 100). */
  readonly heartbeatMs?: number;
  /** Missed intervals before a member is unreachable (default 5). */
  readonly failAfter?: number;
  /** Builds the cores (default: the real protocol core). */
  readonly coreFactory?: CoreFactory;
  /** Hears each phase as it ends. */
  readonly onPhase?: (text: string) => void;
  /** One bad link through the idle window (see `ScalePlan.cutLink`). */
  readonly cutLink?: "leader" | "members";
  /** One flaky peer through the idle window (see `ScalePlan.flaky`). */
  readonly flaky?: { readonly who: "leader" | "member"; readonly loss: number };
}

/** The outcome of one scale run. */
export interface ScaleResult extends ScaleOutcome {
  /** The group size. */
  readonly peers: number;
  /** The seed. */
  readonly seed: number;
  /** The first violation, or null. */
  readonly violation: Violation | null;
  /** What the whole run did. */
  readonly stats: SimStats;
  /** Wall-clock ms the run took. */
  readonly wallMs: number;
  /** CPU ms this process spent on the run (user and system): what other load on the machine leaves alone. */
  readonly cpuMs: number;
  /** Messages each peer sent per virtual second in the idle window. */
  readonly idlePerPeerPerSecond: number;
  /** Notable events (faults and phases; installs are left out at scale). */
  readonly trace: readonly string[];
}

/**
 * Every peer starts within the first heartbeat interval (at a time drawn from
 * the seed, as processes started together do, so their heartbeats are not in
 * lockstep); nothing is lost, nothing is cut off, delays are 1 to 5 ms.
 */
export function scaleScenario(peers: number, seed: number, heartbeatMs = SIM_HEARTBEAT_MS): Scenario {
  const random = streamFor(seed, 5);
  return {
    faultFree: false,
    test4: false,
    test4Restart: null,
    startAtMs: Array.from({ length: peers }, (_, i) => i === 0 ? 0 : Math.floor(random() * heartbeatMs)),
    maxDelayMs: 5,
    datagramLoss: 0,
    streamBreak: 0,
    crashes: [],
    massCrash: null,
    partitions: [],
    broadcastCrash: null,
    persistCrash: null,
    duplication: null,
    staleViews: [],
  };
}

/** The command that replays a scale run. */
export function scaleReplay(options: ScaleOptions): string {
  const flags = [`--scale ${options.peers}`, `--seed ${options.seed}`];
  if (options.crashLeader) flags.push("--crash leader");
  if (options.idleMs !== undefined) flags.push(`--idle-ms ${options.idleMs}`);
  if (options.heartbeatMs !== undefined) flags.push(`--heartbeat ${options.heartbeatMs}`);
  if (options.failAfter !== undefined) flags.push(`--fail-after ${options.failAfter}`);
  return `make sim ARGS="${flags.join(" ")}"`;
}

/**
 * Runs the scale scenario once.
 *
 * @example
 * ```ts
 * import { runScale } from "./scale.ts";
 * const result = runScale({ peers: 32, seed: 1 });
 * console.log(result.formedAtMs, result.removedAfterMs, result.idlePerPeerPerSecond);
 * ```
 */
export function runScale(options: ScaleOptions): ScaleResult {
  const began = performance.now();
  const cpu = process.cpuUsage();
  const sim = new Simulation({
    seed: options.seed,
    peers: options.peers,
    heartbeatMs: options.heartbeatMs ?? SIM_HEARTBEAT_MS,
    failAfter: options.failAfter ?? SIM_FAIL_AFTER,
    scenario: scaleScenario(options.peers, options.seed, options.heartbeatMs),
    lean: true,
    crashesOnly: true,
    coreFactory: options.coreFactory,
  }, scaleReplay(options));
  const plan: ScalePlan = {
    crashShare: options.crashShare ?? 0.1,
    crashLeader: options.crashLeader ?? false,
    idleMs: options.idleMs ?? 2_000,
    formLimitMs: options.formLimitMs ?? 120_000,
    removeLimitMs: options.removeLimitMs ?? 20_000,
    onPhase: options.onPhase,
    cutLink: options.cutLink,
    flaky: options.flaky,
  };
  const { violation, outcome } = sim.runScale(plan);
  const idleSent = Object.values(outcome.idleSentByType).reduce((a, b) => a + b, 0);
  return {
    ...outcome,
    peers: options.peers,
    seed: options.seed,
    violation,
    stats: sim.stats,
    wallMs: performance.now() - began,
    cpuMs: cpuMs(process.cpuUsage(cpu)),
    idlePerPeerPerSecond: idleSent / options.peers / (outcome.idleMs / 1000),
    trace: sim.trace,
  };
}

/** CPU time in ms from `process.cpuUsage` (µs). */
function cpuMs(usage: { user: number; system: number }): number {
  return (usage.user + usage.system) / 1000;
}

/** Virtual ms as seconds, or "-" for a phase that did not finish. */
function seconds(ms: number | null): string {
  return ms === null ? "-" : `${(ms / 1000).toFixed(2)} s`;
}

/** One line per run: size, phases, idle messages per peer per second (by type), wall time. */
export function describeScale(r: ScaleResult): string {
  const perType = Object.entries(r.idleSentByType)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => `${type} ${(n / r.peers / (r.idleMs / 1000)).toFixed(1)}`)
    .join(", ");
  const busiest = r.idleBusiest
    ? `p${r.idleBusiest.peer} ${(r.idleBusiest.sent / (r.idleMs / 1000)).toFixed(0)}/s`
    : "none";
  const leader = r.leader !== null && r.crashed.includes(r.leader as PeerId) ? "leader in" : "leader out";
  return `${String(r.peers).padStart(5)} peers: formed ${seconds(r.formedAtMs)}, ` +
    `${r.crashed.length} crashed (${leader}) removed ${seconds(r.removedAfterMs)}; ` +
    `idle msgs/peer/s ${r.idlePerPeerPerSecond.toFixed(1)} (${perType || "none"}; busiest ${busiest}); ` +
    `${r.stats.steps} steps, wall ${(r.wallMs / 1000).toFixed(1)} s, cpu ${(r.cpuMs / 1000).toFixed(1)} s` +
    (r.violation ? `; VIOLATION of ${r.violation.guarantee} (below)` : "");
}
