/**
 * One bad link: every peer in its own network namespace at its own address
 * on one bridge (as on real hosts), and nftables in one peer's namespace
 * drops everything between it and ONE other peer, both ways, TCP and UDP.
 * Every other path works. PROTOCOL.md "Failure detection": "the leader
 * removes a member when enough of its observers report it, so one bad link
 * does not evict a healthy member" (observers: groups larger than 8). The
 * tests assert that contract for a group of 9 and, as the issue asks, for a
 * group of 5 (all-to-all heartbeats, where PROTOCOL.md promises nothing
 * about one bad link): nobody is removed while the link is cut. The pair may
 * report each other unreachable; what every peer printed is shown.
 *
 * Needs root, iproute2 and nftables (`make test` installs nftables as root);
 * skipped, with the reason printed, otherwise.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { assertConsistent, sleep } from "../support/cluster.ts";
import {
  allInOneView,
  cutLinkTo,
  groupRecord,
  nftCounters,
  whyNoNetns,
  withBridgedGroup,
} from "../support/netns.ts";

const SUBNET = "10.200.0";
/** How long the link stays cut after the group formed. */
const WINDOW_MS = 10_000;

const reason = await whyNoNetns({ nftables: true });
if (reason) console.log(`bad_link_test skipped: ${reason}`);

/**
 * Starts `n` peers, one per namespace, waits until they are one view of all,
 * cuts the link between `a` and `b` for {@linkcode WINDOW_MS}, and checks
 * that nobody was removed and all still share one view of all `n`.
 */
async function oneBadLink(n: number, [a, b]: [number, number]): Promise<void> {
  await withBridgedGroup(`bl${n}`, n, SUBNET, async ({ peers, net, ids, formed, log }) => {
    // The pairs below are named for a group led by peer 1, as one started together is.
    assert.equal(formed.leader, 1, "peer 1 leads the group formed");

    const before = peers.map((p) => p.lines.length);
    await cutLinkTo(net.hostNs(a), net.address(b));
    log(`link ${a}–${b} cut for ${WINDOW_MS / 1000} s`);
    await sleep(WINDOW_MS);
    const dropped = (await nftCounters(net.hostNs(a), "badlink")).dropped ?? 0;
    const { unreachable, removals } = groupRecord(peers, before);
    const whole = allInOneView(peers, ids);
    log(
      `${dropped} packets dropped between ${a} and ${b}; ${unreachable.length} unreachable lines, ` +
        `${removals.length} views removing a member, ${
          whole ? `one view of all ${n}` : `NOT one view of all ${n}`
        }`,
    );
    for (const line of [...unreachable, ...removals]) log(`  ${line}`);
    assert.ok(dropped > 0, `the harness: the rule dropped nothing between ${a} and ${b}`);
    // The guarantees first, so that a safety failure is not hidden behind the contract's.
    assertConsistent(peers);
    assert.deepEqual(removals, [], `nobody removed over one bad link (${a}–${b})`);
    assert.ok(whole, `one view of all ${n} at the end`);
    const beyondPair = unreachable.filter((l) => {
      const m = /^peer (\d+): .*(?:peer|leader) (\d+) unreachable/.exec(l)!;
      const pair = [Number(m[1]), Number(m[2])].sort().join();
      return pair !== [a, b].sort().join();
    });
    assert.deepEqual(beyondPair, [], `only ${a} and ${b} may report each other unreachable`);
  });
}

for (const n of [5, 9]) {
  // Beyond 8 peers only observers and their subjects talk: 2 and 3 watch each other in view [1..9]
  // (see src/core/monitoring.ts), so cutting them cuts a watched link both ways.
  const [a, b] = n <= 8 ? [3, 4] : [2, 3];
  test(
    `bad link: ${n} peers, the link between members ${a} and ${b} cut for ${
      WINDOW_MS / 1000
    } s: nobody is removed`,
    reason ? { skip: reason } : {},
    () => oneBadLink(n, [a, b]),
  );
  test(
    `bad link: ${n} peers, the link between the leader (1) and member 2 cut for ${
      WINDOW_MS / 1000
    } s: nobody is removed`,
    reason ? { skip: reason } : {},
    () => oneBadLink(n, [1, 2]),
  );
}
