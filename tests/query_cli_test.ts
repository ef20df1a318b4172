// `membership query`'s output and `--on-query`'s parsing (src/runtime/query_cli.ts), pure parts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatQuery, parseOnQuery, querySummary } from "../src/runtime/query_cli.ts";
import { controlUrl } from "../src/runtime/control_client.ts";
import type { QueryJson } from "../src/runtime/status_server.ts";

const result: QueryJson = {
  name: "uptime",
  view: 7,
  asked: [1, 2, 3, 4, 5],
  answered: [1, 2, 3],
  missing: [4, 5],
  answers: [
    { from: 3, ms: 12, payload: "up 2 days\nload 0.1\n", error: null },
    { from: 1, ms: 0, payload: "up 3 days\n", error: null },
    { from: 2, ms: 4, payload: "", error: 'no handler for query "uptime"' },
  ],
  timeout_ms: 2000,
  elapsed_ms: 2000,
};

test("the table: PEER, ANSWER, MS by peer; more lines under ANSWER; errors; then the summary", () => {
  assert.equal(
    formatQuery(result, "text"),
    [
      "PEER  ANSWER                                MS",
      "1     up 3 days                             0",
      '2     error: no handler for query "uptime"  4',
      "3     up 2 days                             12",
      "      load 0.1",
      "3 of 5 answered (1 with an error); 4 and 5 did not",
      "",
    ].join("\n"),
  );
  assert.deepEqual(JSON.parse(formatQuery(result, "json")), result);
});

test("the summary names who did not answer", () => {
  const r = (answered: number[], missing: number[]) => ({
    asked: [...answered, ...missing].sort(),
    answered,
    missing,
    answers: [],
  });
  assert.equal(querySummary(r([1, 2, 3, 4, 5], [])), "5 of 5 answered");
  assert.equal(querySummary(r([1, 2, 3, 4], [5])), "4 of 5 answered; 5 did not");
  assert.equal(querySummary(r([1, 2], [3, 4, 5])), "2 of 5 answered; 3, 4 and 5 did not");
  assert.equal(querySummary(r([], [1, 2])), "0 of 2 answered; 1 and 2 did not");
});

test("--on-query NAME=COMMAND: the first '=' splits; no '=', a bad name, no command or ping are refused", () => {
  assert.deepEqual(parseOnQuery("env=env | grep A=B"), { name: "env", command: "env | grep A=B" });
  assert.throws(
    () => parseOnQuery("uptime"),
    /^Error: --on-query wants NAME=COMMAND, not 'uptime' \(no '='\)$/,
  );
  assert.throws(() => parseOnQuery("=uptime"), /the name '' is not/);
  assert.throws(() => parseOnQuery("a b=c"), /the name 'a b' is not/);
  assert.throws(() => parseOnQuery("x=  "), /wants a command/);
  assert.throws(() => parseOnQuery("ping=echo"), /ping is built in/);
});

test("the control URLs from a --status address", () => {
  assert.equal(controlUrl("127.0.0.1:8080", "/v1/query"), "http://127.0.0.1:8080/v1/query");
  assert.equal(controlUrl("http://h:1/", "/v1/query"), "http://h:1/v1/query");
  assert.equal(controlUrl("http://h:1/v1/status", "/v1/event"), "http://h:1/v1/event");
});
