import assert from "node:assert/strict";
import { test } from "node:test";
import { SMALL_GROUP_MAX_PEERS } from "../src/core/config.ts";
import { Monitoring, OBSERVER_RINGS } from "../src/core/monitoring.ts";
import type { PeerId } from "../src/core/messages.ts";
import { viewOf } from "./support/fixtures.ts";

const ids = (n: number): PeerId[] => Array.from({ length: n }, (_, i) => i + 1);

test("groups of up to 8 peers (by hostsfile) watch all to all, as the seed did", () => {
  for (let n = 2; n <= SMALL_GROUP_MAX_PEERS; n++) {
    const layout = new Monitoring(viewOf(n, ids(n)), 1, n);
    assert.equal(layout.allToAll, true);
    assert.deepEqual(layout.subjects, ids(n).slice(1));
    assert.deepEqual(layout.observers, ids(n).slice(1));
  }
  // A large hostsfile with a view too small for the rings: all to all as well.
  assert.equal(new Monitoring(viewOf(3, [1, 2, 3]), 2, 50).allToAll, true);
});

for (const n of [9, 16, 64, 1000]) {
  test(`${n} peers: every member has ${OBSERVER_RINGS} observers and watches a few, and the layout agrees on every side`, () => {
    const view = viewOf(n, ids(n));
    const layouts = new Map(view.members.map((m) => [m, new Monitoring(view, m, n)]));
    const observedBy = new Map<PeerId, Set<PeerId>>();
    for (const [m, layout] of layouts) {
      assert.equal(layout.allToAll, false);
      // What it watches stays near OBSERVER_RINGS too, whatever n.
      assert.ok(layout.subjects.length >= 1 && layout.subjects.length <= 2 * OBSERVER_RINGS);
      assert.ok(!layout.subjects.includes(m) && !layout.observers.includes(m));
      for (const s of layout.subjects) observedBy.set(s, (observedBy.get(s) ?? new Set()).add(m));
    }
    for (const [m, layout] of layouts) {
      // Who heartbeats m's watchers is exactly who watches m.
      assert.deepEqual(
        [...layout.observers].sort((a, b) => a - b),
        [...observedBy.get(m)!].sort((a, b) => a - b),
      );
    }
    // Every member gets the full number of distinct observers.
    for (const [m, layout] of layouts) assert.equal(layout.observers.length, OBSERVER_RINGS, `peer ${m}`);
  });
}

test("the layout is a function of the view: any peer computes the same observers", () => {
  const view = viewOf(30, [2, 3, 5, 8, 13, 21, 34, 55, 89, 144]);
  const a = new Monitoring(view, 13, 200);
  const b = new Monitoring({ ...view }, 13, 200);
  assert.deepEqual(a.observers, b.observers);
  assert.deepEqual(a.subjects, b.subjects);
});
