/**
 * Protocol timing and identity, with named defaults.
 *
 * @module
 */

import type { Tags } from "./tags.ts";
import type { DurableState } from "./effects.ts";
import type { PeerId } from "./messages.ts";

/** Default heartbeat interval: 200 ms. */
export const DEFAULT_HEARTBEAT_MS = 200;

/**
 * Default missed intervals before a member is unreachable: 5, so a crash is
 * noticed after 1 s (plus at most one interval) at the default heartbeat.
 */
export const DEFAULT_FAIL_AFTER = 5;

/**
 * Groups of up to this many peers (by hostsfile) run as the seed did: every
 * member heartbeats every other, each operation is its own view change, and a
 * joiner with no lead asks everyone. Larger groups use observers, batch
 * their view changes, and a joiner asks peer 1 and a few others.
 */
export const SMALL_GROUP_MAX_PEERS = 8;

/**
 * Whether a hostsfile of `peerCount` peers makes a large group.
 *
 * @example
 * ```ts
 * import { isLargeGroup } from "./config.ts";
 * isLargeGroup(8); // false
 * isLargeGroup(9); // true
 * ```
 */
export function isLargeGroup(peerCount: number): boolean {
  return peerCount > SMALL_GROUP_MAX_PEERS;
}

/** How many peers besides peer 1 a joiner of a large group asks when it has no lead. */
export const JOIN_FANOUT = 4;

/** First JOIN retry delay; it doubles up to {@linkcode JOIN_RETRY_MAX_MS}. */
export const JOIN_RETRY_MIN_MS = 100;

/** Longest delay between JOIN retries. */
export const JOIN_RETRY_MAX_MS = 2_000;

/** Everything the protocol core needs to know about itself. */
export interface CoreConfig {
  /** This peer's ID (1-based position in the hostsfile). */
  readonly id: PeerId;
  /** How many peers the hostsfile lists: IDs run from 1 to this. */
  readonly peerCount: number;
  /** Tells this process apart from earlier runs of the same peer. */
  readonly incarnation: number;
  /** Heartbeat interval in ms; the host ticks the core at this period. */
  readonly heartbeatMs: number;
  /** Missed heartbeat intervals before a member is unreachable. */
  readonly failAfter: number;
  /** Source of randomness in [0, 1), for join back-off jitter. */
  readonly random: () => number;
  /**
   * What this peer kept from an earlier run (its data dir): it starts as that
   * same run, with its promises, accepted proposal and view.
   */
  readonly restored?: DurableState;
  /** This peer's tags (none by default); `PeerCore.setTags` changes them. */
  readonly tags?: Tags;
}
