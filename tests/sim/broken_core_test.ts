/**
 * The simulator must catch a broken protocol: deliberately broken cores,
 * plugged in through the core factory, must be reported with the guarantee
 * they break and the command that replays the run.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { CoreConfig } from "../../src/core/config.ts";
import type { Effect } from "../../src/core/effects.ts";
import type { Message, PeerId, Proposal, View } from "../../src/core/messages.ts";
import { PeerCore, type Role } from "../../src/core/peer_core.ts";
import { incarnationIn } from "../../src/core/view.ts";
import {
  type CoreFactory,
  peersForSeed,
  runSimulation,
  scenarioFor,
  type SimCore,
  type Violation,
} from "./simulator.ts";

/** A real core behind a filter on its effects: the base of every broken core here. */
abstract class CoreWrapper implements SimCore {
  protected readonly core: PeerCore;

  constructor(config: CoreConfig) {
    this.core = new PeerCore(config);
  }

  start(now: number): Effect[] {
    return this.filter(now, this.core.start(now));
  }

  receive(now: number, message: Message): Effect[] {
    return this.filter(now, this.core.receive(now, message));
  }

  tick(now: number): Effect[] {
    return this.filter(now, this.core.tick(now));
  }

  get view(): View | null {
    return this.core.view;
  }

  get leader(): PeerId | null {
    return this.core.leader;
  }

  get role(): Role {
    return this.core.role;
  }

  get pending(): Proposal | null {
    return this.core.pending;
  }

  get suspected(): ReadonlySet<PeerId> {
    return this.core.suspected;
  }

  get probing(): boolean {
    return this.core.probing;
  }

  /** What the wrapped core's effects become. */
  protected abstract filter(now: number, effects: Effect[]): Effect[];
}

/**
 * A leader that does not wait for its members: for every REQ it sends, it
 * forges the member's OK to itself at once, so it commits without a majority.
 */
class ForgingLeaderCore extends CoreWrapper {
  protected filter(now: number, effects: Effect[]): Effect[] {
    const out: Effect[] = [];
    const queue = [...effects];
    while (queue.length > 0) {
      const e = queue.shift()!;
      out.push(e);
      if (e.kind === "send" && e.message.type === "REQ") {
        const { requestId, proposal } = e.message;
        // the run of the member that the view holds
        const ok: Message = {
          type: "OK",
          from: e.to,
          incarnation: incarnationIn(this.core.view!, e.to) ?? 1,
          ...(this.core.epoch ? { epoch: this.core.epoch } : {}),
          requestId,
          viewId: proposal.viewId,
          ballot: proposal.ballot,
        };
        queue.push(...this.core.receive(now, ok));
      }
    }
    return out;
  }
}

/**
 * A peer forming the group anew that does not wait for the hostsfile: for
 * every FORM_ACCEPT it sends, it forges the FORM_OK at once, so it installs
 * the view it proposed before anybody else accepted it.
 */
class ForgingFormerCore extends CoreWrapper {
  protected filter(now: number, effects: Effect[]): Effect[] {
    const out: Effect[] = [];
    const queue = [...effects];
    while (queue.length > 0) {
      const e = queue.shift()!;
      out.push(e);
      if (e.kind === "send" && e.message.type === "FORM_ACCEPT") {
        const { requestId, ballot, view } = e.message;
        const ok: Message = {
          type: "FORM_OK",
          from: e.to,
          incarnation: incarnationIn(view, e.to) ?? 1,
          requestId,
          ballot,
        };
        queue.push(...this.core.receive(now, ok));
      }
    }
    return out;
  }
}

/**
 * An acceptor with amnesia: it answers NEWLEADER with NOTHING even when it
 * holds a pending operation, so a new leader cannot finish what its
 * predecessor may have committed.
 */
class ForgetfulAcceptorCore extends CoreWrapper {
  protected filter(_now: number, effects: Effect[]): Effect[] {
    return effects.map((e) =>
      e.kind === "send" && e.message.type === "PENDING"
        ? { ...e, message: { ...e.message, pending: null } }
        : e
    );
  }
}

/** A leader that never sends the REQ of a DEL: failed members are never removed. */
class NeverDeletingCore extends CoreWrapper {
  protected filter(_now: number, effects: Effect[]): Effect[] {
    return effects.filter((e) =>
      !(e.kind === "send" && e.message.type === "REQ" && e.message.proposal.op.kind === "DEL")
    );
  }
}

/** A peer that prints every view it installs twice. */
class StutteringCore extends CoreWrapper {
  protected filter(_now: number, effects: Effect[]): Effect[] {
    return effects.flatMap((e) => e.kind === "event" && e.event.type === "view" ? [e, e] : [e]);
  }
}

/** Peers deaf to JOINs: nobody but the founder is ever in. */
class DeafToJoinsCore extends CoreWrapper {
  override receive(now: number, message: Message): Effect[] {
    return message.type === "JOIN" ? [] : super.receive(now, message);
  }

  protected filter(_now: number, effects: Effect[]): Effect[] {
    return effects;
  }
}

/** A peer restarted with its state that prints the view it restored, which it printed before its crash. */
class ReprintingCore extends CoreWrapper {
  readonly #restored: View | null;

  constructor(config: CoreConfig) {
    super(config);
    this.#restored = config.restored?.member ? config.restored.installed : null;
  }

