// Every ```ts snippet of README.md and docs/*.md runs as shown and ends; every runnable ```sh
// snippet prints what it shows; every wire example in docs/protocol.md decodes.
//
// A runnable snippet starts with the comment that tells a reader how to run it,
//   // embed.ts: node_modules/.bin/deno run --unstable-net --allow-net embed.ts
// and the test runs it with exactly those flags (and --check, --no-prompt), as a
// file in the repository (.tmp/snippets/) whose `./mod.ts` imports point at
// the repository's mod.ts, with a time limit: it must exit 0. Ports 17600-17699
// in a snippet are replaced by ports free right now, so that concurrent test
// runs do not collide. A block whose fence says ```ts ignore is not run; the
// text around it must say why (use sparingly).
//
// A ```sh block that starts with `# NAME.sh: bash NAME.sh` is a script run from the clone's root:
// the test runs it with bash (errexit, pipefail) in a fresh directory under .tmp/snippets/ holding a stand-in for
// ./membership, with the same port replacement and time limit. Every whole-line `#` comment after
// the first is a line it prints: in that order, spaces collapsed, `…` standing for anything.
import assert from "node:assert/strict";
import { test } from "node:test";
import { freePorts } from "./support/cluster.ts";
import { decodeMessage } from "../mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}.tmp/snippets/`;
const TIMEOUT_MS = 20_000;

/** A fenced ```ts or ```sh block: the file it is in, the line its code starts on, its language, info string and code. */
interface Snippet {
  file: string;
  line: number;
  lang: "ts" | "sh";
  info: string;
  code: string;
}

function snippets(file: string): Snippet[] {
  const lines = Deno.readTextFileSync(`${ROOT}${file}`).split("\n");
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})\s*(ts|typescript|sh)\b(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang, info] = open;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[end])) end++;
    assert.ok(end < lines.length, `${file}:${i + 1}: a \`\`\`${lang} block that never closes`);
    const code = lines.slice(start, end).map((l) => l.startsWith(indent) ? l.slice(indent.length) : l);
    found.push({
      file,
      line: start + 1,
      lang: lang === "sh" ? "sh" : "ts",
      info: info.trim(),
      code: code.join("\n") + "\n",
    });
    i = end;
  }
  return found;
}

/** The snippet with its ports 17600-17699 replaced by ports free now. */
function withFreePorts(code: string): string {
  const ports = [...new Set([...code.matchAll(/\b176\d\d\b/g)].map((m) => m[0]))];
  const free = freePorts(ports.length);
  ports.forEach((port, i) => (code = code.replaceAll(new RegExp(`\\b${port}\\b`, "g"), String(free[i]))));
  return code;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** `shown` (a script's whole-line comments) appear in `printed`, in order: spaces collapsed, `…` matching anything. */
function printedInOrder(shown: string[], printed: string): string | null {
  const collapse = (line: string) => line.trim().replaceAll(/\s+/g, " ");
  const lines = printed.split("\n").map(collapse);
  let at = 0;
  for (const line of shown) {
    const pattern = new RegExp(
      `^${
        collapse(line).split("…").map((part) => part.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")
      }$`,
    );
    while (at < lines.length && !pattern.test(lines[at])) at++;
    if (at === lines.length) return line;
    at++;
  }
  return null;
}

const docs = [
  "README.md",
  ...[...Deno.readDirSync(`${ROOT}docs`)].filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`).sort(),
];
const all = docs.flatMap(snippets);
const typescript = all.filter((s) => s.lang === "ts");
/** The sh blocks that are scripts: the others show commands that need a terminal each, or a host each. */
const scripts = all.filter((s) => s.lang === "sh" && /^# [\w.-]+\.sh: bash [\w.-]+\.sh[ \t]*\n/.test(s.code));

test("README.md and docs/ have runnable ts snippets and scripts, and each says how to run it", () => {
  assert.ok(
    typescript.some((s) => s.file === "README.md" && !/\bignore\b/.test(s.info)),
    "the README's embedding",
  );
  for (const name of ["tags.sh", "query.sh"]) {
    assert.ok(
      scripts.some((s) => s.file === "README.md" && s.code.startsWith(`# ${name}:`)),
      `README: ${name}`,
    );
  }
  for (const s of typescript.filter((s) => !/\bignore\b/.test(s.info))) {
    assert.match(
      s.code.split("\n")[0],
      /^\/\/ [\w.-]+\.ts: node_modules\/\.bin\/deno run( --[\w-]+(=\S+)?)* [\w.-]+\.ts\s*$/,
      `${s.file}:${s.line}: a runnable snippet starts with // NAME.ts: node_modules/.bin/deno run FLAGS NAME.ts`,
    );
  }
});

