// `membership timeline`: the events of a run as an SVG: lanes, view boxes, marks; and bad input files.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  parseTimelineText,
  renderTimeline,
  type TimelineEvent,
  TimelineInputError,
} from "../src/runtime/timeline.ts";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();
const view = (
  peer: number,
  id: number,
  members: number[],
  ms: number,
  leader = members[0],
): TimelineEvent => ({
  event: "view",
  peer,
  view: id,
  leader,
  members,
  at: at(ms),
});
const notice = (
  event: "unreachable" | "left",
  peer: number,
  member: number,
  viewId: number,
  ms: number,
): TimelineEvent => ({ event, peer, view: viewId, leader: 1, member, is_leader: member === 1, at: at(ms) });

/** A run: 4 peers form views 1..4 in 50 ms; peer 4 crashes (unreachable, view 5); peer 3 leaves (view 6). */
const RUN: TimelineEvent[] = [
  view(1, 1, [1], 0),
  view(1, 2, [1, 2], 10),
  view(2, 2, [1, 2], 12),
  view(1, 3, [1, 2, 3], 20),
  view(2, 3, [1, 2, 3], 22),
  view(3, 3, [1, 2, 3], 23),
  view(1, 4, [1, 2, 3, 4], 40),
  view(2, 4, [1, 2, 3, 4], 41),
  view(3, 4, [1, 2, 3, 4], 42),
  view(4, 4, [1, 2, 3, 4], 50),
  notice("unreachable", 1, 4, 4, 3_000),
  notice("unreachable", 2, 4, 4, 3_010),
  notice("unreachable", 3, 4, 4, 3_020),
  view(1, 5, [1, 2, 3], 3_030),
  view(2, 5, [1, 2, 3], 3_031),
  view(3, 5, [1, 2, 3], 3_032),
  notice("left", 1, 3, 5, 4_000),
  notice("left", 2, 3, 5, 4_001),
  view(1, 6, [1, 2], 4_002),
  view(2, 6, [1, 2], 4_003),
];

/** Checks that every tag is closed in order, and that text has no bare `<` or `&`. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (const m of svg.matchAll(tag)) {
    const between = svg.slice(last, m.index);
    assert.doesNotMatch(between, /<|&(?!(amp|lt|gt|quot|#\d+);)/, `bare text: ${between}`);
    last = m.index! + m[0].length;
    if (m[4] === "/") continue;
    if (m[1] === "/") assert.equal(stack.pop(), m[2], `closing </${m[2]}> at ${m.index}`);
    else stack.push(m[2]);
  }
  assert.equal(svg.slice(last).trim(), "");
  assert.deepEqual(stack, [], "every tag closed");
}

test("the SVG is one well-formed <svg> document, standalone", () => {
  const svg = renderTimeline(RUN);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  assertWellFormed(svg);
  assert.doesNotMatch(svg, /@import|url\(http|<script|<image|href=/, "no external fonts, images or scripts");
});

test("one lane per peer, labelled, in order of ID", () => {
  const svg = renderTimeline(RUN);
  const lanes = [...svg.matchAll(/<g class="lane" data-peer="(\d+)">/g)].map((m) => +m[1]);
  assert.deepEqual(lanes, [1, 2, 3, 4]);
  for (const p of [1, 2, 3, 4]) assert.match(svg, new RegExp(`>peer ${p}</text>`));
});

test("a box per view a peer installed, with the view's id (and members where it fits)", () => {
  const svg = renderTimeline(RUN);
  const boxes = [...svg.matchAll(/<g class="view" data-view="(\d+)"><title>peer (\d+): view (\d+)/g)];
  const installed = RUN.filter((e) => e.event === "view");
  assert.equal(boxes.length, installed.length);
  for (const b of boxes) assert.equal(b[1], b[3]);
  assert.deepEqual(
    boxes.map((b) => `${b[2]}:${b[1]}`).sort(),
    installed.map((e) => `${e.peer}:${e.view}`).sort(),
  );
  // The long views are labelled in the box: id, leader and members.
  assert.match(svg, />view 5 · leader 1<\/text>/);
  assert.match(svg, />members 1,2,3<\/text>/);
  // And every view is listed once under the axis.
  for (let v = 1; v <= 6; v++) {
    assert.equal(svg.split(`>view ${v}: leader`).length - 1, 1, `view ${v} listed`);
  }
});

test("a mark per report; the lane of a crashed peer ends crashed, of a peer that left ends left", () => {
  const svg = renderTimeline(RUN);
  assert.equal(svg.split('<g class="mark unreachable">').length - 1, 3);
  assert.equal(svg.split('<g class="mark left">').length - 1, 2);
  assert.match(svg, /<g class="mark unreachable"><title>peer 2 reported peer 4 unreachable at 3\.010s/);
  const ends = [...svg.matchAll(/<g class="end (\w+)"><title>peer (\d+) /g)].map((m) => `${m[2]} ${m[1]}`);
  assert.deepEqual(ends, ["3 left", "4 crashed"]);
  assert.match(svg, />crashed<\/text>/);
  assert.match(svg, />left<\/text>/);
});

test("seconds from the first event on the axis; a long quiet stretch is a marked break", () => {
  const svg = renderTimeline(RUN);
  assert.match(svg, />0\.00s<\/text>/);
  assert.match(svg, /seconds since the first event \(2024-05-01T12:00:00\.000Z\)/);
  assert.match(svg, /<g class="break">/, "the 2.95 s without events is left out");
  assert.match(svg, /\+2\.9s<\/text>/);
  // Without a long quiet stretch, no break.
  const short = renderTimeline(RUN.slice(0, 10));
  assert.doesNotMatch(short, /<g class="break">/);
  assertWellFormed(short);
});

test("formed anew is marked; one peer or one event still draws", () => {
  const formed: TimelineEvent = {
    event: "formed",
    peer: 2,
    view: 9,
    leader: 2,
    members: [2, 3],
    above: 7,
    at: at(100),
  };
  const svg = renderTimeline([view(2, 8, [2, 3], 0), formed, view(2, 9, [2, 3], 100)]);
  assert.match(svg, /formed anew above view 7/);
  assertWellFormed(svg);
  assertWellFormed(renderTimeline([view(1, 1, [1], 0)]));
  assertWellFormed(renderTimeline([]));
});

test("input files: one JSON event a line; a bad line or an empty file names the file", () => {
  const text = RUN.map((e) => JSON.stringify(e)).join("\n") + "\n\n";
  assert.deepEqual(parseTimelineText(text, "run.jsonl"), RUN);
  const bad: [string, RegExp][] = [
    ["", /^'f\.jsonl' has no events/],
    ["{peer_id: 1, view_id: 1, leader: 1, memb_list: [1]}\n", /^'f\.jsonl' line 1 is not JSON/],
    [
      `${JSON.stringify(RUN[0])}\n{"event":"view","peer":1}\n`,
      /^'f\.jsonl' line 2 is not a --format json event/,
    ],
    ['{"event":"nope","peer":1,"view":1,"leader":1,"at":"2024-01-01T00:00:00Z"}', /line 1 is not a/],
    [JSON.stringify({ ...RUN[0], at: "yesterday" }), /no time/],
    [JSON.stringify({ ...RUN[10], member: "4" }), /no member/],
  ];
  for (const [input, pattern] of bad) {
    assert.throws(() => parseTimelineText(input, "f.jsonl"), (e: Error) => {
      assert.ok(e instanceof TimelineInputError);
      assert.match(e.message, pattern);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  }
});
