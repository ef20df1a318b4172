/**
 * A running peer: the protocol core bound to a transport and real timers.
 * This is the library API; the CLI is a thin layer over it.
 *
 * @module
 */

import { getLogger } from "../deps.ts";
import { DEFAULT_FAIL_AFTER, DEFAULT_HEARTBEAT_MS } from "../core/config.ts";
import type { DurableState, LogLevel, PeerEvent } from "../core/effects.ts";
import type { HostAddress } from "../core/hostsfile.ts";
import type { PeerId, View } from "../core/messages.ts";
import { type MemberState, PeerCore, type PeerHealth, type Role } from "../core/peer_core.ts";
import { senderName, type Transport } from "../transport/transport.ts";
import { RealTimeScheduler, type Scheduler } from "../scheduler.ts";
import { socketTransport } from "../transport/socket_transport.ts";
import type { Keyring } from "../transport/keyring.ts";
import { SealedTransport } from "../transport/sealed.ts";
import { EffectRunner, type Storage } from "./effect_runner.ts";
import type { PeerMetrics } from "./metrics.ts";
import { test4Filter } from "./test4.ts";
import { sameTags, type Tags, tagsError } from "../core/tags.ts";
import { tagsIn } from "../core/view.ts";
import { Queries, type Query, type QueryHandler, type QueryOptions } from "./queries.ts";

/** How to start a peer. */
export interface PeerOptions {
  /** Every peer's address; IDs are 1-based positions in this list. */
  readonly hosts: readonly HostAddress[];
  /** This peer's ID. */
  readonly id: PeerId;
  /** Heartbeat interval in ms (default {@linkcode DEFAULT_HEARTBEAT_MS}). */
  readonly heartbeatMs?: number;
  /** Missed intervals before a member is unreachable (default {@linkcode DEFAULT_FAIL_AFTER}). */
  readonly failAfter?: number;
  /** The network (default: TCP and UDP sockets of the runtime at hand). */
  readonly transport?: Transport;
  /**
   * Address to bind. By default the socket transport binds all interfaces at
   * this peer's port, and a given transport (the in-memory network) binds
   * this peer's own hosts entry.
   */
  readonly listen?: HostAddress;
  /**
   * Tells this run apart from earlier runs of the same peer (default: the
   * clock). A peer restored from `storage` keeps the run it was.
   */
  readonly incarnation?: number;
  /**
   * Where this peer keeps what it promised, accepted and installed, so that
   * a restart on it is the same member and voter (the CLI's `--data-dir`).
   * Default: nothing kept; a restart is a new incarnation.
   */
  readonly storage?: Storage;
  /** Test case 4 (see docs/protocol.md); for the seed's tests. */
  readonly test4?: boolean;
  /**
   * What a crash does: test case 4 (`"filter"`), or durable state that could
   * not be written (`"storage"`). By default the peer drops its sockets
   * without a goodbye. The CLI exits the process.
   */
  readonly onCrash?: (reason: "filter" | "storage") => void | Promise<void>;
  /** Where time comes from (default: real timers); a virtual clock makes runs replayable. */
  readonly scheduler?: Scheduler;
  /** A listener that sees every event from the very first (peer 1's view 1). */
  readonly onEvent?: (event: PeerEvent) => void;
  /** Metrics this peer feeds with every step, event and diagnostic (`--status` serves them). */
  readonly metrics?: PeerMetrics;
  /**
   * The group's keyring: every message is sealed with its first key and
   * opened with any of its keys (a {@linkcode SealedTransport} around the
   * transport); anything else is dropped. Replace it while the peer runs with
   * {@linkcode Peer.setKeyring}. Default: no keyring, plain text.
   */
  readonly keyring?: Keyring;
  /**
   * This peer's tags (`{ role: "db" }`): agreed with the view, so every peer
   * that installs a view sees the same tags for each of its members. Change
   * them while the peer runs with {@linkcode Peer.setTags}. Default: none.
   */
  readonly tags?: Tags;
}

/** What {@linkcode Peer.status} returns. */
export interface PeerStatus {
  /** This peer's ID. */
  readonly id: PeerId;
  /** This peer's run. */
  readonly incarnation: number;
  /** Where it stands. */
  readonly role: Role;
  /** The leader it follows, or null while joining. */
  readonly leader: PeerId | null;
  /** The installed view, or null while joining. */
  readonly view: View | null;
  /** Each member of the view, with its address. */
  readonly members: readonly (MemberState & { readonly address: HostAddress })[];
  /** Its own health (removals while alive), and the peers on probation with it. */
  readonly health: PeerHealth;
}