  protected filter(_now: number, effects: Effect[]): Effect[] {
    return effects;
  }

  override start(now: number): Effect[] {
    const effects = super.start(now);
    const view = this.#restored;
    return view
      ? [{ kind: "event", event: { type: "view", peer: this.core.id, view } }, ...effects]
      : effects;
  }
}

/**
 * A peer whose data dir keeps only its incarnation: restarted, it claims to
 * be the same run (the same member, the same voter) but remembers nothing.
 */
function amnesiac(config: CoreConfig): PeerCore {
  return new PeerCore({ ...config, restored: undefined });
}

/**
 * Runs seeds from `from` until one reports a violation that the real core
 * does not (at most `limit` seeds): a seed the real core fails too says
 * nothing about the broken part.
 */
function firstViolation(
  factory: CoreFactory,
  coreName: string,
  from: number,
  limit: number,
): Violation | null {
  for (let seed = from; seed < from + limit; seed++) {
    const peers = peersForSeed(seed);
    const { violation } = runSimulation({ seed, peers, coreFactory: factory, coreName });
    if (violation && !runSimulation({ seed, peers }).violation) return violation;
  }
  return null;
}

/** The same seed with the real core keeps every guarantee: the broken part is to blame. */
function assertRealCorePasses(v: Violation): void {
  const real = runSimulation({ seed: v.seed, peers: v.peers });
  assert.equal(real.violation, null, `the real core fails seed ${v.seed} too`);
}

/**
 * The first of `limit` seeds where the broken core is caught: it must be
 * caught for `guarantee`, with a replay command, on a seed the real core passes.
 */
function assertCaught(
  factory: CoreFactory,
  coreName: string,
  guarantee: Violation["guarantee"] | readonly Violation["guarantee"][],
  limit: number,
): Violation {
  const violation = firstViolation(factory, coreName, 1, limit);
  assert.ok(violation, "no violation reported");
  const expected = typeof guarantee === "string" ? [guarantee] : guarantee;
  assert.ok(expected.includes(violation.guarantee), `${violation.guarantee}: ${violation.detail}`);
  assert.match(violation.replay, REPLAY);
  assertRealCorePasses(violation);
  return violation;
}

const REPLAY = /^deno task sim --seed \d+ --peers \d+ \(with core "[^"]+" plugged in\)$/;

test("a leader that commits without a majority breaks quorum, and the simulator says so", () => {
  const violation = assertCaught((c) => new ForgingLeaderCore(c), "forging leader", "quorum", 20);
  assert.match(violation.detail, /accepted only by/);
  assert.match(violation.replay, new RegExp(`--seed ${violation.seed} --peers ${violation.peers}`));
  // and replaying that seed reports the same violation at the same step
  const again = runSimulation({
    seed: violation.seed,
    peers: violation.peers,
    coreFactory: (c) => new ForgingLeaderCore(c),
    coreName: "forging leader",
  });
  assert.deepEqual(again.violation, violation);
});

test("forming the group anew without a majority of the hostsfile breaks quorum, and the simulator says so", () => {
  const violation = assertCaught((c) => new ForgingFormerCore(c), "forging former", "quorum", 300);
  assert.match(violation.detail, /accepted only by|nobody installed view/);
});

test("acceptors that forget their pending operation break agreement, and the simulator says so", () => {
  assertCaught((c) => new ForgetfulAcceptorCore(c), "forgetful acceptor", "agreement", 2_000);
});

test("a failure detector without patience breaks accuracy in fault-free runs", () => {
  // failAfter 0: a member not heard from within the very tick is unreachable
  const impatient: CoreFactory = (c) => new PeerCore({ ...c, failAfter: 0 });
  const faultFree = Array.from({ length: 200 }, (_, i) => i + 1)
    .filter((seed) => scenarioFor(seed, peersForSeed(seed)).faultFree);
  assert.ok(faultFree.length > 10);
  const violation = faultFree.map((seed) =>
    runSimulation({ seed, peers: peersForSeed(seed), coreFactory: impatient, coreName: "impatient detector" })
  ).find((r) => r.violation)?.violation;
  assert.ok(violation, "no violation reported");
  assert.equal(violation.guarantee, "accuracy", violation.detail);
  assert.match(violation.replay, REPLAY);
  assertRealCorePasses(violation);
});

test("a leader that never deletes breaks completeness, and the simulator says so", () => {
  assertCaught((c) => new NeverDeletingCore(c), "never deleting", "completeness", 200);
});

test("printing a view twice breaks monotonic views, and the simulator says so", () => {
  assertCaught((c) => new StutteringCore(c), "stuttering", "monotonic", 5);
});

test("a peer restarted with its state that prints its view again breaks monotonic views", () => {
  const violation = assertCaught((c) => new ReprintingCore(c), "reprinting restored", "monotonic", 200);
  assert.match(violation.detail, /installed v(\d+) .* after v\1 /);
});

test("a peer restarted on a data dir that kept nothing but its run is caught", () => {
  // it installs or prints again, as the same run, views it had installed, or other views with their ids
  assertCaught(amnesiac, "amnesiac", ["monotonic", "agreement"], 200);
});

test("peers deaf to JOINs break liveness, and the simulator says so", () => {
  assertCaught((c) => new DeafToJoinsCore(c), "deaf to joins", "liveness", 5);
});
