import assert from "node:assert/strict";
import { test } from "node:test";
import { frame, frameAll, FrameSplitter } from "../src/transport/framing.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

test("frames split across chunks, CRLF, empty frames skipped", () => {
  const s = new FrameSplitter(100);
  assert.deepEqual(s.push(bytes("ab")), []);
  assert.deepEqual(s.push(bytes("c\nd\r\n\n")), [bytes("abc"), bytes("d")]);
  assert.deepEqual(s.push(bytes("e\r")), []);
  assert.deepEqual(s.push(bytes("\n")), [bytes("e")]);
  assert.equal(s.oversized, 0);
});

test("a multi-byte character split across chunks comes out as its exact bytes", () => {
  const s = new FrameSplitter(100);
  const euro = bytes("x€\n");
  assert.deepEqual(s.push(euro.subarray(0, 2)), []);
  assert.deepEqual(s.push(euro.subarray(2, 3)), []);
  assert.deepEqual(s.push(euro.subarray(3)), [bytes("x€")]);
  // Bytes that are not UTF-8 at all pass through untouched.
  const raw = new Uint8Array([0xff, 0x00, 0xfe, 0x0a]);
  assert.deepEqual(s.push(raw), [new Uint8Array([0xff, 0x00, 0xfe])]);
});

test("frames are copies: reusing the chunk's buffer does not change them", () => {
  const s = new FrameSplitter(100);
  const chunk = bytes("ab");
  assert.deepEqual(s.push(chunk), []);
  chunk.fill(0x7a);
  const second = bytes("c\nd\n");
  const frames = s.push(second);
  second.fill(0x7a);
  assert.deepEqual(frames, [bytes("abc"), bytes("d")]);
});

test("an over-long frame is dropped whole and counted; the next frame survives", () => {
  const s = new FrameSplitter(5);
  assert.deepEqual(s.push(bytes("abcdefgh")), []);
  assert.deepEqual(s.push(bytes("ijk")), []);
  assert.deepEqual(s.push(bytes("lmn\nok\n")), [bytes("ok")]);
  assert.equal(s.oversized, 1);
  assert.deepEqual(s.push(bytes("toolong\nfine\n")), [bytes("fine")]);
  assert.equal(s.oversized, 2);
  // The bound is on bytes: "€€" is 6 bytes though 2 characters.
  assert.deepEqual(s.push(bytes("€€\n12345\n")), [bytes("12345")]);
  assert.equal(s.oversized, 3);
  // Over the bound only across chunks.
  assert.deepEqual(s.push(bytes("abc")), []);
  assert.deepEqual(s.push(bytes("def\nxyz\n")), [bytes("xyz")]);
  assert.equal(s.oversized, 4);
});

test("frame and frameAll round-trip through the splitter", () => {
  assert.deepEqual(frame(bytes("hi")), bytes("hi\n"));
  assert.deepEqual(frameAll([]), new Uint8Array());
  const payloads = [bytes('{"a":1}'), bytes("€"), new Uint8Array([0xff, 0x0d, 0x00])];
  const wire = frameAll(payloads);
  assert.deepEqual(wire, new Uint8Array([...bytes('{"a":1}\n€\n'), 0xff, 0x0d, 0x00, 0x0a]));
  const s = new FrameSplitter(100);
  const out = [];
  for (let i = 0; i < wire.length; i++) out.push(...s.push(wire.subarray(i, i + 1)));
  assert.deepEqual(out, payloads);
});
