import assert from "node:assert/strict";
import { test } from "node:test";
import { formatEvent, formatEventJson, formatEventText } from "../mod.ts";

const view = {
  type: "view" as const,
  peer: 2,
  view: {
    epoch: { round: 1, former: 1, run: 1 },
    id: 3,
    leader: 1,
    members: [1, 2, 3],
    incarnations: [0, 0, 0],
  },
};
const unreachable = (member: number, isLeader: boolean) => ({
  type: "unreachable" as const,
  peer: 2,
  viewId: 3,
  leader: 1,
  member,
  isLeader,
});

test("text lines are exactly those of PROTOCOL.md", () => {
  assert.equal(formatEventText(view), "{peer_id: 2, view_id: 3, leader: 1, memb_list: [1,2,3]}");
  assert.equal(
    formatEventText(unreachable(4, false)),
    '{peer_id: 2, view_id: 3, leader: 1, message:"peer 4 unreachable"}',
  );
  assert.equal(
    formatEventText(unreachable(1, true)),
    '{peer_id: 2, view_id: 3, leader: 1, message:"leader 1 unreachable"}',
  );
});

test("a member that left is reported as PROTOCOL.md says, never as unreachable", () => {
  const left = { ...unreachable(4, false), type: "left" as const };
  assert.equal(formatEventText(left), '{peer_id: 2, view_id: 3, leader: 1, message:"peer 4 left"}');
  assert.equal(
    formatEventText({ ...left, member: 1, isLeader: true }),
    '{peer_id: 2, view_id: 3, leader: 1, message:"leader 1 left"}',
  );
  const json = JSON.parse(formatEventJson(left, new Date(0)));
  assert.equal(json.event, "left");
  assert.equal(json.message, "peer 4 left");
});

test("forming anew has no stdout line in text, and a JSON event", () => {
  const formed = { type: "formed" as const, peer: 4, view: { ...view.view, id: 7, leader: 4 }, above: 5 };
  assert.equal(formatEventText(formed), null);
  assert.deepEqual(JSON.parse(formatEventJson(formed, new Date(0))), {
    event: "formed",
    peer: 4,
    view: 7,
    leader: 4,
    members: [1, 2, 3],
    epoch: [1, 1, 1],
    above: 5,
    at: "1970-01-01T00:00:00.000Z",
  });
});

test("JSON lines carry the same facts and a timestamp", () => {
  const at = new Date("2026-01-02T03:04:05.678Z");
  assert.deepEqual(JSON.parse(formatEventJson(view, at)), {
    event: "view",
    peer: 2,
    view: 3,
    leader: 1,
    members: [1, 2, 3],
    epoch: [1, 1, 1],
    at: "2026-01-02T03:04:05.678Z",
  });
  const u = JSON.parse(formatEvent(unreachable(4, false), "json", at)!);
  assert.equal(u.event, "unreachable");
  assert.equal(u.member, 4);
  assert.equal(u.message, "peer 4 unreachable");
  assert.equal(formatEvent(view, "text", at), formatEventText(view));
});

test("the JSON timestamp is toISOString's, byte for byte, for every year", () => {
  const times = [0, -1, 1, 9, 99, 999, 1_000, Date.UTC(2026, 11, 31, 23, 59, 59, 999)];
  times.push(Date.UTC(-1, 0, 1), Date.UTC(0, 0, 1) - 1, Date.UTC(0, 0, 1), Date.UTC(999, 5, 6, 7, 8, 9, 10));
  times.push(Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), 8.64e15, -8.64e15);
  for (let i = 0; i < 2_000; i++) times.push(Math.floor((Math.random() * 2 - 1) * 8.64e15));
  for (const t of times) {
    const at = new Date(t);
    assert.equal(JSON.parse(formatEventJson(view, at)).at, at.toISOString(), `${t}`);
  }
  assert.throws(() => formatEventJson(view, new Date(NaN)), RangeError);
});
