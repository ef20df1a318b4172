/**
 * `membership timeline FILE...`: the `--format json` output of a run's peers
 * as an SVG picture: a lane per peer over time, a box per view it installed,
 * marks where peers were reported unreachable or left, and where a peer's
 * lane ends because it crashed or left. {@linkcode renderTimeline} is pure;
 * {@linkcode readTimelineFiles} reads and checks the files. Portable: `node:`
 * modules only.
 *
 * @module
 */

import type { JsonEvent, JsonNoticeEvent, JsonViewEvent } from "../core/format.ts";

/** A view installed, or the group formed anew: the one JSON shape of events (src/core/format.ts). */
export type TimelineViewEvent = JsonViewEvent;

/** A member reported unreachable, or gone on purpose: the one JSON shape of events. */
export type TimelineNoticeEvent = JsonNoticeEvent;

/** One line of a peer's `--format json` output. */
export type TimelineEvent = JsonEvent;

/** A timeline input file that cannot be read, or is not `--format json` output. */
export class TimelineInputError extends Error {
  override name = "TimelineInputError";
}

const isInt = (x: unknown, min = 0): x is number => typeof x === "number" && Number.isInteger(x) && x >= min;

/** What is wrong with `value` as an event, or null if it is one. */
function eventProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const v = value as Record<string, unknown>;
  if (!["view", "formed", "unreachable", "left"].includes(v.event as string)) {
    return `no event view, formed, unreachable or left`;
  }
  if (!isInt(v.peer, 1)) return "no peer";
  if (!isInt(v.view) || !isInt(v.leader)) return "no view or leader";
  if (typeof v.at !== "string" || Number.isNaN(Date.parse(v.at))) return "no time 'at'";
  if (v.event === "view" || v.event === "formed") {
    if (!Array.isArray(v.members) || !v.members.every((m) => isInt(m, 1))) return "no members";
  } else if (!isInt(v.member, 1)) {
    return "no member";
  }
  return null;
}

/**
 * The events of one file's text (one JSON object a line; blank lines are
 * skipped); throws {@linkcode TimelineInputError} naming `name` and the line.
 *
 * @example
 * ```ts
 * import { parseTimelineText } from "./timeline.ts";
 * parseTimelineText(
 *   '{"event":"view","peer":1,"view":1,"leader":1,"members":[1],"at":"2024-01-01T00:00:00.000Z"}\n',
 *   "peer1.jsonl",
 * ).length; // 1
 * ```
 */
export function parseTimelineText(text: string, name: string): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new TimelineInputError(
        `'${name}' line ${i + 1} is not JSON (want a peer's --format json output)`,
      );
    }
    const problem = eventProblem(value);
    if (problem) {
      throw new TimelineInputError(`'${name}' line ${i + 1} is not a --format json event (${problem})`);
    }
    events.push(value as TimelineEvent);
  }
  if (events.length === 0) {
    throw new TimelineInputError(`'${name}' has no events (want a peer's --format json output)`);
  }
  return events;
}

/** Reads and parses every file; the first bad one throws {@linkcode TimelineInputError}. */
export async function readTimelineFiles(paths: readonly string[]): Promise<TimelineEvent[]> {
  const events: TimelineEvent[] = [];
  for (const path of paths) {
    let text: string;
    try {
      // Loaded here, not at the top: mod.ts exports this module to every peer process.
      text = await (await import("node:fs/promises")).readFile(path, "utf8");
    } catch (e) {
      const { code, name } = e as { code?: string; name?: string };
      if (name === "NotCapable") throw e;
      throw new TimelineInputError(`cannot read '${path}'${code ? ` (${code})` : ""}`);
    }
    events.push(...parseTimelineText(text, path));
  }
  return events;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** Background and border colours of view boxes, by view id: the same view has the same colour on every lane. */
const PALETTE: readonly (readonly [string, string])[] = [
  ["#dbeafe", "#3b82f6"],
  ["#dcfce7", "#22c55e"],
  ["#fef3c7", "#d97706"],
  ["#f3e8ff", "#9333ea"],
  ["#ffe4e6", "#e11d48"],
  ["#cffafe", "#0891b2"],
  ["#ede9fe", "#6d28d9"],
  ["#fae8d5", "#b45309"],
];
const RED = "#dc2626";
const BLUE = "#2563eb";
const PURPLE = "#7c3aed";
const INK = "#1f2937";
const MUTED = "#6b7280";
const FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";

const FONT_SIZE = 11;
const LEFT = 78; // the lane labels
const RIGHT = 150; // room for an end label after the last time
const LANE_H = 62;
const MARK_BAND = 16; // above the box: report marks and their labels
const BOX_H = 32;

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (n: number) => String(Math.round(n * 10) / 10);
/** A generous width estimate (0.6 em a character), so that a label that "fits" does. */
const textWidth = (s: string, size = FONT_SIZE) => s.length * size * 0.6;

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${fmt(x)}" y="${fmt(y)}"${attrs ? " " + attrs : ""}>${esc(s)}</text>`;
}

