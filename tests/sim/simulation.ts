/**
 * One simulated run: K protocol cores, each on the product's
 * {@linkcode EffectRunner}, over the in-memory network and one virtual clock.
 * The seed's scenario drives the fault phase (starts, delays, losses,
 * crashes, partitions, test case 4); a quiet phase follows in which the group
 * must converge. A filter behind every runner counts, traces and hashes each
 * step, hands it to the {@linkcode Checker}, and cuts a broadcast short where
 * the scenario says so.
 *
 * @module
 */

import { encodeMessage } from "../../src/core/codec.ts";
import type { CoreConfig } from "../../src/core/config.ts";
import type { Effect } from "../../src/core/effects.ts";
import type { HostAddress } from "../../src/core/hostsfile.ts";
import type { PeerId } from "../../src/core/messages.ts";
import { PeerCore } from "../../src/core/peer_core.ts";
import { type EffectFilter, EffectRunner, type Step } from "../../src/runtime/effect_runner.ts";
import { test4Filter } from "../../src/runtime/test4.ts";
import { VirtualScheduler } from "../../src/scheduler.ts";
import { MemoryNetwork } from "../../src/transport/memory.ts";
import { addressKey } from "../../src/transport/transport.ts";
import { streamFor } from "../support/prng.ts";
import { Checker, type GroupStats, type Guarantee, type SimCore, ViolationFound } from "./checker.ts";
import { type Scenario, scenarioFor, SIM_FAULT_PHASE_MS } from "./scenario.ts";

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
  /** Peers crashed (scheduled or test case 4). */
  crashes: number;
  /** Partitions put in place. */
  partitions: number;
  /** Whether test case 4 crashed peer 1 mid-DEL. */
  test4Fired: boolean;
  /** Whether the scenario's crash half-way through a broadcast happened. */
  broadcastCrashFired: boolean;
  /** Virtual ms from the start of the quiet phase to convergence, or null. */
  convergedAfterMs: number | null;
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

