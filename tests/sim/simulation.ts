/**
 * One simulated run: K protocol cores, each on the product's
 * {@linkcode EffectRunner}, over the in-memory network and one virtual clock.
 * The seed's scenario drives the fault phase (starts, delays, losses,
 * crashes and restarts with or without state, partitions, test case 4,
 * duplicated and re-delivered messages, forged views from an earlier
 * history); a quiet phase follows in which the group must converge. A filter
 * behind every runner counts, traces and hashes each step, hands it to the
 * {@linkcode Checker}, and cuts a step short where the scenario crashes the
 * peer in it (half-way through a broadcast, or between writing its state and
 * sending). Every peer keeps its durable state in a {@linkcode MemoryStorage}
 * that survives its crashes; a restart with state builds its core from it.
 *
 * @module
 */

import { encodeMessage, encodeWire } from "../../src/core/codec.ts";
import type { CoreConfig } from "../../src/core/config.ts";
import type { DurableState, Effect } from "../../src/core/effects.ts";
import type { HostAddress } from "../../src/core/hostsfile.ts";
import type { Message, PeerId, View } from "../../src/core/messages.ts";
import { PeerCore } from "../../src/core/peer_core.ts";
import { Monitoring } from "../../src/core/monitoring.ts";
import { majorityOf } from "../../src/core/quorum.ts";
import { type EffectFilter, EffectRunner, type Step } from "../../src/runtime/effect_runner.ts";
import { test4Filter } from "../../src/runtime/test4.ts";
import { VirtualScheduler } from "../../src/scheduler.ts";
import { MemoryNetwork } from "../../src/transport/memory.ts";
import { addressKey, type TransportHandlers } from "../../src/transport/transport.ts";
import { streamFor } from "../support/prng.ts";
import { Checker, type GroupStats, type Guarantee, type SimCore, ViolationFound } from "./checker.ts";
import { MemoryStorage, observedTransport, UnreadableState } from "./faults.ts";
import {
  type RestartPlan,
  type Scenario,
  scenarioFor,
  SIM_FAULT_PHASE_MS,
  type StaleView,
} from "./scenario.ts";

/** Builds one peer's core; the default builds a real {@linkcode PeerCore}. */
export type CoreFactory = (config: CoreConfig) => SimCore;

/** Options of one simulated run. */
export interface SimOptions {
  /** The seed: every random choice comes from it. */
  readonly seed: number;
  /** How many peers (3 to 9 in the suite). */
  readonly peers: number;
  /** Heartbeat interval in virtual ms (default 100). */
  readonly heartbeatMs?: number;
  /** Missed intervals before a member is unreachable (default 5). */
  readonly failAfter?: number;
  /** Length of the fault phase in virtual ms (default 8000). */
  readonly faultPhaseMs?: number;
  /** Longest quiet phase in virtual ms (default 40000); it ends early once converged. */
  readonly quietPhaseMs?: number;
  /** Builds the cores (default: the real {@linkcode PeerCore}). */
  readonly coreFactory?: CoreFactory;
  /** Names a non-default core in reports, since the CLI cannot replay it. */
  readonly coreName?: string;
  /** Record every step in the trace, not only views, failures and faults. */
  readonly traceSteps?: boolean;
  /** Runs this fault schedule instead of the seed's (the scale scenario brings its own). */
  readonly scenario?: Scenario;
  /**
   * For large groups: the trace keeps faults and phases but not every install
   * and report (each names a view of N members), and the step hash covers
   * time, peer, cause and message type, not each message's encoding.
   */
  readonly lean?: boolean;
  /**
   * Crashes are the run's only fault (the scale scenario): accuracy is then
   * demanded throughout, so only a crashed peer may be reported or removed.
   */
  readonly crashesOnly?: boolean;
  /**
   * Users at work during the fault phase: peers broadcast user events and
   * change their tags (a stream of their own, so the fault schedule is the
   * seed's as without them); the checker demands one order of events, view
   * synchrony, agreed tags, and every event delivered or reported undelivered.
   */
  readonly workload?: boolean;
}

/** What the scale scenario does after the group of all peers has formed. */
export interface ScalePlan {
  /** The share of the group that crashes at once (at least one peer). */
  readonly crashShare: number;
  /** Whether the leader is among the crashed peers. */
  readonly crashLeader: boolean;
  /** How long the formed group runs idle while its messages are counted, in virtual ms. */
  readonly idleMs: number;
  /** The longest wait for the group to form, in virtual ms. */
  readonly formLimitMs: number;
  /** The longest wait, after the crash, for every survivor to hold the view without the crashed peers. */
  readonly removeLimitMs: number;
  /** Hears each phase as it ends (long runs show their progress). */
  readonly onPhase?: (text: string) => void;
  /**
   * One bad link through the idle window: between the leader and the next in
   * line, or between two members that watch each other. Nobody may be removed;
   * only the two ends may report each other unreachable.
   */
  readonly cutLink?: "leader" | "members";
  /**
   * One flaky peer through the idle window: the leader, or a member, loses
   * this share of everything it sends (its stream messages as well as its
   * datagrams). It may be reported and removed, once; it must not be admitted
   * again while the fault holds, and must be back soon after it ends.
   */
  readonly flaky?: { readonly who: "leader" | "member"; readonly loss: number };
}

