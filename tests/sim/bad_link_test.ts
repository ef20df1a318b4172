/**
 * One bad link must not evict a healthy member: the simulator's scale
 * scenario cuts the link between two peers (both ways, TCP and UDP alike)
 * through its idle window, in a small group (all-to-all) and in large ones
 * (observers). Nobody may be removed, and only the two ends may report each
 * other unreachable (the checker's accuracy rule); after the link mends, a
 * tenth of the group crashes and is removed as usual.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { describeScale, runScale } from "./scale.ts";

for (const peers of [5, 9, 40]) {
  for (const cutLink of ["leader", "members"] as const) {
    test(`${peers} peers: one bad link (${cutLink === "leader" ? "the leader and the next in line" : "two members that watch each other"}) for 10 s evicts nobody`, () => {
      for (const seed of [1, 2, 3]) {
        const result = runScale({ peers, seed, cutLink, idleMs: 10_000 });
        assert.equal(result.violation, null, `seed ${seed}: ${result.violation?.detail}`);
        assert.ok(result.formedAtMs !== null && result.removedAfterMs !== null, describeScale(result));
        // The cut really cut: the idle window still counted heartbeats, and the views held.
        assert.ok((result.idleSentByType.HEARTBEAT ?? 0) > 0);
      }
    });
  }
}
