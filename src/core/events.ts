/**
 * User events, delivered in one order at every member and between the same
 * two views (view-synchronous, as in Isis and JGroups). The leader of view
 * `v` (the peer that view names) orders the events its members hand it;
 * each is delivered once a majority of `v` holds it, and the proposal of
 * view `v + 1` carries the cut: how many events of `v` every member delivers
 * before it installs `v + 1`. A takeover learns every event a majority held
 * from its prepare phase, so nothing delivered anywhere is left out of the
 * cut, and every peer that installs `v + 1` delivers the same events of `v`.
 *
 * This file holds the state: the view's log, the sender's outbox, and the
 * names of events delivered already. `broadcast.ts` holds the handlers.
 *
 * @module
 */

import type { EventRun, PeerId, UserEvent } from "./messages.ts";

/** The longest payload of a user event, in bytes of UTF-8: 64 KiB. */
export const MAX_EVENT_PAYLOAD_BYTES = 65_536;

/** The longest name of a user event or query. */
export const MAX_EVENT_NAME_LENGTH = 128;

/** About how many bytes of events one message carries: a longer run goes out in parts. */
export const EVENTS_PER_MESSAGE_BYTES = 1_048_576;

/**
 * Why a user event's name or payload is not acceptable, or null.
 *
 * @example
 * ```ts
 * import { userEventError } from "./events.ts";
 * userEventError("deploy", "v2"); // null
 * userEventError("", "v2"); // "an event name must be 1 to 128 characters of text"
 * ```
 */
export function userEventError(name: unknown, payload: unknown): string | null {
  if (
    typeof name !== "string" || name.length === 0 || name.length > MAX_EVENT_NAME_LENGTH ||
    CONTROL.test(name)
  ) {
    return `an event name must be 1 to ${MAX_EVENT_NAME_LENGTH} characters of text`;
  }
  if (typeof payload !== "string") return "an event payload must be text";
  const bytes = new TextEncoder().encode(payload).length;
  if (bytes > MAX_EVENT_PAYLOAD_BYTES) {
    return `payload of ${bytes} bytes, more than ${MAX_EVENT_PAYLOAD_BYTES}`;
  }
  return null;
}

/** How many event numbers each process of a run has (see {@linkcode Outbox.restarted}). */
const PROCESS_NUMBERS = 2 ** 32;

/** Control characters: not in a name (it is printed on one line). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** One key for the three numbers that name an event. */
export const eventKey = (e: UserEvent): string => `${e.origin}/${e.originRun}/${e.number}`;

/** Roughly what an event takes in a message. */
const eventBytes = (e: UserEvent): number => e.payload.length + e.name.length + 64;

/**
 * The user events of one view, in their agreed order (position `i` is
 * `entries[i - 1]`), with how far this peer delivered them and, at the
 * leader, how far each member holds them and how far they are committed.
 *
 * @example
 * ```ts
 * import { EventLog } from "./events.ts";
 * const log = new EventLog(3);
 * log.append({ first: 1, events: [{ origin: 2, originRun: 9, number: 1, name: "deploy", payload: "v2" }] });
 * log.length; // 1
 * ```
 */
export class EventLog {
  /** The view these events belong to. */
  readonly viewId: number;
  readonly #entries: UserEvent[] = [];
  readonly #keys = new Set<string>();
  /** Events 1 to `delivered` are delivered here. */
  delivered = 0;
  /** At the leader: events 1 to `committed` are held by a majority. */
  committed = 0;
  /** At the leader: how many events each member holds, as it last said. */
  readonly have = new Map<PeerId, number>();
  /**
   * At the leader: since when each member's count has stood still, and when
   * what it lacks was last sent again (a lost EVENTS goes again after a retry
   * interval without progress, even while new events keep going out).
   */
  readonly stillSince = new Map<PeerId, number>();
  readonly resentAt = new Map<PeerId, number>();

  /** At the leader: member `m` holds `have` events, as it said at `now`. */
  held(m: PeerId, have: number, now: number): void {
    const before = this.have.get(m);
    this.have.set(m, Math.min(have, this.length));
    if (before !== this.have.get(m)) this.stillSince.set(m, now);
  }

  /** An empty log of view `viewId`. */
  constructor(viewId: number) {
    this.viewId = viewId;
  }