/** A function that receives a peer's events. */
export type PeerEventListener = (event: PeerEvent) => void;

const log = getLogger(["membership", "peer"]);

/**
 * A peer of the group. Start one with {@linkcode startPeer}.
 *
 * @example
 * ```ts
 * import { startPeer } from "../../mod.ts";
 * const peer = await startPeer({
 *   hosts: [{ hostname: "127.0.0.1", port: 7601 }],
 *   id: 1,
 * });
 * const view = await peer.waitForView((v) => v.members.includes(1));
 * console.log(view.id, peer.leader);
 * await peer.stop();
 * ```
 */
export class Peer {
  readonly #options: PeerOptions;
  readonly #core: PeerCore;
  readonly #transport: Transport;
  readonly #runner: EffectRunner;
  readonly #scheduler: Scheduler;
  readonly #listeners = new Set<PeerEventListener>();
  /** The newest view reported in a view or formed event, or restored (0: none yet). */
  #reported = 0;
  /** Called once when the peer stops, to end iterators and waits. */
  readonly #stopListeners = new Set<() => void>();
  #stopped = false;
  #crash: Promise<void> | null = null;
  /** Broadcasts not settled yet, by the number the core gave them. */
  readonly #broadcasts = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  readonly #queries: Queries;

  private constructor(options: PeerOptions, transport: Transport, restored: DurableState | null) {
    this.#reported = restored?.installed?.id ?? 0; // reported by the run that installed it
    this.#options = options;
    this.#transport = transport;
    const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#scheduler = options.scheduler ?? new RealTimeScheduler();
    this.#core = new PeerCore({
      id: options.id,
      peerCount: options.hosts.length,
      incarnation: restored?.incarnation ?? options.incarnation ?? Date.now(),
      heartbeatMs,
      failAfter: options.failAfter ?? DEFAULT_FAIL_AFTER,
      random: Math.random,
      restored: restored ?? undefined,
      tags: options.tags,
    });
    const metrics = options.metrics;
    this.#queries = new Queries({
      self: options.id,
      scheduler: this.#scheduler,
      ask: (queryId, name, payload, timeoutMs) => this.#runner.query(queryId, name, payload, timeoutMs),
      answer: (to, queryId, reply) => this.#runner.answer(to, queryId, reply),
      log: (level, text, key) => writeLog(level, text, key),
    });
    this.#runner = new EffectRunner({
      core: this.#core,
      hosts: options.hosts,
      self: options.id,
      transport,
      scheduler: this.#scheduler,
      tickMs: heartbeatMs,
      tickClock: options.scheduler ? undefined : tickClock(heartbeatMs),
      storage: options.storage,
      filters: [
        ...(options.test4 ? [test4Filter(options.hosts.length)] : []),
        ...(metrics ? [metrics.stepFilter((now) => this.#core.members(now))] : []),
      ],
      onEvent: (event) => {
        if (event.type === "view" || event.type === "formed") this.#reported = event.view.id;
        // The core reports leaving even when it never reported a view (peer 1 that left while still
        // probing for a group, its founding view unannounced): to a reader there was no group to leave.
        if (event.type === "left" && event.member === this.id && this.#reported === 0) return;
        metrics?.observeEvent(event);
        for (const listener of [...this.#listeners]) listener(event);
      },
      onLog: (level, text, key) => {
        metrics?.observeLog(key);
        writeLog(level, text, key);
      },
      onBroadcast: (number, outcome, reason) => {
        const waiting = this.#broadcasts.get(number);
        this.#broadcasts.delete(number);
        if (outcome === "delivered") waiting?.resolve();
        else {waiting?.reject(
            new Error(`the event was ${outcome === "unknown" ? "perhaps not " : "not "}delivered: ${reason}`),
          );}
      },
      onQuery: (query) => this.#queries.received(query),
      onAnswer: (answer) => this.#queries.answered(answer),
      onCrash: (reason) => {
        this.#halt();
        this.#crash = this.#crashNow(reason);
      },
    });
  }

  /** Binds the port and starts the protocol. Rejects if the port is in use. */
  static async start(options: PeerOptions): Promise<Peer> {
    const { hosts, id } = options;
    if (!Number.isInteger(id) || id < 1 || id > hosts.length) {
      throw new RangeError(`peer id ${id} is not between 1 and ${hosts.length}`);
    }
    const tagsWrong = options.tags ? tagsError(options.tags) : null;
    if (tagsWrong) throw new TypeError(tagsWrong);
    const restored = (await options.storage?.load()) ?? null;
    const inner = options.transport ?? socketTransport();
    const transport = options.keyring
      ? new SealedTransport(inner, options.keyring, {
        self: hosts[id - 1],
        nameSender: (from) => senderName(from, hosts, id),
        onDrop: (text, key) => {
          options.metrics?.observeLog(key);
          writeLog("warning", text, key);
        },
      })
      : inner;
    const peer = new Peer(options, transport, restored);
    const local = options.listen ?? (options.transport ? hosts[id - 1] : anyAddress(hosts[id - 1]));
    if (!options.keyring && !options.transport && !isLoopback(local.hostname)) {
      log.warn("{text}", {
        key: "keyless",
        text: `no keyring: anyone who can reach port ${local.port} can change the group (see --key-file)`,
      });
    }
    if (options.onEvent) peer.onEvent(options.onEvent);
    await peer.#runner.listen(local);
    peer.#runner.start();
    return peer;
  }

  /** This peer's ID. */
  get id(): PeerId {
    return this.#options.id;
  }

  /** The installed view, or null until this peer has joined. */
  get view(): View | null {
    return this.#core.view;
  }

  /** The leader this peer follows, or null until it has joined. */
  get leader(): PeerId | null {
    return this.#core.leader;
  }

  /** Whether this peer is joining, a member, the leader, or taking over. */
  get role(): Role {
    return this.#core.role;
  }

  /**
   * This peer's view of the group now: its role, leader and view, and each
   * member's address, run, time since last heard, and state.
   */
  status(): PeerStatus {
    const now = this.#scheduler.now();
    return {
      id: this.id,
      incarnation: this.#core.incarnation,
      role: this.role,
      leader: this.leader,
      view: this.view,
      members: this.#core.members(now).map((m) => ({ ...m, address: this.#options.hosts[m.id - 1] })),
      health: this.#core.health(now),
    };
  }

  /**
   * Replaces the group's keyring while the peer runs (key rotation: add the
   * new key everywhere, put it first everywhere, then drop the old one).
   * Throws if the peer was started without one.
   */
  setKeyring(keyring: Keyring): void {
    if (!(this.#transport instanceof SealedTransport)) {
      throw new Error("this peer was started without a keyring");
    }
    this.#transport.setKeyring(keyring);
  }

  /** The tags this peer asks for (the view's `tags` are those agreed). */
  get tags(): Tags {
    return this.#core.tags;
  }

  /**
   * Replaces this peer's tags. The leader commits the change as a view
   * change, so it shows everywhere within one; resolves with the first view
   * that holds them. Throws on tags over 8 KiB, or with a bad key or value.
   *
   * @example
   * ```ts
   * import { startPeer } from "../../mod.ts";
   * const peer = await startPeer({ hosts: [{ hostname: "127.0.0.1", port: 7611 }], id: 1 });
   * await peer.setTags({ role: "db", port: "5432" });
   * await peer.stop();
   * ```
   */
  setTags(tags: Tags): Promise<View> {
    const error = tagsError(tags);
    if (error) return Promise.reject(new TypeError(error));
    if (this.#stopped) return Promise.reject(new Error("the peer stopped"));
    this.#runner.act("tags", (now) => this.#core.setTags(now, tags));
    return this.waitForView((view) => sameTags(tagsIn(view, this.id), tags));
  }

  /**
   * Broadcasts a user event to the group. Every member delivers the group's
   * events in one order, the same at every member, and between the same two
   * views; each arrives as an `event` in {@linkcode events} and
   * {@linkcode onEvent}. Resolves once the event is delivered; rejects if it
   * cannot be (this peer left or was removed first), or if the peer stops.
   * It is never lost while a majority of the view stays up, the leader's
   * crash included. The name is 1 to 128 characters, the payload text up to 64 KiB.
   *
   * @example
   * ```ts
   * import { startPeer } from "../../mod.ts";
   * const peer = await startPeer({ hosts: [{ hostname: "127.0.0.1", port: 7612 }], id: 1 });
   * await peer.waitForView((v) => v.members.includes(1));
   * await peer.broadcast("deploy", "v2");
   * await peer.stop();
   * ```
   */
  broadcast(name: string, payload = ""): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error("the peer stopped"));
    return new Promise<void>((resolve, reject) => {
      try {
        this.#runner.act("broadcast", (now) => {
          const { number, effects } = this.#core.broadcast(now, name, payload);
          this.#broadcasts.set(number, { resolve, reject });
          return effects;
        });
      } catch (e) {
        reject(e instanceof Error ? new TypeError(e.message) : e);
      }
    });
  }

  /** Calls `listener` on every event; returns a function that unsubscribes. */
  onEvent(listener: PeerEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Every event from now on, as an async iterator; it ends when the peer
   * stops, or when the loop breaks.
   */
  async *events(): AsyncGenerator<PeerEvent> {
    const queue: PeerEvent[] = [];
    let wake: (() => void) | null = null;
    const unsubscribe = this.onEvent((e) => {
      queue.push(e);
      wake?.();
    });
    const onStop = () => wake?.();
    this.#stopListeners.add(onStop);
    try {
      while (true) {
        while (queue.length > 0) yield queue.shift()!;
        if (this.#stopped) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      unsubscribe();
      this.#stopListeners.delete(onStop);
    }
  }

  /**
   * Resolves with the first installed view (the current one included) that
   * satisfies `predicate`; rejects if the signal aborts or the peer stops.
   */
  waitForView(predicate: (view: View) => boolean, signal?: AbortSignal): Promise<View> {
    const now = this.view;
    if (now && predicate(now)) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const done = () => {
        unsubscribe();
        this.#stopListeners.delete(onStop);
        signal?.removeEventListener("abort", onAbort);
      };
      const unsubscribe = this.onEvent((e) => {
        if (e.type === "view" && predicate(e.view)) {
          done();
          resolve(e.view);
        }
      });
      const onStop = () => {
        done();
        reject(new Error("the peer stopped"));
      };
      const onAbort = () => {
        done();
        reject(signal!.reason);
      };
      this.#stopListeners.add(onStop);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Asks query `name` of every member of the view, this peer included, and
   * returns at once: iterate the {@linkcode Query} for the answers as they
   * come, and await its `done` for who was asked (the members of the view
   * now), who answered and who did not, once all answered or `timeoutMs`
   * (default 2 s) passed. Every peer answers `ping`; others need a handler
   * ({@linkcode Peer.onQuery}), and a peer without one answers with an error
   * (`no handler for query "X"`). Throws if this peer is in no group yet, if
   * the name is not 1 to 64 letters, digits, `_`, `.`, `:` or `-`, or if the
   * payload is over 64 KiB.
   *
   * @example
   * ```ts ignore
   * const q = peer.query("ping", "", { timeoutMs: 2000 });
   * for await (const a of q) console.log(a.from, a.text, `${a.ms} ms`); // 2 pong from peer 2 3 ms ...
   * const r = await q.done;
   * console.log(`${r.answered.length} of ${r.asked.length} answered; missing: ${r.missing.join(", ")}`);
   * ```
   */
  query(name: string, payload: string | Uint8Array = "", options: QueryOptions = {}): Query {
    return this.#queries.ask(this.#stopped ? null : this.view, name, payload, options);
  }

  /**
   * Answers query `name` with `handler` from now on (replacing an earlier
   * one), until the returned function is called. The handler gets the
   * payload, the asker and a signal that aborts when the asker stops waiting;
   * it returns the answer (text or bytes, at most 64 KiB), or a promise of
   * it; what it throws is answered as an error. `ping` is built in.
   *
   * @example
   * ```ts ignore
   * const off = peer.onQuery("uptime", ({ from }) => `up ${performance.now() | 0} ms, asked by ${from}`);
   * off(); // answered with "no handler" from now on
   * ```
   */
  onQuery(name: string, handler: QueryHandler): () => void {
    return this.#queries.onQuery(name, handler);
  }

  /**
   * Leaves the group on purpose, then stops: the leader is asked to remove
   * this peer (a leader hands over first), and this resolves once the view
   * without it is committed, or after `timeoutMs` (default: one failure
   * timeout) if the group cannot commit. Survivors report it as left.
   */
  async leave(timeoutMs?: number): Promise<void> {
    if (this.#stopped) return await this.stop();
    const wait = timeoutMs ??
      (this.#options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS) * (this.#options.failAfter ?? DEFAULT_FAIL_AFTER);
    let finish = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    // On the peer's scheduler: under a VirtualScheduler the wait is virtual time too.
    const cancelTimer = this.#scheduler.schedule(wait, finish);
    const unsubscribe = this.onEvent((e) => {
      if (e.type === "left" && e.member === this.id) finish();
    });
    this.#stopListeners.add(finish);
    this.#runner.leave();
    if (this.#core.hasLeft) finish(); // it was in no group: nothing to wait for
    try {
      await done;
    } finally {
      cancelTimer();
      unsubscribe();
      this.#stopListeners.delete(finish);
    }
    await this.stop();
  }

  /** Stops the peer: every timer and socket is closed when this resolves. */
  async stop(): Promise<void> {
    if (this.#stopped) return await this.#crash ?? undefined;
    this.#halt();
    await this.#runner.settled();
    await this.#transport.close();
  }

  #halt(): void {
    this.#stopped = true;
    this.#runner.halt();
    this.#queries.stop();
    for (const f of [...this.#stopListeners]) f();
    for (const { reject } of this.#broadcasts.values()) reject(new Error("the peer stopped"));
    this.#broadcasts.clear();
  }

  async #crashNow(reason: "filter" | "storage"): Promise<void> {
    await this.#transport.flush(); // the REQs of test case 4 must leave first
    if (this.#options.onCrash) await this.#options.onCrash(reason);
    else await this.#transport.close();
  }
}

/** How many peers this process has started on real time. */
let peersOnRealTime = 0;

/**
 * The clock a peer on real time ticks by (see `EffectRunnerOptions.tickClock`): the wall clock, so
 * that the peers of a group, one a process, tick together and each wakes once an interval for the
 * others' heartbeats. Further peers in the same process are set apart by a fraction of an interval
 * each (the golden ratio spreads any number evenly): they share one event loop, so ticking together
 * would save them nothing, and hundreds of them sending at one instant could overflow each other's
 * socket buffers before any of them reads.
 */
function tickClock(heartbeatMs: number): () => number {
  const offset = ((peersOnRealTime++ * 0.6180339887) % 1) * heartbeatMs;
  return offset === 0 ? Date.now : () => Date.now() + offset;
}

/** Diagnostics go to LogTape; `key` lets the CLI rate-limit each kind. */
function writeLog(level: LogLevel, text: string, key: string): void {
  if (level === "warning") log.warn("{text}", { text, key });
  else log[level]("{text}", { text, key });
}

/**
 * The address a peer binds by default, at its port: its own hosts entry when
 * that is a loopback address (`127.0.0.0/8`, `::1`, `localhost`), so a group
 * on one machine is not reachable from the network; otherwise all interfaces,
 * IPv6 ones when the entry is an IPv6 address.
 */
function anyAddress(own: HostAddress): HostAddress {
  const name = own.hostname.toLowerCase();
  if (isLoopback(name)) return own;
  return { hostname: name.includes(":") ? "::" : "0.0.0.0", port: own.port };
}

/** 127.x.y.z; ::1, in any spelling of its zeros; localhost. */
export function isLoopback(hostname: string): boolean {
  const name = hostname.toLowerCase();
  return /^127(\.\d{1,3}){3}$/.test(name) || /^(0{0,4}:){2,7}0{0,3}1$/.test(name) || name === "localhost";
}

/**
 * Starts a peer of the group and resolves once its port is bound.
 *
 * @example
 * ```ts
 * import { startPeer } from "../../mod.ts";
 * const hosts = [1, 2, 3].map((i) => ({ hostname: "127.0.0.1", port: 7600 + i }));
 * const peers = await Promise.all(hosts.map((_, i) => startPeer({ hosts, id: i + 1 })));
 * await Promise.all(peers.map((p) => p.waitForView((v) => v.members.length === 3)));
 * await Promise.all(peers.map((p) => p.stop()));
 * ```
 */
export function startPeer(options: PeerOptions): Promise<Peer> {
  return Peer.start(options);
}
