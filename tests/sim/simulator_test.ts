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
  // views from an earlier history, groups formed anew and histories ended.
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
    historyEnded: (r: SimResult) => r.stats.historiesEnded > 0,
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
    historyEnded: 0.05,
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

test("soak seeds where peer 1 founded again while the only peers that knew the history were down with their state", () => {
  // Each: the new group's ids repeat the sleeping history's; the peers back on their data dirs
  // join it, which numbers above what they hold. Before, the checker demanded the new group
  // stay above views nobody up could know, and groups never numbered above a returning peer.
  for (const seed of [1000235, 1002905, 1002955, 1005308, 1006247]) {
    const r = runSimulation({ seed, peers: peersForSeed(seed) });
    assert.equal(r.violation && describeViolation(r.violation), null, `seed ${seed}`);
    assert.ok(r.stats.newLines > 0, `seed ${seed}: peer 1 founded a new line`);
    assert.ok(r.stats.livenessDemanded && r.stats.convergedAfterMs !== null, `seed ${seed}: converged`);
  }
  // Peers removed by forged views, with the only other peer stuck in an older view: they form anew.
  const r = runSimulation({ seed: 1004276, peers: peersForSeed(1004276) });
  assert.equal(r.violation && describeViolation(r.violation), null, "seed 1004276");
  assert.ok(r.stats.formedAnew > 0 && r.stats.convergedAfterMs !== null, "seed 1004276 formed anew");
});

test("soak seeds where the peers that knew the history were cut off, or only just back, or a formed view reused a sleeping id", () => {
  // Founding while the knowers are behind a partition (or reachable for less than a failure
  // timeout), and forming anew above every view reached while a newer one sleeps on a data dir.
  for (const seed of [1016433, 1016813, 1018535, 1019819, 1020719, 1026851, 1029266]) {
    const r = runSimulation({ seed, peers: peersForSeed(seed) });
    assert.equal(r.violation && describeViolation(r.violation), null, `seed ${seed}`);
    assert.ok(r.stats.newLines > 0, `seed ${seed}: a new line or branch`);
  }
  // A leader took over above a formation's ballot while two members had accepted the formed view:
  // they no longer answer for their old view, so it cannot commit a view beside the formed one.
  // (And an acceptance from before a member's view, holding an older run, binds nothing: 1022327,
  // 1023495 and 1026984 went wrong while it did.)
  // 1060688: peer 1's probe lost the only live knower's answer; its heartbeats now stop the founding.
  for (const seed of [1012870, 1022327, 1023495, 1026984, 1060688]) {
    const r = runSimulation({ seed, peers: peersForSeed(seed) });
    assert.equal(r.violation && describeViolation(r.violation), null, `seed ${seed}`);
  }
});

test("beyond 8 peers: found by longer runs at 9, 16 and 20 peers", () => {
  // 1273 (9): a candidate that gave up told only its observers; members kept following it.
  // 5135 (20): a leader and 8 members restarted without state and 2 stayed down: the candidate
  // yielded to lower members it had only just started watching, and nobody formed anew.
  // 1084544 (9): peer 1's founding probe went to 4 random peers only, missing the one live knower.
  for (const [seed, peers] of [[1273, 9], [47, 16], [1112, 9], [5135, 20], [1084544, 9]]) {
    const r = runSimulation({ seed, peers });
    assert.equal(r.violation && describeViolation(r.violation), null, `seed ${seed}, ${peers} peers`);
  }
});

