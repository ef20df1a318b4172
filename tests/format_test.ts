import assert from "node:assert/strict";
import { test } from "node:test";
import { formatEvent, formatEventJson, formatEventText } from "../mod.ts";

const view = {
  type: "view" as const,
  peer: 2,
  view: { id: 3, leader: 1, members: [1, 2, 3], incarnations: [0, 0, 0] },
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

test("JSON lines carry the same facts and a timestamp", () => {
  const at = new Date("2026-01-02T03:04:05.678Z");
  assert.deepEqual(JSON.parse(formatEventJson(view, at)), {
    event: "view",
    peer: 2,
    view: 3,
    leader: 1,
    members: [1, 2, 3],
    at: "2026-01-02T03:04:05.678Z",
  });
  const u = JSON.parse(formatEvent(unreachable(4, false), "json", at));
  assert.equal(u.event, "unreachable");
  assert.equal(u.member, 4);
  assert.equal(u.message, "peer 4 unreachable");
  assert.equal(formatEvent(view, "text", at), formatEventText(view));
});
