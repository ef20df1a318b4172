/**
 * Test case 4 of the contract, as a fault injected from outside the core: an
 * effect filter on the leader. Once every peer of the hostsfile has joined,
 * the first step in which the leader detects a failed member and sends the
 * REQ of its DEL loses the REQ to the next leader, and the peer crashes right
 * after: the next leader must learn of the pending DEL from the others.
 *
 * @module
 */

import type { Effect } from "../core/effects.ts";
import type { PeerId } from "../core/messages.ts";
import { proposalOps } from "../core/view.ts";
import type { EffectFilter } from "./effect_runner.ts";

/**
 * The filter for test case 4 on a peer of a hostsfile of `peerCount` peers.
 *
 * @example
 * ```ts
 * import { test4Filter } from "./test4.ts";
 * const filter = test4Filter(5);
 * filter({ cause: { kind: "tick" }, now: 0, effects: [], crash: false }); // { effects: [], crash: false }
 * ```
 */
export function test4Filter(peerCount: number): EffectFilter {
  let everyoneJoined = false;
  return (step) => {
    const { effects } = step;
    for (const e of effects) {
      if (e.kind === "event" && e.event.type === "view" && e.event.view.members.length === peerCount) {
        everyoneJoined = true;
      }
    }
    if (!everyoneJoined || step.crash) return step;
    const failed = new Set(
      effects.flatMap((e) => e.kind === "event" && e.event.type === "unreachable" ? [e.event.member] : []),
    );
    // The DEL of a failed member, alone or (above 8 peers) in a batch.
    const failedDel = (e: Effect) =>
      e.kind === "send" && e.message.type === "REQ"
        ? proposalOps(e.message.proposal).find((op) => op.kind === "DEL" && failed.has(op.peer))
        : undefined;
    const isDelReq = (e: Effect): e is Extract<Effect, { kind: "send" }> => failedDel(e) !== undefined;
    const reqs = effects.filter(isDelReq);
    if (reqs.length === 0) return step;
    // The next leader is the lowest member after this one: the lowest REQ recipient.
    const nextLeader: PeerId = Math.min(...reqs.map((e) => e.to));
    const gone = failedDel(reqs[0])!.peer;
    return {
      effects: [
        ...effects.filter((e) => !(isDelReq(e) && e.to === nextLeader)),
        {
          kind: "log",
          level: "warning",
          text: `test case 4: sent REQ DEL ${gone} to all but peer ${nextLeader}; crashing`,
          key: "test4",
        },
      ],
      crash: true,
    };
  };
}