test("soak seeds where forged views removed every live peer of a view that could carry on", () => {
  // The live peers were all out of the group, each holding the same last view that names its run,
  // and nobody in it to send it back: a peer trying to form anew now takes that view back once its
  // members answer holding it (1050939: a majority of the hostsfile answered, deciding 'live';
  // 1095410: two of four up, too few to form anything, but both of that view's members).
  for (const seed of [1050939, 1095410]) {
    const r = runSimulation({ seed, peers: peersForSeed(seed) });
    assert.equal(r.violation && describeViolation(r.violation), null, `seed ${seed}`);
    assert.ok(r.stats.livenessDemanded && r.stats.convergedAfterMs !== null, `seed ${seed}: converged`);
  }
  // A soak seed reported as an agreement violation (a promiser whose FORM_ACCEPT was lost, counted
  // by a takeover above the formation's ballot). It no longer failed on main before the former
  // checked that the old view's unbound members are no majority (formation_test covers that
  // check); kept as a guard.
  const r = runSimulation({ seed: 1029263, peers: peersForSeed(1029263) });
  assert.equal(r.violation && describeViolation(r.violation), null, "seed 1029263");
});

test("soak seeds where forming anew went on over a view that could carry on, or proposed a view whose runs were gone", () => {
  // 1088692 (6 peers): the former and one member had missed view 5, so a majority of it holding the
  // view had not answered; the attempt went on, and the members that accepted it stopped voting in
  // view 5, which was live. 1086647 (5 peers): a formed view's runs all restarted without state, and
  // the one peer that kept its acceptance proposed that dead view again and again. 1048628 (3 peers):
  // the former of view 5 = [2, 3] restarted without state; the member that had accepted it took
  // view 4 for live and joined it, yet it could no longer vote in view 4. 1171723 (3 peers): view 5 = [1]
  // counted as live on the answer of peer 1, which a forged view had put out of the group. 1220556
  // (4 peers): peer 1, put out of view 2 = [1, 2] by a forged view, could not take it back because
  // peer 2 had never received it.
  for (const seed of [1088692, 1086647, 1048628, 1171723, 1220556]) {
    const r = runSimulation({ seed, peers: peersForSeed(seed) });
    assert.equal(r.violation && describeViolation(r.violation), null, `seed ${seed}`);
    // (1220556 records no convergence time; the checker still fails it at the end if it does not converge)
    if (seed !== 1220556) {
      assert.ok(r.stats.livenessDemanded && r.stats.convergedAfterMs !== null, `seed ${seed}: converged`);
    }
  }
});

test("soak seeds beyond make soak's range: a candidate that gave up followed its own ballot; two lines carried on; a change that may have been chosen holds the group", () => {
  // 1175774 (8 peers): all in one view, but the candidate that gave up kept following its own
  // ballot, not the leader's. 1182740 (9 peers): the leader crashed holding a batch that deletes four
  // restarted members; the view it makes may have been chosen, and a majority of it is down for good:
  // forming anew beside it could split the group, so nothing is demanded (and nothing is formed).
  const converged = runSimulation({ seed: 1175774, peers: 8 });
  assert.equal(converged.violation && describeViolation(converged.violation), null, "seed 1175774");
  assert.ok(
    converged.stats.livenessDemanded && converged.stats.convergedAfterMs !== null,
    "1175774 converged",
  );
  // 1117965 (5 peers): view 4 = [1,2,5] formed anew; 1 restarted without state and 2 and 5 slept on
  // their data dirs; 1, 3 and 4 formed view 3 anew below it. Back, 2 and 5 carried view 4 on beside
  // the later group. Now a member that asks them to take over gets their view instead of a promise,
  // and a view holding a newer run of one of ours is joined.
  const merged = runSimulation({ seed: 1117965, peers: 5 });
  assert.equal(merged.violation && describeViolation(merged.violation), null, "seed 1117965");
  assert.ok(merged.stats.livenessDemanded && merged.stats.convergedAfterMs !== null, "1117965 converged");
  const held = runSimulation({ seed: 1182740, peers: 9 });
  assert.equal(held.violation && describeViolation(held.violation), null, "seed 1182740");
  assert.equal(
    held.stats.livenessDemanded,
    false,
    "1182740: a possibly chosen view's majority is down for good",
  );
});
