import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeDurableState,
  decodeMessage,
  decodeWire,
  encodeDurableState,
  encodeMessage,
  encodeWire,
  MAX_MESSAGE_BYTES,
  MAX_QUERY_PAYLOAD_BYTES,
  type Message,
} from "../mod.ts";
import { viewOf } from "./support/fixtures.ts";

const view = viewOf(4, [1, 2, 4], 1, [10, 20, 40], { round: 1, former: 1, run: 1 });
const ballot = { round: 2, leader: 3 };
const proposal = { viewId: 4, op: { kind: "ADD" as const, peer: 3, incarnation: 30 }, leader: 1, ballot };
const userEvent = { origin: 2, originRun: 20, number: 1, name: "deploy", payload: 'v2 "quoted"\nand a line' };

const samples: Message[] = [
  { type: "JOIN", from: 3, incarnation: 30, knownViewId: 0 },
  { type: "REDIRECT", from: 2, incarnation: 20, leader: 1, viewId: 4 },
  { type: "REQ", from: 1, incarnation: 10, requestId: 9, proposal },
  {
    type: "REQ",
    from: 1,
    incarnation: 10,
    requestId: 9,
    proposal: { ...proposal, op: { kind: "DEL", peer: 4, incarnation: 40 } },
  },
  { type: "OK", from: 2, incarnation: 20, requestId: 9, viewId: 4, ballot },
  // (a NEWVIEW's epoch is its view's: one field on the wire)
  { type: "NEWVIEW", from: 1, incarnation: 10, epoch: view.epoch, view, ballot },
  { type: "NEWLEADER", from: 2, incarnation: 20, requestId: 11, viewId: 4, ballot },
  {
    type: "PENDING",
    from: 4,
    incarnation: 40,
    requestId: 11,
    ballot: { round: 5, leader: 2 },
    view,
    pending: proposal,
  },
  { type: "PENDING", from: 4, incarnation: 40, requestId: 11, ballot, view, pending: null },
  { type: "REJECT", from: 4, incarnation: 40, promised: ballot },
  { type: "HEARTBEAT", from: 2, incarnation: 20, viewId: 4, leading: null, heard: [] },
  { type: "HEARTBEAT", from: 1, incarnation: 10, viewId: 4, leading: ballot, heard: [[2, 180], [3, 0]] },
  { type: "FORM", from: 4, incarnation: 40, requestId: 12, ballot },
  {
    type: "FORM_PROMISE",
    from: 2,
    incarnation: 20,
    requestId: 12,
    ballot,
    newest: view,
    pending: proposal,
    accepted: null,
    inView: true,
  },
  {
    type: "FORM_PROMISE",
    from: 2,
    incarnation: 20,
    requestId: 12,
    ballot,
    newest: null,
    pending: null,
    accepted: { ballot, view },
    inView: false,
  },
  { type: "FORM_ACCEPT", from: 4, incarnation: 40, requestId: 12, ballot, view },
  { type: "FORM_OK", from: 2, incarnation: 20, requestId: 12, ballot },
  { type: "PROBE", from: 5, incarnation: 50, epoch: view.epoch },
  { type: "PROBE_ACK", from: 2, incarnation: 20, epoch: { round: 3, former: 2, run: 20 } },
  { type: "JOIN", from: 2, incarnation: 21, epoch: view.epoch, knownViewId: 4 },
  // Tags and user events (issue 19).
  { type: "JOIN", from: 3, incarnation: 30, knownViewId: 0, tags: { role: "db", port: "5432" } },
  { type: "TAGS", from: 2, incarnation: 20, epoch: view.epoch, tags: { role: "web" } },
  {
    type: "NEWVIEW",
    from: 1,
    incarnation: 10,
    epoch: view.epoch,
    view: { ...view, id: 5, tags: [{ role: "db" }, {}, { zone: "a" }], cut: { of: 4, count: 2 } },
    ballot,
    carried: { first: 1, events: [userEvent, { ...userEvent, number: 2, payload: "" }] },
  },
  {
    type: "REQ",
    from: 1,
    incarnation: 10,
    requestId: 9,
    proposal: { ...proposal, op: { kind: "TAG", peer: 4, incarnation: 40, tags: { role: "db" } }, events: 2 },
    carried: { first: 2, events: [userEvent] },
    held: 1,
  },
  { type: "NEWLEADER", from: 2, incarnation: 20, requestId: 11, viewId: 4, ballot, eventsHave: 3 },
  {
    type: "PENDING",
    from: 4,
    incarnation: 40,
    requestId: 11,
    ballot,
    view,
    pending: null,
    eventsHave: 5,
    forgot: true,
    carried: { first: 4, events: [userEvent] },
  },
  { type: "EVENT", from: 2, incarnation: 20, epoch: view.epoch, viewId: 4, event: userEvent },
  {
    type: "EVENTS",
    from: 1,
    incarnation: 10,
    epoch: view.epoch,
    viewId: 4,
    ballot,
    run: { first: 3, events: [userEvent] },
    committed: 2,
  },
  { type: "EVENTS_OK", from: 2, incarnation: 20, epoch: view.epoch, viewId: 4, have: 3 },
  { type: "HEARTBEAT", from: 1, incarnation: 10, viewId: 4, leading: ballot, heard: [], committed: 7 },
  {
    type: "JOIN",
    from: 2,
    incarnation: 21,
    epoch: view.epoch,
    knownViewId: 4,
    probation: true,
    restarted: true,
  },
];

