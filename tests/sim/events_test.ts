/**
 * Tags and user events under the simulator's faults (issue 19): peers
 * broadcast events and change their tags while peers crash, restart (with
 * their state and without), partitions come and go and the leader changes.
 * The checker demands, after every step: one order of each view's events at
 * every peer, each delivered once, while the peer is in that very view; the
 * same events of a view delivered by every peer that installs the next (view
 * synchrony, while a majority of the view stays up); no event its sender was
 * told is undelivered ever delivered; tags agreed with the view; and, once
 * faults stop, every peer's tags in the view and its events delivered.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { describeViolation, peersForSeed, runSimulation } from "./simulator.ts";

/** Seeds that found bugs in the ordering of events while it was built; each runs as a regression. */
const REGRESSIONS = [
  8, // a candidate waited for members that kept their events when all had said they forgot
  9, // a run restored from its state numbered its events as its first process had
  22, // a leader restored into its view ordered events there again, from position 1
  28, // a TAG of a view's only member: the checker's quorum saw no NEWVIEW sent
  182, // a member that skipped views kept its events forever (the leader had delivered them)
  224, // a removed member reported its event undelivered, though the cut of a view it skipped held it
  306, // events waiting at the leader of a run removed, then admitted again, were ordered after all
  341, // a candidate adopted a later view from an answer without the events of its cut
  385, // a member caught up over a view change without the events of its cut
  994, // a run restored into a view it never printed delivered events there
  1094, // a leader the view does not name held events ordered by the old leader forever
  1451, // a removed member that lacked the cut's events called its own event undelivered
  1617, // a lost commit notice: the leader's heartbeat now says how many events are committed
  102251, // a recovered cut naming events nobody holds: it was not chosen, and shrinks
  102609, // the whole group crashed with a view's events: the checker's view of who went down
  107164, // the cut of a recovered proposal was changed where it may have been chosen
];

test("tags and user events under faults: 400 seeds, 3 to 9 peers, every guarantee after every step", () => {
  let delivered = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const r = runSimulation({ seed, peers: peersForSeed(seed), workload: true });
    assert.equal(r.violation, null, r.violation ? describeViolation(r.violation) : "");
    delivered += r.stats.eventsDelivered;
  }
  assert.ok(delivered > 10_000, `events were delivered (${delivered})`);
});

test("tags and user events: the seeds that found bugs keep every guarantee", () => {
  for (const seed of REGRESSIONS) {
    const r = runSimulation({ seed, peers: peersForSeed(seed), workload: true });
    assert.equal(r.violation, null, r.violation ? describeViolation(r.violation) : "");
  }
});
