// Every ```ts snippet of README.md and docs/*.md runs as shown and ends; every wire example in
// docs/protocol.md decodes.
//
// A runnable snippet starts with the comment that tells a reader how to run it,
//   // embed.ts: node_modules/.bin/deno run --unstable-net --allow-net embed.ts
// and the test runs it with exactly those flags (and --check, --no-prompt), as a
// file in the repository (.tmp/snippets/) whose `./mod.ts` imports point at
// the repository's mod.ts, with a time limit: it must exit 0. Ports 17600-17699
// in a snippet are replaced by ports free right now, so that concurrent test
// runs do not collide. A block whose fence says ```ts ignore is not run; the
// text around it must say why (use sparingly).
import assert from "node:assert/strict";
import { test } from "node:test";
import { freePorts } from "./support/cluster.ts";
import { decodeMessage } from "../mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}.tmp/snippets/`;
const TIMEOUT_MS = 20_000;

/** A fenced ```ts block: the file it is in, the line its code starts on, its info string and code. */
interface Snippet {
  file: string;
  line: number;
  info: string;
  code: string;
}

function snippets(file: string): Snippet[] {
  const lines = Deno.readTextFileSync(`${ROOT}${file}`).split("\n");
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})\s*(ts|typescript)\b(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, , info] = open;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[end])) end++;
    assert.ok(end < lines.length, `${file}:${i + 1}: a \`\`\`ts block that never closes`);
    const code = lines.slice(start, end).map((l) => l.startsWith(indent) ? l.slice(indent.length) : l);
    found.push({ file, line: start + 1, info: info.trim(), code: code.join("\n") + "\n" });
    i = end;
  }
  return found;
}

const docs = [
  "README.md",
  ...[...Deno.readDirSync(`${ROOT}docs`)].filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`).sort(),
];
const all = docs.flatMap(snippets);

test("README.md and docs/ have runnable ts snippets, and each says how to run it", () => {
  assert.ok(all.some((s) => s.file === "README.md" && !/\bignore\b/.test(s.info)), "the README's embedding");
  for (const s of all.filter((s) => !/\bignore\b/.test(s.info))) {
    assert.match(
      s.code.split("\n")[0],
      /^\/\/ [\w.-]+\.ts: node_modules\/\.bin\/deno run( --[\w-]+(=\S+)?)* [\w.-]+\.ts\s*$/,
      `${s.file}:${s.line}: a runnable snippet starts with // NAME.ts: node_modules/.bin/deno run FLAGS NAME.ts`,
    );
  }
});

for (const s of all) {
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
      let code = s.code.replaceAll(
        /from "\.\/mod\.ts"/g,
        `from "${new URL("mod.ts", `file://${ROOT}`).href}"`,
      );
      const ports = [...new Set([...code.matchAll(/\b176\d\d\b/g)].map((m) => m[0]))];
      const free = freePorts(ports.length);
      ports.forEach((port, i) => (code = code.replaceAll(new RegExp(`\\b${port}\\b`, "g"), String(free[i]))));
      Deno.mkdirSync(OUT, { recursive: true });
      const path = `${OUT}${s.file.replaceAll("/", "_")}-${s.line}-${name}`;
      Deno.writeTextFileSync(path, code);
      const abort = AbortSignal.timeout(TIMEOUT_MS);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--check", "--no-prompt", ...flags, path],
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: abort,
      }).output();
      const text = (b: Uint8Array) => new TextDecoder().decode(b);
      const said = `\n--- stdout\n${text(out.stdout)}--- stderr\n${text(out.stderr)}`;
      assert.ok(!abort.aborted, `${s.file}:${s.line}: still running after ${TIMEOUT_MS / 1000} s${said}`);
      assert.equal(out.code, 0, `${s.file}:${s.line}: exit code${said}`);
      Deno.removeSync(path);
    },
  );
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