/** Seconds, as tooltips print them: to the millisecond. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

/** Seconds, as the axis prints them: as many decimals as ticks `step` ms apart need. */
function tickLabel(ms: number, step: number): string {
  const decimals = step % 1000 === 0 ? 0 : step % 100 === 0 ? 1 : step % 10 === 0 ? 2 : 3;
  return `${(ms / 1000).toFixed(decimals)}s`;
}

const STEPS = [
  1,
  2,
  5,
  10,
  20,
  25,
  50,
  100,
  200,
  250,
  500,
  1_000,
  2_000,
  5_000,
  10_000,
  15_000,
  30_000,
  60_000,
];

/** The smallest tick step (ms) that puts ticks at least `minPx` apart at `pxPerMs`. */
function tickStep(pxPerMs: number, minPx = 64): number {
  for (const step of STEPS) if (step * pxPerMs >= minPx) return step;
  let step = 120_000;
  while (step * pxPerMs < minPx) step *= 2;
  return step;
}

/** Width of an axis break: a quiet stretch left out. */
const BREAK_W = 56;
/** Room after the last event, for the views installed last. */
const END_PX = 140;

/** A stretch of time drawn to scale. */
interface Segment {
  /** From and to, ms since the first event. */
  readonly from: number;
  readonly to: number;
  /** Where it starts, px. */
  readonly x: number;
}

/**
 * The time scale: runs of events drawn to one scale, and quiet stretches
 * longer than a fifth of the run (and half a second) left out as breaks
 * {@linkcode BREAK_W} wide, so that a burst (forming the group) is not a
 * sliver next to a long wait. Returns the segments, the px per ms, `x`, and
 * where the drawing ends (ms).
 */
function timeScale(times: readonly number[], left: number, plotW: number) {
  const distinct = [...new Set(times)].sort((a, b) => a - b);
  const span = distinct.at(-1) ?? 0;
  const quiet = Math.max(500, span * 0.2);
  const runs: [number, number][] = [];
  for (const ms of distinct) {
    const current = runs.at(-1);
    if (current && ms - current[1] <= quiet) current[1] = ms;
    else runs.push([ms, ms]);
  }
  if (runs.length === 0) runs.push([0, 0]);
  // Each run with a margin on either side (the first starts at 0), and END_PX after the last event.
  const pad = (r: [number, number]) => Math.max(10, (r[1] - r[0]) * 0.05);
  const ranges = runs.map((
    r,
    i,
  ) => [i === 0 ? 0 : r[0] - pad(r), i === runs.length - 1 ? r[1] : r[1] + pad(r)]);
  const drawn = ranges.reduce((sum, [a, b]) => sum + (b - a), 0);
  const pxPerMs = (plotW - END_PX - BREAK_W * (ranges.length - 1)) / Math.max(drawn, 1);
  ranges[ranges.length - 1][1] += END_PX / pxPerMs;
  const runEnd = ranges[ranges.length - 1][1];
  const segments: Segment[] = [];
  let px = left;
  for (const [from, to] of ranges) {
    segments.push({ from, to, x: px });
    px += (to - from) * pxPerMs + BREAK_W;
  }
  const x = (ms: number): number => {
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i];
      if (ms <= s.to || i === segments.length - 1) return s.x + (Math.max(ms, s.from) - s.from) * pxPerMs;
      const next = segments[i + 1];
      if (ms < next.from) {
        const end = s.x + (s.to - s.from) * pxPerMs;
        return end + ((ms - s.to) / (next.from - s.to)) * BREAK_W;
      }
    }
    return left;
  };
  return { segments, pxPerMs, x, runEnd };
}

