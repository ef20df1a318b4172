/**
 * How events are printed: the exact text lines of docs/protocol.md, or JSON lines;
 * and the one JSON shape of events and of members, for every place that writes them.
 *
 * @module
 */

import type { PeerEvent } from "./effects.ts";

/** The output formats of `--format`. */
export type OutputFormat = "text" | "json";

type MemberNotice = Extract<PeerEvent, { type: "unreachable" | "left" }>;

function noticeText(e: MemberNotice): string {
  return `${e.isLeader ? "leader" : "peer"} ${e.member} ${e.type}`;
}

/**
 * Formats an event as the protocol's text line, or null for an event that
 * has none (forming anew is said on stderr).
 *
 * @example
 * ```ts
 * import { formatEventText } from "./format.ts";
 * formatEventText({
 *   type: "view",
 *   peer: 2,
 *   view: { epoch: { round: 1, former: 1, run: 1 }, id: 3, leader: 1, members: [1, 2, 3], incarnations: [1, 1, 1] },
 * }); // "{peer_id: 2, view_id: 3, leader: 1, memb_list: [1,2,3]}"
 * ```
 */
export function formatEventText(event: PeerEvent): string | null {
  // The contract's lines only: stderr says these (the seed's stdout stays as it was).
  if (event.type === "formed" || event.type === "event") return null;
  if (event.type === "view") {
    const { peer, view } = event;
    return `{peer_id: ${peer}, view_id: ${view.id}, leader: ${view.leader}, memb_list: [${
      view.members.join(",")
    }]}`;
  }
  return `{peer_id: ${event.peer}, view_id: ${event.viewId}, leader: ${event.leader}, message:"${
    noticeText(event)
  }"}`;
}

/**
 * A view installed, or the group formed anew (a view event follows), in the
 * one JSON shape of events: what `--format json` prints, `/events` sends and
 * `membership timeline` reads.
 */
export interface JsonViewEvent {
  /** `view`, or `formed` for forming anew. */
  readonly event: "view" | "formed";
  /** The peer that reports it. */
  readonly peer: number;
  /** The view id. */
  readonly view: number;
  /** The view's leader. */
  readonly leader: number;
  /** The view's members. */
  readonly members: readonly number[];
  /** The view's group history, `[round, former, run]`: (epoch, view) names one member list (absent in files of older versions). */
  readonly epoch?: readonly [number, number, number];
  /** Each member's tags, by member ID (absent when no member has any). */
  readonly tags?: Readonly<Record<number, Readonly<Record<string, string>>>>;
  /** For `formed`: the newest view known before. */
  readonly above?: number;
  /** ISO 8601 time. */
  readonly at: string;
}

/**
 * A user event delivered, as `--format json` prints it and `/events` streams it.
 *
 * @example
 * ```ts
 * import type { JsonUserEvent } from "./format.ts";
 * const line: JsonUserEvent = {
 *   event: "event", peer: 1, view: 4, position: 1, from: 2, name: "deploy", payload: "v2",
 *   at: "2026-01-01T00:00:00.000Z",
 * };
 * ```
 */
export interface JsonUserEvent {
  /** Always `event`. */
  readonly event: "event";
  /** The peer that delivers it. */
  readonly peer: number;
  /** The view it is delivered in. */
  readonly view: number;
  /** Its position in that view's order, from 1: the same at every member. */
  readonly position: number;
  /** The member that broadcast it. */
  readonly from: number;
  /** Its name. */
  readonly name: string;
  /** Its payload. */
  readonly payload: string;
  /** ISO 8601 time. */
  readonly at: string;
}

/** A member reported unreachable, or gone on purpose, in the one JSON shape of events. */
export interface JsonNoticeEvent {
  /** What happened to `member`. */
  readonly event: "unreachable" | "left";
  /** The peer that reports it. */
  readonly peer: number;
  /** The view the reporting peer had. */
  readonly view: number;
  /** The leader the reporting peer followed. */
  readonly leader: number;
  /** The member reported. */
  readonly member: number;
  /** Whether the member reported was the leader. */
  readonly is_leader: boolean;
  /** The text line's message, e.g. `peer 3 left` (absent in files of older versions). */
  readonly message?: string;
  /** ISO 8601 time. */
  readonly at: string;
}

/** An event in its one JSON shape (snake_case, like every JSON this program writes). */
export type JsonEvent = JsonViewEvent | JsonNoticeEvent | JsonUserEvent;

/**
 * `at.toISOString()`, for the years 0 to 9999, from its UTC fields: in a Deno process the first
 * `toISOString` call costs about 1.4 MiB of resident memory (measured on a lone peer), the
 * fields nothing. Other years (and an invalid date, which throws) go to `toISOString` itself.
 */
