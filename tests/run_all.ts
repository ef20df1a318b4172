/**
 * `make test`: the static checks, then every test file, then one plain line
 * `N passed, N failed` (with `, N skipped` when a test could not run here).
 *
 * @module
 */

const deno = Deno.execPath();
const tmp = new URL("../.tmp/", import.meta.url).pathname;
Deno.mkdirSync(tmp, { recursive: true });

let passed = 0;
let failed = 0;
let skipped = 0;

async function run(name: string, args: string[]): Promise<boolean> {
  console.log(`\n== ${name}: deno ${args.join(" ")}`);
  const { code } = await new Deno.Command(deno, { args, stdout: "inherit", stderr: "inherit" }).output();
  return code === 0;
}

for (
  const [name, args] of [
    ["fmt", ["fmt", "--check"]],
    ["lint", ["lint"]],
    ["check", ["check", "mod.ts", "tests/", "examples/", "bench/"]],
    ["doc", ["doc", "--lint", "mod.ts"]],
  ] as const
) {
  if (await run(name, [...args])) passed++;
  else (failed++, console.log(`FAILED: ${name}`));
}

const junit = `${tmp}junit.xml`;
const ok = await run("tests", ["test", "--allow-all", `--junit-path=${junit}`, "tests/"]);
let xml = "";
try {
  xml = Deno.readTextFileSync(junit);
} catch {
  console.log("FAILED: the test run wrote no report");
}
const attr = (name: string) => Number(new RegExp(`<testsuites[^>]* ${name}="(\\d+)"`).exec(xml)?.[1] ?? 0);
const total = attr("tests");
const bad = attr("failures") + attr("errors");
const ignored = (xml.match(/<skipped/g) ?? []).length;
passed += total - bad - ignored;
failed += bad;
skipped += ignored;
if (!ok && bad === 0) failed++; // the runner failed outside any test (a leak, a crash)

console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
Deno.exit(failed === 0 ? 0 : 1);
