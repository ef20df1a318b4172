/**
 * The fault schedule of a seed: when peers start, delays and losses, crashes
 * (scheduled, or half-way through a broadcast), partitions, test case 4. It
 * depends on the seed and the peer count only, so a seed replays exactly.
 *
 * @module
 */

import type { PeerId } from "../../src/core/messages.ts";
import { streamFor } from "../support/prng.ts";

/** How a crashed peer comes back. */
export interface RestartPlan {
  /** How long after the crash it restarts, in virtual ms (never later than the end of the fault phase). */
  readonly afterMs: number;
  /**
   * With its state (its in-memory storage survives: the same run, as with
   * `--data-dir`), or without (a new incarnation that remembers nothing).
   */
  readonly withState: boolean;
}

/** A crash of one peer at a virtual time; it comes back only if `restart` says so. */
export interface ScheduledCrash {
  /** The peer that crashes. */
  readonly peer: PeerId;
  /** When, in virtual ms. */
  readonly atMs: number;
  /** How it comes back, or null: it stays down. */
  readonly restart: RestartPlan | null;
}

/**
 * Several peers crash at the same instant (a power cut, a rack): any subset
 * size, a majority of the group and the whole group included; each comes back
 * as its own plan says, together or staggered.
 */
export interface MassCrash {
  /** When, in virtual ms. */
  readonly atMs: number;
  /** The peers that crash, ascending, with how each comes back. */
  readonly peers: readonly { readonly peer: PeerId; readonly restart: RestartPlan | null }[];
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
  /** How it comes back, or null. */
  readonly restart: RestartPlan | null;
}

/**
 * A crash between writing state and sending: the `nth` step of `peer` that
 * both persists and sends carries out its `persist` (the storage keeps it)
 * and nothing else; the peer crashes there.
 */
export interface PersistCrash {
  /** The peer that crashes. */
  readonly peer: PeerId;
  /** Which of its steps that persist and send (1-based). */
  readonly nth: number;
  /** How it comes back, or null. */
  readonly restart: RestartPlan | null;
}

/** Messages sent twice, and old ones delivered again seconds later (fault phase only). */
export interface Duplication {
  /** Probability that a message is sent a second time (it crosses the network again). */
  readonly duplicate: number;
  /** Probability that a message is recorded and delivered again `redeliverAfterMs` later. */
  readonly redeliver: number;
  /** The shortest and longest age of a message delivered again, in virtual ms. */
  readonly redeliverAfterMs: readonly [number, number];
}

/**
 * A forged NEWVIEW from an earlier group history: a view whose members are
 * earlier runs than any current run (as incarnations rise with every run,
 * such a view names older ones), sent as `from` to the peers `to`.
 */
export interface StaleView {
  /** When, in virtual ms. */
  readonly atMs: number;
  /** The claimed sender. */
  readonly from: PeerId;
  /** The receivers (never `from`). */
  readonly to: readonly PeerId[];
  /** Above the newest view id installed so far by `offset`, or below it by `offset` (at least 1). */
  readonly above: boolean;
  /** How far above or below. */
  readonly offset: number;
  /** The forged view's members, ascending; its leader is the first. */
  readonly members: readonly PeerId[];
  /**
   * How many runs back each member is named: a member whose current run is
   * `r` is named as run `max(0, r - runsBack)`, a run that is no more (runs
   * start at 1), as in a view of an earlier history.
   */
  readonly runsBack: number;
  /**
   * Whether the sender claims a fresh incarnation (one above its real one):
   * only honoured while the sender is down and will not come back with its
   * state, so no real run of it is ever taken for an older one.
   */
  readonly freshSender: boolean;
}

