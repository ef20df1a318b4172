/**
 * The deterministic simulator over the real protocol core: thousands of
 * seeded fault schedules, every guarantee checked after every step.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { isLargeGroup } from "../../src/core/config.ts";
import { describeViolation, peersForSeed, runSimulation, type SimResult } from "./simulator.ts";

/** Seeds the suite runs; peers follow the seed, 3 to 9. */
const SEEDS = 2_000;

test(`${SEEDS} seeds across 3 to 9 peers keep every guarantee, under real faults`, () => {
  const results: SimResult[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) results.push(runSimulation({ seed, peers: peersForSeed(seed) }));

  // The fault schedule must really have exercised the protocol: a share of
  // seeds (not just a handful) each saw crashes, partitions, takeovers by a
  // peer other than the founder, test case 4, fault-free runs, and each
  // recovery fault: restarts with and without state, a majority of the
  // group (or all of it) crashing at once and coming back, a crash between
  // writing state and sending, duplicated and re-delivered messages, forged
  // views from an earlier history, groups formed anew, and more than one epoch in a run.
  const share = (f: (r: SimResult) => boolean, among = results) => among.filter(f).length / among.length;
  const faults = {
    crashes: (r: SimResult) => r.stats.crashes > 0,
    partitions: (r: SimResult) => r.stats.partitions > 0,
    takeovers: (r: SimResult) => r.stats.takeovers > 0,
    test4: (r: SimResult) => r.stats.test4Fired,
    broadcastCrash: (r: SimResult) => r.stats.broadcastCrashFired,
    faultFree: (r: SimResult) => r.scenario.faultFree,
    restartWithState: (r: SimResult) => r.stats.restartsWithState > 0,
    restartWithoutState: (r: SimResult) => r.stats.restartsWithoutState > 0,
    majorityRestart: (r: SimResult) => r.stats.majorityRestart,
    wholeGroupWithState: (r: SimResult) => r.stats.wholeGroupRestartWithState,
    wholeGroupWithoutState: (r: SimResult) => r.stats.wholeGroupRestartWithoutState,
    persistCrash: (r: SimResult) => r.stats.persistCrashFired,
    duplicates: (r: SimResult) => r.stats.duplicates > 0,
    redeliveries: (r: SimResult) => r.stats.redeliveries > 0,
    staleViews: (r: SimResult) => r.stats.staleViews > 0,
    formedAnew: (r: SimResult) => r.stats.formedAnew > 0,
    newEpoch: (r: SimResult) => r.stats.epochs > 1,
    livenessDemanded: (r: SimResult) => r.stats.livenessDemanded,
    converged: (r: SimResult) => r.stats.convergedAfterMs !== null,
  };
  const minimum: Record<keyof typeof faults, number> = {
    crashes: 0.4,
    partitions: 0.3,
    takeovers: 0.15,
    test4: 0.05,
    broadcastCrash: 0.05,
    faultFree: 0.1,
    restartWithState: 0.25,
    restartWithoutState: 0.2,
    majorityRestart: 0.1,
    wholeGroupWithState: 0.02,
    wholeGroupWithoutState: 0.02,
    persistCrash: 0.05,
    duplicates: 0.15,
    redeliveries: 0.15,
    staleViews: 0.12,
    formedAnew: 0.08,
    newEpoch: 0.1,
    livenessDemanded: 0.8,
    converged: 0.8,
  };
  const shares = Object.fromEntries(Object.entries(faults).map(([name, f]) => [name, share(f)]));
  console.log(
    `fault statistics over ${SEEDS} seeds: ` +
      Object.entries(shares).map(([name, got]) => `${name} ${(got * 100).toFixed(1)}%`).join(", "),
  );
  for (const [name, min] of Object.entries(minimum)) {
    const got = shares[name];
    assert.ok(got >= min, `only ${(got * 100).toFixed(1)}% of seeds had ${name} (want ${min * 100}%)`);
  }
  // Liveness must be demanded after most recovery faults, not only in quiet
  // seeds: whoever restarted, with or without state, is up again.
  for (
    const name of [
      "restartWithState",
      "restartWithoutState",
      "majorityRestart",
      "wholeGroupWithState",
      "wholeGroupWithoutState",
      "persistCrash",
      "duplicates",
      "redeliveries",
      "staleViews",
    ] as const
  ) {
    const among = results.filter(faults[name]);
    const got = share(faults.livenessDemanded, among);
    assert.ok(got >= 0.75, `liveness demanded in only ${(got * 100).toFixed(1)}% of the seeds with ${name}`);
  }
  for (let peers = 3; peers <= 9; peers++) {
    assert.ok(results.some((r) => r.peers === peers), `no seed ran ${peers} peers`);
  }
  // Fault-free seeds are where accuracy is checked: they must end with every peer in.
  for (const r of results.filter((r) => r.scenario.faultFree)) {
    assert.equal(r.stats.unreachable, 0, `seed ${r.seed}: unreachable events in a fault-free run`);
    // One view change per joiner; above 8 peers, joiners queued together share one.
    if (isLargeGroup(r.peers)) {
      assert.ok(r.stats.highestViewId <= r.peers, `seed ${r.seed}: a fault-free run took extra views`);
    } else {
      assert.equal(r.stats.highestViewId, r.peers, `seed ${r.seed}: a fault-free run took extra views`);
    }
  }

  const violations = results.filter((r) => r.violation).map((r) => describeViolation(r.violation!));
  assert.deepEqual(violations, [], `${violations.length} seed(s) violated a guarantee`);
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
  const leaderCrashed = results.filter((r) => r.stats.downAtEnd.includes(1));
  // Where the group still had to converge (a majority of its last view is up) with peer 1 down
  // for good, some other peer must have taken over from it (or formed the group anew); where it
  // had not (peer 1 crashed before enough peers joined), no takeover can happen.
  const mustTakeOver = leaderCrashed.filter((r) => r.stats.livenessDemanded);
  assert.ok(mustTakeOver.length > 10, `${mustTakeOver.length} seeds`);
  assert.deepEqual(
    mustTakeOver.filter((r) => r.stats.takeovers === 0).map((r) => 10_000 + results.indexOf(r)),
    [],
  );
  assert.deepEqual(results.filter((r) => r.violation).map((r) => describeViolation(r.violation!)), []);
});

