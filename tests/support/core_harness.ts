/**
 * The shared harness of the scripted core tests (tests/peer_core_test.ts,
 * tests/batching_test.ts, tests/peer_core_recovery_test.ts), in the manner of
 * raft's interaction tests: ONE PeerCore fed messages and ticks by hand, and
 * the exact effects it returns checked. Every precondition is reached through
 * real messages, never private fields.
 *
 * Messages carry an epoch like the real ones: by default {@linkcode E1}, the
 * epoch peer 1 founds in these scripts (ballot round 1, its first run).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DurableState, Effect, PeerEvent } from "../../src/core/effects.ts";
import type {
  Ballot,
  Epoch,
  Message,
  MessageType,
  PeerId,
  ReqMessage,
  View,
} from "../../src/core/messages.ts";
import { PeerCore } from "../../src/core/peer_core.ts";
import { b, E1, run, viewOf } from "./fixtures.ts";

export { b, E1, run, viewOf };

/** The heartbeat interval of the scripts. */
export const HEARTBEAT_MS = 100;
/** Missed intervals before a member is unreachable: a failure timeout is 500 ms. */
export const FAIL_AFTER = 5;
/** Peer 1's founding ballot: the first forming attempt of a peer with no promise. */
export const FOUNDER: Ballot = { round: 1, leader: 1 };