test("every message type survives a round trip", () => {
  for (const message of samples) {
    const line = encodeMessage(message);
    assert.ok(!line.includes("\n"), "one line");
    assert.deepEqual(decodeMessage(line), { ok: true, message });
  }
});

test("every message names its type, its sender, the sender's run and the protocol version", () => {
  for (const message of samples) {
    const wire = JSON.parse(encodeMessage(message));
    assert.equal(wire.v, 2);
    assert.equal(wire.type, message.type);
    assert.equal(wire.from, message.from);
    assert.equal(wire.inc, message.incarnation);
  }
});

test("a JOIN carries view_id only when the joiner installed a view", () => {
  assert.equal("view_id" in JSON.parse(encodeMessage(samples[0])), false);
  assert.equal(JSON.parse(encodeMessage(samples[samples.length - 1])).view_id, 4);
  const wire = { v: 2, type: "JOIN", from: 3, inc: 30 };
  assert.deepEqual(decodeMessage(JSON.stringify(wire)), {
    ok: true,
    message: { type: "JOIN", from: 3, incarnation: 30, knownViewId: 0 },
  });
  assert.equal(decodeMessage(JSON.stringify({ ...wire, view_id: 0 })).ok, false);
});

test("a FORM_PROMISE carries in_view only when its sender is out of the group", () => {
  const [inGroup, outside] = samples.filter((m) => m.type === "FORM_PROMISE");
  assert.equal("in_view" in JSON.parse(encodeMessage(inGroup)), false);
  const wire = JSON.parse(encodeMessage(outside));
  assert.equal(wire.in_view, false);
  // A peer that does not send it (an older version) counts as in a group, as it did before.
  delete wire.in_view;
  const decoded = decodeMessage(JSON.stringify(wire));
  assert.ok(decoded.ok && decoded.message.type === "FORM_PROMISE" && decoded.message.inView);
  assert.equal(decodeMessage(JSON.stringify({ ...wire, in_view: 1 })).ok, false);
});

test("REQ and PENDING encode a proposal the same way; a DEL names the run it removes", () => {
  const fields = ["view_id", "op", "peer", "peer_inc", "leader", "ballot"];
  const pick = (wire: Record<string, unknown>) => Object.fromEntries(fields.map((f) => [f, wire[f]]));
  const req = JSON.parse(encodeMessage(samples[2]));
  const pending = JSON.parse(encodeMessage(samples[7]));
  assert.deepEqual(pick(pending), pick(req));
  assert.equal(JSON.parse(encodeMessage(samples[3])).peer_inc, 40);
});

