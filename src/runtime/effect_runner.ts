/**
 * The one place where a protocol core's effects are carried out, for the
 * library, the CLI and the simulator alike: it feeds the core what the
 * transport receives and what the clock says, and does what the core returns,
 * in order. Like a raft node handling `Ready`, it writes what must be durable
 * before anything after it goes out. It imports no runtime API: the transport
 * and the scheduler are handed to it.
 *
 * @module
 */

import { decodeWire, encodeWire } from "../core/codec.ts";
import type {
  DurableState,
  Effect,
  IncomingAnswer,
  IncomingQuery,
  LogLevel,
  PeerEvent,
} from "../core/effects.ts";
import type { HostAddress } from "../core/hostsfile.ts";
import type { Message, PeerId } from "../core/messages.ts";
import type { QueryReply } from "../core/query.ts";
import type { Scheduler } from "../scheduler.ts";
import { looksSealed } from "../transport/sealed.ts";
import { type Packet, senderName, type Transport } from "../transport/transport.ts";

/** What the runner needs of a protocol core: {@linkcode PeerCore}'s three entry points. */
export interface ProtocolCore {
  /** Starts the peer. */
  start(now: number): Effect[];
  /** Handles one decoded message. */
  receive(now: number, message: Message): Effect[];
  /** Advances timers. */
  tick(now: number): Effect[];
  /** Leaves the group on purpose, if the core can. */
  leave?(now: number): Effect[];
  /** Asks a query of the view's members, if the core can. */
  query?(now: number, queryId: number, name: string, payload: Uint8Array, timeoutMs: number): Effect[];
  /** Sends the answer to a query, if the core can. */
  answer?(now: number, to: PeerId, queryId: number, reply: QueryReply): Effect[];
}

/** Why the core took a step: it started, the clock ticked, or a message arrived. */
export type StepCause =
  | { readonly kind: "start" }
  | { readonly kind: "tick" }
  | { readonly kind: "leave" }
  /** The host asked the core for something else (`what` names it: `broadcast`, `tags`, `query`, `answer`). */
  | { readonly kind: "act"; readonly what: string }
  | { readonly kind: "receive"; readonly message: Message; readonly packet: Packet };

/** One step of the core: its cause, its time, and what it asks for. */
export interface Step {
  /** Why the step was taken. */
  readonly cause: StepCause;
  /** The time the core was given. */
  readonly now: number;
  /** The effects to carry out, in order. */
  readonly effects: readonly Effect[];
  /** Whether the peer crashes once they are carried out (a fault injected by a filter). */
  readonly crash: boolean;
}

/**
 * Sits between the core and the runner, seeing every step before it is
 * carried out: a fault injected from outside the core (test case 4, a crash
 * half-way through a broadcast) or an observer (the simulator's checker).
 */
export type EffectFilter = (step: Step) => { readonly effects: readonly Effect[]; readonly crash: boolean };

/** Where a peer's durable state is kept. */
export interface Storage {
  /** The state written last, or null if there is none yet. */
  load(): Promise<DurableState | null>;
  /** Writes `state`; the runner carries out nothing after it until a returned promise settles. */
  save(state: DurableState): void | Promise<void>;
}

/** How to run one core. */
export interface EffectRunnerOptions {
  /** The protocol core. */
  readonly core: ProtocolCore;
  /** Every peer's address: ID `i` is `hosts[i - 1]`. */
  readonly hosts: readonly HostAddress[];
  /** This peer's ID, if known: diagnostics then never take a sender for it. */
  readonly self?: number;
  /** The network. */
  readonly transport: Transport;
  /** Where time comes from. */
  readonly scheduler: Scheduler;
  /** The tick period in ms (the heartbeat interval). */
  readonly tickMs: number;
  /**
   * A clock the peers share, in ms (the wall clock, `Date.now`): when given,
   * ticks fall on its multiples of `tickMs` (0.5 to 1.5 `tickMs` apart), so
   * that the peers of a group send their heartbeats at about the same moment
   * and each one wakes once for the lot instead of once per sender (wake-ups,
   * not messages, are most of what an idle peer costs). Default: none, each
   * tick `tickMs` after the last.
   */
  readonly tickClock?: () => number;
  /** Where `persist` effects are written (default: nowhere; the state lives in the core only). */
  readonly storage?: Storage;
  /** Filters every step passes through, in order, before it is carried out. */
  readonly filters?: readonly EffectFilter[];
  /** Receives every event. */
  readonly onEvent: (event: PeerEvent) => void;
  /** Receives every query to answer (its handler runs, then {@linkcode EffectRunner.answer}); default: none. */
  readonly onQuery?: (query: IncomingQuery) => void;
  /** Receives every answer to this peer's queries; default: none. */
  readonly onAnswer?: (answer: IncomingAnswer) => void;
  /** Receives every diagnostic; `key` groups repeats for rate limiting. */
  readonly onLog: (level: LogLevel, text: string, key: string) => void;
  /** This peer's own user event `number` is settled (see `PeerCore.broadcast`). */
  readonly onBroadcast?: (
    number: number,
    outcome: "delivered" | "undelivered" | "unknown",
    reason: string | undefined,
  ) => void;
  /**
   * Called once when the peer must stop at once: a filter crashed it (after
   * that step's effects), or its durable state could not be written.
   */
  readonly onCrash?: (reason: "filter" | "storage") => void;
}

