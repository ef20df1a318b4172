/**
 * The deterministic simulator: K protocol cores on the product's effect
 * runner, over the in-memory network, on a virtual clock, with every random
 * choice drawn from one seed. A seed picks a fault schedule (`scenario.ts`);
 * the run (`simulation.ts`) checks the guarantees of PROTOCOL.md after every
 * step (`checker.ts`); the first violation ends it and is reported with the
 * command that replays it. This file is the entry point the suite and
 * `deno task sim` use.
 *
 * @module
 */

import { type Scenario, SIM_FAULT_PHASE_MS } from "./scenario.ts";
import {
  SIM_FAIL_AFTER,
  SIM_HEARTBEAT_MS,
  SIM_QUIET_PHASE_MS,
  type SimOptions,
  type SimStats,
  Simulation,
  type Violation,
} from "./simulation.ts";

export type { Guarantee, SimCore } from "./checker.ts";
export {
  type BroadcastCrash,
  describeScenario,
  type Duplication,
  type MassCrash,
  peersForSeed,
  type PersistCrash,
  type RestartPlan,
  type Scenario,
  scenarioFor,
  type ScheduledCrash,
  type ScheduledPartition,
  SIM_FAULT_PHASE_MS,
  type StaleView,
} from "./scenario.ts";
export {
  type CoreFactory,
  SIM_FAIL_AFTER,
  SIM_HEARTBEAT_MS,
  SIM_QUIET_PHASE_MS,
  type SimOptions,
  type SimStats,
  type Violation,
} from "./simulation.ts";

/** The outcome of one run. */
export interface SimResult {
  /** The seed. */
  readonly seed: number;
  /** The peer count. */
  readonly peers: number;
  /** The fault schedule. */
  readonly scenario: Scenario;
  /** The first violation, or null. */
  readonly violation: Violation | null;
  /** Statistics. */
  readonly stats: SimStats;
  /** Notable events (every step too with `traceSteps`), one a line. */
  readonly trace: readonly string[];
  /** FNV-1a hash of every step: same seed, same hash. */
  readonly fingerprint: string;
}

/** The `deno task sim` command that replays a run with these options. */
export function replayCommand(options: SimOptions): string {
  const flags = [`--seed ${options.seed}`, `--peers ${options.peers}`];
  if (options.heartbeatMs !== undefined && options.heartbeatMs !== SIM_HEARTBEAT_MS) {
    flags.push(`--heartbeat ${options.heartbeatMs}`);
  }
  if (options.failAfter !== undefined && options.failAfter !== SIM_FAIL_AFTER) {
    flags.push(`--fail-after ${options.failAfter}`);
  }
  if (options.workload) flags.push("--workload");
  if (options.faultPhaseMs !== undefined && options.faultPhaseMs !== SIM_FAULT_PHASE_MS) {
    flags.push(`--fault-ms ${options.faultPhaseMs}`);
  }
  if (options.quietPhaseMs !== undefined && options.quietPhaseMs !== SIM_QUIET_PHASE_MS) {
    flags.push(`--quiet-ms ${options.quietPhaseMs}`);
  }
  const command = `deno task sim ${flags.join(" ")}`;
  return options.coreName ? `${command} (with core "${options.coreName}" plugged in)` : command;
}

/**
 * Runs one seed and checks every guarantee after every step.
 *
 * @example
 * ```ts
 * import { describeViolation, runSimulation } from "./simulator.ts";
 * const result = runSimulation({ seed: 7, peers: 5 });
 * if (result.violation) console.log(describeViolation(result.violation));
 * ```
 */
export function runSimulation(options: SimOptions): SimResult {
  if (!Number.isInteger(options.peers) || options.peers < 1) throw new RangeError("peers must be at least 1");
  const sim = new Simulation(options, replayCommand(options));
  const violation = sim.run();
  return {
    seed: options.seed,
    peers: options.peers,
    scenario: sim.scenario,
    violation,
    stats: sim.stats,
    trace: sim.trace,
    fingerprint: sim.fingerprint,
  };
}

/** A violation as a few lines: the guarantee, where, what, and how to replay. */
export function describeViolation(v: Violation): string {
  return `VIOLATION of ${v.guarantee} (seed ${v.seed}, ${v.peers} peers, step ${v.step}, ` +
    `t=${v.atMs.toFixed(2)} ms): ${v.detail}\n  replay: ${v.replay}`;
}