interface Span {
  readonly start: number;
  readonly end: number;
  readonly event: TimelineViewEvent;
}

interface LaneEnd {
  readonly at: number;
  readonly kind: "left" | "crashed";
}

interface Lane {
  readonly peer: number;
  readonly first: number;
  readonly spans: Span[];
  readonly ends: LaneEnd[];
  readonly lastEnd: number;
  readonly notices: { at: number; event: TimelineNoticeEvent }[];
  readonly formed: { at: number; event: TimelineViewEvent }[];
}

/**
 * Each peer's lane: its views as spans, each until its next view, or until
 * the first report that it left or was unreachable (the lane ends there:
 * `left`, or `crashed` for a peer that stopped without leaving), or until
 * `runEnd` for a peer still in the group when the output ends.
 */
function lanes(events: readonly TimelineEvent[], t: (e: TimelineEvent) => number, runEnd: number): Lane[] {
  const peers = new Set<number>();
  for (const e of events) {
    peers.add(e.peer);
    if (e.event === "unreachable" || e.event === "left") peers.add(e.member);
  }
  return [...peers].sort((a, b) => a - b).map((peer) => {
    const own = events.filter((e) => e.peer === peer);
    const views = own.filter((e): e is TimelineViewEvent => e.event === "view");
    const reports = events.filter((e): e is TimelineNoticeEvent =>
      (e.event === "unreachable" || e.event === "left") && e.member === peer && e.peer !== peer
    );
    // The report that ends the run of the peer that starts at `from`: the first after it; a later
    // report of the same kind is about the same going (each survivor reports it).
    const endAfter = (from: number, until: number): LaneEnd | null => {
      const after = reports.filter((r) => t(r) >= from && t(r) < until);
      if (after.length === 0) return null;
      const left = after.find((r) => r.event === "left");
      return { at: t(left ?? after[0]), kind: left ? "left" : "crashed" };
    };
    const spans: Span[] = [];
    const ends: LaneEnd[] = [];
    for (let i = 0; i < views.length; i++) {
      const start = t(views[i]);
      const next = i + 1 < views.length ? t(views[i + 1]) : Infinity;
      const end = endAfter(start, next);
      if (end) ends.push(end);
      spans.push({ start, end: end ? end.at : Math.min(next, runEnd), event: views[i] });
    }
    if (views.length === 0 && reports.length > 0) ends.push(endAfter(-Infinity, Infinity)!);
    const first = own.length > 0 ? Math.min(...own.map(t)) : ends[0]?.at ?? 0;
    const lastSpan = spans.at(-1);
    const lastEnd = lastSpan ? lastSpan.end : ends.at(-1)?.at ?? first;
    return {
      peer,
      first,
      spans,
      ends,
      lastEnd,
      notices: own.filter((e): e is TimelineNoticeEvent => e.event === "unreachable" || e.event === "left")
        .map((event) => ({ at: t(event), event })),
      formed: own.filter((e): e is TimelineViewEvent => e.event === "formed")
        .map((event) => ({ at: t(event), event })),
    };
  });
}

/**
 * The events of a run's peers (as `--format json` prints them, from any
 * number of peers, in any order) as an SVG document: a lane per peer with
 * time from left to right (seconds since the first event), a box per view
 * a peer installed (its id, leader and members; the same view has the same
 * colour on every lane) until that peer's next view, a mark on a peer's lane
 * where it reported another unreachable or left, and the end of a lane
 * marked `crashed` or `left` where the others first reported it. Standalone:
 * no scripts, no external fonts or images.
 *
 * @example
 * ```ts
 * import { renderTimeline } from "./timeline.ts";
 * const svg = renderTimeline([
 *   { event: "view", peer: 1, view: 1, leader: 1, members: [1], at: "2024-01-01T00:00:00.000Z" },
 *   { event: "view", peer: 1, view: 2, leader: 1, members: [1, 2], at: "2024-01-01T00:00:00.500Z" },
 *   { event: "view", peer: 2, view: 2, leader: 1, members: [1, 2], at: "2024-01-01T00:00:00.510Z" },
 * ]);
 * svg.startsWith("<svg"); // true
 * ```
 */