type Work = Effect | { readonly kind: "crash"; readonly reason: "filter" | "storage" };

/**
 * Runs one core over a transport and a scheduler.
 *
 * @example
 * ```ts
 * import { EffectRunner } from "./effect_runner.ts";
 * import { PeerCore } from "../core/peer_core.ts";
 * import { MemoryNetwork } from "../transport/memory.ts";
 * import { VirtualScheduler } from "../scheduler.ts";
 * const scheduler = new VirtualScheduler();
 * const hosts = [{ hostname: "sim", port: 7601 }];
 * const core = new PeerCore({ id: 1, peerCount: 1, incarnation: 1, heartbeatMs: 100, failAfter: 5, random: Math.random });
 * const runner = new EffectRunner({
 *   core, hosts, scheduler, tickMs: 100,
 *   transport: new MemoryNetwork({ scheduler }).transport(),
 *   onEvent: (e) => console.log(e), onLog: () => {},
 * });
 * await runner.listen(hosts[0]);
 * runner.start(); // view 1 = [1]
 * runner.halt();
 * ```
 */
export class EffectRunner {
  readonly #o: EffectRunnerOptions;
  readonly #queue: Work[] = [];
  /** A write in progress: everything queued waits for it. */
  #writing: Promise<void> | null = null;
  #cancelTick: () => void = () => {};
  #halted = false;
  /** The message encoded last and its bytes (transports copy what they keep). */
  #encoded: { readonly message: Message; readonly bytes: Uint8Array } | null = null;

  /** A runner; nothing happens until {@linkcode listen} and {@linkcode start}. */
  constructor(options: EffectRunnerOptions) {
    this.#o = options;
  }

  /** Whether the runner has stopped feeding the core. */
  get halted(): boolean {
    return this.#halted;
  }

