/**
 * Test support for the Node build and the binaries: runs a command to the
 * end, finds Node, and builds `dist/` once per test run, so that `make test`
 * on a clean clone builds what it tests.
 *
 * @module
 */

import { ROOT } from "./cluster.ts";

/** What a finished command printed. */
export interface Output {
  /** Exit code (-1 if it was killed on timeout). */
  code: number;
  /** Everything on stdout. */
  stdout: string;
  /** Everything on stderr. */
  stderr: string;
}

/** Runs `command` in the repository root to its end; kills it after `timeoutMs`. */
export async function run(
  command: string[],
  options: { env?: Record<string, string>; clearEnv?: boolean; timeoutMs?: number } = {},
): Promise<Output> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutMs ?? 60_000);
  try {
    const out = await new Deno.Command(command[0], {
      args: command.slice(1),
      cwd: ROOT,
      env: options.env,
      clearEnv: options.clearEnv,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return {
      code: abort.signal.aborted ? -1 : out.code,
      stdout: decode(out.stdout),
      stderr: decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The `node` on PATH, and its version; null if there is none. */
export async function findNode(): Promise<{ path: string; major: number; version: string } | null> {
  try {
    const out = await run(["node", "-p", "process.execPath + ' ' + process.versions.node"], {
      timeoutMs: 20_000,
    });
    if (out.code !== 0) return null;
    const [path, version] = out.stdout.trim().split(" ");
    return { path, version, major: Number(version.split(".")[0]) };
  } catch {
    return null; // no node on PATH
  }
}

/**
 * Why tests that need Node 20+ cannot run here, or false when they can; `what`
 * names them in the SKIPPED line printed for people reading the test output.
 */
export async function nodeSkip(what: string): Promise<string | false> {
  const node = await findNode();
  const why = node === null
    ? "no node on PATH"
    : node.major < 20
    ? `node ${node.version} is older than 20`
    : false;
  if (why) console.log(`SKIPPED: ${what}: ${why}`);
  return why;
}

let nodeBuild: Promise<Output> | undefined;
let seaBuild: Promise<Output> | undefined;

function build(args: string[], what: string): Promise<Output> {
  return run(["node", `${ROOT}scripts/build_node.mjs`, ...args], { timeoutMs: 120_000 }).then((out) => {
    if (out.code !== 0) throw new Error(`${what} failed (exit ${out.code}):\n${out.stdout}${out.stderr}`);
    return out;
  });
}

/** `make build` (dist/membership.mjs, dist/mod.mjs), once per test run. */
export function buildNode(): Promise<Output> {
  return nodeBuild ??= build([], "node scripts/build_node.mjs");
}

/** `make sea` (dist/membership.cjs and dist/membership-node), once per test run. */
export function buildSea(): Promise<Output> {
  return seaBuild ??= build(["--sea"], "node scripts/build_node.mjs --sea");
}

/** The command that runs one peer with Node: append `-h hostsfile --id N ...`. */
export const NODE_PEER = ["node", `${ROOT}dist/membership.mjs`];

/** The command that runs one peer as the Node single executable. */
export const SEA_PEER = [`${ROOT}dist/membership-node`];
