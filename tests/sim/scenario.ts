/**
 * The fault schedule of a seed: when peers start, delays and losses, crashes
 * (scheduled, or half-way through a broadcast), partitions, test case 4. It
 * depends on the seed and the peer count only, so a seed replays exactly.
 *
 * @module
 */

import type { PeerId } from "../../src/core/messages.ts";
import { streamFor } from "../support/prng.ts";

/** A crash of one peer at a virtual time; crashed peers never come back. */
export interface ScheduledCrash {
  /** The peer that crashes. */
  readonly peer: PeerId;
  /** When, in virtual ms. */
  readonly atMs: number;
}

/** A partition from `atMs` until it heals at `untilMs`. */
export interface ScheduledPartition {
  /** When it starts, in virtual ms. */
  readonly atMs: number;
  /** When it heals, in virtual ms. */
  readonly untilMs: number;
  /** The sides: peers in different groups cannot talk. */
  readonly groups: readonly (readonly PeerId[])[];
}

/**
 * A crash in the middle of a broadcast: the `nth` time `peer` sends `type`
 * messages in one step, only the first `keep` of them leave before it crashes.
 */
export interface BroadcastCrash {
  /** The peer that crashes. */
  readonly peer: PeerId;
  /** The broadcast it is cut short in. */
  readonly type: "REQ" | "NEWVIEW" | "NEWLEADER";
  /** Which of its steps sending that type (1-based). */
  readonly nth: number;
  /** How many of those messages leave before the crash. */
  readonly keep: number;
}

/** The fault schedule of one seed, fully determined by the seed and the peer count. */
export interface Scenario {
  /** No loss, no crash, no partition, small delays: accuracy is checked. */
  readonly faultFree: boolean;
  /** Whether peer 1 runs test case 4. */
  readonly test4: boolean;
  /** When each peer starts (index 0 is peer 1), in virtual ms. */
  readonly startAtMs: readonly number[];
  /** Longest one-way delay during the fault phase (the shortest is 1 ms). */
  readonly maxDelayMs: number;
  /** UDP loss probability during the fault phase. */
  readonly datagramLoss: number;
  /** TCP message loss probability during the fault phase. */
  readonly streamBreak: number;
  /** Crashes, in time order. */
  readonly crashes: readonly ScheduledCrash[];
  /** Partitions, in time order, never overlapping. */
  readonly partitions: readonly ScheduledPartition[];
  /** A crash half-way through a broadcast, or null. */
  readonly broadcastCrash: BroadcastCrash | null;
}

/** Default length of the fault phase, in virtual ms. */
export const SIM_FAULT_PHASE_MS = 8_000;

/** The peer count the suite uses for a seed when none is given: 3 to 9. */
export function peersForSeed(seed: number): number {
  return 3 + (((seed % 7) + 7) % 7);
}

/**
 * The fault schedule of a seed: a fifth of the seeds are fault-free; the
 * rest draw delays, losses, crashes (usually of a minority, sometimes more),
 * partitions, and, with four peers or more, sometimes test case 4.
 */
