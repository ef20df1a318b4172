// The key file: every way it can be wrong names its line; keys import into WebCrypto.
import assert from "node:assert/strict";
import { test } from "node:test";
import { generateKey, Keyring, KeyringError, parseKeyring } from "../mod.ts";

const KEY_A = generateKey();
const KEY_B = generateKey();

function fails(text: string, line: number | null, pattern: RegExp): void {
  assert.throws(() => parseKeyring(text), (e: unknown) => {
    assert.ok(e instanceof KeyringError, String(e));
    assert.equal(e.line, line);
    assert.match(e.message, pattern);
    if (line !== null) assert.match(e.message, new RegExp(`^line ${line}: `));
    return true;
  });
}

test("a key file: one base64 key a line, blank and # lines ignored, spaces and CRLF allowed", async () => {
  const keyring = parseKeyring(`# the group's keys\n\n  ${KEY_A}  \r\n# old:\n${KEY_B}\n`);
  assert.equal(keyring.size, 2);
  const keys = await keyring.cryptoKeys();
  assert.equal(keys.length, 2);
  assert.equal(keys[0].algorithm.name, "AES-GCM");
  assert.equal((keys[0].algorithm as AesKeyAlgorithm).length, 256);
  assert.equal(keys[0].extractable, false);
  assert.equal(await keyring.cryptoKeys(), await keyring.cryptoKeys(), "imported once");
});

test("openssl rand -base64 32 output parses", () => {
  assert.equal(parseKeyring("6b0Jb7vVY1mH4Q0o9F3sZ2xw8lqJ5Ckq1cR7dU2yTgA=\n").size, 1);
});

test("an empty key file, or one with only comments and blank lines, is refused", () => {
  fails("", null, /no key in it/);
  fails("\n\n   \n", null, /no key in it/);
  fails("# nothing here\n\n# at all\n", null, /no key in it/);
});

test("a line that is not base64 is refused, naming the line", () => {
  fails(`${KEY_A}\nnot base64!\n`, 2, /not a base64 key/);
  fails(`# c\n\n${KEY_A.slice(0, -2)}\n`, 3, /not a base64 key/); // length not a multiple of 4
  fails(`${KEY_A.replace(/[A-Za-z]/, "-")}\n`, 1, /not a base64 key/); // base64url is not base64
  fails(`${KEY_A} ${KEY_B}\n`, 1, /not a base64 key/); // two keys on one line
  fails("\u00e9t\u00e9\n", 1, /not a base64 key/);
});

test("a key that is not 32 bytes is refused, naming the line", () => {
  const b64 = (n: number) => btoa(String.fromCharCode(...new Uint8Array(n).fill(7)));
  fails(`${KEY_A}\n${b64(16)}\n`, 2, /16 bytes, not 32/);
  fails(`${b64(33)}\n`, 1, /33 bytes, not 32/);
  fails(`${b64(31)}\n`, 1, /31 bytes, not 32/);
  fails(`${b64(64)}\n`, 1, /64 bytes, not 32/);
  fails("====\n", 1, /not a base64 key/);
});

test("a Keyring built from bytes checks them", () => {
  assert.throws(() => new Keyring([]), KeyringError);
  assert.throws(() => new Keyring([new Uint8Array(16)]), /16 bytes, not 32/);
  assert.equal(new Keyring([new Uint8Array(32)]).size, 1);
});