/** What a flaky peer went through (the scale scenario's `flaky`). */
export interface FlakyOutcome {
  /** The flaky peer. */
  readonly peer: PeerId;
  /** Views that removed it, and that added it back, while the fault held. */
  removals: number;
  readmissions: number;
  /** Virtual ms from the end of the fault until every peer, it included, held one view; or null. */
  backAfterMs: number | null;
}

/** What the scale scenario measured. */
export interface ScaleOutcome {
  /** Virtual ms from the start until every peer held one view of all of them, or null. */
  formedAtMs: number | null;
  /** The idle window, in virtual ms. */
  idleMs: number;
  /** Messages sent in the idle window, by type. */
  idleSentByType: Record<string, number>;
  /** The peer that sent the most in the idle window (the leader, who heartbeats everyone), and how many. */
  idleBusiest: { peer: PeerId; sent: number } | null;
  /** The peers crashed at once, ascending. */
  crashed: PeerId[];
  /** The leader when the crash came. */
  leader: PeerId | null;
  /** What the flaky peer went through, if there was one. */
  flaky?: FlakyOutcome;
  /** Virtual ms from the crash until every survivor held one view of exactly the survivors, or null. */
  removedAfterMs: number | null;
}

/** A broken guarantee, with everything needed to replay it. */
export interface Violation {
  /** Which guarantee. */
  readonly guarantee: Guarantee;
  /** What was seen. */
  readonly detail: string;
  /** The seed. */
  readonly seed: number;
  /** The peer count. */
  readonly peers: number;
  /** The step (1-based) after which it was detected. */
  readonly step: number;
  /** The virtual time, in ms. */
  readonly atMs: number;
  /** The command that replays the run. */
  readonly replay: string;
}

/** What the fault schedule actually did, and what the group did. */
export interface SimStats extends GroupStats {
  /** Steps run (deliveries, ticks, starts, faults). */
  steps: number;
  /** Messages handed to the network. */
  messages: number;
  /** Peers crashed (scheduled, at once with others, test case 4, or cut short in a step). */
  crashes: number;
  /** Partitions put in place. */
  partitions: number;
  /** Whether test case 4 crashed peer 1 mid-DEL. */
  test4Fired: boolean;
  /** Whether the scenario's crash half-way through a broadcast happened. */
  broadcastCrashFired: boolean;
  /** Whether the scenario's crash between writing state and sending happened. */
  persistCrashFired: boolean;
  /** Restarts with the state kept (the same run). */
  restartsWithState: number;
  /** Restarts without state (a new run). */
  restartsWithoutState: number;
  /** Whether a majority of the newest view crashed at one instant, and some of them came back. */
  majorityRestart: boolean;
  /** Whether every peer was down at once, and every one came back with its state. */
  wholeGroupRestartWithState: boolean;
  /** Whether every peer was down at once, and every one came back without state. */
  wholeGroupRestartWithoutState: boolean;
  /** Messages sent a second time. */
  duplicates: number;
  /** Old messages delivered again. */
  redeliveries: number;
  /** Forged NEWVIEWs from an earlier history delivered. */
  staleViews: number;
  /** Messages handed to the network, by message type. */
  sentByType: Record<string, number>;
  /** Virtual ms from the start of the quiet phase to convergence, or null. */
  convergedAfterMs: number | null;
  /** The peers down when the run ended. */
  downAtEnd: PeerId[];
}

/** Default heartbeat interval of the simulation, in virtual ms. */
export const SIM_HEARTBEAT_MS = 100;
/** Default failure threshold of the simulation, in heartbeat intervals. */
export const SIM_FAIL_AFTER = 5;
/** Default longest quiet phase, in virtual ms. */
export const SIM_QUIET_PHASE_MS = 40_000;
/** How long the group must stay converged before the quiet phase may end early. */
const STABLE_MS = 2_000;
/** How often convergence is looked at in the quiet phase. */
const CONVERGENCE_CHECK_MS = 250;
/** How often the scale scenario looks at convergence (the resolution of its times). */
const SCALE_CHECK_MS = 10;

/** After a cut link mends, how long the scale scenario gives its two ends to hear each other again. */
const MEND_WAIT_MS = 1_000;

/** Every peer's runner follows a real core unless told otherwise. */
const defaultFactory: CoreFactory = (config) => new PeerCore(config);

/** What cuts a peer's step short and crashes it. */
type Cut = { readonly effects: readonly Effect[]; readonly crash: true };

