// The core's side of queries (src/core/query.ts through PeerCore.query, receive and answer): it
// sends and hands over, keeps no state, and drops a QUERY from outside its view.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PeerCore } from "../src/core/peer_core.ts";
import { FOUNDER, msg, newCore, run, sends, viewOf } from "./support/core_harness.ts";

const view = viewOf(3, [1, 2, 3]);
const bytes = (text: string) => new TextEncoder().encode(text);

/** Peer `id` of 4, a member of view 3 = [1,2,3] (restored on its state: no forming to script). */
function member(id: number): PeerCore {
  const core = newCore(id, 4, () => 0.5, {
    incarnation: run(id),
    promised: FOUNDER,
    accepted: null,
    installed: view,
    member: true,
    formAccepted: null,
  });
  core.start(0);
  return core;
}

test("query: a QUERY to every other member of the view, and the question to this peer's own host", () => {
  const core = member(2);
  const effects = core.query(10, 7, "uptime", bytes("x"), 2000);
  const queries = sends(effects, "QUERY");
  assert.deepEqual(queries.map((s) => [s.to, s.channel]), [[1, "stream"], [3, "stream"]]);
  for (const s of queries) {
    assert.deepEqual(s.message, {
      type: "QUERY",
      queryId: 7,
      name: "uptime",
      payload: bytes("x"),
      timeoutMs: 2000,
      from: 2,
      incarnation: run(2),
      epoch: view.epoch,
    });
  }
  assert.deepEqual(effects.filter((e) => e.kind === "query"), [{
    kind: "query",
    query: { from: 2, queryId: 7, name: "uptime", payload: bytes("x"), timeoutMs: 2000 },
  }]);
  assert.equal(effects.some((e) => e.kind === "persist"), false);
});

test("query while joining asks nobody; a bad name or an oversize payload is refused with a diagnostic", () => {
  const joining = newCore(2, 3);
  joining.start(0);
  assert.deepEqual(joining.query(10, 1, "ping", bytes(""), 100).filter((e) => e.kind !== "log"), []);
  const core = member(2);
  for (const [name, payload] of [["two words", bytes("")], ["x", new Uint8Array(65_537)]] as const) {
    const effects = core.query(10, 1, name, payload, 100);
    assert.deepEqual(effects.map((e) => e.kind), ["log"]);
  }
});

test("a QUERY from a member is handed to the host; from a peer outside the view, or an old run, dropped", () => {
  const core = member(2);
  const q = { type: "QUERY" as const, queryId: 4, name: "uptime", payload: bytes(""), timeoutMs: 500 };
  const effects = core.receive(10, msg(1, q));
  assert.deepEqual(effects.filter((e) => e.kind === "query"), [{
    kind: "query",
    query: { from: 1, queryId: 4, name: "uptime", payload: bytes(""), timeoutMs: 500 },
  }]);
  const outsider = core.receive(20, msg(4, q));
  assert.equal(outsider.some((e) => e.kind === "query"), false);
  assert.ok(outsider.some((e) => e.kind === "log" && e.key === "query-sender"));
  const oldRun = core.receive(30, msg(1, q, run(1) - 1));
  assert.equal(oldRun.some((e) => e.kind === "query"), false);
});

test("answer: an ANSWER to the asker, an answer effect to itself; too large goes as an error", () => {
  const core = member(2);
  const toOther = sends(core.answer(10, 1, 4, { payload: bytes("up") }), "ANSWER");
  assert.deepEqual(toOther.map((s) => [s.to, s.message]), [[1, {
    type: "ANSWER",
    queryId: 4,
    payload: bytes("up"),
    error: null,
    from: 2,
    incarnation: run(2),
    epoch: view.epoch,
  }]]);
  assert.deepEqual(core.answer(10, 2, 5, { error: "no handler" }), [{
    kind: "answer",
    answer: { from: 2, queryId: 5, payload: null, error: "no handler" },
  }]);
  const big = sends(core.answer(10, 3, 6, { payload: new Uint8Array(65_537) }), "ANSWER")[0];
  assert.ok(big.message.type === "ANSWER" && big.message.payload === null);
  assert.match(
    big.message.type === "ANSWER" ? big.message.error! : "",
    /65537 bytes is over the limit of 65536/,
  );
  const long = sends(core.answer(10, 3, 6, { error: "e".repeat(5_000) }), "ANSWER")[0];
  assert.equal(long.message.type === "ANSWER" && long.message.error?.length, 1_024);
});

test("an ANSWER is handed to the host as it is: matching it to a query is the host's", () => {
  const core = member(2);
  const effects = core.receive(10, msg(3, { type: "ANSWER", queryId: 9, payload: bytes("hi"), error: null }));
  assert.deepEqual(effects.filter((e) => e.kind === "answer"), [{
    kind: "answer",
    answer: { from: 3, queryId: 9, payload: bytes("hi"), error: null },
  }]);
});
