/**
 * `membership members URL`: a running group as a table, like `serf members`,
 * from the `GET /v1/status` of one peer started with `--status`.
 * {@linkcode formatMembers} is the pure part; {@linkcode fetchStatus} asks
 * the peer. Portable: only `fetch`, which Deno and Node both have.
 *
 * @module
 */

import { matchesTags, type Tags } from "../core/tags.ts";
import type { JsonMember } from "../core/format.ts";
import type { Epoch } from "../core/messages.ts";
import type { PeerHealth } from "../core/peer_core.ts";

/** How long `members` waits for a peer's answer. */
export const MEMBERS_TIMEOUT_MS = 3_000;

/** One member as `GET /v1/status` reports it: the one JSON shape of members. */
export type StatusMember = JsonMember;

/** The parts of `GET /v1/status` that `members` uses. */
export interface StatusReport {
  /** The reporting peer's ID. */
  readonly id: number;
  /** Its role. */
  readonly role: string;
  /** The leader it follows, or null while joining. */
  readonly leader: number | null;
  /** Its installed view (its id, and the epoch of its group history), or null while joining. */
  readonly view: { readonly id: number; readonly epoch?: Epoch } | null;
  /** Each member of the view. */
  readonly members: readonly StatusMember[];
  /** Its own health, and the peers on probation with it (a peer of an older version sends none). */
  readonly health?: PeerHealth;
}

/** One row of the table, as `members --format json` prints it: the same shape as `/v1/status`'s members. */
export type MemberRow = JsonMember;

/** The URL that answered was not a peer's status endpoint, or nothing answered. */
export class StatusFetchError extends Error {
  override name = "StatusFetchError";
}

/**
 * A duration as `members` prints it: `0ms`, `120ms`, `3.2s`, `2m05s`.
 *
 * @example
 * ```ts
 * import { formatSince } from "./members.ts";
 * formatSince(3_240); // "3.2s"
 * ```
 */
export function formatSince(ms: number): string {
  const rounded = Math.max(0, Math.round(ms));
  if (rounded < 1_000) return `${rounded}ms`;
  if (rounded < 59_950) return `${(rounded / 1_000).toFixed(1)}s`;
  const s = Math.round(rounded / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3_600)}h${String(Math.floor((s % 3_600) / 60)).padStart(2, "0")}m`;
}

/**
 * The rows of the table: one per member of the reporting peer's view, in
 * view order, as `/v1/status` serves them.
 *
 * @example
 * ```ts
 * import { memberRows } from "./members.ts";
 * memberRows({
 *   id: 2, role: "member", leader: 1, view: { id: 2 },
 *   members: [{ id: 1, address: "127.0.0.1:7601", state: "alive", role: "leader", incarnation: 1, last_heard_ms: 40 }],
 * }); // the same one member
 * ```
 */
export function memberRows(status: StatusReport, filter: Tags = {}): MemberRow[] {
  return status.members.filter((m) => matchesTags(m.tags ?? {}, filter));
}

const COLUMNS = ["ID", "ADDRESS", "STATE", "ROLE", "INCARNATION", "LAST HEARD", "TAGS"] as const;

/** A member's tags as the TAGS column shows them: `key=value` joined by commas, or `-`. */
function tagsCell(tags: Tags | undefined): string {
  const entries = Object.entries(tags ?? {});
  return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k}=${v}`).join(",");
}

/**
 * The group as `members` prints it: a table (columns ID, ADDRESS, STATE,
 * ROLE, INCARNATION, LAST HEARD, TAGS, aligned with spaces, a header line
 * first), or with `format` `"json"` the rows as a JSON array; only the
 * members with every tag of `filter` (`members --tag role=db`). Each line
 * ends with a newline.
 *
 * @example
 * ```ts
 * import { formatMembers } from "./members.ts";
 * const text = formatMembers({
 *   id: 1, role: "leader", leader: 1, view: { id: 1, epoch: { round: 1, former: 1, run: 1 } },
 *   members: [{ id: 1, address: "127.0.0.1:7601", state: "alive", role: "leader", incarnation: 1, last_heard_ms: 0 }],
 * }, "text");
 * // ID  ADDRESS         STATE  ROLE    INCARNATION  LAST HEARD  TAGS
 * // 1   127.0.0.1:7601  alive  leader  1            0ms         -
 * // view 1, epoch 1/1/1
 * ```
 */
export function formatMembers(status: StatusReport, format: "text" | "json", filter: Tags = {}): string {
  const rows = memberRows(status, filter);
  if (format === "json") return JSON.stringify(rows, null, 2) + "\n";
  const cells = [
    [...COLUMNS],
    ...rows.map((r) => [
      String(r.id),
      r.address,
      r.state,
      r.role,
      String(r.incarnation),
      formatSince(r.last_heard_ms),
      tagsCell(r.tags),
    ]),
  ];
  const widths = COLUMNS.map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  const table = cells.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd() + "\n")
    .join("");
  const e = status.view?.epoch;
  // The group history the view belongs to: (epoch, view) names one member list.
  const view = status.view && e ? `view ${status.view.id}, epoch ${e.round}/${e.former}/${e.run}\n` : "";
  return table + view + healthLines(status.health);
}

