// The docs against the code, so that they cannot drift: the flag tables of
// README.md and docs/protocol.md list exactly the options the CLI parses
// (src/runtime/cli.ts), the README's layout names every file under src/, the
// status routes are documented, and relative links in what the packages ship
// (README.md, docs/) lead to files that ship too.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CLI_OPTIONS } from "../src/runtime/cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const read = (file: string) => Deno.readTextFileSync(`${ROOT}${file}`);

/** The flags of the markdown table whose header starts `| flag`: long name → short letter (or ""). */
function flagTable(markdown: string, file: string): Map<string, string> {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => /^\|\s*flag\s*\|/.test(l));
  assert.ok(start >= 0, `${file} has a flag table`);
  const flags = new Map<string, string>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const cell = line.split(/(?<!\\)\|/)[1];
    const short = /`-(\w), --/.exec(cell)?.[1] ?? "";
    for (const [, long] of cell.matchAll(/--([a-z][\w-]*)/g)) flags.set(long, short);
  }
  return flags;
}

const parsed = new Map(
  Object.entries(CLI_OPTIONS).map(([long, o]) => [long, "short" in o ? o.short : ""]),
);

for (const file of ["README.md", "docs/protocol.md"]) {
  test(`${file}: the flag table lists exactly the CLI's options, with their short forms`, () => {
    assert.deepEqual(
      [...flagTable(read(file), file)].sort(),
      [...parsed].sort(),
    );
  });
}

test("flagTable finds a missing flag (the check can fail)", () => {
  const table =
    "| flag | meaning |\n| --- | --- |\n| `-h, --hostsfile PATH` | x |\n| `--help`, `--version` | y |\n";
  assert.deepEqual([...flagTable(table, "t")], [["hostsfile", "h"], ["help", ""], ["version", ""]]);
  assert.notDeepEqual([...flagTable(table, "t")].sort(), [...parsed].sort());
});

test("README.md: the layout in Design names every file under src/", () => {
  const readme = read("README.md");
  const layout = /## Design\n\n```\n([^]*?)```/.exec(readme)?.[1];
  assert.ok(layout, "README.md's Design section starts with the layout");
  const missing: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${ROOT}${dir}`)) {
      if (e.isDirectory) walk(`${dir}/${e.name}`);
      else if (!new RegExp(`(^|[\\s/(,])${e.name.replaceAll(".", "\\.")}\\b`).test(layout)) {
        missing.push(`${dir}/${e.name}`);
      }
    }
  };
  walk("src");
  assert.deepEqual(missing, [], "files the layout leaves out");
});

test("docs name no PROTOCOL.md (the contract is docs/protocol.md)", () => {
  for (const file of ["README.md", "docs/protocol.md", "docs/security.md", "docs/node-and-binaries.md"]) {
    assert.doesNotMatch(read(file), /PROTOCOL\.md/, file);
  }
});

test("docs/protocol.md documents every route the status server serves", () => {
  const server = read("src/runtime/status_server.ts");
  const routes = [...server.matchAll(/app\.(?:get|post)\("([^"]+)"/g)].map((m) => m[1]);
  assert.ok(routes.length >= 5, `routes found: ${routes}`);
  const protocol = read("docs/protocol.md");
  for (const route of routes) assert.match(protocol, new RegExp(`\\| \`${route}\` +\\|`), route);
});

test("relative links in README.md and docs/ lead to files the packages ship", () => {
  const shipped = (path: string) => path === "README.md" || /^docs\/[\w-]+\.md$/.test(path);
  for (const file of ["README.md", ...[...Deno.readDirSync(`${ROOT}docs`)].map((e) => `docs/${e.name}`)]) {
    for (const [, target] of read(file).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const path = new URL(target, `file:///${file}`).pathname.slice(1);
      assert.ok(shipped(path), `${file} links to ${target}, which the npm and JSR packages leave out`);
      Deno.statSync(`${ROOT}${path}`);
    }
  }
});