test("a proposal names the id of the view it makes only when it skips ids, and only above view_id + 1", () => {
  const jump = { ...proposal, nextViewId: 10 };
  const req: Message = { type: "REQ", from: 1, incarnation: 10, requestId: 9, proposal: jump };
  assert.equal(JSON.parse(encodeMessage(req)).next_view_id, 10);
  assert.equal("next_view_id" in JSON.parse(encodeMessage(samples[2])), false);
  assert.deepEqual(decodeMessage(encodeMessage(req)), { ok: true, message: req });
  const state = {
    incarnation: 10,
    promised: ballot,
    accepted: jump,
    installed: view,
    member: true,
    formAccepted: null,
  };
  assert.deepEqual(decodeDurableState(encodeDurableState(state)), { ok: true, state });
  // view_id 4 makes view 5 without it: 5 (or less) is no skip, and is refused.
  for (const bad of [5, 4, 0]) {
    const fields: Record<string, unknown> = JSON.parse(encodeMessage(req));
    assert.equal(
      decodeMessage(JSON.stringify({ ...fields, next_view_id: bad })).ok,
      false,
      `next_view_id ${bad}`,
    );
  }
});

test("durable state round-trips with the wire's encodings, and bad state is rejected with a reason", () => {
  const state = {
    incarnation: 7,
    promised: ballot,
    accepted: proposal,
    installed: view,
    member: true,
    formAccepted: { ballot, view },
  };
  assert.deepEqual(decodeDurableState(encodeDurableState(state)), { ok: true, state });
  const fresh = { ...state, accepted: null, installed: null, member: false, formAccepted: null };
  assert.deepEqual(decodeDurableState(encodeDurableState(fresh)), { ok: true, state: fresh });
  for (
    const bad of ["", "[]", "{}", JSON.stringify({ ...JSON.parse(encodeDurableState(state)), member: 1 })]
  ) {
    const result = decodeDurableState(bad);
    assert.equal(result.ok, false, bad);
  }
});

