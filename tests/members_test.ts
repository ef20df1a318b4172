// `membership members`: the table and JSON from a status report, the URL, and what is not a status report.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatMembers,
  formatSince,
  memberRows,
  parseStatus,
  StatusFetchError,
  type StatusReport,
  statusUrl,
} from "../src/runtime/members.ts";
import { memberJson } from "../src/core/format.ts";

const STATUS: StatusReport = {
  id: 2,
  role: "member",
  leader: 1,
  view: { id: 4, epoch: { round: 2, former: 1, run: 1795545774221 } },
  members: [
    memberJson({ id: 1, incarnation: 3, silentMs: 120, state: "alive" }, "127.0.0.1:7601", 1),
    memberJson({ id: 2, incarnation: 1, silentMs: 0, state: "alive" }, "127.0.0.1:7602", 1),
    memberJson(
      { id: 10, incarnation: 12, silentMs: 3_240, state: "suspected" },
      "peer10.lab.example:7600",
      1,
    ),
    memberJson(
      { id: 4, incarnation: 1, silentMs: 15.6, state: "leaving", tags: { role: "db", zone: "a" } },
      "[::1]:7604",
      1,
    ),
  ],
};

test("the table: a header and one aligned row per member, the leader's role is leader; then the view and its epoch", () => {
  const lines = formatMembers(STATUS, "text").split("\n");
  assert.equal(lines.at(-1), "", "ends with a newline");
  lines.pop();
  assert.equal(lines.pop(), "view 4, epoch 2/1/1795545774221");
  assert.equal(lines.length, 5);
  assert.match(lines[0], /^ID +ADDRESS +STATE +ROLE +INCARNATION +LAST HEARD +TAGS$/);
  const cells = lines.slice(1).map((l) => l.split(/ {2,}/));
  assert.deepEqual(cells, [
    ["1", "127.0.0.1:7601", "alive", "leader", "3", "120ms", "-"],
    ["2", "127.0.0.1:7602", "alive", "member", "1", "0ms", "-"],
    ["10", "peer10.lab.example:7600", "suspected", "member", "12", "3.2s", "-"],
    ["4", "[::1]:7604", "leaving", "member", "1", "16ms", "role=db,zone=a"],
  ]);
  // Columns line up: every column starts at the same offset on every line.
  for (const column of ["ADDRESS", "STATE", "ROLE", "INCARNATION", "LAST HEARD", "TAGS"]) {
    const at = lines[0].indexOf(column);
    for (const line of lines.slice(1)) assert.match(line.slice(at - 2, at), /^ {2}$/, `${column}: ${line}`);
    for (const line of lines.slice(1)) assert.notEqual(line[at], " ", `${column}: ${line}`);
  }
});

test("--format json: the rows as a JSON array", () => {
  const rows = JSON.parse(formatMembers(STATUS, "json"));
  assert.deepEqual(rows, memberRows(STATUS));
  assert.deepEqual(rows[0], {
    id: 1,
    address: "127.0.0.1:7601",
    state: "alive",
    role: "leader",
    incarnation: 3,
    last_heard_ms: 120,
    tags: {},
  });
  assert.equal(rows[3].last_heard_ms, 16);
  assert.deepEqual(rows[3].tags, { role: "db", zone: "a" });
});

test("--tag KEY=VALUE: only the members with every tag given", () => {
  const only = (filter: Record<string, string>) =>
    JSON.parse(formatMembers(STATUS, "json", filter)).map((r: { id: number }) => r.id);
  assert.deepEqual(only({ role: "db" }), [4]);
  assert.deepEqual(only({ role: "db", zone: "a" }), [4]);
  assert.deepEqual(only({ role: "db", zone: "b" }), []);
  assert.deepEqual(only({}), [1, 2, 10, 4]);
  const text = formatMembers(STATUS, "text", { role: "web" }).split("\n");
  assert.match(text[0], /TAGS$/, "the header, and no row");
  assert.equal(text[1], "view 4, epoch 2/1/1795545774221");
});

test("a peer still joining: the header only", () => {
  const text = formatMembers({ id: 3, role: "joining", leader: null, view: null, members: [] }, "text");
  assert.equal(text, "ID  ADDRESS  STATE  ROLE  INCARNATION  LAST HEARD  TAGS\n");
  assert.equal(
    formatMembers({ id: 3, role: "joining", leader: null, view: null, members: [] }, "json"),
    "[]\n",
  );
});

test("last heard: ms, then seconds to a tenth, then minutes and hours", () => {
  assert.equal(formatSince(0), "0ms");
  assert.equal(formatSince(999.4), "999ms");
  assert.equal(formatSince(1_000), "1.0s");
  assert.equal(formatSince(59_940), "59.9s");
  assert.equal(formatSince(59_960), "1m00s");
  assert.equal(formatSince(125_000), "2m05s");
  assert.equal(formatSince(3 * 3_600_000 + 7 * 60_000), "3h07m");
  assert.equal(formatSince(-5), "0ms");
});

test("the status URL: scheme and /v1/status added when missing", () => {
  assert.equal(statusUrl("127.0.0.1:8080"), "http://127.0.0.1:8080/v1/status");
  assert.equal(statusUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080/v1/status");
  assert.equal(statusUrl("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/v1/status");
  assert.equal(statusUrl("http://h:1/v1/status"), "http://h:1/v1/status");
  assert.equal(statusUrl("https://h/peer1"), "https://h/peer1/v1/status");
  assert.throws(() => statusUrl("ftp://h/"), StatusFetchError);
  assert.throws(() => statusUrl("http://[oops"), StatusFetchError);
});

test("an answer that is not a status report is refused with one line naming the URL", () => {
  const url = "http://h/v1/status";
  assert.deepEqual(parseStatus(JSON.parse(JSON.stringify(STATUS)), url), STATUS);
  for (
    const bad of [
      null,
      [],
      "text",
      { hello: "world" },
      { ...STATUS, id: "2" },
      { ...STATUS, members: "none" },
      { ...STATUS, members: [{ id: 1 }] },
      { ...STATUS, leader: 0 },
      { ...STATUS, view: 3 },
    ]
  ) {
    assert.throws(() => parseStatus(bad, url), (e: Error) => {
      assert.ok(e instanceof StatusFetchError);
      assert.match(e.message, /^http:\/\/h\/v1\/status is not a membership status endpoint \(.+\)$/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    }, JSON.stringify(bad));
  }
});

test("health: peers on probation, and this peer removed while alive, under the table", () => {
  const text = formatMembers({
    ...STATUS,
    health: {
      removedWhileAlive: 1,
      probation: [{ peer: 3, run: 30, removals: 2, windowMs: 4_000, arrived: 7 }],
    },
  }, "text");
  const lines = text.trimEnd().split("\n");
  assert.equal(
    lines.at(-2),
    "peer 3 on probation: removed 2 times while alive; 7 of its datagrams in the last 4.0s",
  );
  assert.equal(lines.at(-1), "this peer was removed while alive 1 time(s): its packets may be lost");
  // A report without health (an older peer) prints none.
  assert.equal(formatMembers(STATUS, "text").includes("probation"), false);
});