/** One run: the network, the peers on their runners, the fault schedule, the checker. */
export class Simulation {
  readonly #options: SimOptions;
  readonly #replay: string;
  readonly #scenario: Scenario;
  readonly #peers: number;
  readonly #heartbeatMs: number;
  readonly #faultPhaseMs: number;
  readonly #quietPhaseMs: number;
  readonly #clock = new VirtualScheduler();
  readonly #net: MemoryNetwork;
  /** Randomness of duplicates and re-deliveries (the network has its own). */
  readonly #wire: () => number;
  /** Peer `p` listens on `hosts[p - 1]`. */
  readonly #hosts: HostAddress[];
  /** Index = peer id; index 0 unused. The current (or last) run's core and runner. */
  readonly #cores: (SimCore | null)[];
  readonly #runners: (EffectRunner | null)[];
  /** Whether each peer is down now. */
  readonly #crashed: boolean[];
  /** Whether each peer ever started (a restart may start a peer that crashed before its start). */
  readonly #started: boolean[];
  /** Messages each peer handed to the network. */
  readonly #sentByPeer: number[];
  /** The two ends of the link cut in the scale scenario, while it is cut. */
  #cutPair: [PeerId, PeerId] | null = null;
  /** The scale scenario's flaky peer while its fault holds: how much it loses, and what its views did. */
  #flaky: { peer: PeerId; loss: number; member: boolean; removals?: number; readmissions?: number } | null =
    null;
  /** The flaky peer until it is back in the view: it may be reported and removed. */
  #faulty: PeerId | null = null;
  /** The (epoch, view id)s installed so far, while a flaky peer's views are counted. */
  readonly #seenViews = new Set<string>();
  /** Each peer's storage: it survives crashes, and a restart without state wipes it. */
  readonly #storage: MemoryStorage[];
  /** The incarnation of each peer's current (or last) run, and the highest one it or a forger used. */
  readonly #incarnation: number[];
  readonly #highestIncarnation: number[];
  /** How many runs each peer had. */
  readonly #runs: number[];
  /** How each down peer comes back, or null (it stays down). */
  readonly #comesBack: (RestartPlan | null)[];
  /** Why each peer crashes, and how it comes back, when a filter crashes it. */
  readonly #crashWhy: string[];
  readonly #crashPlan: (RestartPlan | null)[];
  /** When each peer's current run started. */
  /** Since when each pair of peers ("a,b", a < b) has been able to talk, while it can. */
  /** Who listens where now (the key is the address), for re-deliveries and forged messages. */
  readonly #listeners = new Map<string, TransportHandlers>();
  readonly #checker: Checker;
  readonly #trace: string[] = [];
  #hash = 0x811c9dc5;
  #quiet = false;
  /** Steps in which the broadcast-crash peer sent the broadcast's type. */
  #broadcasts = 0;
  /** Steps in which the persist-crash peer persisted and sent. */
  #persistSends = 0;
  /** What happened so far. */
  readonly stats: SimStats = {
    steps: 0,
    messages: 0,
    crashes: 0,
    partitions: 0,
    takeovers: 0,
    test4Fired: false,
    broadcastCrashFired: false,
    persistCrashFired: false,
    restartsWithState: 0,
    restartsWithoutState: 0,
    majorityRestart: false,
    wholeGroupRestartWithState: false,
    wholeGroupRestartWithoutState: false,
    duplicates: 0,
    redeliveries: 0,
    staleViews: 0,
    sentByType: {},
    unreachable: 0,
    installs: 0,
    highestViewId: 0,
    formedAnew: 0,
    epochs: 0,
    convergedAfterMs: null,
    livenessDemanded: false,
    eventsDelivered: 0,
    downAtEnd: [],
  };

