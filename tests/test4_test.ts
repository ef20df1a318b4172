// Test case 4 as an effect filter: once everyone has joined, the leader's
// first REQ DEL of a member it found unreachable skips the next leader, and
// the peer crashes right after.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Effect, Message, View } from "../mod.ts";
import { test4Filter } from "../src/runtime/test4.ts";

const view = (members: number[]): View => ({
  epoch: { round: 1, former: 1, run: 1 },
  id: members.length,
  leader: 1,
  members,
  incarnations: members,
});
const installed = (members: number[]): Effect => ({
  kind: "event",
  event: { type: "view", peer: 1, view: view(members) },
});
const unreachable = (member: number): Effect => ({
  kind: "event",
  event: { type: "unreachable", peer: 1, viewId: 4, leader: 1, member, isLeader: false },
});
const reqDel = (to: number, peer: number): Effect => {
  const message: Message = {
    type: "REQ",
    from: 1,
    incarnation: 1,
    requestId: 7,
    proposal: {
      viewId: 4,
      op: { kind: "DEL", peer, incarnation: peer },
      leader: 1,
      ballot: { round: 0, leader: 1 },
    },
  };
  return { kind: "send", channel: "stream", to, message };
};
const step = (effects: Effect[]) => ({ cause: { kind: "tick" as const }, now: 0, effects, crash: false });

test("before everyone has joined, the filter changes nothing", () => {
  const filter = test4Filter(4);
  filter(step([installed([1, 2, 3])]));
  const detection = step([unreachable(3), reqDel(2, 3)]);
  assert.deepEqual(filter(detection), detection);
});

test("once everyone has joined, the REQ DEL skips the next leader and the peer crashes", () => {
  const filter = test4Filter(4);
  filter(step([installed([1, 2, 3, 4])]));
  const quiet = step([{
    kind: "send",
    channel: "datagram",
    to: 2,
    message: { type: "JOIN", from: 1, incarnation: 1, knownViewId: 0 },
  }]);
  assert.deepEqual(filter(quiet), quiet);
  const out = filter(step([unreachable(4), reqDel(2, 4), reqDel(3, 4), reqDel(4, 4)]));
  assert.equal(out.crash, true);
  const sentTo = out.effects.flatMap((e) => e.kind === "send" ? [e.to] : []);
  assert.deepEqual(sentTo, [3, 4]);
  assert.ok(out.effects.some((e) => e.kind === "log" && /all but peer 2; crashing/.test(e.text)));
  assert.ok(
    out.effects.some((e) => e.kind === "event" && e.event.type === "unreachable"),
    "the line is printed",
  );
});

test("a REQ DEL of a member not found unreachable in that step (a restart) is left alone", () => {
  const filter = test4Filter(3);
  filter(step([installed([1, 2, 3])]));
  const restart = step([reqDel(2, 3)]);
  assert.deepEqual(filter(restart), restart);
});
