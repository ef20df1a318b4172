// The README's set-up on a fresh clone: `npm ci` (what every make target runs
// first) installs the locked versions, gives a working node_modules/.bin/deno,
// and leaves `git status` clean. It clones the repository's HEAD, so it checks
// what is committed, not the working tree. Skipped, saying why, when the npm
// registry cannot be reached.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ROOT } from "../support/cluster.ts";
import { run } from "../support/node_build.ts";

/** Why the set-up cannot run here, or null. */
async function unavailable(): Promise<string | null> {
  for (const tool of ["git", "npm"]) {
    try {
      const out = await run([tool, "--version"], { timeoutMs: 20_000 });
      if (out.code !== 0) return `\`${tool} --version\` exits ${out.code}`;
    } catch {
      return `no ${tool} on PATH`;
    }
  }
  const ping = await run(["npm", "ping", "--fetch-retries=0", "--loglevel=error"], { timeoutMs: 30_000 });
  if (ping.code !== 0) {
    const registry = (await run(["npm", "config", "get", "registry"], { timeoutMs: 20_000 })).stdout.trim();
    const why = ping.code === -1
      ? "no answer in 30 s"
      : /npm error (FetchError: .*)/.exec(ping.stderr)?.[1] ??
        /npm error code (\S+)/.exec(ping.stderr)?.[1] ??
        `exit ${ping.code}`;
    return `the npm registry ${registry} cannot be reached (npm ping: ${why})`;
  }
  return null;
}

const skip = await unavailable();
if (skip) console.log(`SKIPPED: set-up on a fresh clone: ${skip}`);

test(
  "set-up on a fresh clone (npm ci) works and leaves git status clean",
  { skip: skip ?? false },
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "membership-clone-" });
    try {
      const clone = await run(["git", "clone", "--quiet", ROOT, dir], { timeoutMs: 60_000 });
      assert.equal(clone.code, 0, `git clone: ${clone.stderr}`);
      const git = (...args: string[]) => run(["git", "-C", dir, ...args], { timeoutMs: 60_000 });
      assert.equal((await git("status", "--porcelain")).stdout, "", "the clone starts clean");

      // The Makefile's set-up command, run in the clone.
      const started = Date.now();
      const install = await run(
        ["sh", "-c", `cd '${dir}' && npm ci --no-audit --no-fund --loglevel=error`],
        { timeoutMs: 300_000 },
      );
      assert.equal(install.code, 0, `npm ci (exit ${install.code}):\n${install.stdout}${install.stderr}`);
      console.log(`npm ci on a fresh clone: ${((Date.now() - started) / 1000).toFixed(1)} s`);

      const deno = await run([`${dir}/node_modules/.bin/deno`, "--version"], { timeoutMs: 30_000 });
      assert.equal(deno.code, 0, `node_modules/.bin/deno --version: ${deno.stderr}`);
      assert.match(deno.stdout, /^deno \d+\.\d+\.\d+/);

      const status = await git("status", "--porcelain", "--untracked-files=all");
      assert.equal(status.code, 0, status.stderr);
      assert.equal(status.stdout, "", `git status after set-up is not clean:\n${status.stdout}`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