export function scenarioFor(seed: number, peers: number, faultPhaseMs = SIM_FAULT_PHASE_MS): Scenario {
  const random = streamFor(seed, 0);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const startAtMs = Array.from({ length: peers }, () => int(0, 2_000));
  if (random() < 0.2) {
    return {
      faultFree: true,
      test4: false,
      startAtMs,
      maxDelayMs: int(1, 20),
      datagramLoss: 0,
      streamBreak: 0,
      crashes: [],
      partitions: [],
      broadcastCrash: null,
    };
  }
  const test4 = peers >= 4 && random() < 0.2;
  const maxDelayMs = int(1, 40); // below the 500 ms failure timeout
  const datagramLoss = random() < 0.6 ? random() * 0.3 : 0;
  const streamBreak = random() < 0.6 ? random() * (random() < 0.2 ? 0.3 : 0.1) : 0;
  let broadcastCrash: BroadcastCrash | null = null;
  if (!test4 && random() < 0.3) {
    const type = (["REQ", "NEWVIEW", "NEWLEADER"] as const)[int(0, 2)];
    // the founder leads most operations; peer 2 is the usual first candidate
    const usual = type === "NEWLEADER" ? 2 : 1;
    const peer = random() < 0.8 ? usual : int(1, peers);
    const nth = type === "NEWLEADER" ? 1 : int(1, Math.max(1, Math.floor(peers / 2)));
    broadcastCrash = { peer, type, nth, keep: int(0, peers - 1) };
  }
  const crashes: ScheduledCrash[] = [];
  if (test4) {
    // as the contract's test case 4: the last peer crashes once everyone is in
    crashes.push({ peer: peers, atMs: int(Math.floor(faultPhaseMs / 2), faultPhaseMs - 500) });
  } else if (peers >= 5 && random() < 0.15) {
    // A cascade: the founder crashes, then the next in line during its takeover.
    const atMs = int(2_500, faultPhaseMs - 1_500);
    crashes.push({ peer: 1, atMs }, { peer: 2, atMs: atMs + int(400, 1_000) });
  } else {
    // Usually a minority, so a majority plausibly survives; sometimes more,
    // where only safety is demanded.
    const most = (random() < 0.1 ? Math.ceil(peers / 2) : Math.floor((peers - 1) / 2)) -
      (broadcastCrash ? 1 : 0);
    const candidates = Array.from({ length: peers }, (_, i) => i + 1)
      .filter((p) => p !== broadcastCrash?.peer);
    for (let n = int(0, most); n > 0; n--) {
      const [peer] = candidates.splice(int(0, candidates.length - 1), 1);
      crashes.push({ peer, atMs: int(300, faultPhaseMs - 300) });
    }
    crashes.sort((a, b) => a.atMs - b.atMs);
  }
  const partitions: ScheduledPartition[] = [];
  if (random() < 0.5) {
    let cursor = int(0, 1_500);
    for (let n = int(1, 3); n > 0 && cursor < faultPhaseMs - 200; n--) {
      const untilMs = Math.min(cursor + int(200, 3_000), faultPhaseMs);
      const sides = random() < 0.8 ? 2 : 3;
      const groups: PeerId[][] = Array.from({ length: sides }, () => []);
      for (let p = 1; p <= peers; p++) groups[int(0, sides - 1)].push(p);
      partitions.push({ atMs: cursor, untilMs, groups: groups.filter((g) => g.length > 0) });
      cursor = untilMs + int(0, 1_500);
    }
  }
  return {
    faultFree: false,
    test4,
    startAtMs,
    maxDelayMs,
    datagramLoss,
    streamBreak,
    crashes,
    partitions,
    broadcastCrash,
  };
}

/** A scenario as one line, for summaries and traces. */
export function describeScenario(s: Scenario): string {
  if (s.faultFree) return `fault-free, delays 1-${s.maxDelayMs} ms, starts at [${s.startAtMs}]`;
  const crashes = s.crashes.map((c) => `p${c.peer}@${c.atMs}`).join(" ") || "none";
  const parts = s.partitions.map((p) => `${p.atMs}-${p.untilMs}:${p.groups.map((g) => `[${g}]`).join("")}`)
    .join(" ") || "none";
  const cut = s.broadcastCrash;
  const broadcast = cut
    ? `, p${cut.peer} crashes in its ${cut.nth}. ${cut.type} broadcast after ${cut.keep}`
    : "";
  const losses = `udp loss ${s.datagramLoss.toFixed(3)}, tcp loss ${s.streamBreak.toFixed(3)}`;
  const test4 = s.test4 ? ", test case 4 on p1" : "";
  return `delays 1-${s.maxDelayMs} ms, ${losses}, crashes ${crashes}, partitions ${parts}${broadcast}${test4}, ` +
    `starts at [${s.startAtMs}]`;
}
