// The packages as a user gets them: the npm tarball (`npm pack`) installed into a
// fresh Node project outside the repository, imported from .mjs and from .ts
// (type-checked by tsc, strict), its `bin` run with npx; the tarball's file list;
// and mod.ts imported under Deno from a directory outside the repository.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DENO, freePorts, ROOT } from "../support/cluster.ts";
import { nodeSkip, run } from "../support/node_build.ts";
import { VERSION } from "../../mod.ts";

const skip = await nodeSkip("the npm package tests");
const NAME = JSON.parse(Deno.readTextFileSync(`${ROOT}package.json`)).name as string;

/** `npm pack --dry-run --json`'s report (prepack's build output comes first on stdout). */
interface PackReport {
  filename: string;
  size: number;
  files: { path: string; size: number }[];
}

async function pack(args: string[]): Promise<PackReport> {
  const out = await run(["npm", "pack", "--json", ...args], { timeoutMs: 180_000 });
  assert.equal(out.code, 0, `npm pack failed:\n${out.stdout}${out.stderr}`);
  return JSON.parse(out.stdout.slice(out.stdout.indexOf("\n[") + 1))[0];
}

/** Runs `command` in `cwd` (run() works in the repository root). */
async function runIn(cwd: string, command: string[], timeoutMs = 60_000) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const out = await new Deno.Command(command[0], {
      args: command.slice(1),
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: abort.signal.aborted ? -1 : out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** The README's embedding snippet, for a program outside the repository: from `from`, on free ports. */
function readmeSnippet(from: string): string {
  const readme = Deno.readTextFileSync(`${ROOT}README.md`);
  const code = /```ts\n(\/\/ embed\.ts:[^]*?)```/.exec(readme)?.[1];
  assert.ok(code, "README.md has the // embed.ts snippet");
  const ports = freePorts(3);
  let i = 0;
  return code.replace('"./mod.ts"', `"${from}"`).replace(/\b176\d\d\b/g, () => String(ports[i++ % 3]));
}

test("npm pack ships the bundles, the types, README and docs: no tests, benches or key files", {
  skip,
}, async () => {
  const report = await pack(["--dry-run"]);
  const paths = report.files.map((f) => f.path);
  console.log(`${report.filename}: ${report.size} bytes packed, ${paths.length} files`);
  for (const f of report.files) console.log(`  ${f.path} ${f.size}`);
  for (const path of paths) {
    assert.match(
      path,
      /^(package\.json|README\.md|dist\/(mod|membership)\.mjs|dist\/types\/.+\.d\.ts|docs\/[\w-]+\.md)$/,
      `${path} is not something the package should ship`,
    );
    assert.doesNotMatch(path, /(^|\/)(tests?|bench|examples)\/|_test\.|\.keys?$|\.pem$|(^|\/)\./, path);
  }
  for (const required of ["dist/mod.mjs", "dist/membership.mjs", "dist/types/mod.d.ts", "README.md"]) {
    assert.ok(paths.includes(required), `the tarball holds ${required}`);
  }
});

test("npm: the packed tarball installs into a fresh project; .mjs, strict .ts and npx all work", {
  skip,
}, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "membership-npm-" });
  try {
    const { filename } = await pack(["--pack-destination", dir]);
    Deno.writeTextFileSync(`${dir}/package.json`, JSON.stringify({ private: true, type: "module" }));
    // The tarball has no dependencies (the bundles carry them), so this needs no network.
    const install = await runIn(dir, [
      "npm",
      "install",
      "--offline",
      "--no-audit",
      "--no-fund",
      `./${filename}`,
    ]);
    assert.equal(install.code, 0, `npm install failed:\n${install.stdout}${install.stderr}`);

    // From .mjs: the README's snippet as plain JavaScript is the same program without types.
    const js = readmeSnippet(NAME);
    Deno.writeTextFileSync(`${dir}/app.mjs`, js);
    const mjs = await runIn(dir, ["node", "app.mjs"]);
    assert.equal(mjs.code, 0, `node app.mjs:\n${mjs.stdout}${mjs.stderr}`);
    assert.match(mjs.stdout, /^3 \[ 1, 2, 3 \] 1\n/);

    // From .ts, checked by tsc with strict settings against the shipped .d.ts (skipLibCheck off).
    Deno.writeTextFileSync(`${dir}/app.ts`, readmeSnippet(NAME));
    Deno.writeTextFileSync(
      `${dir}/tsconfig.json`,
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noImplicitOverride: true,
          noImplicitReturns: true,
          skipLibCheck: false,
          types: ["node"],
          typeRoots: [`${ROOT}node_modules/@types`],
          outDir: "out",
        },
        files: ["app.ts"],
      }),
    );
    const tsc = await runIn(dir, [`${ROOT}node_modules/.bin/tsc`, "-p", "tsconfig.json"]);
    assert.equal(tsc.code, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`);
    const ts = await runIn(dir, ["node", "out/app.js"]);
    assert.equal(ts.code, 0, `node out/app.js:\n${ts.stdout}${ts.stderr}`);
    assert.match(ts.stdout, /^3 \[ 1, 2, 3 \] 1\n/);

    // A mistake in the program is caught by the shipped types (the check can fail).
    Deno.writeTextFileSync(
      `${dir}/app.ts`,
      readmeSnippet(NAME).replace("v.members.length", "v.member.length"),
    );
    const wrong = await runIn(dir, [`${ROOT}node_modules/.bin/tsc`, "-p", "tsconfig.json"]);
    assert.match(wrong.stdout, /Property 'member' does not exist/);

    // The bin: `npx NAME` runs the CLI.
    const npx = await runIn(dir, ["npx", "--offline", NAME, "--version"]);
    assert.equal(npx.stdout, `membership ${VERSION}\n`, npx.stderr);
    const bad = await runIn(dir, ["npx", "--offline", NAME, "-h", "/nonexistent/hosts.txt", "--id", "1"]);
    assert.equal(bad.code, 2, bad.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

test("deno: mod.ts imports from a directory outside the repository (npm: specifiers, no config)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "membership-deno-" });
  try {
    Deno.writeTextFileSync(`${dir}/embed.ts`, readmeSnippet(`${ROOT}mod.ts`));
    const out = await runIn(dir, [
      DENO,
      "run",
      "--check",
      "--no-prompt",
      "--unstable-net",
      "--allow-net",
      "embed.ts",
    ], 180_000);
    assert.equal(out.code, 0, `deno run embed.ts in ${dir}:\n${out.stdout}${out.stderr}`);
    assert.match(out.stdout, /^3 \[ 1, 2, 3 \] 1\n/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