  /** How many events it holds (they are consecutive from position 1). */
  get length(): number {
    return this.#entries.length;
  }

  /** The event at `position` (from 1). */
  at(position: number): UserEvent {
    return this.#entries[position - 1];
  }

  /** Whether it holds the event `key` names (see {@linkcode eventKey}). */
  holds(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Appends the part of `run` that follows on what it holds; returns whether any did. */
  append(run: EventRun): boolean {
    const before = this.#entries.length;
    for (let i = Math.max(0, before + 1 - run.first); i < run.events.length; i++) {
      if (run.first + i !== this.#entries.length + 1) break; // a gap: the rest comes again
      const e = run.events[i];
      this.#entries.push(e);
      this.#keys.add(eventKey(e));
    }
    return this.#entries.length > before;
  }

  /**
   * The events from position `from` on, as many as fit one message (at least
   * one), and not beyond `upTo`.
   */
  runFrom(from: number, upTo = this.length): EventRun {
    const events: UserEvent[] = [];
    let bytes = 0;
    for (let p = Math.max(1, from); p <= upTo; p++) {
      const e = this.#entries[p - 1];
      bytes += eventBytes(e);
      if (events.length > 0 && bytes > EVENTS_PER_MESSAGE_BYTES) break;
      events.push(e);
    }
    return { first: Math.max(1, from), events };
  }
}

/** The process that sent `e`: its run, and which of the run's processes (numbers are consecutive in each). */
const senderKey = (e: UserEvent) => `${e.origin}/${e.originRun}/${Math.floor(e.number / PROCESS_NUMBERS)}`;

/**
 * The names of events delivered already, so that one sent again is not
 * ordered twice: by sender run, every number up to a floor and the few above.
 *
 * @example
 * ```ts
 * import { DeliveredEvents } from "./events.ts";
 * const seen = new DeliveredEvents();
 * const e = { origin: 2, originRun: 9, number: 1, name: "deploy", payload: "" };
 * seen.add(e);
 * seen.has(e); // true
 * ```
 */
export class DeliveredEvents {
  readonly #bySender = new Map<string, { floor: number; above: Set<number> }>();

  /** Records `e` as delivered. */
  add(e: UserEvent): void {
    const key = senderKey(e);
    const base = Math.floor(e.number / PROCESS_NUMBERS) * PROCESS_NUMBERS;
    const s = this.#bySender.get(key) ?? { floor: base, above: new Set<number>() };
    this.#bySender.set(key, s);
    if (e.number <= s.floor) return;
    s.above.add(e.number);
    while (s.above.delete(s.floor + 1)) s.floor++;
  }

  /** Whether `e` was delivered. */
  has(e: UserEvent): boolean {
    const s = this.#bySender.get(senderKey(e));
    return s !== undefined && (e.number <= s.floor || s.above.has(e.number));
  }
}

/**
 * This peer's own events not yet delivered: each is sent to the leader, and
 * again after a view change or a failure timeout without delivery.
 *
 * @example
 * ```ts
 * import { Outbox } from "./events.ts";
 * const outbox = new Outbox(2, 9);
 * const e = outbox.add("deploy", "v2", 0);
 * e.number; // 1
 * ```
 */
export class Outbox {
  readonly #origin: PeerId;
  readonly #run: number;
  #next = 1;
  /** Undelivered events by number, with when each was last sent. */
  readonly pending = new Map<number, { event: UserEvent; sentAt: number }>();

  /** The outbox of peer `origin`'s run `run`. */
  constructor(origin: PeerId, run: number) {
    this.#origin = origin;
    this.#run = run;
  }

  /**
   * This run, restored from its state for the `restarts`th time, numbers its
   * events from `restarts` × 2^32 on: never a number an earlier process used.
   */
  restarted(restarts: number): void {
    this.#next = restarts * PROCESS_NUMBERS + 1;
  }

  /** A new event of this run, kept until it is delivered. */
  add(name: string, payload: string, now: number): UserEvent {
    const event = { origin: this.#origin, originRun: this.#run, number: this.#next++, name, payload };
    this.pending.set(event.number, { event, sentAt: now });
    return event;
  }

  /** Whether `e` is one of this run's. */
  owns(e: UserEvent): boolean {
    return e.origin === this.#origin && e.originRun === this.#run;
  }
}
