/**
 * The deterministic simulator: K protocol cores over the in-memory network,
 * on a virtual clock, with every random choice drawn from one seed. A seed
 * picks a fault schedule (delays, UDP loss, TCP message loss, crashes,
 * partitions that heal, test case 4); a quiet phase follows in which the
 * group must converge. After every step (a delivered message, a tick, a
 * fault) the guarantees of PROTOCOL.md are checked; the first violation ends
 * the run and is reported with the command that replays it.
 *
 * @module
 */

import { decodeMessage, encodeMessage } from "../../src/core/codec.ts";
import type { CoreConfig } from "../../src/core/config.ts";
import type { Effect, PeerEvent } from "../../src/core/effects.ts";
import type { Message, PeerId, Proposal, View } from "../../src/core/messages.ts";
import { PeerCore, type Role } from "../../src/core/peer_core.ts";
import { majorityOf, nextView, sameView } from "../../src/core/view.ts";
import { MemoryNetwork } from "../../src/transport/memory.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { VirtualScheduler } from "../../src/scheduler.ts";
import { streamFor } from "../support/prng.ts";

/** What the simulator needs of a protocol core: {@linkcode PeerCore}'s surface. */
export interface SimCore {
  /** Starts the peer. */
  start(now: number): Effect[];
  /** Handles one decoded message. */
  receive(now: number, message: Message): Effect[];
  /** Advances timers. */
  tick(now: number): Effect[];
  /** The installed view, or null while joining. */
  readonly view: View | null;
  /** The leader this peer follows (itself when leading). */
  readonly leader: PeerId | null;
  /** Where this peer stands. */
  readonly role: Role;
  /** The accepted, not yet installed, proposal. */
  readonly pending: Proposal | null;
  /** Members this peer holds unreachable. */
  readonly suspected: ReadonlySet<PeerId>;
}

/** Builds one peer's core; the default builds a real {@linkcode PeerCore}. */
export type CoreFactory = (config: CoreConfig) => SimCore;

/** The guarantees of PROTOCOL.md the simulator checks (plus the codec in the loop). */
export type Guarantee =
  | "agreement"
  | "monotonic"
  | "quorum"
  | "completeness"
  | "accuracy"
  | "liveness"
  | "codec";

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
export interface SimStats {
  /** Steps run (deliveries, ticks, starts, faults). */
  steps: number;
  /** Messages handed to the network. */
  messages: number;
  /** Peers crashed (scheduled or test case 4). */
  crashes: number;
  /** Partitions put in place. */
  partitions: number;
  /** Peers other than 1 that became leader. */
  takeovers: number;
  /** Whether test case 4 crashed peer 1 mid-DEL. */
  test4Fired: boolean;
  /** Whether the scenario's crash half-way through a broadcast happened. */
  broadcastCrashFired: boolean;
  /** Unreachable events. */
  unreachable: number;
  /** View installs. */
  installs: number;
  /** The highest view id installed. */
  highestViewId: number;
  /** Virtual ms from the start of the quiet phase to convergence, or null. */
  convergedAfterMs: number | null;
  /** Whether liveness was demanded (a majority of the last live view was up). */
  livenessDemanded: boolean;
}

/** The outcome of one run. */
export interface SimResult {
  /** The seed. */
  readonly seed: number;
  /** The peer count. */
  readonly peers: number;
  /** The fault schedule. */
  readonly scenario: Scenario;
  /** The first violation, or null. */
  readonly violation: Violation | null;
  /** Statistics. */
  readonly stats: SimStats;
  /** Notable events (every step too with `traceSteps`), one a line. */
  readonly trace: readonly string[];
  /** FNV-1a hash of every step: same seed, same hash. */
  readonly fingerprint: string;
}

/** Default heartbeat interval of the simulation, in virtual ms. */
export const SIM_HEARTBEAT_MS = 100;
/** Default failure threshold of the simulation, in heartbeat intervals. */
export const SIM_FAIL_AFTER = 5;
/** Default length of the fault phase, in virtual ms. */
export const SIM_FAULT_PHASE_MS = 8_000;
/** Default longest quiet phase, in virtual ms. */
export const SIM_QUIET_PHASE_MS = 40_000;
/** How long the group must stay converged before the quiet phase may end early. */
const STABLE_MS = 2_000;
/** How often convergence is looked at in the quiet phase. */
const CONVERGENCE_CHECK_MS = 250;