test("bytes: encodeWire and decodeWire round-trip; bad UTF-8 and over-long input are rejected", () => {
  for (const message of samples) assert.deepEqual(decodeWire(encodeWire(message)), { ok: true, message });
  assert.deepEqual(decodeWire(new Uint8Array([0x7b, 0xff, 0x7d])), { ok: false, error: "not UTF-8" });
  const long = decodeWire(new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(0x20));
  assert.equal(long.ok, false);
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
    ["an older version", { ...good, v: 1 }],
    ["wrong version", { ...good, v: 3 }],
    ["epoch malformed", { ...good, epoch: [1, 2] }],
    ["epoch of former 0", { ...good, epoch: [1, 0, 5] }],
    ["view without an epoch", { ...good, epoch: undefined }],
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
    ["missing incarnation", { ...good, inc: undefined }],
    ["op unknown", { v: 2, type: "REQ", from: 1, inc: 1, request_id: 1, view_id: 1, op: "MOVE", peer: 2 }],
    ["PENDING without a view", { v: 2, type: "PENDING", from: 2, inc: 1, request_id: 1, op: "NOTHING" }],
    ["NEWLEADER without op PENDING", {
      v: 2,
      type: "NEWLEADER",
      from: 2,
      inc: 1,
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

test("a peer of protocol version 1 is refused with a diagnostic that says so", () => {
  const result = decodeMessage('{"v":1,"type":"LEAVE","from":4,"inc":1732400000004}');
  assert.equal(result.ok, false);
  if (!result.ok) assert.match(result.error, /protocol version 1, not 2: a peer of another version/);
});

test("the envelope carries the sender's epoch, absent when it has none; a view always carries its own", () => {
  const withEpoch = JSON.parse(encodeMessage(samples.find((m) => m.type === "PROBE")!));
  assert.deepEqual(withEpoch.epoch, [1, 1, 1]);
  assert.equal("epoch" in JSON.parse(encodeMessage(samples[0])), false);
  const newView = JSON.parse(encodeMessage(samples[5]));
  assert.equal(newView.type, "NEWVIEW");
  assert.deepEqual(newView.epoch, [1, 1, 1]);
});

test("an over-long message is rejected before parsing", () => {
  const result = decodeMessage(" ".repeat(MAX_MESSAGE_BYTES + 1));
  assert.equal(result.ok, false);
  if (!result.ok) assert.match(result.error, /longer/);
});

// ---- Queries: QUERY and ANSWER.

const epoch = { round: 1, former: 1, run: 10 };
const bytes = (text: string) => new TextEncoder().encode(text);
const querySamples: Message[] = [
  {
    type: "QUERY",
    from: 1,
    incarnation: 10,
    epoch,
    queryId: 3,
    name: "uptime",
    payload: bytes(""),
    timeoutMs: 2000,
  },
  {
    type: "QUERY",
    from: 2,
    incarnation: 20,
    epoch,
    queryId: 1,
    name: "disk.free:root-1",
    payload: new Uint8Array([0, 1, 0xfe, 0xff, 10]),
    timeoutMs: 1,
  },
  { type: "ANSWER", from: 3, incarnation: 30, epoch, queryId: 3, payload: bytes("up 3 days\n"), error: null },
  { type: "ANSWER", from: 3, incarnation: 30, epoch, queryId: 3, payload: bytes(""), error: null },
  {
    type: "ANSWER",
    from: 4,
    incarnation: 40,
    epoch,
    queryId: 3,
    payload: null,
    error: 'no handler for query "uptime"',
  },
];

test("QUERY and ANSWER round-trip, as text and bytes; payloads go as base64", () => {
  for (const message of querySamples) {
    assert.deepEqual(decodeMessage(encodeMessage(message)), { ok: true, message });
    assert.deepEqual(decodeWire(encodeWire(message)), { ok: true, message });
  }
  assert.deepEqual(JSON.parse(encodeMessage(querySamples[0])), {
    v: 2,
    type: "QUERY",
    from: 1,
    inc: 10,
    epoch: [1, 1, 10],
    query_id: 3,
    name: "uptime",
    payload: "",
    timeout_ms: 2000,
  });
  assert.equal(JSON.parse(encodeMessage(querySamples[1])).payload, "AAH+/wo=");
  assert.equal(JSON.parse(encodeMessage(querySamples[2])).payload, btoa("up 3 days\n"));
  const error = JSON.parse(encodeMessage(querySamples[4]));
  assert.equal("payload" in error, false);
  assert.equal(error.error, 'no handler for query "uptime"');
});

test("a 64 KiB payload fits a message; one byte more is refused", () => {
  const full = new Uint8Array(MAX_QUERY_PAYLOAD_BYTES).fill(0xff);
  const query: Message = {
    type: "QUERY",
    from: 1,
    incarnation: 10,
    queryId: 1,
    name: "x",
    payload: full,
    timeoutMs: 1,
  };
  const line = encodeMessage(query);
  assert.ok(line.length < MAX_MESSAGE_BYTES, `${line.length} bytes`);
  assert.deepEqual(decodeMessage(line), { ok: true, message: query });
  const over = encodeMessage({ ...query, payload: new Uint8Array(MAX_QUERY_PAYLOAD_BYTES + 1) });
  assert.deepEqual(decodeMessage(over), { ok: false, error: "field 'payload' holds more than 65536 bytes" });
  const answer = encodeMessage({
    type: "ANSWER",
    from: 2,
    incarnation: 1,
    queryId: 1,
    payload: full,
    error: null,
  });
  assert.equal(decodeMessage(answer).ok, true);
});

test("a malformed QUERY or ANSWER is rejected with a reason", () => {
  const query = JSON.parse(encodeMessage(querySamples[0]));
  const answer = JSON.parse(encodeMessage(querySamples[2]));
  const bad: [string, unknown, RegExp][] = [
    ["no query_id", { ...query, query_id: undefined }, /'query_id' must be an integer >= 1/],
    ["query_id 0", { ...answer, query_id: 0 }, /'query_id'/],
    ["no name", { ...query, name: undefined }, /'name' must be 1 to 64/],
    ["empty name", { ...query, name: "" }, /'name'/],
    ["a name with a space", { ...query, name: "up time" }, /'name'/],
    ["a name of 65", { ...query, name: "x".repeat(65) }, /'name'/],
    ["payload not base64", { ...query, payload: "not base64!" }, /'payload' must be base64/],
    ["payload badly padded", { ...query, payload: "abc" }, /'payload' must be base64/],
    ["payload a number", { ...query, payload: 7 }, /'payload' must be base64/],
    ["no payload", { ...query, payload: undefined }, /'payload'/],
    ["timeout 0", { ...query, timeout_ms: 0 }, /'timeout_ms' must be an integer >= 1/],
    ["no timeout", { ...query, timeout_ms: undefined }, /'timeout_ms'/],
    ["an answer with both", { ...answer, error: "x" }, /either 'payload' or 'error'/],
    ["an answer with neither", { ...answer, payload: undefined }, /either 'payload' or 'error'/],
    ["an error not a string", { ...answer, payload: undefined, error: 5 }, /'error' must be a string/],
    ["an error too long", { ...answer, payload: undefined, error: "e".repeat(1_025) }, /at most 1024/],
  ];
  for (const [why, value, reason] of bad) {
    const result = decodeMessage(JSON.stringify(value));
    assert.equal(result.ok, false, why);
    if (!result.ok) assert.match(result.error, reason, why);
  }
});

test("malformed tags and user events are rejected with a reason", () => {
  const good = (fields: Record<string, unknown>) => ({ v: 2, from: 2, inc: 20, ...fields });
  const event = [2, 20, 1, "deploy", "v2"];
  const bad: [string, unknown, RegExp][] = [
    ["a tag key with a space", good({ type: "TAGS", tags: { "ro le": "db" } }), /tag key "ro le"/],
    ["a tag value not text", good({ type: "TAGS", tags: { role: 5 } }), /its value must be text/],
    ["tags over 8 KiB", good({ type: "TAGS", tags: { big: "x".repeat(9_000) } }), /more than 8192/],
    ["tags not an object", good({ type: "JOIN", tags: ["role=db"] }), /tags must be an object/],
    [
      "a TAG without tags",
      { ...JSON.parse(encodeMessage(samples[2])), op: "TAG" },
      /a TAG needs field 'tags'/,
    ],
    [
      "a DEL with tags",
      { ...JSON.parse(encodeMessage(samples[3])), tags: {} },
      /'tags' is for an ADD or a TAG/,
    ],
    [
      "a view's tags not one a member",
      { ...JSON.parse(encodeMessage(samples[5])), tags: [{}] },
      /one object a member/,
    ],
    ["a cut of a later view", { ...JSON.parse(encodeMessage(samples[5])), cut: [9, 1] }, /'cut'/],
    [
      "an event not a list",
      good({ type: "EVENT", view_id: 4, event: { name: "x" } }),
      /a user event must be/,
    ],
    [
      "an event of peer 0",
      good({ type: "EVENT", view_id: 4, event: [0, 20, 1, "x", ""] }),
      /a user event must be/,
    ],
    ["an event without a name", good({ type: "EVENT", view_id: 4, event: [2, 20, 1, "", ""] }), /event name/],
    [
      "an event payload over 64 KiB",
      good({ type: "EVENT", view_id: 4, event: [2, 20, 1, "x", "y".repeat(65_537)] }),
      /more than 65536/,
    ],
    [
      "EVENTS at position 0",
      good({ type: "EVENTS", view_id: 4, ballot: [1, 1], first: 0, events: [event], committed: 0 }),
      /'first'/,
    ],
    [
      "EVENTS without events",
      good({ type: "EVENTS", view_id: 4, ballot: [1, 1], first: 1, committed: 0 }),
      /'events'/,
    ],
    ["EVENTS_OK without have", good({ type: "EVENTS_OK", view_id: 4 }), /'have'/],
    ["a heartbeat's committed 0", good({ type: "HEARTBEAT", view_id: 4, committed: 0 }), /'committed'/],
  ];
  for (const [why, value, reason] of bad) {
    const result = decodeMessage(JSON.stringify(value));
    assert.equal(result.ok, false, why);
    if (!result.ok) assert.match(result.error, reason, why);
  }
});