/** Runs `seed` and asserts that it keeps every guarantee; returns the result. */
function keeps(seed: number, peers = peersForSeed(seed)): SimResult {
  const r = runSimulation({ seed, peers });
  assert.equal(r.violation && describeViolation(r.violation), null, `seed ${seed}, ${peers} peers`);
  return r;
}

/** Asserts that the run demanded liveness, and converged. */
function converged(r: SimResult): void {
  assert.ok(r.stats.livenessDemanded && r.stats.convergedAfterMs !== null, `seed ${r.seed}: converged`);
}

test("the seeds the epoch design was made for: a view id named two member lists, or the checker lost a history", () => {
  // 1289767 (6 peers): the old history (2 and 5 asleep on their data dirs) installed view 6 = [2,5]
  // while a group founded beside it installed view 6 = [1,3,4,6]. Now the sleepers learn the later
  // epoch before they act (tests/peer_core_recovery_test.ts, "sleepers back on their data dirs").
  // 9009173 (8 peers): a view formed anew, only accepted, came back through a formation after peer 1
  // had founded beside it (tests/peer_core_recovery_test.ts, "a formed view only accepted").
  for (const seed of [1289767, 9009173]) {
    const r = keeps(seed);
    assert.ok(r.stats.epochs > 1, `seed ${seed}: more than one epoch`);
  }
  // 964 (8 peers): a formation chosen on stale knowledge beside a live history; a member of the
  // older epoch moves to the later one, whose view id is lower (monotonic by epoch, then id).
  // 9002059 (6 peers): the whole group restarted without state and founded an epoch ordered below
  // the one it forgot; a re-delivered view of the forgotten epoch must not strand a joiner.
  // 1001999 (8 peers): a candidate gave up its attempt to form anew when its group came back; the
  // peers that had promised that ballot echoed it in a REJECT, and the candidate stepped down to
  // follow itself (its own ballot): it now follows whoever shows itself next.
  // 9021309 (6 peers): a leader put out of the group by a later epoch kept its own ballot as the
  // one it followed, and once admitted again followed itself, the new leader's ballot being lower:
  // a peer out of the group follows nobody, and a view of another epoch names its leader afresh.
  for (const seed of [964, 9002059, 1001999, 9021309]) converged(keeps(seed));
});

test("soak seeds of the earlier recovery rules keep every guarantee under the epoch rule, no seed excused", () => {
  // Founding while the peers that knew the history slept, or were cut off (a new epoch now);
  // peers removed by forged views (older epochs now: answered and dropped); forming anew over a
  // view that could carry on, or proposing a dead view; two lines side by side (1117965).
  const seeds = [
    1000235,
    1002905,
    1002955,
    1005308,
    1006247,
    1004276,
    1016433,
    1016813,
    1018535,
    1019819,
    1020719,
    1026851,
    1029266,
    1012870,
    1022327,
    1023495,
    1026984,
    1060688,
    1050939,
    1095410,
    1029263,
    1088692,
    1086647,
    1048628,
    1171723,
    1220556,
    1175774,
    1117965,
  ];
  for (const seed of seeds) keeps(seed);
  for (const seed of [1050939, 1095410, 1088692, 1086647, 1048628, 1171723, 1175774, 1117965]) {
    converged(keeps(seed));
  }
  // 1182740 (9 peers): the leader crashed holding a batch that deletes four restarted members.
  // Before, nothing could be formed beside the view that batch makes; now the later epoch that
  // the survivors form numbers and names its own views, and the group converges there.
  converged(keeps(1182740, 9));
});

test("beyond 8 peers: found by longer runs at 9, 16 and 20 peers", () => {
  // 1273 (9): a candidate that gave up told only its observers; members kept following it.
  // 5135 (20): a leader and 8 members restarted without state and 2 stayed down: the candidate
  // yielded to lower members it had only just started watching, and nobody formed anew.
  // 1084544 (9): peer 1's founding went to 4 random peers only, missing the one live knower.
  for (const [seed, peers] of [[1273, 9], [47, 16], [1112, 9], [5135, 20], [1084544, 9]]) keeps(seed, peers);
});