/** The peer count the suite uses for a seed when none is given: 3 to 9. */
export function peersForSeed(seed: number): number {
  return 3 + (((seed % 7) + 7) % 7);
}

const defaultFactory: CoreFactory = (config) => new PeerCore(config);

/** The `deno task sim` command that replays a run with these options. */
export function replayCommand(options: SimOptions): string {
  const flags = [`--seed ${options.seed}`, `--peers ${options.peers}`];
  if (options.heartbeatMs !== undefined && options.heartbeatMs !== SIM_HEARTBEAT_MS) {
    flags.push(`--heartbeat ${options.heartbeatMs}`);
  }
  if (options.failAfter !== undefined && options.failAfter !== SIM_FAIL_AFTER) {
    flags.push(`--fail-after ${options.failAfter}`);
  }
  if (options.faultPhaseMs !== undefined && options.faultPhaseMs !== SIM_FAULT_PHASE_MS) {
    flags.push(`--fault-ms ${options.faultPhaseMs}`);
  }
  if (options.quietPhaseMs !== undefined && options.quietPhaseMs !== SIM_QUIET_PHASE_MS) {
    flags.push(`--quiet-ms ${options.quietPhaseMs}`);
  }
  const command = `deno task sim ${flags.join(" ")}`;
  return options.coreName ? `${command} (with core "${options.coreName}" plugged in)` : command;
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

/** A view as text: `v3 L1 [1,2,3]`. */
export function formatView(view: View): string {
  return `v${view.id} L${view.leader} [${view.members.join(",")}]`;
}

/** The identity of a view's contents, for agreement and quorum bookkeeping. */
function viewKey(view: View): string {
  return `${view.id}|${view.leader}|${view.members.join(",")}|${view.incarnations.join(",")}`;
}

/** Stops a run at its first violation. */
class ViolationFound extends Error {
  constructor(readonly violation: Violation) {
    super(`${violation.guarantee}: ${violation.detail}`);
  }
}

/** One run: the network, the cores and the checker's bookkeeping. */
class Simulation {
  readonly #options: SimOptions;
  readonly #scenario: Scenario;
  readonly #heartbeatMs: number;
  readonly #failAfter: number;
  readonly #faultPhaseMs: number;
  readonly #quietPhaseMs: number;
  readonly #factory: CoreFactory;
  readonly #clock = new VirtualScheduler();
  readonly #net: MemoryNetwork;
  readonly #peers: number;
  /** Index = peer id; index 0 unused. */
  readonly #cores: (SimCore | null)[];
  readonly #transports: Transport[];
  readonly #crashed: boolean[];
  readonly #lastInstalled: number[];
  readonly #lastPending: (Proposal | null)[];
  readonly #everLed = new Set<PeerId>();
  /** The first install of every view id: the agreed view. */
  readonly #agreed = new Map<number, { view: View; peer: PeerId }>();
  /** Who accepted (held as pending) the proposal leading to each view. */
  readonly #acceptors = new Map<string, Set<PeerId>>();
  readonly #trace: string[] = [];
  #hash = 0x811c9dc5;
  #quiet = false;
  /** Steps in which the broadcast-crash peer sent the broadcast's type. */
  #broadcasts = 0;
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

  constructor(options: SimOptions) {
    this.#options = options;
    this.#peers = options.peers;
    this.#heartbeatMs = options.heartbeatMs ?? SIM_HEARTBEAT_MS;
    this.#failAfter = options.failAfter ?? SIM_FAIL_AFTER;
    this.#faultPhaseMs = options.faultPhaseMs ?? SIM_FAULT_PHASE_MS;
    this.#quietPhaseMs = options.quietPhaseMs ?? SIM_QUIET_PHASE_MS;
    this.#factory = options.coreFactory ?? defaultFactory;
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
    const n = this.#peers + 1;
    this.#cores = new Array(n).fill(null);
    this.#transports = Array.from({ length: n }, () => this.#net.transport());
    this.#crashed = new Array(n).fill(false);
    this.#lastInstalled = new Array(n).fill(0);
    this.#lastPending = new Array(n).fill(null);
  }

  get scenario(): Scenario {
    return this.#scenario;
  }

  get trace(): string[] {
    return this.#trace;
  }

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
      if (e instanceof ViolationFound) return e.violation;
      throw e;
    }
  }

  // ---- the schedule ----

  #address(p: PeerId): string {
    return `sim:${7600 + p}`;
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
      if (this.#converged()) {
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
    this.#checkEnd(convergedSince !== null);
  }

  // ---- steps ----

  /** Runs one step of peer `p` and checks the guarantees on what it did. */
  #step(p: PeerId, what: string, run: (core: SimCore, now: number) => Effect[]): void {
    const core = this.#cores[p];
    if (!core || this.#crashed[p]) return;
    this.stats.steps++;
    const now = this.#clock.now();
    this.#mix(`${now}|${p}|${what}`);
    if (this.#options.traceSteps) this.#trace.push(`${now.toFixed(2)} p${p} ${what}`);
    this.#apply(p, run(core, now));
  }

  #fault(body: () => void): void {
    this.stats.steps++;
    this.#mix(`${this.#clock.now()}|fault`);
    body();
  }

  #start(p: PeerId): void {
    if (this.#crashed[p]) return; // crashed before it ever started
    const config: CoreConfig = {
      id: p,
      peerCount: this.#peers,
      incarnation: 1,
      heartbeatMs: this.#heartbeatMs,
      failAfter: this.#failAfter,
      random: streamFor(this.#options.seed, 100 + p),
      test4: p === 1 && this.#scenario.test4,
    };
    this.#cores[p] = this.#factory(config);
    const deliver = (text: string) => this.#deliver(p, text);
    void this.#transports[p].listen({ hostname: "sim", port: 7600 + p }, {
      onStreamMessage: deliver,
      onDatagram: deliver,
      onDiagnostic: () => {},
    });
    this.#note(`p${p} starts${config.test4 ? " (test case 4)" : ""}`);
    this.#step(p, "start", (core, now) => core.start(now));
    const tick = () => {
      if (this.#crashed[p]) return;
      this.#step(p, "tick", (core, now) => core.tick(now));
      this.#clock.schedule(this.#heartbeatMs, tick);
    };
    this.#clock.schedule(this.#heartbeatMs, tick);
  }

  #deliver(p: PeerId, text: string): void {
    const decoded = decodeMessage(text);
    if (!decoded.ok) this.#violation("codec", `peer ${p} could not decode ${text}: ${decoded.error}`);
    else this.#step(p, text, (core, now) => core.receive(now, decoded.message));
  }

  #crash(p: PeerId, why: string): void {
    if (this.#crashed[p]) return;
    this.#crashed[p] = true;
    this.stats.crashes++;
    this.#net.crash(this.#address(p));
    this.#note(`p${p} crashes (${why})`);
  }

  /** Carries out a step's effects in order, then checks what the step did. */
  #apply(p: PeerId, effects: Effect[]): void {
    // Views this peer sent NEWVIEW for in this step: it committed them.
    const sentViews = new Set<string>();
    for (const e of effects) {
      if (e.kind === "send" && e.message.type === "NEWVIEW") sentViews.add(viewKey(e.message.view));
    }
    const transport = this.#transports[p];
    const cut = this.#broadcastCut(p, effects);
    let sentOfType = 0;
    for (const e of effects) {
      if (cut && e.kind === "send" && e.message.type === cut.type && sentOfType++ === cut.keep) {
        this.stats.broadcastCrashFired = true;
        this.#crash(p, `after ${cut.keep} ${cut.type} message(s) of a broadcast`);
        break;
      }
      if (e.kind === "send") {
        this.stats.messages++;
        const to = { hostname: "sim", port: 7600 + e.to };
        const text = encodeMessage(e.message);
        if (e.message.type === "HEARTBEAT") transport.sendDatagram(to, text);
        else transport.sendStream(to, text);
      } else if (e.kind === "event") {
        this.#onEvent(p, e.event, sentViews);
      } else if (e.kind === "crash") {
        if (p === 1 && this.#scenario.test4) this.stats.test4Fired = true;
        this.#crash(p, "test case 4");
        break; // nothing after the crash happens
      }
    }
    // Fewer messages than `keep`: the whole broadcast left; crash right after it.
    if (cut && !this.#crashed[p]) {
      this.stats.broadcastCrashFired = true;
      this.#crash(p, `after a whole ${cut.type} broadcast`);
    }
    this.#observe(p);
  }

  /** The broadcast crash due in this step of peer `p`, if any. */
  #broadcastCut(p: PeerId, effects: Effect[]): BroadcastCrash | null {
    const cut = this.#scenario.broadcastCrash;
    if (!cut || cut.peer !== p || this.#quiet) return null;
    if (!effects.some((e) => e.kind === "send" && e.message.type === cut.type)) return null;
    return ++this.#broadcasts === cut.nth ? cut : null;
  }

  /** Records what the core holds as accepted, and who leads. */
  #observe(p: PeerId): void {
    const core = this.#cores[p]!;
    const pending = core.pending;
    if (pending && pending !== this.#lastPending[p]) {
      const view = core.view;
      if (view && view.id === pending.viewId) {
        const key = viewKey(nextView(view, pending));
        let set = this.#acceptors.get(key);
        if (!set) this.#acceptors.set(key, set = new Set());
        set.add(p);
      }
    }
    this.#lastPending[p] = pending;
    if (p !== 1 && !this.#everLed.has(p) && core.role === "leader") {
      this.#everLed.add(p);
      this.stats.takeovers++;
      this.#note(`p${p} leads view ${core.view?.id}`);
    }
  }

  #onEvent(p: PeerId, event: PeerEvent, sentViews: Set<string>): void {
    if (event.type === "unreachable") {
      this.stats.unreachable++;
      this.#note(
        `p${p} (view ${event.viewId}) finds ${
          event.isLeader ? "leader" : "peer"
        } ${event.member} unreachable`,
      );
      if (this.#scenario.faultFree) {
        this.#violation(
          "accuracy",
          `peer ${p} reported peer ${event.member} unreachable in a fault-free run`,
        );
      }
      return;
    }
    const view = event.view;
    this.stats.installs++;
    this.stats.highestViewId = Math.max(this.stats.highestViewId, view.id);
    this.#note(`p${p} installs ${formatView(view)}`);
    // (2) monotonic views
    const last = this.#lastInstalled[p];
    if (view.id <= last) {
      this.#violation("monotonic", `peer ${p} installed view ${view.id} after view ${last}`);
    }
    this.#lastInstalled[p] = view.id;
    // (1) agreement
    const agreed = this.#agreed.get(view.id);
    if (agreed && !sameView(agreed.view, view)) {
      this.#violation(
        "agreement",
        `peer ${p} installed ${formatView(view)} but peer ${agreed.peer} installed ${
          formatView(agreed.view)
        }`,
      );
    }
    if (!agreed) this.#agreed.set(view.id, { view, peer: p });
    if (view.id === 1) return; // the founding view needs no quorum
    // (3) quorum: a majority of view v accepted this very view v+1
    const previous = this.#agreed.get(view.id - 1);
    if (!previous) {
      return this.#violation(
        "quorum",
        `peer ${p} installed ${formatView(view)} but nobody installed view ${view.id - 1}`,
      );
    }
    const key = viewKey(view);
    let accepted = this.#acceptors.get(key);
    if (!accepted) this.#acceptors.set(key, accepted = new Set());
    // The committer accepts its own proposal, possibly in this very step
    // (a one-member view commits as it proposes, so no pending is ever seen).
    if (sentViews.has(key) && last === view.id - 1) accepted.add(p);
    const voters = previous.view.members.filter((m) => accepted.has(m));
    if (voters.length < majorityOf(previous.view)) {
      this.#violation(
        "quorum",
        `peer ${p} installed ${formatView(view)} accepted only by [${voters.join(",")}] of ` +
          `${formatView(previous.view)} (majority ${majorityOf(previous.view)})`,
      );
    }
    // (5) accuracy: nobody is removed in a fault-free run
    if (this.#scenario.faultFree) {
      const removed = previous.view.members.filter((m) => !view.members.includes(m));
      if (removed.length > 0) {
        this.#violation(
          "accuracy",
          `peer ${p} installed ${formatView(view)}, removing [${removed}] in a fault-free run`,
        );
      }
    }
  }

  // ---- the end: completeness and liveness ----

  #live(): PeerId[] {
    const live: PeerId[] = [];
    for (let p = 1; p <= this.#peers; p++) if (!this.#crashed[p]) live.push(p);
    return live;
  }

  /** All live peers hold one view of exactly the live peers, suspect nobody, and follow one leader. */
  #converged(): boolean {
    const live = this.#live();
    if (live.length === 0) return true;
    const first = this.#cores[live[0]]?.view;
    if (!first || first.members.join(",") !== live.join(",")) return false;
    let leaders = 0;
    for (const p of live) {
      const core = this.#cores[p];
      // A pending proposal may linger: a value only a minority accepted, which
      // a later leader overwrote elsewhere; it is harmless, so it is allowed.
      if (!core?.view || !sameView(core.view, first) || core.suspected.size > 0) return false;
      if (core.role === "leader") leaders++;
      else if (core.role !== "member") return false;
    }
    const leader = live.find((p) => this.#cores[p]!.role === "leader");
    return leaders === 1 && live.every((p) => this.#cores[p]!.leader === leader);
  }

  /**
   * (4) and (6): demanded only when a majority of the last view a live peer
   * installed is up (everything is connected in the quiet phase).
   */
  #checkEnd(converged: boolean): void {
    const live = this.#live();
    let last: View | null = null;
    for (const p of live) {
      const id = this.#lastInstalled[p];
      if (id > (last?.id ?? 0)) last = this.#agreed.get(id)!.view;
    }
    const up = last ? last.members.filter((m) => !this.#crashed[m]).length : 0;
    this.stats.livenessDemanded = last !== null && up >= majorityOf(last);
    if (!this.stats.livenessDemanded || converged) return;
    const states = live.map((p) => {
      const core = this.#cores[p]!;
      const view = core.view ? formatView(core.view) : "joining";
      const pending = core.pending ? ` pending ${core.pending.op.kind} ${core.pending.op.peer}` : "";
      const suspects = core.suspected.size > 0 ? ` suspects [${[...core.suspected]}]` : "";
      return `p${p}: ${view} ${core.role} following ${core.leader}${pending}${suspects}`;
    }).join("; ");
    const views = live.map((p) => this.#cores[p]!.view);
    const oneView = views.every((v) => v && views[0] && sameView(v, views[0]));
    const holdsCrashed = oneView && views[0]!.members.some((m) => this.#crashed[m]);
    this.#violation(
      holdsCrashed ? "completeness" : "liveness",
      `${this.#quietPhaseMs} ms after faults stopped, with ${up} of ${formatView(last!)} up, ` +
        `the live peers [${live}] have not converged: ${states}`,
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

  #violation(guarantee: Guarantee, detail: string): never {
    const violation: Violation = {
      guarantee,
      detail: `${detail}${this.#quiet ? " (quiet phase)" : ""}`,
      seed: this.#options.seed,
      peers: this.#peers,
      step: this.stats.steps,
      atMs: this.#clock.now(),
      replay: replayCommand(this.#options),
    };
    this.#note(`VIOLATION of ${guarantee}: ${detail}`);
    throw new ViolationFound(violation);
  }
}

/**
 * Runs one seed and checks every guarantee after every step.
 *
 * @example
 * ```ts
 * import { runSimulation } from "./simulator.ts";
 * const result = runSimulation({ seed: 7, peers: 5 });
 * if (result.violation) console.log(describeViolation(result.violation));
 * ```
 */
export function runSimulation(options: SimOptions): SimResult {
  if (!Number.isInteger(options.peers) || options.peers < 1) throw new RangeError("peers must be at least 1");
  const sim = new Simulation(options);
  const violation = sim.run();
  return {
    seed: options.seed,
    peers: options.peers,
    scenario: sim.scenario,
    violation,
    stats: sim.stats,
    trace: sim.trace,
    fingerprint: sim.fingerprint,
  };
}

/** A violation as a few lines: the guarantee, where, what, and how to replay. */
export function describeViolation(v: Violation): string {
  return `VIOLATION of ${v.guarantee} (seed ${v.seed}, ${v.peers} peers, step ${v.step}, ` +
    `t=${v.atMs.toFixed(2)} ms): ${v.detail}\n  replay: ${v.replay}`;
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