  /** A run of `options`; `replay` is the command a violation report names. */
  constructor(options: SimOptions, replay: string) {
    this.#options = options;
    this.#replay = replay;
    this.#peers = options.peers;
    this.#heartbeatMs = options.heartbeatMs ?? SIM_HEARTBEAT_MS;
    this.#faultPhaseMs = options.faultPhaseMs ?? SIM_FAULT_PHASE_MS;
    this.#quietPhaseMs = options.quietPhaseMs ?? SIM_QUIET_PHASE_MS;
    this.#scenario = options.scenario ?? scenarioFor(options.seed, options.peers, this.#faultPhaseMs);
    const s = this.#scenario;
    this.#net = new MemoryNetwork({
      scheduler: this.#clock,
      random: streamFor(options.seed, 1),
      faults: {
        minDelayMs: 1,
        maxDelayMs: s.maxDelayMs,
        datagramLoss: s.datagramLoss,
        streamBreak: s.streamBreak,
      },
    });
    this.#wire = streamFor(options.seed, 2);
    this.#hosts = Array.from({ length: this.#peers }, (_, i) => ({ hostname: "sim", port: 7601 + i }));
    const n = this.#peers + 1;
    this.#cores = new Array(n).fill(null);
    this.#runners = new Array(n).fill(null);
    this.#crashed = new Array(n).fill(false);
    this.#started = new Array(n).fill(false);
    this.#sentByPeer = new Array(n).fill(0);
    this.#storage = Array.from({ length: n }, () => new MemoryStorage());
    this.#incarnation = new Array(n).fill(1);
    this.#highestIncarnation = new Array(n).fill(1);
    this.#runs = new Array(n).fill(0);
    this.#comesBack = new Array(n).fill(null);
    this.#crashWhy = new Array(n).fill("");
    this.#crashPlan = new Array(n).fill(null);
    this.#checker = new Checker({
      peers: this.#peers,
      faultFree: s.faultFree,
      crashesOnly: options.crashesOnly,
      acrossCutLink: (a, b) =>
        this.#cutPair !== null && this.#cutPair.includes(a) && this.#cutPair.includes(b),
      faulty: (p) => this.#faulty === p,
      traceViews: !options.lean,
      stats: this.stats,
      core: (p) => this.#cores[p],
      crashed: (p) => this.#crashed[p],
      incarnation: (p) => this.#incarnation[p],
      note: (text) => this.#note(text),
    });
  }

  /** The fault schedule. */
  get scenario(): Scenario {
    return this.#scenario;
  }

  /** Notable events (every step too with `traceSteps`), one a line. */
  get trace(): string[] {
    return this.#trace;
  }

  /** FNV-1a hash of every step: same seed, same hash. */
  get fingerprint(): string {
    return (this.#hash >>> 0).toString(16).padStart(8, "0");
  }

  /** Runs both phases; returns the first violation, or null. */
  run(): Violation | null {
    try {
      this.#scheduleFaultPhase();
      while (this.#clock.runNext(this.#faultPhaseMs));
      this.#clock.advanceTo(this.#faultPhaseMs);
      this.#startQuietPhase();
      this.#runQuietPhase();
      return null;
    } catch (e) {
      return this.#violation(e);
    }
  }

  /** The violation `e` reports; anything else is rethrown. */
  #violation(e: unknown): Violation {
    const found = e instanceof UnreadableState
      ? new ViolationFound("codec", `durable state cannot be read back: ${e.message}`)
      : e;
    if (!(found instanceof ViolationFound)) throw e;
    this.#note(`VIOLATION of ${found.guarantee}: ${found.detail}`);
    return {
      guarantee: found.guarantee,
      detail: `${found.detail}${this.#quiet ? " (quiet phase)" : ""}`,
      seed: this.#options.seed,
      peers: this.#peers,
      step: this.stats.steps,
      atMs: this.#clock.now(),
      replay: this.#replay,
    };
  }

  /**
   * The scale scenario (the run's scenario starts every peer together, with
   * no fault): waits until every peer holds one view of all of them, counts
   * the messages of an idle window, crashes a share of the group at once and
   * waits until every survivor holds one view of exactly the survivors. Every
   * guarantee is checked after every step, as in {@linkcode run}; a group
   * that does not form, or does not drop the crashed peers, in time breaks
   * liveness or completeness.
   */
  runScale(plan: ScalePlan): { violation: Violation | null; outcome: ScaleOutcome } {
    const outcome: ScaleOutcome = {
      formedAtMs: null,
      idleMs: plan.idleMs,
      idleSentByType: {},
      idleBusiest: null,
      crashed: [],
      leader: null,
      removedAfterMs: null,
    };
    try {
      const s = this.#scenario;
      for (let p = 1; p <= this.#peers; p++) this.#clock.schedule(s.startAtMs[p - 1], () => this.#start(p));
      // Formed: every peer started and holds one view of all of them.
      outcome.formedAtMs = this.#awaitConverged(plan.formLimitMs, this.#peers);
      if (outcome.formedAtMs === null) {
        this.#checker.end(false, plan.formLimitMs);
        throw new ViolationFound(
          "liveness",
          `${this.#peers} peers did not form one group in ${plan.formLimitMs} ms`,
        );
      }
      this.#phase(plan, `one view of all ${this.#peers} peers everywhere after ${outcome.formedAtMs} ms`);

      const before = { ...this.stats.sentByType };
      const beforeByPeer = [...this.#sentByPeer];
      if (plan.cutLink) {
        this.#cutPair = this.#linkToCut(plan.cutLink);
        this.#net.cutLink(this.#address(this.#cutPair[0]), this.#address(this.#cutPair[1]));
        this.#phase(plan, `the link between peers ${this.#cutPair.join(" and ")} cut`);
      }
      if (plan.flaky) {
        const [leader, ...others] = this.#linkToCut("leader");
        const peer = plan.flaky.who === "leader" ? leader : others[0];
        this.#flaky = { peer, loss: plan.flaky.loss, member: true };
        this.#faulty = peer;
        outcome.flaky = { peer, removals: 0, readmissions: 0, backAfterMs: null };
        this.#phase(plan, `peer ${peer} loses ${plan.flaky.loss * 100} % of what it sends`);
      }
      this.#clock.advance(plan.idleMs);
      if (plan.flaky && outcome.flaky) {
        outcome.flaky.removals = this.#flaky!.removals ?? 0;
        outcome.flaky.readmissions = this.#flaky!.readmissions ?? 0;
        this.#flaky = null;
        outcome.flaky.backAfterMs = this.#awaitConverged(plan.removeLimitMs, this.#peers);
        this.#faulty = null;
        this.#phase(
          plan,
          `the fault ends; peer ${outcome.flaky.peer} back after ${outcome.flaky.backAfterMs} ms`,
        );
      }
      for (const [type, n] of Object.entries(this.stats.sentByType)) {
        const idle = n - (before[type] ?? 0);
        if (idle > 0) outcome.idleSentByType[type] = idle;
      }
      for (let p = 1; p <= this.#peers; p++) {
        const sent = this.#sentByPeer[p] - beforeByPeer[p];
        if (sent > (outcome.idleBusiest?.sent ?? 0)) outcome.idleBusiest = { peer: p, sent };
      }
      if (plan.cutLink) {
        // Mended, the two ends hear each other again within a few intervals.
        this.#net.mendLinks();
        this.#clock.advance(MEND_WAIT_MS);
        this.#cutPair = null;
      }
      if (!this.#checker.converged()) {
        throw new ViolationFound(
          "liveness",
          `the group of ${this.#peers} came apart while idle for ${plan.idleMs} ms`,
        );
      }

      this.#phase(plan, `idle for ${plan.idleMs} ms`);
      const leader = this.#cores[1]!.leader;
      outcome.leader = leader;
      outcome.crashed = this.#scaleVictims(plan, leader);
      this.#fault(() => this.#crashAtOnce(outcome.crashed.map((peer) => ({ peer, restart: null }))));
      outcome.removedAfterMs = this.#awaitConverged(plan.removeLimitMs);
      this.#phase(
        plan,
        outcome.removedAfterMs === null
          ? `the survivors did not converge in ${plan.removeLimitMs} ms`
          : `every survivor holds the view without the crashed after ${outcome.removedAfterMs} ms`,
      );
      for (let p = 1; p <= this.#peers; p++) if (this.#crashed[p]) this.stats.downAtEnd.push(p);
      this.#checker.end(outcome.removedAfterMs !== null, plan.removeLimitMs);
      if (outcome.removedAfterMs === null) {
        throw new ViolationFound(
          "completeness",
          `the survivors did not drop the crashed peers in ${plan.removeLimitMs} ms`,
        );
      }
      return { violation: null, outcome };
    } catch (e) {
      return { violation: this.#violation(e), outcome };
    }
  }

  /** A view installed: while a flaky peer's fault holds, counts the views that drop it or add it back. */
  #countFlaky(view: View): void {
    const f = this.#flaky;
    if (!f) return;
    const key = `${view.epoch.round}/${view.epoch.former}/${view.epoch.run}|${view.id}`;
    if (this.#seenViews.has(key)) return;
    this.#seenViews.add(key);
    const member = view.members.includes(f.peer);
    if (f.member && !member) f.removals = (f.removals ?? 0) + 1;
    if (!f.member && member) f.readmissions = (f.readmissions ?? 0) + 1;
    f.member = member;
  }

  /** The two peers whose link the scale scenario cuts. */
  #linkToCut(which: "leader" | "members"): [PeerId, PeerId] {
    const core = this.#cores[1]!;
    const view = core.view!;
    const leader: PeerId = core.leader ?? view.leader;
    const others = view.members.filter((m) => m !== leader);
    if (which === "leader") return [leader, others[0]];
    // Two members where one watches the other (all of them watch all in a small group).
    for (const m of others) {
      const watched = new Monitoring(view, m, this.#peers).subjects.find((s) => s !== leader);
      if (watched !== undefined) return [m, watched];
    }
    return [others[0], others[1]];
  }

  #phase(plan: ScalePlan, text: string): void {
    this.#note(`scale: ${text}`);
    plan.onPhase?.(text);
  }

  /** The peers the scale scenario crashes: a share of the group, drawn from the seed, the leader in or out. */
  #scaleVictims(plan: ScalePlan, leader: PeerId | null): PeerId[] {
    const random = streamFor(this.#options.seed, 4);
    const count = Math.max(1, Math.round(this.#peers * plan.crashShare));
    const pool = Array.from({ length: this.#peers }, (_, i) => i + 1).filter((p) => p !== leader);
    const victims = plan.crashLeader && leader !== null ? [leader] : [];
    while (victims.length < count && pool.length > 0) {
      victims.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
    }
    return victims.sort((a, b) => a - b);
  }

  /**
   * Runs the clock until the live peers have converged (on a view of `size` members if given; looked at every
   * {@linkcode SCALE_CHECK_MS}), at most `limitMs`; returns how long it took, or null.
   */
  #awaitConverged(limitMs: number, size?: number): number | null {
    const start = this.#clock.now();
    for (let at = start + SCALE_CHECK_MS; at <= start + limitMs; at += SCALE_CHECK_MS) {
      this.#clock.advance(at - this.#clock.now());
      if (
        this.#checker.converged() && (size === undefined || this.#cores[1]?.view?.members.length === size)
      ) {
        return at - start;
      }
    }
    return null;
  }

  // ---- the schedule ----

  #address(p: PeerId): string {
    return addressKey(this.#hosts[p - 1]);
  }

  #scheduleFaultPhase(): void {
    const s = this.#scenario;
    for (let p = 1; p <= this.#peers; p++) {
      this.#clock.schedule(s.startAtMs[p - 1], () => this.#start(p));
    }
    for (const c of s.crashes) {
      this.#clock.schedule(c.atMs, () => this.#fault(() => this.#crash(c.peer, "scheduled", c.restart)));
    }
    const mass = s.massCrash;
    if (mass) this.#clock.schedule(mass.atMs, () => this.#fault(() => this.#crashAtOnce(mass.peers)));
    for (const part of s.partitions) {
      this.#clock.schedule(part.atMs, () =>
        this.#fault(() => {
          this.stats.partitions++;
          this.#net.partition(part.groups.map((g) => g.map((p) => this.#address(p))));
          this.#note(`partition ${part.groups.map((g) => `[${g.join(",")}]`).join(" | ")}`);
        }));
      this.#clock.schedule(part.untilMs, () =>
        this.#fault(() => {
          this.#net.heal();
          this.#note("partition healed");
        }));
    }
    for (const stale of s.staleViews) {
      this.#clock.schedule(stale.atMs, () => this.#fault(() => this.#injectStaleView(stale)));
    }
    if (this.#options.workload) this.#scheduleWorkload();
  }

  /** Users at work (see {@linkcode SimOptions.workload}): an event or a tag change every 10-200 ms. */
  #scheduleWorkload(): void {
    const random = streamFor(this.#options.seed, 7);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    let sent = 0;
    for (let at = int(0, 200); at < this.#faultPhaseMs; at += int(10, 200)) {
      const p = int(1, this.#peers);
      const tags = random() < 0.1
        ? { zone: `z${int(0, 3)}`, ...(random() < 0.5 ? { role: "db" } : {}) }
        : null;
      const number = ++sent;
      this.#clock.schedule(at, () => {
        const core = this.#cores[p] as PeerCore | null;
        if (!core || this.#crashed[p] || !("broadcast" in core)) return;
        this.#runners[p]!.act(tags ? "tags" : "broadcast", (now) => {
          if (tags) return core.setTags(now, tags);
          return core.broadcast(now, "e", `${p}#${number}`).effects;
        });
      });
    }
  }

  #startQuietPhase(): void {
    this.#quiet = true;
    this.#net.heal();
    Object.assign(this.#net.faults, { minDelayMs: 1, maxDelayMs: 5, datagramLoss: 0, streamBreak: 0 });
    this.#note("quiet phase: healed, no loss, no duplicates, 1-5 ms delays");
  }

  #runQuietPhase(): void {
    const start = this.#clock.now();
    const end = start + this.#quietPhaseMs;
    let convergedSince: number | null = null;
    for (let check = start + CONVERGENCE_CHECK_MS; check <= end; check += CONVERGENCE_CHECK_MS) {
      while (this.#clock.runNext(check));
      this.#clock.advanceTo(check);
      if (this.#checker.converged()) {
        convergedSince ??= check;
        if (check - convergedSince >= STABLE_MS) break;
      } else {
        convergedSince = null;
      }
    }
    for (let p = 1; p <= this.#peers; p++) if (this.#crashed[p]) this.stats.downAtEnd.push(p);
    if (convergedSince !== null) {
      this.stats.convergedAfterMs = convergedSince - start;
      this.#note(`converged ${this.stats.convergedAfterMs} ms into the quiet phase`);
    }
    this.#checker.end(convergedSince !== null, this.#quietPhaseMs);
  }

  // ---- peers and steps ----

  /** Starts peer `p` for the first time, unless a restart already did (or it is down). */
  #start(p: PeerId): void {
    if (this.#started[p] || this.#crashed[p]) return;
    this.#launch(p, 1, undefined);
  }

  /** Runs a core for peer `p` as run `incarnation`, from `restored` state if given, on its own runner. */
  #launch(p: PeerId, incarnation: number, restored: DurableState | undefined): void {
    const first = !this.#started[p];
    this.#started[p] = true;
    this.#incarnation[p] = incarnation;

    this.#highestIncarnation[p] = Math.max(this.#highestIncarnation[p], incarnation);
    const run = this.#runs[p]++;
    const core = (this.#options.coreFactory ?? defaultFactory)({
      id: p,
      peerCount: this.#peers,
      incarnation,
      heartbeatMs: this.#heartbeatMs,
      failAfter: this.#options.failAfter ?? SIM_FAIL_AFTER,
      // the first run keeps the stream it had before restarts existed
      random: streamFor(this.#options.seed, 100 + p + 1_000 * run),
      restored,
    });
    const test4 = p === 1 && first && this.#scenario.test4;
    const filters: EffectFilter[] = [(step) => this.#filter(p, step)];
    if (test4) filters.unshift(test4Filter(this.#peers));
    const transport = observedTransport(this.#net.transport(), {
      listening: (address, handlers) => this.#listeners.set(address, handlers),
      sent: (to, bytes, via, again) => this.#sent(p, to, bytes, via, again),
      lost: () => this.#flaky?.peer === p && this.#wire() < this.#flaky.loss,
    });
    const runner = new EffectRunner({
      core,
      hosts: this.#hosts,
      transport,
      scheduler: this.#clock,
      tickMs: this.#heartbeatMs,
      storage: this.#storage[p],
      filters,
      onEvent: (event) => {
        this.#checker.event(p, event);
        if (event.type === "view") this.#countFlaky(event.view);
      },
      onLog: (_level, text, key) => {
        if (key === "malformed") this.#checker.undecodable(p, text);
        // (a position whose event the peer delivered before: see deliverUpTo in broadcast.ts)
        const again = key === "event-again" && /^peer \d+: (\S+) at position (\d+) of view (\d+)/.exec(text);
        if (again) this.#checker.deliveredAgain(p, again[1], Number(again[2]), Number(again[3]));
      },
      onBroadcast: (number, outcome, reason) => {
        if (outcome === "undelivered") this.#checker.undelivered(`${p}/${incarnation}/${number}`, reason!);
      },
      onCrash: () => {
        if (test4 && this.#crashWhy[p] === "test case 4") this.#crashPlan[p] = this.#scenario.test4Restart;
        // faults stop with the fault phase: a crash after it (test case 4 may fire late) is for good
        this.#crash(p, this.#crashWhy[p], this.#quiet ? null : this.#crashPlan[p]);
      },
    });
    this.#cores[p] = core;
    this.#runners[p] = runner;
    void runner.listen(this.#hosts[p - 1]); // the memory network binds at once
    const how = run === 0
      ? "starts"
      : restored
      ? "restarts with its state"
      : this.#comesBack[p]?.withState
      ? "restarts on its storage, which holds no state yet,"
      : "restarts without state";
    this.#note(`p${p} ${how} as run ${incarnation}${test4 ? " (test case 4)" : ""}`);
    runner.start();
  }

  /**
   * The last filter of peer `p`'s runner: counts, hashes and traces the step,
   * lets the checker see it, and cuts it short where the scenario crashes `p`.
   * The core has already taken the step, so its state is the one after it.
   */
  #filter(p: PeerId, step: Step): { effects: readonly Effect[]; crash: boolean } {
    const { cause, now } = step;
    this.stats.steps++;
    if (this.#options.lean) {
      this.#mix(
        `${now}|${p}|${
          cause.kind === "receive" ? `${cause.message.type}:${cause.message.from}` : cause.kind
        }`,
      );
    } else {
      const what = cause.kind === "receive" ? encodeMessage(cause.message) : cause.kind;
      this.#mix(`${now}|${p}|${what}`);
      if (this.#options.traceSteps) this.#trace.push(`${now.toFixed(2)} p${p} ${what}`);
    }
    this.#checker.step(p, step.effects);
    let out: { effects: readonly Effect[]; crash: boolean } = step;
    if (step.crash) {
      // Only test case 4 comes before this filter.
      this.stats.test4Fired = true;
      this.#crashWhy[p] = "test case 4";
    } else {
      out = this.#broadcastCut(p, step.effects) ?? this.#persistCut(p, step.effects) ?? step;
    }
    const byType = this.stats.sentByType;
    for (const e of out.effects) {
      if (e.kind !== "send") continue;
      this.stats.messages++;
      this.#sentByPeer[p]++;
      byType[e.message.type] = (byType[e.message.type] ?? 0) + 1;
    }
    return out;
  }

  /**
   * The scenario's crash half-way through a broadcast, if it is due in this
   * step of peer `p`: the first `keep` messages of the broadcast leave, and
   * nothing after them; with fewer, the peer crashes after the whole step.
   */
  #broadcastCut(p: PeerId, effects: readonly Effect[]): Cut | null {
    const cut = this.#scenario.broadcastCrash;
    if (!cut || cut.peer !== p || this.#quiet) return null;
    const ofType = (e: Effect) => e.kind === "send" && e.message.type === cut.type;
    if (!effects.some(ofType) || ++this.#broadcasts !== cut.nth) return null;
    this.stats.broadcastCrashFired = true;
    this.#crashPlan[p] = cut.restart;
    let sent = 0;
    const end = effects.findIndex((e) => ofType(e) && sent++ === cut.keep);
    if (end < 0) {
      this.#crashWhy[p] = `after a whole ${cut.type} broadcast`;
      return { effects, crash: true };
    }
    this.#crashWhy[p] = `after ${cut.keep} ${cut.type} message(s) of a broadcast`;
    return { effects: effects.slice(0, end), crash: true };
  }

  /**
   * The scenario's crash between writing state and sending, if it is due in
   * this step of peer `p`: the step's `persist` is carried out (the storage
   * keeps it), and nothing after it: no message, no printed view.
   */
  #persistCut(p: PeerId, effects: readonly Effect[]): Cut | null {
    const cut = this.#scenario.persistCrash;
    if (!cut || cut.peer !== p || this.#quiet || this.stats.persistCrashFired) return null;
    const persist = effects.findIndex((e) => e.kind === "persist");
    if (persist < 0 || !effects.slice(persist + 1).some((e) => e.kind === "send")) return null;
    if (++this.#persistSends !== cut.nth) return null;
    this.stats.persistCrashFired = true;
    this.#crashPlan[p] = cut.restart;
    const lost = effects.slice(persist + 1).filter((e) => e.kind === "send" || e.kind === "event");
    this.#crashWhy[p] = `after writing its state, before ${lost.length} send(s) and event(s) of the step`;
    return { effects: effects.slice(0, persist + 1), crash: true };
  }

  #fault(body: () => void): void {
    this.stats.steps++;
    this.#mix(`${this.#clock.now()}|fault`);
    body();
  }

  /**
   * Peer `p` dies: its runner stops and the network forgets it. With a plan
   * it comes back later (never after the fault phase), with its storage or
   * without; without one it stays down.
   */
  #crash(p: PeerId, why: string, plan: RestartPlan | null): boolean {
    if (this.#crashed[p]) return false;
    this.#crashed[p] = true;
    this.#runners[p]?.halt();
    this.#checker.wentDown(p);
    this.stats.crashes++;
    this.#net.crash(this.#address(p));
    this.#listeners.delete(this.#address(p));
    this.#comesBack[p] = plan;
    const back = plan ? `; back in ${plan.afterMs} ms ${plan.withState ? "with" : "without"} state` : "";
    this.#note(`p${p} crashes (${why})${back}`);
    if (plan) {
      const at = Math.min(this.#clock.now() + plan.afterMs, this.#faultPhaseMs);
      this.#clock.schedule(at - this.#clock.now(), () => this.#fault(() => this.#restart(p, plan.withState)));
    }
    return true;
  }

  /** Several peers crash at the same instant. */
  #crashAtOnce(crashes: readonly { readonly peer: PeerId; readonly restart: RestartPlan | null }[]): void {
    const newest = this.#checker.newestView;
    const down = crashes.filter((c) => this.#crash(c.peer, "at once with others", c.restart));
    const returning = down.filter((c) => c.restart);
    if (newest && returning.length > 0) {
      const members = down.filter((c) => newest.members.includes(c.peer)).length;
      if (members >= majorityOf(newest)) this.stats.majorityRestart = true;
    }
    if (this.#crashed.slice(1).every((c) => c)) {
      const plans = this.#comesBack.slice(1);
      if (plans.every((r) => r?.withState)) this.stats.wholeGroupRestartWithState = true;
      if (plans.every((r) => r && !r.withState)) this.stats.wholeGroupRestartWithoutState = true;
    }
  }

  /**
   * Peer `p` comes back: with its state, it is the same run (restored from its
   * storage; with nothing stored yet, a new run, as the CLI on an empty data
   * dir, counted as a restart without state); without, its storage is wiped
   * and it is a new run.
   */
  #restart(p: PeerId, withState: boolean): void {
    if (!this.#crashed[p]) return;
    this.#crashed[p] = false;
    const stored = withState ? this.#storage[p].peek() ?? undefined : undefined;
    if (!withState) this.#storage[p].wipe();
    if (stored) this.stats.restartsWithState++;
    else this.stats.restartsWithoutState++;
    const incarnation = stored?.incarnation ?? this.#highestIncarnation[p] + 1;
    if (this.#started[p]) this.#checker.restarted(p, stored !== undefined);
    this.#launch(p, incarnation, stored);
    this.#comesBack[p] = null;
  }

  // ---- the wire ----

  /**
   * Peer `p` handed a message to the network: in the fault phase it may go a
   * second time at once, or be delivered again, as it was, seconds later.
   */
  #sent(p: PeerId, to: HostAddress, bytes: Uint8Array, via: "stream" | "datagram", again: () => void): void {
    const d = this.#scenario.duplication;
    if (!d || this.#quiet) return;
    const r = this.#wire();
    if (r < d.duplicate) {
      this.stats.duplicates++;
      again();
    } else if (r < d.duplicate + d.redeliver) {
      const [lo, hi] = d.redeliverAfterMs;
      const from = this.#address(p);
      this.#clock.schedule(lo + this.#wire() * (hi - lo), () => {
        const key = addressKey(to);
        const handlers = this.#listeners.get(key);
        if (this.#quiet || !handlers || !this.#net.connected(from, key)) return;
        this.stats.redeliveries++;
        this.#mix(`${this.#clock.now()}|again`);
        const packet = { bytes, from: this.#hosts[p - 1], receivedAt: this.#clock.now() };
        if (via === "stream") handlers.onStream(packet);
        else handlers.onDatagram(packet);
      });
    }
  }

  /**
   * Delivers a forged NEWVIEW from an earlier history: members no current run
   * is, an id well above or below the newest installed, from a real peer's
   * id as its current run (or, while it is down for good or coming back
   * without state, a newer one, which its next run then stays above).
   */
  #injectStaleView(stale: StaleView): void {
    const newest = this.#checker.newestView?.id ?? 0;
    const id = stale.above ? newest + stale.offset : Math.max(1, newest - stale.offset);
    // Of an earlier history: its epoch is below every epoch forming makes (their rounds start at 1).
    const view: View = {
      epoch: { round: 0, former: stale.members[0], run: 0 },
      id,
      leader: stale.members[0],
      members: stale.members,
      incarnations: stale.members.map((m) => Math.max(0, this.#incarnation[m] - stale.runsBack)),
    };
    const from = stale.from;
    let incarnation = this.#incarnation[from];
    if (stale.freshSender && this.#crashed[from] && !this.#comesBack[from]?.withState) {
      incarnation = ++this.#highestIncarnation[from];
    }
    const message: Message = {
      type: "NEWVIEW",
      from,
      incarnation,
      epoch: view.epoch,
      view,
      ballot: { round: 1 + (id % 3), leader: view.leader },
    };
    const bytes = encodeWire(message);
    const delivered: PeerId[] = [];
    for (const to of stale.to) {
      const handlers = this.#listeners.get(this.#address(to));
      if (!handlers) continue;
      delivered.push(to);
      this.stats.staleViews++;
      handlers.onStream({ bytes, from: this.#hosts[from - 1], receivedAt: this.#clock.now() });
    }
    this.#note(
      `forged NEWVIEW v${id} L${view.leader} [${view.members}] runs [${view.incarnations}] from p${from} ` +
        `(run ${incarnation}) to [${delivered}]`,
    );
  }

  // ---- reporting ----

  #note(text: string): void {
    this.#trace.push(`${this.#clock.now().toFixed(2)} ${text}`);
  }

  #mix(text: string): void {
    let h = this.#hash;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    this.#hash = h;
  }
}
