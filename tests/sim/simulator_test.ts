/**
 * The deterministic simulator over the real protocol core: thousands of
 * seeded fault schedules, every guarantee checked after every step.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { describeViolation, peersForSeed, runSimulation, type SimResult } from "./simulator.ts";

/** Seeds the suite runs; peers follow the seed, 3 to 9. */
const SEEDS = 2_000;

test(`${SEEDS} seeds across 3 to 9 peers keep every guarantee, under real faults`, () => {
  const results: SimResult[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) results.push(runSimulation({ seed, peers: peersForSeed(seed) }));

  const violations = results.filter((r) => r.violation).map((r) => describeViolation(r.violation!));
  assert.deepEqual(violations, [], `${violations.length} seed(s) violated a guarantee`);

  // The fault schedule must really have exercised the protocol: a share of
  // seeds (not just a handful) each saw crashes, partitions, takeovers by a
  // peer other than the founder, test case 4, and fault-free runs.
  const share = (f: (r: SimResult) => boolean) => results.filter(f).length / results.length;
  const shares = {
    crashes: share((r) => r.stats.crashes > 0),
    partitions: share((r) => r.stats.partitions > 0),
    takeovers: share((r) => r.stats.takeovers > 0),
    test4: share((r) => r.stats.test4Fired),
    broadcastCrash: share((r) => r.stats.broadcastCrashFired),
    faultFree: share((r) => r.scenario.faultFree),
    livenessDemanded: share((r) => r.stats.livenessDemanded),
    converged: share((r) => r.stats.convergedAfterMs !== null),
  };
  const minimum = {
    crashes: 0.4,
    partitions: 0.3,
    takeovers: 0.15,
    test4: 0.05,
    broadcastCrash: 0.05,
    faultFree: 0.1,
    livenessDemanded: 0.8,
    converged: 0.8,
  };
  console.log(
    `fault statistics over ${SEEDS} seeds: ` +
      Object.entries(shares).map(([name, got]) => `${name} ${(got * 100).toFixed(1)}%`).join(", "),
  );
  for (const [name, min] of Object.entries(minimum)) {
    const got = shares[name as keyof typeof shares];
    assert.ok(got >= min, `only ${(got * 100).toFixed(1)}% of seeds had ${name} (want ${min * 100}%)`);
  }
  for (let peers = 3; peers <= 9; peers++) {
    assert.ok(results.some((r) => r.peers === peers), `no seed ran ${peers} peers`);
  }
  // Fault-free seeds are where accuracy is checked: they must end with every peer in.
  for (const r of results.filter((r) => r.scenario.faultFree)) {
    assert.equal(r.stats.unreachable, 0, `seed ${r.seed}: unreachable events in a fault-free run`);
    assert.equal(r.stats.highestViewId, r.peers, `seed ${r.seed}: a fault-free run took extra views`);
  }
});

test("a seed replays to an identical trace, and another seed does not", () => {
  const options = { seed: 4242, peers: 7, traceSteps: true };
  const first = runSimulation(options);
  const again = runSimulation(options);
  assert.ok(first.trace.length > 1_000, "the trace records every step");
  assert.equal(again.fingerprint, first.fingerprint);
  assert.deepEqual(again.trace, first.trace);
  assert.deepEqual(again.stats, first.stats);
  assert.deepEqual(again.scenario, first.scenario);

  const other = runSimulation({ ...options, seed: 4243 });
  assert.notEqual(other.fingerprint, first.fingerprint);
});

test("peer 1 does not always start first, and crashes of the leader lead to takeovers", () => {
  const results = Array.from({ length: 200 }, (_, i) => runSimulation({ seed: 10_000 + i, peers: 5 }));
  const founderLate = results.filter((r) => Math.min(...r.scenario.startAtMs) < r.scenario.startAtMs[0]);
  assert.ok(founderLate.length > 100, "peer 1 should often start after others");
  const leaderCrashed = results.filter((r) => r.scenario.crashes.some((c) => c.peer === 1));
  // Where the group still had to converge (a majority of its last view survived), some other
  // peer must have taken over from the crashed peer 1; where it had not (peer 1 crashed before
  // enough peers joined), no takeover can happen.
  const mustTakeOver = leaderCrashed.filter((r) => r.stats.livenessDemanded);
  assert.ok(mustTakeOver.length > 10, `${mustTakeOver.length} seeds`);
  assert.deepEqual(
    mustTakeOver.filter((r) => r.stats.takeovers === 0).map((r) => 10_000 + results.indexOf(r)),
    [],
  );
  assert.deepEqual(results.filter((r) => r.violation).map((r) => describeViolation(r.violation!)), []);
});
