import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeMessage, encodeMessage, MAX_MESSAGE_LENGTH, type Message } from "../mod.ts";

const view = { id: 4, leader: 1, members: [1, 2, 4], incarnations: [10, 20, 40] };
const ballot = { round: 2, leader: 3 };
const proposal = { viewId: 4, op: { kind: "ADD" as const, peer: 3, incarnation: 30 }, leader: 1, ballot };

const samples: Message[] = [
  { type: "JOIN", from: 3, incarnation: 30 },
  { type: "REDIRECT", from: 2, leader: 1 },
  { type: "REQ", from: 1, requestId: 9, proposal },
  {
    type: "REQ",
    from: 1,
    requestId: 9,
    proposal: { ...proposal, op: { kind: "DEL", peer: 4, incarnation: 0 } },
  },
  { type: "OK", from: 2, requestId: 9, viewId: 4 },
  { type: "NEWVIEW", from: 1, view, ballot },
  { type: "NEWLEADER", from: 2, requestId: 11, viewId: 4, ballot },
  { type: "PENDING", from: 4, requestId: 11, view, pending: proposal },
  { type: "PENDING", from: 4, requestId: 11, view, pending: null },
  { type: "REJECT", from: 4, promised: ballot },
  { type: "HEARTBEAT", from: 2, viewId: 4, incarnation: 20, leading: null },
  { type: "HEARTBEAT", from: 1, viewId: 4, incarnation: 10, leading: ballot },
];

test("every message type survives a round trip", () => {
  for (const message of samples) {
    const line = encodeMessage(message);
    assert.ok(!line.includes("\n"), "one line");
    assert.deepEqual(decodeMessage(line), { ok: true, message });
  }
});

test("every message names its type, its sender and the protocol version", () => {
  for (const message of samples) {
    const wire = JSON.parse(encodeMessage(message));
    assert.equal(wire.v, 1);
    assert.equal(wire.type, message.type);
    assert.equal(wire.from, message.from);
  }
});

test("REQ and NEWLEADER carry the fields PROTOCOL.md names", () => {
  const req = JSON.parse(encodeMessage(samples[2]));
  for (const field of ["request_id", "view_id", "op", "peer"]) assert.ok(field in req, field);
  const nl = JSON.parse(encodeMessage(samples[6]));
  assert.equal(nl.op, "PENDING");
  assert.equal(JSON.parse(encodeMessage(samples[8])).op, "NOTHING");
});

test("malformed input is rejected with a reason, never thrown", () => {
  const good = JSON.parse(encodeMessage(samples[5]));
  const bad: [string, unknown][] = [
    ["not JSON", "{nope"],
    ["not an object", [1, 2]],
    ["null", null],
    ["wrong version", { ...good, v: 2 }],
    ["unknown type", { ...good, type: "HELLO" }],
    ["missing sender", { ...good, from: undefined }],
    ["sender 0", { ...good, from: 0 }],
    ["fractional id", { ...good, view_id: 1.5 }],
    ["string id", { ...good, view_id: "4" }],
    ["members not ascending", { ...good, members: [2, 1, 4] }],
    ["members empty", { ...good, members: [], incs: [] }],
    ["incarnations mismatched", { ...good, incs: [1] }],
    ["leader not a member", { ...good, leader: 3 }],
    ["ballot malformed", { ...good, ballot: [1] }],
    ["op unknown", { v: 1, type: "REQ", from: 1, request_id: 1, view_id: 1, op: "MOVE", peer: 2 }],
    ["NEWLEADER without op PENDING", {
      v: 1,
      type: "NEWLEADER",
      from: 2,
      request_id: 1,
      view_id: 1,
      ballot: [1, 2],
    }],
  ];
  for (const [why, value] of bad) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    const result = decodeMessage(text);
    assert.equal(result.ok, false, why);
    if (!result.ok) assert.ok(result.error.length > 0, why);
  }
});

test("an over-long message is rejected before parsing", () => {
  const result = decodeMessage(" ".repeat(MAX_MESSAGE_LENGTH + 1));
  assert.equal(result.ok, false);
  if (!result.ok) assert.match(result.error, /longer/);
});
