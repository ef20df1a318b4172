/**
 * The simulator's scale scenario at a size the fast tier affords: the whole
 * group starts together and forms one view, a tenth of it crashes at once
 * (the leader out, then in) and is removed, every guarantee holding; and a
 * peer that goes silent while alive is caught as an accuracy violation.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { CoreConfig } from "../../src/core/config.ts";
import type { Effect } from "../../src/core/effects.ts";
import type { Message, PeerId, Proposal, View } from "../../src/core/messages.ts";
import { PeerCore, type Role } from "../../src/core/peer_core.ts";
import { describeScale, runScale } from "./scale.ts";
import type { SimCore } from "./simulator.ts";

/** The size the fast tier runs (a few seconds with all-to-all heartbeats). */
const PEERS = 32;

for (const crashLeader of [false, true]) {
  test(
    `${PEERS} peers started together form one view, and 10 % crashing at once (leader ${
      crashLeader ? "in" : "out"
    }) is removed, every guarantee holding`,
    () => {
      const result = runScale({ peers: PEERS, seed: 1, crashLeader });
      console.log(describeScale(result));
      assert.equal(result.violation, null, result.violation?.detail);
      assert.ok(result.formedAtMs !== null && result.formedAtMs > 0, "the group formed");
      assert.equal(result.crashed.length, Math.round(PEERS / 10));
      assert.equal(result.leader !== null && result.crashed.includes(result.leader), crashLeader);
      assert.ok(result.removedAfterMs !== null, "the survivors dropped the crashed peers");
      assert.equal(result.stats.downAtEnd.join(","), result.crashed.join(","));
      assert.ok(result.stats.unreachable > 0, "the crashes were detected, not only seen by the checker");
      if (crashLeader) {
        assert.ok(result.stats.takeovers > 0, "another peer took over from the crashed leader");
      }
      // Every peer heartbeats: at least one message per peer per heartbeat interval while idle.
      assert.ok(result.idlePerPeerPerSecond >= 10, `idle rate ${result.idlePerPeerPerSecond}`);
      assert.ok((result.idleSentByType.HEARTBEAT ?? 0) > 0);
    },
  );
}

test("the same seed runs the scale scenario the same way", () => {
  const a = runScale({ peers: 12, seed: 3, crashLeader: true });
  const b = runScale({ peers: 12, seed: 3, crashLeader: true });
  assert.equal(a.violation, null, a.violation?.detail);
  assert.deepEqual(
    [a.formedAtMs, a.removedAfterMs, a.crashed, a.stats.steps, a.idleSentByType],
    [b.formedAtMs, b.removedAfterMs, b.crashed, b.stats.steps, b.idleSentByType],
  );
});

/** A live peer that never sends a datagram: the others must not be allowed to report it. */
class SilentCore implements SimCore {
  readonly #core: PeerCore;

  constructor(config: CoreConfig) {
    this.#core = new PeerCore(config);
  }

  start(now: number): Effect[] {
    return this.#mute(this.#core.start(now));
  }

  receive(now: number, message: Message): Effect[] {
    return this.#mute(this.#core.receive(now, message));
  }

  tick(now: number): Effect[] {
    return this.#mute(this.#core.tick(now));
  }

  get view(): View | null {
    return this.#core.view;
  }

  get leader(): PeerId | null {
    return this.#core.leader;
  }

  get role(): Role {
    return this.#core.role;
  }

  get pending(): Proposal | null {
    return this.#core.pending;
  }

  get suspected(): ReadonlySet<PeerId> {
    return this.#core.suspected;
  }

  get probing(): boolean {
    return this.#core.probing;
  }

  #mute(effects: Effect[]): Effect[] {
    return effects.filter((e) => !(e.kind === "send" && e.channel === "datagram"));
  }
}

test("where crashes are the only fault, reporting a live peer breaks accuracy", () => {
  const silent = 5;
  const result = runScale({
    peers: 12,
    seed: 1,
    coreFactory: (config) => config.id === silent ? new SilentCore(config) : new PeerCore(config),
  });
  assert.equal(result.violation?.guarantee, "accuracy", describeScale(result));
  assert.match(result.violation!.detail, new RegExp(`live (peer ${silent}\\b|\\[${silent}\\])`));
  assert.match(result.violation!.replay, /--scale 12 --seed 1/);
});

test("beyond 8 peers what a peer sends idle does not grow with the group: 16 and 128 peers within 20 %", () => {
  const [small, large] = [16, 128].map((peers) => runScale({ peers, seed: 1, idleMs: 2_000 }));
  for (const r of [small, large]) assert.equal(r.violation, null, r.violation?.detail);
  const ratio = large.idlePerPeerPerSecond / small.idlePerPeerPerSecond;
  assert.ok(
    ratio > 0.8 && ratio < 1.2,
    `${small.idlePerPeerPerSecond} vs ${large.idlePerPeerPerSecond} msgs/peer/s`,
  );
});