/** What `members` says of health: peers on probation, and this peer removed while alive. */
function healthLines(health: PeerHealth | undefined): string {
  if (!health) return "";
  const lines = health.probation.map((p) =>
    `peer ${p.peer} on probation: removed ${p.removals} time${p.removals === 1 ? "" : "s"} while alive; ` +
    `${p.arrived} of its datagrams in the last ${formatSince(p.windowMs)}\n`
  );
  if (health.removedWhileAlive > 0) {
    lines.push(
      `this peer was removed while alive ${health.removedWhileAlive} time(s): its packets may be lost\n`,
    );
  }
  return lines.join("");
}

/** What is wrong with `value` as a status report, or null if it is one. */
function shapeProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const v = value as Record<string, unknown>;
  const isId = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= 1;
  if (!isId(v.id)) return "no peer id";
  if (typeof v.role !== "string") return "no role";
  if (v.leader !== null && !isId(v.leader)) return "no leader";
  if (v.view !== null && (typeof v.view !== "object" || !isId((v.view as { id?: unknown }).id))) {
    return "no view";
  }
  if (!Array.isArray(v.members)) return "no members";
  for (const m of v.members as unknown[]) {
    if (typeof m !== "object" || m === null) return "a member that is not an object";
    const { id, address, incarnation, last_heard_ms, state, role } = m as Record<string, unknown>;
    if (
      !isId(id) || typeof address !== "string" || typeof incarnation !== "number" ||
      typeof last_heard_ms !== "number" || typeof state !== "string" || typeof role !== "string"
    ) {
      return "a member without id, address, state, role, incarnation and last_heard_ms";
    }
  }
  return null;
}

/**
 * Checks that `value` (parsed JSON) is a status report; throws
 * {@linkcode StatusFetchError} naming `url` if not.
 */
export function parseStatus(value: unknown, url: string): StatusReport {
  const problem = shapeProblem(value);
  if (problem) throw new StatusFetchError(`${url} is not a membership status endpoint (${problem})`);
  return value as StatusReport;
}

/**
 * The status URL for what a user typed: `http://` is added when there is no
 * scheme, and `/v1/status` when the path does not end with it.
 *
 * @example
 * ```ts
 * import { statusUrl } from "./members.ts";
 * statusUrl("127.0.0.1:8080"); // "http://127.0.0.1:8080/v1/status"
 * ```
 */
export function statusUrl(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new StatusFetchError(`'${text}' is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new StatusFetchError(`'${text}' is not an http:// URL`);
  }
  if (!url.pathname.endsWith("/v1/status")) url.pathname = url.pathname.replace(/\/*$/, "") + "/v1/status";
  return url.href;
}

/** Why `fetch` failed, in a few words. */
function reason(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const text = `${err.message ?? ""} ${err.cause?.code ?? ""} ${err.cause?.message ?? ""}`;
  if (/ECONNREFUSED|connection refused/i.test(text)) return "connection refused";
  if (/ENOTFOUND|EAI_AGAIN|failed to lookup|dns error|name or service not known/i.test(text)) {
    return "unknown host";
  }
  if (/ECONNRESET|connection reset/i.test(text)) return "connection reset";
  const line = (err.cause?.message ?? err.message ?? String(e)).split("\n")[0];
  return line.replace(/^(error sending request for url \([^)]*\): )+/i, "");
}

/**
 * Fetches and checks `GET /v1/status` from `text` (a URL, or `host:port`);
 * throws {@linkcode StatusFetchError} with one line when nothing answers
 * within `timeoutMs`, or the answer is not a status report. Deno's missing
 * permission errors are thrown as they are.
 *
 * @example
 * ```ts ignore
 * import { fetchStatus, formatMembers } from "./members.ts";
 * console.log(formatMembers(await fetchStatus("http://127.0.0.1:8080"), "text"));
 * ```
 */
export async function fetchStatus(text: string, timeoutMs = MEMBERS_TIMEOUT_MS): Promise<StatusReport> {
  const url = statusUrl(text);
  const signal = AbortSignal.timeout(timeoutMs);
  let body: string;
  try {
    const response = await fetch(url, { signal, headers: { accept: "application/json" } });
    body = await response.text();
    if (!response.ok) {
      throw new StatusFetchError(
        `${url} answered HTTP ${response.status}: not a membership status endpoint`,
      );
    }
  } catch (e) {
    if (e instanceof StatusFetchError || (e as Error)?.name === "NotCapable") throw e;
    if (signal.aborted) throw new StatusFetchError(`${url}: no answer within ${timeoutMs / 1000} s`);
    throw new StatusFetchError(`cannot reach ${url}: ${reason(e)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new StatusFetchError(`${url} is not a membership status endpoint (its answer is not JSON)`);
  }
  return parseStatus(value, url);
}
