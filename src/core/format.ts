/**
 * How events are printed: the exact text lines of PROTOCOL.md, or JSON lines.
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
  if (event.type === "formed") return null; // the contract's lines only; stderr says it
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
 * Formats an event as one JSON object with a timestamp.
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
  if (event.type === "view" || event.type === "formed") {
    const { peer, view } = event;
    return JSON.stringify({
      event: event.type,
      peer,
      view: view.id,
      leader: view.leader,
      members: view.members,
      // the group history: (epoch, view) names one view; [round, former, former's run]
      epoch: [view.epoch.round, view.epoch.former, view.epoch.run],
      ...(event.type === "formed" ? { above: event.above } : {}),
      at: at.toISOString(),
    });
  }
  return JSON.stringify({
    event: event.type,
    peer: event.peer,
    view: event.viewId,
    leader: event.leader,
    member: event.member,
    is_leader: event.isLeader,
    message: noticeText(event),
    at: at.toISOString(),
  });
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
