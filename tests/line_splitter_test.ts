import assert from "node:assert/strict";
import { test } from "node:test";
import { LineSplitter } from "../src/transport/line_splitter.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

test("lines split across chunks, CRLF and multi-byte characters", () => {
  const s = new LineSplitter(100);
  assert.deepEqual(s.push(bytes("ab")), []);
  assert.deepEqual(s.push(bytes("c\nd\r\n\n")), ["abc", "d"]);
  const euro = bytes("€\n");
  assert.deepEqual(s.push(euro.subarray(0, 1)), []);
  assert.deepEqual(s.push(euro.subarray(1)), ["€"]);
});

test("an over-long line is dropped whole and counted; the next line survives", () => {
  const s = new LineSplitter(5);
  assert.deepEqual(s.push(bytes("abcdefgh")), []);
  assert.deepEqual(s.push(bytes("ijk")), []);
  assert.deepEqual(s.push(bytes("lmn\nok\n")), ["ok"]);
  assert.equal(s.oversized, 1);
  assert.deepEqual(s.push(bytes("toolong\nfine\n")), ["fine"]);
  assert.equal(s.oversized, 2);
});
