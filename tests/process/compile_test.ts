// `make compile` and `make compile-all` (scripts/compile.ts): the deno compile
// command carries the flags of PROTOCOL.md's command line, one output per
// target; without dl.deno.land the build fails with one clear line.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DENO } from "../support/cluster.ts";
import { run } from "../support/node_build.ts";

const SCRIPT = [
  DENO,
  "run",
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "scripts/compile.ts",
];
const HOST = Deno.build.target;
const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
];

/** The deno compile commands a dry run prints, one word list each. */
async function dryRun(args: string[], env?: Record<string, string>): Promise<string[][]> {
  const out = await run([...SCRIPT, "--dry-run", ...args], { env });
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim().split("\n").map((line) => line.split(" "));
}

function assertCompileCommand(words: string[], target: string, output: string): void {
  const deno = words.findIndex((w) => /(^|\/)deno$/.test(w));
  assert.ok(deno >= 0, `names deno: ${words.join(" ")}`);
  assert.equal(words[deno + 1], "compile");
  for (const flag of ["--unstable-net", "--allow-net", "--allow-read", "--allow-env", "--allow-sys"]) {
    assert.ok(words.includes(flag), `${flag} in ${words.join(" ")}`);
  }
  assert.ok(!words.includes("--allow-all") && !words.includes("-A"), "no more than the peer needs");
  assert.equal(words[words.indexOf("--target") + 1], target);
  assert.equal(words[words.indexOf("--output") + 1], output);
  // Only the runtime npm packages go in, not all of node_modules (deno, esbuild: hundreds of MB).
  assert.equal(words[words.indexOf("--exclude") + 1], "node_modules");
  const included = words.flatMap((w, i) => words[i - 1] === "--include" ? [w] : []);
  for (const p of ["@logtape/logtape", "hono", "@hono/node-server", "prom-client", "tdigest", "bintrees"]) {
    assert.ok(included.includes(`node_modules/${p}`), `--include node_modules/${p} in ${words.join(" ")}`);
  }
  assert.ok(!included.some((p) => /\/(deno|esbuild|puppeteer-core)$/.test(p)), "no build or test tools");
  assert.equal(words.at(-1), "mod.ts");
}

test("compile: --dry-run prints deno compile with the peer's flags, for this machine", async () => {
  const [words, ...more] = await dryRun([]);
  assert.equal(more.length, 0);
  assertCompileCommand(words, HOST, "dist/membership");
  assert.ok(!words.some((w) => w.startsWith("DENORT_BIN=")));
});

test("compile: --dry-run --all prints one command per target (make compile-all)", async () => {
  const commands = await dryRun(["--all"]);
  assert.equal(commands.length, TARGETS.length);
  for (const [i, target] of TARGETS.entries()) {
    assertCompileCommand(
      commands[i],
      target,
      target === HOST ? "dist/membership" : `dist/membership-${target}`,
    );
  }
});

test("compile: DENORT_BIN is passed on for this machine's target only", async () => {
  const commands = await dryRun(["--all"], { DENORT_BIN: "/opt/denort" });
  for (const [i, target] of TARGETS.entries()) {
    assert.equal(commands[i][0] === "DENORT_BIN=/opt/denort", target === HOST, commands[i].join(" "));
  }
  const bad = await run([...SCRIPT, "--out-dir", Deno.makeTempDirSync()], {
    env: { DENORT_BIN: "/nonexistent" },
  });
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "compile: DENORT_BIN '/nonexistent' is not a readable file\n");
});

test("compile: without dl.deno.land, one clear line; with it, a binary that runs", async () => {
  const outDir = Deno.makeTempDirSync({ prefix: "compile-" });
  const env = { ...Deno.env.toObject() };
  delete env.DENORT_BIN;
  try {
    const out = await run([...SCRIPT, "--out-dir", outDir], { env, clearEnv: true, timeoutMs: 300_000 });
    if (out.code === 0) {
      console.log("dl.deno.land answered: checking the compiled binary instead of the offline error");
      const version = await run([`${outDir}/membership`, "--version"]);
      assert.equal(version.code, 0, version.stderr);
      assert.match(version.stdout, /^membership \d/);
      return;
    }
    console.log("dl.deno.land is out of reach: checking the offline error (the binary check is skipped)");
    assert.equal(out.code, 1);
    assert.equal(
      out.stderr,
      "deno compile needs the denort runtime from dl.deno.land, which this machine cannot reach; " +
        "set DENORT_BIN=/path/to/denort to build offline\n",
    );
    assert.match(out.stdout, /^\S*deno compile .* mod\.ts\n$/, "the command it ran, and nothing else");
  } finally {
    Deno.removeSync(outDir, { recursive: true });
  }
});

const denort = Deno.env.get("DENORT_BIN");
if (!denort) console.log("SKIPPED: compile with DENORT_BIN: DENORT_BIN is not set (no local denort here)");

test("compile: with DENORT_BIN, an offline build whose binary runs", {
  skip: !denort && "DENORT_BIN is not set",
}, async () => {
  const outDir = Deno.makeTempDirSync({ prefix: "compile-" });
  try {
    const out = await run([...SCRIPT, "--out-dir", outDir], { timeoutMs: 300_000 });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^DENORT_BIN=/);
    const version = await run([`${outDir}/membership`, "--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^membership \d/);
  } finally {
    Deno.removeSync(outDir, { recursive: true });
  }
});