export function renderTimeline(events: readonly TimelineEvent[]): string {
  const sorted = [...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const t0 = sorted.length > 0 ? Date.parse(sorted[0].at) : 0;
  const t = (e: TimelineEvent) => Date.parse(e.at) - t0;
  const last = sorted.length > 0 ? t(sorted.at(-1)!) : 0;
  const plotW = Math.round(Math.min(1500, Math.max(860, (last / 1000) * 170)));
  const { segments, pxPerMs, x, runEnd } = timeScale(sorted.map(t), LEFT, plotW);
  const all = lanes(sorted, t, runEnd);
  const width = LEFT + plotW + RIGHT;
  const top = 78; // title and legend
  const lanesH = all.length * LANE_H;
  const axisY = top + lanesH + 6;

  // The views, for the list under the axis.
  const views = new Map<number, TimelineViewEvent>();
  for (const e of sorted) if (e.event === "view" && !views.has(e.view)) views.set(e.view, e);
  const viewList = [...views.values()].sort((a, b) => a.view - b.view);
  const viewLabels = viewList.map((v) =>
    `view ${v.view}: leader ${v.leader}, members ${v.members.join(",")}`
  );
  const colW = Math.max(...viewLabels.map((l) => textWidth(l)), 100) + 36;
  const cols = Math.max(1, Math.floor((width - 24) / colW));
  const listTop = axisY + 56;
  const listRows = Math.ceil(viewList.length / cols);
  const height = listTop + 18 + listRows * 18 + 14;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${fmt(height)}" ` +
      `viewBox="0 0 ${width} ${fmt(height)}" font-family="${FONT}" font-size="${FONT_SIZE}" fill="${INK}">`,
  );
  const started = sorted.length > 0 ? sorted[0].at : "no events";
  out.push(
    `<title>membership timeline: ${all.length} peer(s), ${views.size} view(s), from ${esc(started)}</title>`,
  );
  out.push(
    `<defs><pattern id="quiet" width="8" height="8" patternUnits="userSpaceOnUse" ` +
      `patternTransform="rotate(45)"><rect width="8" height="8" fill="#ffffff"/>` +
      `<line x1="0" y1="0" x2="0" y2="8" stroke="#d1d5db" stroke-width="3"/></pattern></defs>`,
  );
  out.push(`<rect x="0" y="0" width="${width}" height="${fmt(height)}" fill="#ffffff"/>`);
  out.push(
    text(
      12,
      22,
      `membership run: ${all.length} peer${all.length === 1 ? "" : "s"}, ${views.size} view${
        views.size === 1 ? "" : "s"
      }, ${(last / 1000).toFixed(2)} s from ${started}`,
      `font-size="14" font-weight="bold"`,
    ),
  );

  // Legend: what the marks mean.
  let lx = 12;
  const ly = 46;
  const legend = (draw: string, label: string) => {
    out.push(draw, text(lx + 16, ly + 4, label, `fill="${MUTED}"`));
    lx += 16 + textWidth(label) + 18;
  };
  const [bg0, fg0] = PALETTE[1];
  legend(
    `<rect x="${lx}" y="${ly - 6}" width="12" height="12" rx="2" fill="${bg0}" stroke="${fg0}"/>`,
    "a view that peer installed, until its next",
  );
  legend(triangle(lx + 6, ly + 4, RED), "it reported a peer unreachable");
  legend(triangle(lx + 6, ly + 4, BLUE), "…a peer left");
  legend(cross(lx + 6, ly, RED), "crashed (where first reported)");
  legend(leftBar(lx + 6, ly, BLUE), "left the group");
  if (all.some((l) => l.formed.length > 0)) legend(diamond(lx + 6, ly, PURPLE), "formed anew");

  // Every other lane shaded, under everything else.
  all.forEach((_, i) => {
    if (i % 2 === 0) return;
    out.push(
      `<rect x="0" y="${top + i * LANE_H}" width="${LEFT + plotW}" height="${LANE_H}" fill="#f5f6f8"/>`,
    );
  });

  // Grid and axis: ticks in each segment, a break between segments.
  const step = tickStep(pxPerMs);
  const grid: string[] = [];
  const axis: string[] = [];
  segments.forEach((seg, i) => {
    const x1 = seg.x;
    const x2 = seg.x + (seg.to - seg.from) * pxPerMs;
    axis.push(`<line x1="${fmt(x1)}" y1="${axisY}" x2="${fmt(x2)}" y2="${axisY}" stroke="${INK}"/>`);
    for (let ms = Math.ceil(seg.from / step) * step; ms <= seg.to; ms += step) {
      grid.push(`<line x1="${fmt(x(ms))}" y1="${top - 4}" x2="${fmt(x(ms))}" y2="${axisY}"/>`);
      axis.push(
        `<line x1="${fmt(x(ms))}" y1="${axisY}" x2="${fmt(x(ms))}" y2="${axisY + 5}" stroke="${INK}"/>`,
      );
      // No label that would run into a break's: the break's length is said there.
      const nearBreak = segments.some((s, j) =>
        j > 0 && Math.abs(x(ms) - (s.x - BREAK_W / 2)) < BREAK_W / 2 + textWidth(tickLabel(ms, step)) / 2 + 4
      );
      if (!nearBreak) axis.push(text(x(ms), axisY + 18, tickLabel(ms, step), `text-anchor="middle"`));
    }
    const next = segments[i + 1];
    if (!next) return;
    // The break: a band over the lanes, a zigzag on the axis, and how long it is.
    const bx = x2;
    out.push(
      `<g class="break"><title>${seconds(next.from - seg.to)} without events, left out</title>` +
        `<rect x="${fmt(bx)}" y="${top - 4}" width="${BREAK_W}" height="${fmt(axisY - top + 4)}" ` +
        `fill="url(#quiet)"/></g>`,
    );
    axis.push(
      `<path d="M${fmt(bx)} ${axisY} l6 -5 l8 10 l8 -10 l8 10 l8 -10 l8 10 l${BREAK_W - 46} -5" ` +
        `fill="none" stroke="${INK}"/>`,
      text(
        bx + BREAK_W / 2,
        axisY + 18,
        `+${((next.from - seg.to) / 1000).toFixed(1)}s`,
        `text-anchor="middle" fill="${MUTED}" font-style="italic"`,
      ),
    );
  });
  out.push(`<g stroke="#e5e7eb" stroke-width="1">`, ...grid, `</g>`, ...axis);
  const broken = segments.length > 1
    ? "; hatched: quiet stretches left out, their length under the axis"
    : "";
  out.push(
    text(
      LEFT + plotW / 2,
      axisY + 38,
      `seconds since the first event (${started})${broken}`,
      `text-anchor="middle" fill="${MUTED}"`,
    ),
  );

  // Lanes.
  all.forEach((lane, i) => {
    const laneTop = top + i * LANE_H;
    const boxY = laneTop + MARK_BAND + 4;
    const mid = boxY + BOX_H / 2;
    out.push(text(12, mid + 4, `peer ${lane.peer}`, `font-weight="bold" font-size="12"`));
    out.push(
      `<line x1="${fmt(x(lane.first))}" y1="${mid}" x2="${fmt(x(lane.lastEnd))}" y2="${mid}" ` +
        `stroke="${MUTED}" stroke-width="2"/>`,
    );
    out.push(`<g class="lane" data-peer="${lane.peer}">`);
    for (const span of lane.spans) out.push(viewBox(span, x, boxY, lane.peer));
    // Marks above the box, labels to their right, moved right past the previous label.
    const marks = [
      ...lane.notices.map(({ at, event }) => ({
        at,
        color: event.event === "left" ? BLUE : RED,
        draw: triangle(x(at), boxY - 5, event.event === "left" ? BLUE : RED),
        label: `${event.is_leader ? "leader" : "peer"} ${event.member} ${event.event}`,
        title:
          `peer ${lane.peer} reported ${
            event.is_leader ? "leader" : "peer"
          } ${event.member} ${event.event} ` +
          `at ${seconds(at)} (in view ${event.view})`,
        cls: `mark ${event.event}`,
      })),
      ...lane.formed.map(({ at, event }) => ({
        at,
        color: PURPLE,
        draw: diamond(x(at), boxY - 8, PURPLE),
        label: `formed anew above view ${event.above ?? "?"}`,
        title: `peer ${lane.peer} formed the group anew as view ${event.view} at ${seconds(at)}`,
        cls: "mark formed",
      })),
    ].sort((a, b) => a.at - b.at);
    let free = -Infinity;
    for (const m of marks) {
      out.push(`<g class="${m.cls}"><title>${esc(m.title)}</title>${m.draw}`);
      const lx = Math.max(x(m.at) + 6, free);
      if (lx - x(m.at) < 160) {
        out.push(text(lx, boxY - 6, m.label, `font-size="10" fill="${m.color}"`));
        free = lx + textWidth(m.label, 10) + 8;
      }
      out.push(`</g>`);
    }
    for (const end of lane.ends) {
      const ex = x(end.at);
      const label = end.kind === "left" ? "left" : "crashed";
      out.push(
        `<g class="end ${end.kind}"><title>peer ${lane.peer} ${
          end.kind === "left" ? "left the group" : "crashed: stopped without leaving"
        }; first reported at ${seconds(end.at)}</title>`,
        end.kind === "left" ? leftBar(ex, mid, BLUE) : cross(ex, mid, RED),
        text(ex + 10, mid + 4, label, `font-weight="bold" fill="${end.kind === "left" ? BLUE : RED}"`),
        `</g>`,
      );
    }
    out.push(`</g>`);
  });

  // The views, once each.
  out.push(text(12, listTop, "Views (the same colour on every lane):", `font-weight="bold"`));
  viewList.forEach((v, i) => {
    const cx = 12 + (i % cols) * colW;
    const cy = listTop + 18 + Math.floor(i / cols) * 18;
    const [bg, fg] = PALETTE[v.view % PALETTE.length];
    out.push(
      `<rect x="${fmt(cx)}" y="${cy - 10}" width="14" height="12" rx="2" fill="${bg}" stroke="${fg}"/>`,
      text(cx + 20, cy, viewLabels[i]),
    );
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** One view's box on a lane, labelled with as much as fits. */
function viewBox(span: Span, x: (ms: number) => number, y: number, peer: number): string {
  const v = span.event;
  const x1 = x(span.start);
  const w = Math.max(2, x(span.end) - x1);
  const [bg, fg] = PALETTE[v.view % PALETTE.length];
  const members = v.members.join(",");
  const title = `peer ${peer}: view ${v.view}, leader ${v.leader}, members ${members}; ` +
    `from ${seconds(span.start)} to ${seconds(span.end)}`;
  const parts = [
    `<g class="view" data-view="${v.view}"><title>${esc(title)}</title>`,
    `<rect x="${fmt(x1)}" y="${y}" width="${fmt(w)}" height="${BOX_H}" rx="3" fill="${bg}" stroke="${fg}"/>`,
  ];
  const room = w - 8;
  const fits = (s: string) => textWidth(s) <= room;
  const line1 = [`view ${v.view} · leader ${v.leader}`, `view ${v.view}`, `v${v.view}`, `${v.view}`]
    .find(fits);
  const line2 = [`members ${members}`, members].find(fits);
  if (line1 && line2) {
    parts.push(text(x1 + 4, y + 13, line1, `font-weight="bold"`), text(x1 + 4, y + 26, line2));
  } else if (line1) {
    parts.push(text(x1 + 4, y + BOX_H / 2 + 4, line1, `font-weight="bold"`));
  }
  parts.push(`</g>`);
  return parts.join("");
}

function triangle(cx: number, tipY: number, color: string): string {
  return `<path d="M${fmt(cx - 5)} ${fmt(tipY - 8)} L${fmt(cx + 5)} ${fmt(tipY - 8)} L${fmt(cx)} ${
    fmt(tipY)
  } Z" fill="${color}"/>`;
}

function cross(cx: number, cy: number, color: string): string {
  const d = 6;
  return `<path d="M${fmt(cx - d)} ${fmt(cy - d)} L${fmt(cx + d)} ${fmt(cy + d)} M${fmt(cx + d)} ${
    fmt(cy - d)
  } L${fmt(cx - d)} ${fmt(cy + d)}" stroke="${color}" stroke-width="3" stroke-linecap="round"/>`;
}

function leftBar(cx: number, cy: number, color: string): string {
  return `<path d="M${fmt(cx)} ${fmt(cy - 9)} L${fmt(cx)} ${fmt(cy + 9)} M${fmt(cx - 7)} ${fmt(cy)} L${
    fmt(cx)
  } ${fmt(cy)}" stroke="${color}" stroke-width="3" stroke-linecap="round"/>`;
}

function diamond(cx: number, cy: number, color: string): string {
  return `<path d="M${fmt(cx)} ${fmt(cy - 5)} L${fmt(cx + 5)} ${fmt(cy)} L${fmt(cx)} ${fmt(cy + 5)} L${
    fmt(cx - 5)
  } ${fmt(cy)} Z" fill="${color}"/>`;
}
