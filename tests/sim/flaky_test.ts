/**
 * A flaky peer is removed once, not flapping in and out (issue: "Stability"):
 * the simulator's scale scenario makes one peer, a member or the leader, lose
 * most of what it sends (datagrams and stream messages alike) through a long
 * idle window. It may be removed at most once while the fault holds, must not
 * be admitted again until it ends, and must be back within 5 s after; every
 * guarantee holds throughout, and nobody else is reported or removed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { describeScale, runScale } from "./scale.ts";

for (const who of ["member", "leader"] as const) {
  for (const loss of [0.8, 0.9]) {
    test(`5 peers: the ${who} loses ${loss * 100} % of what it sends for 60 s: removed at most once, back within 5 s after`, () => {
      for (const seed of [1, 2, 3]) {
        const r = runScale({ peers: 5, seed, idleMs: 60_000, flaky: { who, loss } });
        assert.equal(r.violation, null, `seed ${seed}: ${r.violation?.detail}`);
        const f = r.flaky!;
        assert.ok(f.removals <= 1, `seed ${seed}: removed ${f.removals} times (${describeScale(r)})`);
        assert.equal(f.readmissions, 0, `seed ${seed}: admitted again while the fault held`);
        assert.ok(
          f.backAfterMs !== null && f.backAfterMs <= 5_000,
          `seed ${seed}: back after ${f.backAfterMs} ms`,
        );
      }
    });
  }
}