/** Runs `args` in `cwd` within the time limit; fails the test unless it exits 0, and returns its stdout. */
async function runs(s: Snippet, command: string, args: string[], cwd: string): Promise<string> {
  const abort = AbortSignal.timeout(TIMEOUT_MS);
  const out = await new Deno.Command(command, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: abort,
  }).output();
  const said = `\n--- stdout\n${text(out.stdout)}--- stderr\n${text(out.stderr)}`;
  assert.ok(!abort.aborted, `${s.file}:${s.line}: still running after ${TIMEOUT_MS / 1000} s${said}`);
  assert.equal(out.code, 0, `${s.file}:${s.line}: exit code${said}`);
  return text(out.stdout);
}

for (const s of typescript) {
  const ignored = /\bignore\b/.test(s.info);
  const name = /^\/\/ ([\w.-]+\.ts):/.exec(s.code)?.[1] ?? "snippet";
  test(
    `${s.file}:${s.line}: ${name} runs as shown and ends`,
    { skip: ignored && "marked ignore" },
    async () => {
      const command = /^\/\/ [\w.-]+\.ts: node_modules\/\.bin\/deno run(.*) [\w.-]+\.ts\s*$/m.exec(s.code);
      assert.ok(command, `${s.file}:${s.line}: no run command in its first line`);
      const flags = command[1].trim().split(/\s+/).filter((f) => f !== "");
      // The snippet as a file at the repository's root would import "./mod.ts".
      const code = withFreePorts(s.code.replaceAll(
        /from "\.\/mod\.ts"/g,
        `from "${new URL("mod.ts", `file://${ROOT}`).href}"`,
      ));
      Deno.mkdirSync(OUT, { recursive: true });
      const path = `${OUT}${s.file.replaceAll("/", "_")}-${s.line}-${name}`;
      Deno.writeTextFileSync(path, code);
      await runs(s, Deno.execPath(), ["run", "--check", "--no-prompt", ...flags, path], ROOT);
      Deno.removeSync(path);
    },
  );
}

for (const s of scripts) {
  const name = /^# ([\w.-]+\.sh):/.exec(s.code)![1];
  test(`${s.file}:${s.line}: ${name} prints what it shows`, async () => {
    Deno.mkdirSync(OUT, { recursive: true });
    const dir = Deno.makeTempDirSync({ dir: OUT, prefix: `${name}-` });
    try {
      // ./membership of the clone, as the script calls it (a symlink would need unscoped permissions).
      Deno.writeTextFileSync(`${dir}/membership`, `#!/usr/bin/env bash\nexec "${ROOT}membership" "$@"\n`, {
        mode: 0o755,
      });
      const code = withFreePorts(s.code);
      // Whatever way the script ends, the peers it started in the background end with it.
      const cleanUp = `trap 'kill $(jobs -p) 2> /dev/null || true' EXIT\ntrap 'exit 143' TERM\n`;
      Deno.writeTextFileSync(`${dir}/${name}`, cleanUp + code);
      const printed = await runs(s, "bash", ["-eo", "pipefail", name], dir);
      const shown = code.split("\n").slice(1).filter((l) => l.startsWith("#")).map((l) =>
        l.replace(/^# ?/, "")
      );
      assert.ok(shown.length > 0, `${s.file}:${s.line}: a script shows what it prints`);
      const missing = printedInOrder(shown, printed);
      assert.equal(
        missing,
        null,
        `${s.file}:${s.line}: not printed (in order): ${missing}\n--- stdout\n${printed}`,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
}

test("every wire example in docs/protocol.md decodes", () => {
  const lines = Deno.readTextFileSync(`${ROOT}docs/protocol.md`).split("\n");
  const examples = lines.filter((line) => line.startsWith('{"v":'));
  assert.ok(examples.length >= 20, `${examples.length} examples`);
  for (const line of examples) {
    const r = decodeMessage(line);
    assert.ok(r.ok, `${r.ok ? "" : r.error}: ${line}`);
  }
});