/** The fault schedule of one seed, fully determined by the seed and the peer count. */
export interface Scenario {
  /** No loss, no crash, no partition, small delays: accuracy is checked. */
  readonly faultFree: boolean;
  /** Whether peer 1 runs test case 4. */
  readonly test4: boolean;
  /** How peer 1 comes back after test case 4 crashed it, or null. */
  readonly test4Restart: RestartPlan | null;
  /** When each peer starts (index 0 is peer 1), in virtual ms. */
  readonly startAtMs: readonly number[];
  /** Longest one-way delay during the fault phase (the shortest is 1 ms). */
  readonly maxDelayMs: number;
  /** UDP loss probability during the fault phase. */
  readonly datagramLoss: number;
  /** TCP message loss probability during the fault phase. */
  readonly streamBreak: number;
  /** Crashes of one peer, in time order. */
  readonly crashes: readonly ScheduledCrash[];
  /** Several peers crashing at once, or null. */
  readonly massCrash: MassCrash | null;
  /** Partitions, in time order, never overlapping. */
  readonly partitions: readonly ScheduledPartition[];
  /** A crash half-way through a broadcast, or null. */
  readonly broadcastCrash: BroadcastCrash | null;
  /** A crash between writing state and sending, or null. */
  readonly persistCrash: PersistCrash | null;
  /** Duplicated and re-delivered messages, or null. */
  readonly duplication: Duplication | null;
  /** Forged NEWVIEWs from an earlier history, in time order. */
  readonly staleViews: readonly StaleView[];
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
 * partitions, and, with four peers or more, sometimes test case 4 (all from
 * one stream, as before restarts existed); then, from a second stream,
 * whether and how crashed peers come back, a crash of several peers at once,
 * a crash between writing state and sending, duplicated and re-delivered
 * messages, and forged views from an earlier history.
 */
export function scenarioFor(seed: number, peers: number, faultPhaseMs = SIM_FAULT_PHASE_MS): Scenario {
  const random = streamFor(seed, 0);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const startAtMs = Array.from({ length: peers }, () => int(0, 2_000));
  if (random() < 0.2) {
    return {
      faultFree: true,
      test4: false,
      test4Restart: null,
      startAtMs,
      maxDelayMs: int(1, 20),
      datagramLoss: 0,
      streamBreak: 0,
      crashes: [],
      massCrash: null,
      partitions: [],
      broadcastCrash: null,
      persistCrash: null,
      duplication: null,
      staleViews: [],
    };
  }
  const test4 = peers >= 4 && random() < 0.2;
  const maxDelayMs = int(1, 40); // below the 500 ms failure timeout
  const datagramLoss = random() < 0.6 ? random() * 0.3 : 0;
  const streamBreak = random() < 0.6 ? random() * (random() < 0.2 ? 0.3 : 0.1) : 0;
  let broadcast: Omit<BroadcastCrash, "restart"> | null = null;
  if (!test4 && random() < 0.3) {
    const type = (["REQ", "NEWVIEW", "NEWLEADER"] as const)[int(0, 2)];
    // the founder leads most operations; peer 2 is the usual first candidate
    const usual = type === "NEWLEADER" ? 2 : 1;
    const peer = random() < 0.8 ? usual : int(1, peers);
    const nth = type === "NEWLEADER" ? 1 : int(1, Math.max(1, Math.floor(peers / 2)));
    broadcast = { peer, type, nth, keep: int(0, peers - 1) };
  }
  const crashed: { peer: PeerId; atMs: number }[] = [];
  if (test4) {
    // as the contract's test case 4: the last peer crashes once everyone is in
    crashed.push({ peer: peers, atMs: int(Math.floor(faultPhaseMs / 2), faultPhaseMs - 500) });
  } else if (peers >= 5 && random() < 0.15) {
    // A cascade: the founder crashes, then the next in line during its takeover.
    const atMs = int(2_500, faultPhaseMs - 1_500);
    crashed.push({ peer: 1, atMs }, { peer: 2, atMs: atMs + int(400, 1_000) });
  } else {
    // Usually a minority, so a majority plausibly survives; sometimes more,
    // where only safety is demanded (unless they come back).
    const most = (random() < 0.1 ? Math.ceil(peers / 2) : Math.floor((peers - 1) / 2)) -
      (broadcast ? 1 : 0);
    const candidates = Array.from({ length: peers }, (_, i) => i + 1)
      .filter((p) => p !== broadcast?.peer);
    for (let n = int(0, most); n > 0; n--) {
      const [peer] = candidates.splice(int(0, candidates.length - 1), 1);
      crashed.push({ peer, atMs: int(300, faultPhaseMs - 300) });
    }
    crashed.sort((a, b) => a.atMs - b.atMs);
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

  // ---- recovery faults, from their own stream ----
  const more = streamFor(seed, 3);
  const draw = (lo: number, hi: number) => lo + Math.floor(more() * (hi - lo + 1));
  const plan = (chance: number, withState = 0.5, longest = 3_000): RestartPlan | null =>
    more() < chance ? { afterMs: draw(100, longest), withState: more() < withState } : null;
  const crashes: ScheduledCrash[] = crashed.map((c) => ({ ...c, restart: plan(0.45) }));
  const broadcastCrash = broadcast && { ...broadcast, restart: plan(0.4) };
  const test4Restart = test4 ? plan(0.3) : null;

  let massCrash: MassCrash | null = null;
  const whole = more() < 0.12;
  if (whole || more() < 0.3) {
    const size = whole ? peers : draw(1, peers);
    const pool = Array.from({ length: peers }, (_, i) => i + 1);
    const chosen: PeerId[] = [];
    while (chosen.length < size) chosen.push(pool.splice(draw(0, pool.length - 1), 1)[0]);
    chosen.sort((a, b) => a - b);
    // all with their state, all without, or (not the whole group) each its own way
    const mode = whole ? more() * 0.7 : more();
    const together = more() < 0.5 ? draw(100, 2_500) : null;
    massCrash = {
      atMs: draw(2_000, faultPhaseMs - 2_000),
      peers: chosen.map((peer) => {
        const withState = mode < 0.4 ? true : mode < 0.7 ? false : more() < 0.5;
        const stays = !whole && more() < 0.1;
        return { peer, restart: stays ? null : { afterMs: together ?? draw(100, 4_000), withState } };
      }),
    };
  }

  let persistCrash: PersistCrash | null = null;
  if (!test4 && more() < 0.2) {
    const peer = more() < 0.5 ? 1 : draw(1, peers);
    const r = more();
    const restart = r < 0.95 ? { afterMs: draw(100, 3_000), withState: r < 0.85 } : null;
    persistCrash = { peer, nth: draw(1, 6), restart };
  }

  const duplication: Duplication | null = more() < 0.3
    ? { duplicate: more() * 0.1, redeliver: more() * 0.03, redeliverAfterMs: [500, draw(1_000, 5_000)] }
    : null;

  const staleViews: StaleView[] = [];
  if (peers >= 2 && more() < 0.25) {
    for (let n = draw(1, 5); n > 0; n--) {
      const from = draw(1, peers);
      const others = Array.from({ length: peers }, (_, i) => i + 1).filter((p) => p !== from);
      const to = [others[draw(0, others.length - 1)]];
      if (others.length > 1 && more() < 0.3) {
        const second = others.filter((p) => p !== to[0])[draw(0, others.length - 2)];
        to.push(second);
      }
      const members = Array.from({ length: peers }, (_, i) => i + 1).filter(() => more() < 0.6);
      if (members.length === 0) members.push(draw(1, peers));
      const above = more() < 0.7;
      staleViews.push({
        atMs: draw(300, faultPhaseMs - 300),
        from,
        to: to.sort((a, b) => a - b),
        above,
        offset: above ? draw(3, 40) : draw(1, 5),
        members,
        runsBack: draw(1, 2),
        freshSender: more() < 0.3,
      });
    }
    staleViews.sort((a, b) => a.atMs - b.atMs);
  }

  return {
    faultFree: false,
    test4,
    test4Restart,
    startAtMs,
    maxDelayMs,
    datagramLoss,
    streamBreak,
    crashes,
    massCrash,
    partitions,
    broadcastCrash,
    persistCrash,
    duplication,
    staleViews,
  };
}

/** A restart plan as text: ` +1200ms with state`. */
function describeRestart(r: RestartPlan | null): string {
  return r ? ` back +${r.afterMs}ms ${r.withState ? "with" : "without"} state` : "";
}

/** A scenario as one line, for summaries and traces. */
export function describeScenario(s: Scenario): string {
  if (s.faultFree) return `fault-free, delays 1-${s.maxDelayMs} ms, starts at [${s.startAtMs}]`;
  const crashes = s.crashes.map((c) => `p${c.peer}@${c.atMs}${describeRestart(c.restart)}`).join(", ") ||
    "none";
  const mass = s.massCrash
    ? `, at ${s.massCrash.atMs} [${s.massCrash.peers.map((c) => c.peer)}] crash at once (` +
      s.massCrash.peers.map((c) => `p${c.peer}${describeRestart(c.restart) || " stays down"}`).join(", ") +
      ")"
    : "";
  const parts = s.partitions.map((p) => `${p.atMs}-${p.untilMs}:${p.groups.map((g) => `[${g}]`).join("")}`)
    .join(" ") || "none";
  const cut = s.broadcastCrash;
  const broadcast = cut
    ? `, p${cut.peer} crashes in its ${cut.nth}. ${cut.type} broadcast after ${cut.keep}${
      describeRestart(cut.restart)
    }`
    : "";
  const pc = s.persistCrash;
  const persist = pc
    ? `, p${pc.peer} crashes between writing its state and sending in its ${pc.nth}. such step${
      describeRestart(pc.restart)
    }`
    : "";
  const d = s.duplication;
  const dup = d
    ? `, duplicates ${d.duplicate.toFixed(3)}, re-delivered ${d.redeliver.toFixed(3)} after ` +
      `${d.redeliverAfterMs[0]}-${d.redeliverAfterMs[1]} ms`
    : "";
  const stale = s.staleViews.length > 0
    ? `, stale views ${
      s.staleViews.map((v) =>
        `${v.atMs}:p${v.from}${v.freshSender ? "'" : ""}->[${v.to}] ${v.above ? "+" : "-"}${v.offset} ` +
        `[${v.members}]@-${v.runsBack}`
      ).join(" ")
    }`
    : "";
  const losses = `udp loss ${s.datagramLoss.toFixed(3)}, tcp loss ${s.streamBreak.toFixed(3)}`;
  const test4 = s.test4 ? `, test case 4 on p1${describeRestart(s.test4Restart)}` : "";
  return `delays 1-${s.maxDelayMs} ms, ${losses}, crashes ${crashes}${mass}, partitions ${parts}` +
    `${broadcast}${persist}${dup}${stale}${test4}, starts at [${s.startAtMs}]`;
}
