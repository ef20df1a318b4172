/**
 * Who watches whom. Small groups (up to 8 peers by hostsfile, see
 * `isLargeGroup` in config.ts) keep the seed's all-to-all heartbeats. Larger groups lay the view
 * out over {@linkcode OBSERVER_RINGS} pseudo-random rings, as Rapid does: each
 * member's observers are its predecessors on the rings, so every member sends
 * and receives a fixed number of heartbeats however large the group grows.
 * The leader still heartbeats, and hears from, every member.
 *
 * @module
 */

import { isLargeGroup } from "./config.ts";
import type { PeerId, View } from "./messages.ts";

/**
 * Rings, hence observers per member, in larger groups. Four observers and the
 * leader give five independent witnesses of each member: with one bad link the
 * other four still vouch for it, and under 25 % loss the chance that none of
 * them hears a live member for five intervals is about 10⁻¹⁵.
 */
export const OBSERVER_RINGS = 4;

/**
 * A member's place on ring `ring`: a fixed pseudo-random 32-bit number (murmur3's
 * finalizer over ring and ID), then the ID, so that no two members tie.
 */
function ringPosition(ring: number, id: PeerId): number {
  let h = Math.imul(id, 0x9e3779b1) ^ Math.imul(ring + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) * 0x10000 + id;
}

/**
 * The observer layout of one view, from one member's standpoint.
 *
 * @example
 * ```ts
 * import { Monitoring } from "./monitoring.ts";
 * const members = Array.from({ length: 20 }, (_, i) => i + 1);
 * const view = { id: 20, leader: 1, members, incarnations: members.map(() => 1) };
 * const layout = new Monitoring(view, 7, 20);
 * layout.allToAll; // false
 * layout.observers.length <= 4; // true: peer 7 heartbeats these (and the leader)
 * layout.subjects.length <= 4; // true: peer 7 watches these (and the leader)
 * ```
 */
export class Monitoring {
  /** The view laid out. */
  readonly view: View;
  /** Whether every member watches every other (small groups). */
  readonly allToAll: boolean;
  /** Members that watch this peer: it heartbeats them. */
  readonly observers: readonly PeerId[];
  /** Members this peer watches: they heartbeat it. */
  readonly subjects: readonly PeerId[];

  /** The layout of `view` for member `self` of a hostsfile of `peerCount` peers. */
  constructor(view: View, self: PeerId, peerCount: number) {
    this.view = view;
    const others = view.members.filter((m) => m !== self);
    this.allToAll = !isLargeGroup(peerCount) || others.length <= OBSERVER_RINGS;
    if (this.allToAll) {
      this.observers = this.subjects = others;
      return;
    }
    // Every member's observers: on each ring, the nearest predecessor not already
    // one of its observers (small rings would repeat one), so each member has
    // OBSERVER_RINGS distinct observers. The whole layout, so that `subjects` is
    // exactly the inverse on every peer.
    const members = view.members;
    const observersOf = new Map<PeerId, PeerId[]>(members.map((m) => [m, []]));
    for (let ring = 0; ring < OBSERVER_RINGS; ring++) {
      const order = members.map((m) => ({ m, at: ringPosition(ring, m) })).sort((a, b) => a.at - b.at);
      order.forEach(({ m }, i) => {
        const chosen = observersOf.get(m)!;
        for (let back = 1; back < order.length; back++) {
          const o = order[(i - back + order.length) % order.length].m;
          if (!chosen.includes(o)) {
            chosen.push(o);
            break;
          }
        }
      });
    }
    this.observers = observersOf.get(self) ?? [];
    this.subjects = members.filter((m) => observersOf.get(m)!.includes(self));
  }
}
