/**
 * Real packet loss: 5 peers in one network namespace whose loopback drops a
 * share of ALL packets (UDP and TCP, both directions) by an nftables rule
 * (`numgen random mod 100 < N drop`; the kernel has no netem). The contract
 * (issue 11's targets): under 25 % loss the group forms and, once settled,
 * nobody is removed or reported unreachable (while forming, a joiner whose
 * NEWVIEW waits on TCP's SYN retransmission can be reported now and then:
 * printed, not asserted); under 40 % it forms in bounded time and, once
 * formed, stays one view. A 0 % run of the same harness is the control. Every run
 * also checks, from the rule's counters, that about N % of the TCP and of
 * the UDP packets were really dropped.
 *
 * Needs root, iproute2 and nftables (`make test` installs nftables as root);
 * skipped, with the reason printed, otherwise.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assertConsistent,
  type PeerProcess,
  sleep,
  startGroup,
  stopAll,
  writeHostsfile,
} from "../support/cluster.ts";
import {
  addRandomLoss,
  allInOneView,
  checkRandomLoss,
  groupRecord,
  Namespaces,
  peerIn,
  timeUntil,
  whyNoNetns,
} from "../support/netns.ts";

const N = 5;
const ALL = Array.from({ length: N }, (_, i) => i + 1);
/** Inside a namespace of our own every port is free. */
const PORTS = ALL.map((id) => 7600 + id);

const reason = await whyNoNetns({ nftables: true });
if (reason) console.log(`loss_test skipped: ${reason}`);

/** What one run under loss showed. */
interface LossRun {
  peers: PeerProcess[];
  /** Spawn of the first peer to all 5 in one view of all 5, or null if that did not happen in time. */
  formedMs: number | null;
  /** Unreachable lines printed from the start (every peer is live, so each is a false report). */
  unreachable: string[];
  /** Views that dropped a member, from the start. */
  removals: string[];
  /** Of those, the ones printed after the group formed (the window). */
  windowUnreachable: string[];
  windowRemovals: string[];
  /** Whether all 5 ended in one view of all 5. */
  whole: boolean;
  /** The rule's counters, or what was wrong with them. */
  counters: string;
  countersOk: boolean;
}

/** After forming, how long the group settles before the window of assertions starts. */
const SETTLE_MS = 2_000;

/**
 * Runs 5 peers in a namespace that loses `percent` % of its packets: waits up
 * to `formMs` for them to form, then watches them for `windowMs` more.
 * Prints the figures; always stops the peers and deletes the namespace.
 */
async function underLoss(
  percent: number,
  formMs: number,
  windowMs: number,
  check: (run: LossRun) => void,
): Promise<void> {
  const spaces = new Namespaces(`loss${percent}`);
  const hostsfile = writeHostsfile(PORTS);
  let peers: PeerProcess[] = [];
  const t0 = performance.now();
  const log = (what: string) => console.log(`  [${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}`);
  try {
    const ns = await spaces.add("lo");
    await addRandomLoss(ns, percent);
    ({ peers } = await startGroup(N, { command: () => peerIn(ns), hostsfile }));
    const formedMs = await timeUntil(() => allInOneView(peers, ALL), formMs);
    log(
      formedMs === null
        ? `${percent} % loss: not formed in ${formMs / 1000} s`
        : `${percent} % loss: all ${N} in view ${peers[0].lastView()?.view} after ${
          (formedMs / 1000).toFixed(1)
        } s`,
    );
    // The window starts once the group has settled: the last joiners' NEWVIEW may still be
    // in TCP's retransmission when the others have formed (see the issue 11 note).
    if (formedMs !== null) await sleep(SETTLE_MS);
    const formedAt = peers.map((p) => p.lines.length);
    if (formedMs !== null) await sleep(windowMs);
    const { unreachable, removals } = groupRecord(peers);
    const inWindow = formedMs === null ? { unreachable: [], removals: [] } : groupRecord(peers, formedAt);
    let counters: string;
    let countersOk = true;
    try {
      counters = await checkRandomLoss(ns, percent);
    } catch (e) {
      counters = (e as Error).message;
      countersOk = false;
    }
    const run = {
      peers,
      formedMs,
      unreachable,
      removals,
      windowUnreachable: inWindow.unreachable,
      windowRemovals: inWindow.removals,
      whole: allInOneView(peers, ALL),
      counters,
      countersOk,
    };
    log(
      `${percent} % loss: ${unreachable.length} unreachable lines (${inWindow.unreachable.length} after forming), ` +
        `${removals.length} views removing a member (${inWindow.removals.length} after forming), ` +
        `${run.whole ? "one view of all 5" : "NOT one view of all 5"} at the end; rule: ${counters}`,
    );
    for (const line of [...unreachable, ...removals]) log(`  ${line}`);
    assert.ok(countersOk, `the harness: ${counters}`);
    // The guarantees first, so that a safety failure is not hidden behind the contract's.
    assertConsistent(peers);
    check(run);
  } catch (e) {
    for (const p of peers) console.log(p.describe());
    throw e;
  } finally {
    await stopAll(peers);
    await spaces.deleteAll();
    Deno.removeSync(hostsfile);
  }
}

test(
  "loss: with 0 % loss (the harness's control) 5 peers form and nobody is reported",
  reason ? { skip: reason } : {},
  () =>
    underLoss(0, 15_000, 5_000, (run) => {
      assert.notEqual(run.formedMs, null, "the group formed");
      assert.deepEqual(run.unreachable, [], "no unreachable line");
      assert.deepEqual(run.removals, [], "nobody removed");
      assert.ok(run.whole, "one view of all 5 at the end");
    }),
);

test(
  "loss: under 25 % loss 5 peers form, and for 20 s once settled nobody is removed or reported unreachable",
  reason ? { skip: reason } : {},
  () =>
    underLoss(25, 30_000, 20_000, (run) => {
      assert.notEqual(run.formedMs, null, "the group formed within 30 s");
      // While forming, a joiner whose NEWVIEW waits on TCP's SYN retransmission can be reported (printed above).
      assert.deepEqual(run.windowUnreachable, [], "no live peer reported unreachable");
      assert.deepEqual(run.windowRemovals, [], "nobody removed");
      assert.ok(run.whole, "one view of all 5 at the end");
    }),
);

test(
  "loss: under 40 % loss 5 peers form within 40 s and stay one view for 15 s",
  reason ? { skip: reason } : {},
  () =>
    underLoss(40, 40_000, 15_000, (run) => {
      assert.notEqual(run.formedMs, null, "the group formed within 40 s");
      assert.deepEqual(run.windowRemovals, [], "nobody removed after forming");
      assert.ok(run.whole, "one view of all 5 at the end");
    }),
);