function isoTime(at: Date): string {
  const year = at.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) return at.toISOString();
  const two = (n: number) => (n < 10 ? "0" : "") + n;
  const ms = at.getUTCMilliseconds();
  return `${year < 1000 ? String(year).padStart(4, "0") : year}-${two(at.getUTCMonth() + 1)}-${
    two(at.getUTCDate())
  }T${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())}.${
    ms < 10 ? "00" : ms < 100 ? "0" : ""
  }${ms}Z`;
}

/**
 * An event as its JSON object, at time `at`.
 *
 * @example
 * ```ts
 * import { eventJson } from "./format.ts";
 * eventJson({ type: "left", peer: 1, viewId: 4, leader: 1, member: 3, isLeader: false }, new Date(0));
 * // { event: "left", peer: 1, view: 4, leader: 1, member: 3, is_leader: false, message: "peer 3 left", at: … }
 * ```
 */
export function eventJson(event: PeerEvent, at: Date): JsonEvent {
  if (event.type === "view" || event.type === "formed") {
    const { peer, view } = event;
    return {
      event: event.type,
      peer,
      view: view.id,
      leader: view.leader,
      members: view.members,
      epoch: [view.epoch.round, view.epoch.former, view.epoch.run],
      ...(view.tags ? { tags: Object.fromEntries(view.members.map((m, i) => [m, view.tags![i]])) } : {}),
      ...(event.type === "formed" ? { above: event.above } : {}),
      at: isoTime(at),
    };
  }
  if (event.type === "event") {
    const { peer, viewId, position, event: e } = event;
    return {
      event: "event",
      peer,
      view: viewId,
      position,
      from: e.origin,
      name: e.name,
      payload: e.payload,
      at: isoTime(at),
    };
  }
  return {
    event: event.type,
    peer: event.peer,
    view: event.viewId,
    leader: event.leader,
    member: event.member,
    is_leader: event.isLeader,
    message: noticeText(event),
    at: isoTime(at),
  };
}

/**
 * Formats an event as one JSON object with a timestamp ({@linkcode eventJson}).
 *
 * @example
 * ```ts
 * import { formatEventJson } from "./format.ts";
 * formatEventJson(
 *   {
 *     type: "view",
 *     peer: 2,
 *     view: { epoch: { round: 1, former: 1, run: 1 }, id: 3, leader: 1, members: [1, 2, 3], incarnations: [1, 1, 1] },
 *   },
 *   new Date(0),
 * ); // '{"event":"view","peer":2,"view":3,"leader":1,"members":[1,2,3],"epoch":[1,1,1],"at":"1970-01-01T00:00:00.000Z"}'
 * ```
 */
export function formatEventJson(event: PeerEvent, at: Date): string {
  return JSON.stringify(eventJson(event, at));
}

/**
 * A member of the view in the one JSON shape of members: what
 * `members --format json` prints and `/v1/status` serves.
 */
export interface JsonMember {
  /** The member's ID. */
  readonly id: number;
  /** `host:port`, as the hostsfile names it. */
  readonly address: string;
  /** Heard from, held unreachable, or leaving on purpose. */
  readonly state: "alive" | "suspected" | "leaving";
  /** Whether it leads the view the reporting peer holds. */
  readonly role: "leader" | "member";
  /** The run of it that the view holds. */
  readonly incarnation: number;
  /** Whole milliseconds since the reporting peer last heard from it. */
  readonly last_heard_ms: number;
  /** Its tags, as the view agreed them (absent in files of older versions). */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * A member as its JSON object: `member` as the core reports it, its address,
 * and the leader of the view.
 *
 * @example
 * ```ts
 * import { memberJson } from "./format.ts";
 * memberJson({ id: 2, incarnation: 7, silentMs: 87.57, state: "alive", tags: { role: "db" } }, "127.0.0.1:7602", 1);
 * // { id: 2, address: "127.0.0.1:7602", state: "alive", role: "member", incarnation: 7, last_heard_ms: 88,
 * //   tags: { role: "db" } }
 * ```
 */
export function memberJson(
  member: {
    readonly id: number;
    readonly incarnation: number;
    readonly silentMs: number;
    readonly state: JsonMember["state"];
    readonly tags?: Readonly<Record<string, string>>;
  },
  address: string,
  leader: number | null,
): JsonMember {
  return {
    id: member.id,
    address,
    state: member.state,
    role: member.id === leader ? "leader" : "member",
    incarnation: member.incarnation,
    last_heard_ms: Math.max(0, Math.round(member.silentMs)),
    tags: member.tags ?? {},
  };
}

/**
 * Formats an event in the chosen format (null: nothing to print).
 *
 * @example
 * ```ts
 * import { formatEvent } from "./format.ts";
 * const line = formatEvent(
 *   { type: "view", peer: 1, view: { epoch: { round: 1, former: 1, run: 1 }, id: 1, leader: 1, members: [1], incarnations: [1] } },
 *   "text",
 *   new Date(),
 * );
 * ```
 */
export function formatEvent(event: PeerEvent, format: OutputFormat, at: Date): string | null {
  return format === "json" ? formatEventJson(event, at) : formatEventText(event);
}
