/**
 * `make test`: two tiers, then one plain line `N passed, N failed` (with
 * `, N skipped` when a test could not run here) over both.
 *
 * - fast tier: the static checks, then the unit tests and the simulator (every
 *   test file under tests/ but tests/process/);
 * - slow tier: tests/process/, the tests that start processes or build artefacts.
 *   It runs even when the fast tier failed, so that CI shows everything.
 *
 * `--tier fast` (`make test-fast`) or `--tier slow` (`make test-slow`) runs one
 * tier only; the default is `--tier all`.
 *
 * @module
 */

import { parseArgs } from "node:util";

type Counts = { passed: number; failed: number; skipped: number };

const deno = Deno.execPath();
const tmp = new URL("../.tmp/", import.meta.url).pathname;

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

/** One `deno test` run over `paths`, counted from its JUnit report. */
async function testTier(name: string, paths: string[]): Promise<Counts> {
  const junit = `${tmp}junit-${name}.xml`;
  await Deno.remove(junit).catch(() => {}); // a stale report must not count as this run's
  // --allow-all: the process tests spawn deno, node and ip; unit tests need only net and read (narrow later).
  const ok = await run(`${name} tier`, ["test", "--allow-all", `--junit-path=${junit}`, ...paths]);
  let xml = "";
  try {
    xml = Deno.readTextFileSync(junit);
  } catch {
    console.log(`FAILED: the ${name} tier wrote no report`);
  }
  const attr = (key: string) => Number(new RegExp(`<testsuites[^>]* ${key}="(\\d+)"`).exec(xml)?.[1] ?? 0);
  const bad = attr("failures") + attr("errors");
  const skipped = (xml.match(/<skipped/g) ?? []).length;
  // A runner that failed outside any test (a leak, a crash, no report) counts one failure.
  const counts = { passed: attr("tests") - bad - skipped, failed: bad || (ok ? 0 : 1), skipped };
  console.log(`${name} tier: ${summary(counts)}`);
  return counts;
}

Deno.mkdirSync(tmp, { recursive: true });
const results: Counts[] = [];
if (tier !== "slow") {
  results.push(await staticChecks());
  results.push(await testTier("fast", ["--ignore=tests/process", "tests/"]));
}
if (tier !== "fast") results.push(await testTier("slow", ["tests/process/"]));

const total = results.reduce((sum, c) => ({
  passed: sum.passed + c.passed,
  failed: sum.failed + c.failed,
  skipped: sum.skipped + c.skipped,
}));
console.log(`\n${summary(total)}`);
Deno.exit(total.failed === 0 ? 0 : 1);
