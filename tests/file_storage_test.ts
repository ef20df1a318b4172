// FileStorage keeps a peer's durable state in DIR/state.json: it round-trips,
// creates its directory, writes atomically (no .tmp left behind) and in order,
// and refuses, with one line naming the file, any state it cannot trust.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  decodeDurableState,
  type DurableState,
  encodeDurableState,
  FileStorage,
  type HostAddress,
  StorageError,
} from "../mod.ts";
import { leakFree } from "./support/leak_free.ts";
import { viewOf } from "./support/fixtures.ts";

const hosts: HostAddress[] = [7601, 7602, 7603].map((port) => ({ hostname: "127.0.0.1", port }));
const view = viewOf(4, [1, 2, 3]);
const ballot = { round: 2, leader: 3 };
const state: DurableState = {
  incarnation: 20,
  promised: ballot,
  accepted: { viewId: 4, op: { kind: "DEL", peer: 3, incarnation: 30 }, leader: 1, ballot },
  installed: view,
  member: true,
  formAccepted: { ballot: { round: 5, leader: 2 }, view: { ...view, id: 9 } },
};

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "file-storage-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Asserts that `load()` rejects with a StorageError whose one-line message matches `pattern`. */
async function assertRefused(storage: FileStorage, pattern: RegExp): Promise<void> {
  await assert.rejects(storage.load(), (e: unknown) => {
    assert.ok(e instanceof StorageError, `a StorageError: ${e}`);
    assert.equal(e.name, "StorageError");
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    assert.ok(e.message.includes(storage.path), `names ${storage.path}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** A well-formed state file for `storage`, with `change` applied to its fields. */
function writeFile(storage: FileStorage, change: (file: Record<string, unknown>) => void): void {
  const file: Record<string, unknown> = {
    format: 1,
    peer: 2,
    hosts: ["127.0.0.1:7601", "127.0.0.1:7602", "127.0.0.1:7603"],
    state: JSON.parse(encodeDurableState(state)),
  };
  change(file);
  writeFileSync(storage.path, JSON.stringify(file));
}

leakFree(
  "a saved state loads back as it was, from a readable file that names its peer and hosts",
  async () => {
    await withTempDir(async (dir) => {
      const storage = new FileStorage(dir, { peer: 2, hosts });
      assert.equal(await storage.load(), null);
      await storage.save(state);
      assert.deepEqual(await new FileStorage(dir, { peer: 2, hosts }).load(), state);
      const text = readFileSync(join(dir, "state.json"), "utf8");
      const file = JSON.parse(text);
      assert.equal(file.format, 1);
      assert.equal(file.peer, 2);
      assert.deepEqual(file.hosts, ["127.0.0.1:7601", "127.0.0.1:7602", "127.0.0.1:7603"]);
      assert.deepEqual(decodeDurableState(JSON.stringify(file.state)), { ok: true, state });
      assert.ok(text.split("\n").length > 3, `one field a line:\n${text}`);
      assert.deepEqual(readdirSync(dir), ["state.json"], "no .tmp left behind");
    });
  },
);

test("a fresh state (nothing accepted or installed) round-trips too; IPv6 hosts are bracketed", async () => {
  await withTempDir(async (dir) => {
    const v6 = [{ hostname: "::1", port: 7601 }];
    const storage = new FileStorage(dir, { peer: 1, hosts: v6 });
    const fresh = { ...state, accepted: null, installed: null, member: false, formAccepted: null };
    await storage.save(fresh);
    assert.deepEqual(await new FileStorage(dir, { peer: 1, hosts: v6 }).load(), fresh);
    assert.deepEqual(JSON.parse(readFileSync(storage.path, "utf8")).hosts, ["[::1]:7601"]);
  });
});

test("a missing data dir is created, parents and all, and holds no state yet", async () => {
  await withTempDir(async (dir) => {
    const nested = join(dir, "a", "b", "data");
    const storage = new FileStorage(nested, { peer: 1, hosts });
    assert.equal(storage.path, join(nested, "state.json"));
    assert.equal(await storage.load(), null);
    assert.deepEqual(readdirSync(nested), [], "the write probe leaves nothing");
    await storage.save(state);
    assert.deepEqual(await storage.load(), state);
  });
});

test("a data dir that is a file, or cannot be created, is refused on load", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "plain");
    writeFileSync(file, "");
    for (const path of [file, join(file, "sub")]) {
      await assert.rejects(
        new FileStorage(path, { peer: 1, hosts }).load(),
        (e: unknown) => e instanceof StorageError && e.message.startsWith(`data dir ${path}: `),
      );
    }
  });
});

test("an unreadable state file is refused, naming it", async () => {
  await withTempDir(async (dir) => {
    const storage = new FileStorage(dir, { peer: 2, hosts });
    mkdirSync(storage.path); // a directory where the file should be: root can read anything else
    await assertRefused(storage, /: cannot read \(EISDIR\)$/);
  });
});

test("a state file that is not JSON, not format 1 or not a valid state is refused, naming it", async () => {
  await withTempDir(async (dir) => {
    const storage = new FileStorage(dir, { peer: 2, hosts });
    writeFileSync(storage.path, "garbage\n");
    await assertRefused(storage, /^data dir state .*state\.json: not JSON$/);
    writeFileSync(storage.path, "");
    await assertRefused(storage, /: not JSON$/);
    writeFileSync(storage.path, "[1]");
    await assertRefused(storage, /: not a JSON object$/);
    writeFile(storage, (f) => (f.format = 2));
    await assertRefused(storage, /: format 2, not 1$/);
    writeFile(storage, (f) => delete f.format);
    await assertRefused(storage, /: format missing, not 1$/);
    writeFile(storage, (f) => (f.peer = "two"));
    await assertRefused(storage, /field 'peer'/);
    writeFile(storage, (f) => (f.hosts = "127.0.0.1:7601"));
    await assertRefused(storage, /field 'hosts'/);
    writeFile(storage, (f) => delete f.state);
    await assertRefused(storage, /: bad state: /);
    writeFile(storage, (f) => ((f.state as Record<string, unknown>).member = "yes"));
    await assertRefused(storage, /: bad state: .*member/);
  });
});

test("a state file written by another peer, or for another hostsfile, is refused, saying which", async () => {
  await withTempDir(async (dir) => {
    const storage = new FileStorage(dir, { peer: 2, hosts });
    writeFile(storage, (f) => (f.peer = 3));
    await assertRefused(storage, /state\.json was written by peer 3, not peer 2$/);
    writeFile(storage, (f) => (f.hosts = ["127.0.0.1:7601", "127.0.0.1:9999", "127.0.0.1:7603"]));
    await assertRefused(
      storage,
      /state\.json was written for another hostsfile \(peer 2 was 127\.0\.0\.1:9999, not 127\.0\.0\.1:7602\)$/,
    );
    writeFile(storage, (f) => (f.hosts = ["127.0.0.1:7601", "127.0.0.1:7602"]));
    await assertRefused(storage, /was written for another hostsfile \(2 peer\(s\), not 3\)$/);
    writeFile(storage, () => {});
    assert.deepEqual(await storage.load(), state, "the same file, untouched, loads");
  });
});

leakFree(
  "saves called in quick succession are written in order: the last one wins, no .tmp left",
  async () => {
    await withTempDir(async (dir) => {
      const storage = new FileStorage(dir, { peer: 2, hosts });
      assert.equal(await storage.load(), null);
      const states = Array.from({ length: 20 }, (_, i) => ({ ...state, promised: { round: i, leader: 2 } }));
      await Promise.all(states.map((s) => storage.save(s)));
      assert.deepEqual(await storage.load(), states.at(-1));
      assert.deepEqual(readdirSync(dir), ["state.json"]);
    });
  },
);

test("a failed write rejects with a StorageError and does not stop later writes", async () => {
  await withTempDir(async (dir) => {
    const storage = new FileStorage(dir, { peer: 2, hosts });
    assert.equal(await storage.load(), null);
    mkdirSync(join(dir, "state.json.tmp")); // the temporary file cannot be opened for writing
    await assert.rejects(
      storage.save(state),
      (e: unknown) => e instanceof StorageError && /state\.json: cannot write \(EISDIR\)$/.test(e.message),
    );
    rmSync(join(dir, "state.json.tmp"), { recursive: true });
    await storage.save(state);
    assert.deepEqual(await storage.load(), state);
  });
});
