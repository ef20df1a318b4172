/**
 * `make test`: two tiers, then one plain line `N passed, N failed` (with
 * `, N skipped` when a test could not run here) over both.
 *
 * - fast tier: the static checks, then the unit tests and the simulator (every
 *   test file under tests/ but tests/process/);
 * - slow tier: tests/process/, the tests that start processes or build artefacts.
 *   It runs even when the fast tier failed, so that CI shows everything.
 *
 * Each tier is split into groups (`GROUPS`), one `deno test` run each, with
 * only the permissions its files need. A fast-tier test file no group names
 * runs in the "pure" group, with no permissions at all: a new file that needs
 * one fails loudly (`NotCapable: Requires net access ...`) until it is added
 * to a group; no file is ever left out.
 *
 * `--tier fast` (`make test-fast`) or `--tier slow` (`make test-slow`) runs one
 * tier only; the default is `--tier all`.
 *
 * @module
 */

import { tmpdir } from "node:os";
import { parseArgs } from "node:util";

type Counts = { passed: number; failed: number; skipped: number };

const deno = Deno.execPath();
const root = new URL("../", import.meta.url).pathname;
const tmp = `${root}.tmp/`;

/** Where sockets are bound: loopback, and 0.0.0.0 for the peer that binds every interface. */
const LOOPBACK = "127.0.0.1,127.0.0.2,localhost,[::1],0.0.0.0";

type Group = { name: string; tier: "fast" | "slow"; permissions: string[]; files: string[] | "rest" };

/** One `deno test` run per group; "rest": every fast-tier test file no other group names. */
const GROUPS: Group[] = [
  // Codec, core, formation, takeover, in-memory peers and leave, the simulator...: no permissions.
  { name: "pure", tier: "fast", permissions: [], files: "rest" },
  {
    name: "sockets",
    tier: "fast",
    permissions: [`--allow-net=${LOOPBACK}`],
    files: [
      "tests/sockets_test.ts",
      "tests/peer_test.ts",
      "tests/peer_bind_test.ts",
      "tests/status_server_test.ts",
    ],
  },
  {
    name: "files", // FileStorage in a temporary dir (node:os tmpdir() reads TMPDIR, TMP or TEMP)
    tier: "fast",
    permissions: [`--allow-read=${tmpdir()}`, `--allow-write=${tmpdir()}`, "--allow-env=TMPDIR,TMP,TEMP"],
    files: ["tests/file_storage_test.ts"],
  },
  {
    // reads README.md and docs/, writes each snippet under .tmp/ and runs it with deno (a script with bash)
    name: "snippets",
    tier: "fast",
    permissions: [
      `--allow-read=${root}`,
      `--allow-write=${tmp}`,
      "--allow-net=127.0.0.1",
      `--allow-run=${deno},bash`,
    ],
    files: ["tests/readme_snippets_test.ts", "tests/docs_test.ts"],
  },
  {
    // Peers and builds in child processes (deno, node, npm, ip, git, chromium), which
    // no flag here confines anyway; each child gets its own narrow flags.
    name: "process",
    tier: "slow",
    permissions: [
      "--allow-run",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      "--allow-sys",
    ],
    files: ["tests/process/"],
  },
];

/** What `deno test` picks up by default: `test.ts`, `*_test.ts`, `*.test.ts` (and js, mjs...). */
const isTestFile = (name: string) => /(^|[_.])test\.[mc]?[jt]sx?$/.test(name);

/** Every test file under tests/ but tests/process/, relative to the repository root. */
function fastTestFiles(dir = "tests"): string[] {
  return [...Deno.readDirSync(`${root}${dir}`)].flatMap((e) =>
    e.isDirectory
      ? (e.name === "process" && dir === "tests" ? [] : fastTestFiles(`${dir}/${e.name}`))
      : (e.isFile && isTestFile(e.name) ? [`${dir}/${e.name}`] : [])
  ).sort();
}

function usage(problem: string): never {
  console.error(`tests/run_all.ts: ${problem} (usage: --tier fast|slow|all)`);
  Deno.exit(2);
}

let tier = "all";
try {
  tier = parseArgs({ args: Deno.args, options: { tier: { type: "string", default: "all" } } }).values.tier;
} catch (e) {
  usage((e as Error).message);
}
if (!["fast", "slow", "all"].includes(tier)) usage(`unknown tier "${tier}"`);

const summary = ({ passed, failed, skipped }: Counts) =>
  `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`;

async function run(name: string, args: string[]): Promise<boolean> {
  console.log(`\n== ${name}: deno ${args.join(" ")}`);
  const { code } = await new Deno.Command(deno, { args, stdout: "inherit", stderr: "inherit" }).output();
  return code === 0;
}

/** fmt, lint, check and doc: one pass or failure each. */
async function staticChecks(): Promise<Counts> {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (
    const [name, args] of [
      ["fmt", ["fmt", "--check"]],
      ["lint", ["lint"]],
      ["check", ["check", "mod.ts", "tests/", "examples/", "bench/"]],
      ["doc", ["doc", "--lint", "mod.ts"]],
    ] as const
  ) {
    if (await run(name, [...args])) counts.passed++;
    else (counts.failed++, console.log(`FAILED: ${name}`));
  }
  console.log(`static checks: ${summary(counts)}`);
  return counts;
}

/** The files the groups name; a renamed or removed one fails the run, rather than a group running short. */
const NAMED = GROUPS.flatMap((g) => g.files === "rest" ? [] : g.files);
const MISSING = NAMED.filter((f) => {
  try {
    return !Deno.statSync(`${root}${f}`);
  } catch {
    return true;
  }
});

/** One `deno test` run of a group, counted from its JUnit report. */
async function testGroup({ name, permissions, files }: Group): Promise<Counts> {
  const paths = files === "rest" ? fastTestFiles().filter((f) => !NAMED.includes(f)) : files;
  const junit = `${tmp}junit-${name}.xml`;
  await Deno.remove(junit).catch(() => {}); // a stale report must not count as this run's
  const ok = await run(`${name} tests`, [
    "test",
    "--no-prompt",
    ...permissions,
    `--junit-path=${junit}`,
    ...paths,
  ]);
  let xml = "";
  try {
    xml = Deno.readTextFileSync(junit);
  } catch {
    console.log(`FAILED: the ${name} tests wrote no report`);
  }
  const attr = (key: string) => Number(new RegExp(`<testsuites[^>]* ${key}="(\\d+)"`).exec(xml)?.[1] ?? 0);
  const bad = attr("failures") + attr("errors");
  const skipped = (xml.match(/<skipped/g) ?? []).length;
  // A runner that failed outside any test (a leak, a crash, no report) counts one failure.
  const counts = { passed: attr("tests") - bad - skipped, failed: bad || (ok ? 0 : 1), skipped };
  console.log(`${name} tests: ${summary(counts)}`);
  return counts;
}

Deno.mkdirSync(tmp, { recursive: true });
const results: Counts[] = [];
if (MISSING.length) {
  console.log(`FAILED: tests/run_all.ts names test files that do not exist: ${MISSING.join(", ")}`);
  results.push({ passed: 0, failed: 1, skipped: 0 });
}
if (tier !== "slow") results.push(await staticChecks());
for (const group of GROUPS.filter((g) => tier === "all" || g.tier === tier)) {
  results.push(await testGroup(group));
}

const total = results.reduce((sum, c) => ({
  passed: sum.passed + c.passed,
  failed: sum.failed + c.failed,
  skipped: sum.skipped + c.skipped,
}));
console.log(`\n${summary(total)}`);
Deno.exit(total.failed === 0 ? 0 : 1);