/** A core for peer `id` of a hostsfile of `peerCount`, as its usual run; no jitter with the default random. */
export function newCore(
  id: PeerId,
  peerCount: number,
  random = () => 0.5,
  restored?: DurableState,
): PeerCore {
  return new PeerCore({
    id,
    peerCount,
    incarnation: restored?.incarnation ?? run(id),
    heartbeatMs: HEARTBEAT_MS,
    failAfter: FAIL_AFTER,
    random,
    ...(restored ? { restored } : {}),
  });
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A message without its envelope. */
export type Body = DistributiveOmit<Message, "from" | "incarnation" | "epoch">;
/** A send effect. */
export type Send = Extract<Effect, { kind: "send" }>;

/**
 * A message from `from`, as its usual run unless `incarnation` says otherwise,
 * in epoch `epoch` (null: a sender with none, a peer that never installed a
 * view). A NEWVIEW's epoch is its view's, as on the wire.
 */
export function msg(from: PeerId, body: Body, incarnation = run(from), epoch: Epoch | null = E1): Message {
  const e = body.type === "NEWVIEW" ? body.view.epoch : epoch;
  return { ...body, from, incarnation, ...(e ? { epoch: e } : {}) } as Message;
}

/** A message from a peer outside every group (no epoch): a fresh joiner's JOIN, say. */
export const fresh = (from: PeerId, body: Body, incarnation = run(from)): Message =>
  msg(from, body, incarnation, null);

/** A heartbeat's body. */
export const heartbeat = (
  viewId: number,
  leading: Ballot | null = null,
  heard: [PeerId, number][] = [],
): Body => ({ type: "HEARTBEAT", viewId, leading, heard });

/** The send effects, of one message type if given. */
export function sends(effects: Effect[], type?: MessageType): Send[] {
  return effects.filter((e): e is Send => e.kind === "send" && (!type || e.message.type === type));
}

/** The events reported. */
export function events(effects: Effect[]): PeerEvent[] {
  return effects.flatMap((e) => e.kind === "event" ? [e.event] : []);
}

type Persist = Extract<Effect, { kind: "persist" }>;

/**
 * A step that changed the durable state: its first effect, and only that one,
 * is the persist (written before any message or output of the step). Returns
 * the effects after it.
 */
export function persistFirst(effects: Effect[], what = "the step"): Effect[] {
  assert.equal(effects[0]?.kind, "persist", `${what} persists first`);
  assert.equal(effects.filter((e) => e.kind === "persist").length, 1, `${what} persists once`);
  return effects.slice(1);
}

/** The durable state a step persisted (it must have). */
export function persistedState(effects: Effect[]): DurableState {
  persistFirst(effects);
  return (effects[0] as Persist).state;
}

/** A step that must not touch the durable state; returns its effects. */
export function noPersist(effects: Effect[], what = "the step"): Effect[] {
  assert.deepEqual(effects.filter((e) => e.kind === "persist"), [], `${what} persists nothing`);
  return effects;
}

/** Effects with each log reduced to its level and key: the key is the contract, the text is for people. */
export function shape(effects: Effect[]): unknown[] {
  return effects.map((e) => e.kind === "log" ? { kind: "log", level: e.level, key: e.key } : e);
}

/** An expected send of `body` from `from` (in `epoch`, E1 by default) to `to`. */
export const send = (
  from: PeerId,
  to: PeerId,
  body: Body,
  channel: "stream" | "datagram" = "stream",
  epoch: Epoch | null = E1,
): Effect => ({ kind: "send", channel, to, message: msg(from, body, run(from), epoch) });

/** The same send to each of `to`. */
export const sendAll = (
  from: PeerId,
  to: PeerId[],
  body: Body,
  channel: "stream" | "datagram" = "stream",
  epoch: Epoch | null = E1,
) => to.map((p) => send(from, p, body, channel, epoch));

/** An expected view event. */
export const viewEvent = (peer: PeerId, view: View): Effect => ({
  kind: "event",
  event: { type: "view", peer, view },
});

/** An expected unreachable event. */
export const unreachable = (peer: PeerId, view: View, member: PeerId, isLeader = false): Effect => ({
  kind: "event",
  event: { type: "unreachable", peer, viewId: view.id, leader: view.leader, member, isLeader },
});

/** An expected reset of the connection to `peer`. */
export const reset = (peer: PeerId): Effect => ({ kind: "reset", peer });

/** An expected log, by level and key. */
export const log = (level: string, key: string) => ({ kind: "log", level, key });

/** The OK a member sends for a REQ the core sent it. */
export function okFor(req: Send): Message {
  const { requestId, proposal } = req.message as ReqMessage;
  return msg(req.to, { type: "OK", requestId, viewId: proposal.viewId, ballot: proposal.ballot });
}

/**
 * The effects with each heartbeat's `heard` list emptied: what a heartbeat
 * vouches for has its own tests, the others compare the rest exactly.
 */
export function withoutEvidence(effects: Effect[]): Effect[] {
  return effects.map((e) =>
    e.kind === "send" && e.message.type === "HEARTBEAT" ? { ...e, message: { ...e.message, heard: [] } } : e
  );
}

/**
 * Ticks `core` every heartbeat interval over (`from`, `to`], each tick after
 * `chatter` arrives (which must change nothing visible); each tick's effects by time.
 */
export function runTicks(
  core: PeerCore,
  from: number,
  to: number,
  chatter: Message[] = [],
): Map<number, Effect[]> {
  const out = new Map<number, Effect[]>();
  for (let t = from + HEARTBEAT_MS; t <= to; t += HEARTBEAT_MS) {
    for (const m of chatter) assert.deepEqual(core.receive(t, m), [], `${m.type} from ${m.from} at ${t}`);
    out.set(t, withoutEvidence(core.tick(t)));
  }
  return out;
}

/** Peer `id` (of `peerCount`), started at 0 and made a member of `view` by its leader's NEWVIEW at 0. */
export function memberOf(view: View, id: PeerId, peerCount: number): PeerCore {
  const core = newCore(id, peerCount);
  core.start(0);
  const fx = core.receive(0, msg(view.leader, { type: "NEWVIEW", view, ballot: FOUNDER }));
  assert.deepEqual(persistFirst(fx, "installing a view"), [viewEvent(id, view)]);
  assert.equal(core.role, "member");
  return core;
}

/**
 * Peer 1 founds the group at time `at`: every other peer of the hostsfile
 * asks it to join (none is in a group), so it forms at once, as ballot
 * {@linkcode FOUNDER}: FORM to all, the others promise knowing no view, it
 * proposes view 1 = [1] of epoch {@linkcode E1}, they accept. Returns the
 * effects of the step that installed view 1.
 */
export function found(core: PeerCore, peerCount: number, at = 0): Effect[] {
  const others = Array.from({ length: peerCount - 1 }, (_, i) => i + 2);
  core.start(at);
  for (const p of others) core.receive(at, fresh(p, { type: "JOIN", knownViewId: 0 }));
  const forms = sends(core.tick(at), "FORM");
  assert.equal(forms.length, peerCount - 1, "peer 1 asks the hostsfile to form");
  const { requestId, ballot } = forms[0].message as Extract<Message, { type: "FORM" }>;
  for (const p of others) {
    core.receive(
      at,
      fresh(p, {
        type: "FORM_PROMISE",
        requestId,
        ballot,
        newest: null,
        pending: null,
        accepted: null,
        inView: false,
      }),
    );
  }
  let installed: Effect[] = [];
  for (const p of others) {
    const fx = core.receive(at, fresh(p, { type: "FORM_OK", requestId, ballot }));
    if (events(fx).some((e) => e.type === "view")) installed = fx;
  }
  assert.deepEqual(core.view, viewOf(1, [1]), "view 1 founded");
  assert.equal(core.role, "leader");
  return installed;
}

/**
 * Peer 1 (of `peerCount`) leading `members`: it founds at 0 (see
 * {@linkcode found}), then admits the others in turn, their JOINs at 0, every
 * REQ answered OK at once, ticks every 100 up to 500.
 */
export function leaderOf(members: PeerId[], peerCount: number): PeerCore {
  const core = newCore(1, peerCount);
  const answer = (t: number, fx: Effect[]) => {
    for (const r of sends(fx, "REQ")) answer(t, core.receive(t, okFor(r)));
  };
  found(core, peerCount);
  for (const p of members.slice(1)) answer(0, core.receive(0, fresh(p, { type: "JOIN", knownViewId: 0 })));
  for (let t = 100; t <= 500; t += 100) answer(t, core.tick(t));
  // One view change per joiner, each committed before the next JOIN arrives.
  assert.deepEqual(core.view, viewOf(members.length, members));
  assert.equal(core.role, "leader");
  return core;
}

// ---- several cores wired together ----

/** One message the router carried (or dropped), when, and what its delivery made the addressee persist. */
export interface Carried {
  readonly at: number;
  readonly to: PeerId;
  readonly message: Message;
  readonly delivered: boolean;
  /** The durable state the addressee persisted handling it (before anything it sent), if any. */
  readonly persisted?: DurableState;
}

/**
 * The cores of one hostsfile, wired together: every `send` effect is
 * delivered at once, in order; a crashed peer (no core) or a cut link drops
 * it. Every step is checked to persist, if at all, once and first.
 */
export class Router {
  readonly peerCount: number;
  now = 0;
  readonly cores = new Map<PeerId, PeerCore>();
  /** Every message sent, in order. */
  readonly carried: Carried[] = [];
  /** Events of each peer's current run. */
  readonly events = new Map<PeerId, PeerEvent[]>();
  /** Diagnostics of each peer's current run, as "level key". */
  readonly logs = new Map<PeerId, string[]>();
  /** Links that drop what they carry, as "from>to". */
  readonly cut = new Set<string>();
  readonly #queue: { to: PeerId; message: Message }[] = [];

  constructor(peerCount: number) {
    this.peerCount = peerCount;
  }

  /** Starts peer `id` as run `incarnation`, a fresh core that kept nothing (or `restored`), now. */
  start(id: PeerId, incarnation = run(id), restored?: DurableState): PeerCore {
    const core = new PeerCore({
      id,
      peerCount: this.peerCount,
      incarnation,
      heartbeatMs: HEARTBEAT_MS,
      failAfter: FAIL_AFTER,
      random: () => 0.5,
      restored,
    });
    this.cores.set(id, core);
    this.events.set(id, []);
    this.logs.set(id, []);
    this.#apply(id, core.start(this.now));
    this.flush();
    return core;
  }

  /** Peer `id` stops at once, keeping nothing. */
  crash(id: PeerId): void {
    this.cores.delete(id);
  }

  core(id: PeerId): PeerCore {
    return this.cores.get(id)!;
  }

  /** Hands `message` to its addressee as if it came off the network, then delivers what follows. */
  inject(to: PeerId, message: Message): void {
    this.#queue.push({ to, message });
    this.flush();
  }

  /** Delivers every queued message, and what each causes, in order. */
  flush(): void {
    for (let item = this.#queue.shift(); item; item = this.#queue.shift()) {
      const { to, message } = item;
      const core = this.cores.get(to);
      if (!core || this.cut.has(`${message.from}>${to}`)) {
        this.carried.push({ at: this.now, to, message, delivered: false });
        continue;
      }
      const persisted = this.#apply(to, core.receive(this.now, message));
      this.carried.push({ at: this.now, to, message, delivered: true, persisted });
    }
  }

  /** One heartbeat interval on: every core ticks, in ID order, each tick's messages delivered at once. */
  tick(): void {
    this.now += HEARTBEAT_MS;
    for (const id of [...this.cores.keys()].sort((a, b) => a - b)) {
      this.#apply(id, this.cores.get(id)!.tick(this.now));
      this.flush();
    }
  }

  /** Ticks for `ms`. */
  run(ms: number): void {
    for (const end = this.now + ms; this.now < end;) this.tick();
  }

  /** Ticks until `done` holds (checked after every tick), for at most `ms`; returns whether it did. */
  runUntil(done: () => boolean, ms: number): boolean {
    for (const end = this.now + ms; this.now < end;) {
      this.tick();
      if (done()) return true;
    }
    return false;
  }

  /** Messages of one type sent from `since` on. */
  sent(type: MessageType, since: number): Carried[] {
    return this.carried.filter((c) => c.message.type === type && c.at >= since);
  }

  /** The views peer `id`'s current run installed (printed), in order. */
  views(id: PeerId): View[] {
    return (this.events.get(id) ?? []).flatMap((e) => e.type === "view" ? [e.view] : []);
  }

  /** Forgets the events and diagnostics so far. */
  clearOutput(): void {
    for (const id of this.cores.keys()) {
      this.events.set(id, []);
      this.logs.set(id, []);
    }
  }

  /** Carries out one step's effects; returns what it persisted. */
  #apply(id: PeerId, effects: Effect[]): DurableState | undefined {
    const persists = effects.flatMap((e, i) => e.kind === "persist" ? [i] : []);
    assert.ok(
      persists.length === 0 || (persists.length === 1 && persists[0] === 0),
      `peer ${id}: one persist a step, at its head`,
    );
    let persisted: DurableState | undefined;
    for (const e of effects) {
      if (e.kind === "persist") persisted = e.state;
      else if (e.kind === "send") this.#queue.push({ to: e.to, message: e.message });
      else if (e.kind === "event") this.events.get(id)!.push(e.event);
      else if (e.kind === "log") this.logs.get(id)!.push(`${e.level} ${e.key}`);
    }
    return persisted;
  }
}

/** Peers 1..n started together at 0: they found view 1 and admit the others, ending in view n = [1..n]. */
export function groupOf(n: number): Router {
  const net = new Router(n);
  for (let id = 1; id <= n; id++) net.start(id);
  const everyone = Array.from({ length: n }, (_, i) => i + 1);
  assert.ok(net.runUntil(() => [...net.cores.values()].every((c) => c.view?.id === n), 3_000));
  for (const c of net.cores.values()) assert.deepEqual(c.view, viewOf(n, everyone));
  net.run(300); // past every catch-up's retry interval: what follows starts afresh
  net.clearOutput();
  return net;
}

/** Who sent messages of a type, to whom, as "from>to". */
export const links = (carried: Carried[]) => carried.map((c) => `${c.message.from}>${c.to}`);