  /** Binds `local` and delivers what arrives to the core. */
  listen(local: HostAddress): Promise<void> {
    return this.#o.transport.listen(local, {
      onStream: (packet) => this.#onPacket(packet),
      onDatagram: (packet) => this.#onPacket(packet),
      onDiagnostic: (text, level) => this.#o.onLog(level ?? "info", text, "transport"),
    });
  }

  /** Starts the core and its ticks. */
  start(): void {
    this.#step({ kind: "start" }, (now) => this.#o.core.start(now));
    this.#armTick();
  }

  /** Asks the core to leave the group on purpose. */
  leave(): void {
    const core = this.#o.core;
    if (core.leave) this.#step({ kind: "leave" }, (now) => core.leave!(now));
  }

  /**
   * Runs a step the host asks for (a broadcast, new tags): `run` calls the
   * core and returns its effects, which are carried out like any step's.
   * Nothing happens once halted.
   */
  act(what: string, run: (now: number) => Effect[]): void {
    this.#step({ kind: "act", what }, run);
  }

  /** Asks query `name` of the view's members (see `PeerCore.query`); nothing once halted. */
  query(queryId: number, name: string, payload: Uint8Array, timeoutMs: number): void {
    const core = this.#o.core;
    if (core.query) {
      this.act("query", (now) => core.query!(now, queryId, name, payload, timeoutMs));
    }
  }

  /** Sends the answer to query `queryId` of peer `to` (see `PeerCore.answer`); nothing once halted. */
  answer(to: PeerId, queryId: number, reply: QueryReply): void {
    const core = this.#o.core;
    if (core.answer) this.act("answer", (now) => core.answer!(now, to, queryId, reply));
  }

  /** Stops ticking and ignores whatever arrives; the transport stays the caller's to close. */
  halt(): void {
    this.#halted = true;
    this.#cancelTick();
  }

  /** Resolves once every effect so far is carried out (a write may hold them back). */
  async settled(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  #armTick(): void {
    this.#cancelTick = this.#o.scheduler.schedule(this.#tickDelay(), () => {
      this.#step({ kind: "tick" }, (now) => this.#o.core.tick(now));
      if (!this.#halted) this.#armTick();
    });
  }

  /** Until the next tick: `tickMs`, or to the next multiple of it on the shared clock. */
  #tickDelay(): number {
    const { tickMs, tickClock } = this.#o;
    if (!tickClock) return tickMs;
    const delay = tickMs - (tickClock() % tickMs);
    return delay < tickMs / 2 ? delay + tickMs : delay;
  }

  #onPacket(packet: Packet): void {
    if (this.#halted) return;
    let decoded;
    try {
      decoded = decodeWire(packet.bytes);
    } catch (e) {
      // A codec bug must not end a transport's receive loop: drop the message, say so.
      const from = senderName(packet.from, this.#o.hosts, this.#o.self);
      return this.#o.onLog("error", `dropped a message from ${from}: ${e}`, "malformed");
    }
    if (!decoded.ok) {
      const sealed = looksSealed(packet.bytes)
        ? " (it looks sealed: the sender has a --key-file and this peer has none, or not the group's)"
        : "";
      const text = `dropped a message from ${
        senderName(packet.from, this.#o.hosts, this.#o.self)
      }: ${decoded.error}${sealed}`;
      return this.#o.onLog("warning", text, "malformed");
    }
    const message = decoded.message;
    this.#step({ kind: "receive", message, packet }, (now) => this.#o.core.receive(now, message));
  }

  #step(cause: StepCause, run: (now: number) => Effect[]): void {
    if (this.#halted) return;
    const now = this.#o.scheduler.now();
    let step: Step = { cause, now, effects: run(now), crash: false };
    for (const filter of this.#o.filters ?? []) step = { ...step, ...filter(step) };
    this.#queue.push(...step.effects);
    if (step.crash) {
      this.#queue.push({ kind: "crash", reason: "filter" });
      this.halt(); // nothing after the crash reaches the core
    }
    if (!this.#writing) this.#drain();
  }

  /** Carries out queued work in order until it is done or a write must finish first. */
  #drain(): void {
    while (this.#queue.length > 0) {
      const work = this.#queue.shift()!;
      if (work.kind === "persist") {
        const writing = this.#o.storage?.save(work.state);
        if (writing) {
          this.#writing = writing.then(() => {
            this.#writing = null;
            this.#drain();
          }, (e) => {
            this.#writing = null;
            this.#o.onLog("error", `cannot write durable state: ${e}; stopping`, "storage");
            this.#queue.length = 0;
            this.#queue.push({ kind: "crash", reason: "storage" });
            this.halt();
            this.#drain();
          });
          return;
        }
      } else {
        this.#carryOut(work);
      }
    }
  }

  #carryOut(work: Exclude<Work, { kind: "persist" }>): void {
    const o = this.#o;
    switch (work.kind) {
      case "send": {
        const to = o.hosts[work.to - 1];
        // A broadcast is one message object sent to many (Node.send): encoded once for all.
        if (work.message !== this.#encoded?.message) {
          this.#encoded = { message: work.message, bytes: encodeWire(work.message) };
        }
        const bytes = this.#encoded.bytes;
        if (work.channel === "datagram") o.transport.sendDatagram(to, bytes);
        else o.transport.sendStream(to, bytes);
        return;
      }
      case "reset":
        return o.transport.reset(o.hosts[work.peer - 1]);
      case "event":
        return o.onEvent(work.event);
      case "query":
        return o.onQuery?.(work.query);
      case "answer":
        return o.onAnswer?.(work.answer);
      case "log":
        return o.onLog(work.level, work.text, work.key);
      case "broadcast":
        return o.onBroadcast?.(work.number, work.outcome, work.reason);
      case "crash":
        return o.onCrash?.(work.reason);
    }
  }
}