/** Every peer's runner follows a real core unless told otherwise. */
const defaultFactory: CoreFactory = (config) => new PeerCore(config);

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
  /** Peer `p` listens on `hosts[p - 1]`. */
  readonly #hosts: HostAddress[];
  /** Index = peer id; index 0 unused. */
  readonly #cores: (SimCore | null)[];
  readonly #runners: (EffectRunner | null)[];
  readonly #crashed: boolean[];
  /** Why each peer crashes when a filter crashes it. */
  readonly #crashWhy: string[];
  readonly #checker: Checker;
  readonly #trace: string[] = [];
  #hash = 0x811c9dc5;
  #quiet = false;
  /** Steps in which the broadcast-crash peer sent the broadcast's type. */
  #broadcasts = 0;
  /** What happened so far. */
  readonly stats: SimStats = {
    steps: 0,
    messages: 0,
    crashes: 0,
    partitions: 0,
    takeovers: 0,
    test4Fired: false,
    broadcastCrashFired: false,
    unreachable: 0,
    installs: 0,
    highestViewId: 0,
    convergedAfterMs: null,
    livenessDemanded: false,
  };

  /** A run of `options`; `replay` is the command a violation report names. */
  constructor(options: SimOptions, replay: string) {
    this.#options = options;
    this.#replay = replay;
    this.#peers = options.peers;
    this.#heartbeatMs = options.heartbeatMs ?? SIM_HEARTBEAT_MS;
    this.#faultPhaseMs = options.faultPhaseMs ?? SIM_FAULT_PHASE_MS;
    this.#quietPhaseMs = options.quietPhaseMs ?? SIM_QUIET_PHASE_MS;
    this.#scenario = scenarioFor(options.seed, options.peers, this.#faultPhaseMs);
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
    this.#hosts = Array.from({ length: this.#peers }, (_, i) => ({ hostname: "sim", port: 7601 + i }));
    const n = this.#peers + 1;
    this.#cores = new Array(n).fill(null);
    this.#runners = new Array(n).fill(null);
    this.#crashed = new Array(n).fill(false);
    this.#crashWhy = new Array(n).fill("");
    this.#checker = new Checker({
      peers: this.#peers,
      faultFree: s.faultFree,
      stats: this.stats,
      core: (p) => this.#cores[p],
      crashed: (p) => this.#crashed[p],
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
      if (!(e instanceof ViolationFound)) throw e;
      this.#note(`VIOLATION of ${e.guarantee}: ${e.detail}`);
      return {
        guarantee: e.guarantee,
        detail: `${e.detail}${this.#quiet ? " (quiet phase)" : ""}`,
        seed: this.#options.seed,
        peers: this.#peers,
        step: this.stats.steps,
        atMs: this.#clock.now(),
        replay: this.#replay,
      };
    }
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
      this.#clock.schedule(c.atMs, () => this.#fault(() => this.#crash(c.peer, "scheduled")));
    }
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
  }

  #startQuietPhase(): void {
    this.#quiet = true;
    this.#net.heal();
    Object.assign(this.#net.faults, { minDelayMs: 1, maxDelayMs: 5, datagramLoss: 0, streamBreak: 0 });
    this.#note("quiet phase: healed, no loss, 1-5 ms delays");
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
    if (convergedSince !== null) {
      this.stats.convergedAfterMs = convergedSince - start;
      this.#note(`converged ${this.stats.convergedAfterMs} ms into the quiet phase`);
    }
    this.#checker.end(convergedSince !== null, this.#quietPhaseMs);
  }

  // ---- peers and steps ----

  /** Starts peer `p` on its own runner, as the product would. */
  #start(p: PeerId): void {
    if (this.#crashed[p]) return; // crashed before it ever started
    const core = (this.#options.coreFactory ?? defaultFactory)({
      id: p,
      peerCount: this.#peers,
      incarnation: 1,
      heartbeatMs: this.#heartbeatMs,
      failAfter: this.#options.failAfter ?? SIM_FAIL_AFTER,
      random: streamFor(this.#options.seed, 100 + p),
    });
    const test4 = p === 1 && this.#scenario.test4;
    const filters: EffectFilter[] = [(step) => this.#filter(p, step)];
    if (test4) filters.unshift(test4Filter(this.#peers));
    const runner = new EffectRunner({
      core,
      hosts: this.#hosts,
      transport: this.#net.transport(),
      scheduler: this.#clock,
      tickMs: this.#heartbeatMs,
      filters,
      onEvent: (event) => this.#checker.event(p, event),
      onLog: (_level, text, key) => {
        if (key === "malformed") this.#checker.undecodable(p, text);
      },
      onCrash: () => this.#crash(p, this.#crashWhy[p]),
    });
    this.#cores[p] = core;
    this.#runners[p] = runner;
    void runner.listen(this.#hosts[p - 1]); // the memory network binds at once
    this.#note(`p${p} starts${test4 ? " (test case 4)" : ""}`);
    runner.start();
  }

  /**
   * The last filter of peer `p`'s runner: counts, hashes and traces the step,
   * lets the checker see it, and cuts it short where the scenario crashes `p`.
   * The core has already taken the step, so its state is the one after it.
   */
  #filter(p: PeerId, step: Step): { effects: readonly Effect[]; crash: boolean } {
    const { cause, now } = step;
    const what = cause.kind === "receive" ? encodeMessage(cause.message) : cause.kind;
    this.stats.steps++;
    this.#mix(`${now}|${p}|${what}`);
    if (this.#options.traceSteps) this.#trace.push(`${now.toFixed(2)} p${p} ${what}`);
    this.#checker.step(p, step.effects);
    let out: { effects: readonly Effect[]; crash: boolean } = step;
    if (step.crash) {
      // Only test case 4 comes before this filter.
      this.stats.test4Fired = true;
      this.#crashWhy[p] = "test case 4";
    } else {
      out = this.#broadcastCut(p, step.effects) ?? step;
    }
    this.stats.messages += out.effects.filter((e) => e.kind === "send").length;
    return out;
  }

  /**
   * The scenario's crash half-way through a broadcast, if it is due in this
   * step of peer `p`: the first `keep` messages of the broadcast leave, and
   * nothing after them; with fewer, the peer crashes after the whole step.
   */
  #broadcastCut(p: PeerId, effects: readonly Effect[]): { effects: readonly Effect[]; crash: true } | null {
    const cut = this.#scenario.broadcastCrash;
    if (!cut || cut.peer !== p || this.#quiet) return null;
    const ofType = (e: Effect) => e.kind === "send" && e.message.type === cut.type;
    if (!effects.some(ofType) || ++this.#broadcasts !== cut.nth) return null;
    this.stats.broadcastCrashFired = true;
    let sent = 0;
    const end = effects.findIndex((e) => ofType(e) && sent++ === cut.keep);
    if (end < 0) {
      this.#crashWhy[p] = `after a whole ${cut.type} broadcast`;
      return { effects, crash: true };
    }
    this.#crashWhy[p] = `after ${cut.keep} ${cut.type} message(s) of a broadcast`;
    return { effects: effects.slice(0, end), crash: true };
  }

  #fault(body: () => void): void {
    this.stats.steps++;
    this.#mix(`${this.#clock.now()}|fault`);
    body();
  }

  /** Peer `p` dies for good: its runner stops and the network forgets it. */
  #crash(p: PeerId, why: string): void {
    if (this.#crashed[p]) return;
    this.#crashed[p] = true;
    this.#runners[p]?.halt();
    this.stats.crashes++;
    this.#net.crash(this.#address(p));
    this.#note(`p${p} crashes (${why})`);
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
