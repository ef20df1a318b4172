/**
 * `make compile` and `make compile-all`: `deno compile` of `mod.ts` into one
 * self-contained binary per target, with the permissions a peer needs baked in.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-env scripts/compile.ts [options]
 *   --target TRIPLE   a Rust target triple (default: this machine's); repeatable
 *   --all             every target of TARGETS
 *   --out-dir DIR     where binaries go (default dist)
 *   --dry-run         print the commands, run nothing
 * ```
 *
 * The binary for this machine's target is `DIR/membership`; any other is
 * `DIR/membership-TRIPLE`. `deno compile` writes a copy of `denort` (the Deno
 * runtime without the tooling) with the program appended; it downloads denort
 * from dl.deno.land unless `DENORT_BIN` names a local copy. `DENORT_BIN`
 * serves this machine's target; for another target set
 * `DENORT_BIN_<TRIPLE>` with `-` as `_`, e.g. `DENORT_BIN_aarch64_apple_darwin`.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** The targets of `make compile-all`. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
] as const;

/** The permissions and flags every build gets: those of `deno run` in PROTOCOL.md. */
// --allow-write for --data-dir.
export const RUN_FLAGS = [
  "--unstable-net",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
];

const ROOT = new URL("../", import.meta.url).pathname;

/** The one line shown when denort cannot be downloaded. */
export const OFFLINE_MESSAGE =
  "deno compile needs the denort runtime from dl.deno.land, which this machine " +
  "cannot reach; set DENORT_BIN=/path/to/denort to build offline";

/** One `deno compile` run. */
export interface CompileJob {
  /** The target triple. */
  target: string;
  /** The output path, relative to the repository root. */
  output: string;
  /** The denort binary to use, or undefined to download it. */
  denort: string | undefined;
  /** The `deno` arguments. */
  args: string[];
}

/**
 * The npm packages `mod.ts` needs at run time: those src/deps.ts imports
 * (`npm:NAME@VERSION`) and, as package-lock.json records them, theirs (prom-client
 * needs tdigest, which needs bintrees). Only these are embedded; the rest of
 * node_modules (deno itself, esbuild, postject, puppeteer-core: hundreds of
 * MB) stays out.
 */
function runtimePackages(): string[] {
  const deps = Deno.readTextFileSync(`${ROOT}src/deps.ts`);
  const direct = [...deps.matchAll(/"npm:((?:@[^/@"]+\/)?[^/@"]+)@/g)].map((m) => m[1]);
  const lock = JSON.parse(Deno.readTextFileSync(`${ROOT}package-lock.json`));
  type Entry = { dependencies?: Record<string, string>; optional?: boolean };
  const entries: Record<string, Entry> = lock.packages ?? {};
  const needed = new Set<string>();
  const visit = (name: string) => {
    const entry = entries[`node_modules/${name}`];
    if (needed.has(name) || !entry || entry.optional) return;
    needed.add(name);
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(dep);
  };
  for (const name of direct) visit(name);
  return [...needed].sort();
}

function denortFor(target: string, host: string): string | undefined {
  const specific = Deno.env.get(`DENORT_BIN_${target.replaceAll("-", "_")}`);
  if (specific) return specific;
  return target === host ? Deno.env.get("DENORT_BIN") || undefined : undefined;
}

/** The `deno compile` runs for `targets`. */
export function plan(targets: readonly string[], outDir: string, host: string): CompileJob[] {
  const packages = runtimePackages();
  return targets.map((target) => {
    const output = target === host ? `${outDir}/membership` : `${outDir}/membership-${target}`;
    const args = [
      "compile",
      ...RUN_FLAGS,
      "--exclude",
      "node_modules",
      ...packages.flatMap((p) => ["--include", `node_modules/${p}`]),
      "--target",
      target,
      "--output",
      output,
      "mod.ts",
    ];
    return { target, output, denort: denortFor(target, host), args };
  });
}

function quote(word: string): string {
  return /^[\w./=:@+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The command as a shell line, deno named relative to the repository when it lies inside. */
export function commandLine(job: CompileJob, deno = Deno.execPath()): string {
  const exe = deno.startsWith(ROOT) ? deno.slice(ROOT.length) : deno;
  const env = job.denort ? [`DENORT_BIN=${quote(job.denort)}`] : [];
  return [...env, quote(exe), ...job.args.map(quote)].join(" ");
}

/** Whether deno's error output says it could not download denort. */
export function isDownloadFailure(stderr: string): boolean {
  return /dl\.deno\.land|denort/i.test(stderr) &&
    /error sending request|dns error|Connect|timed out|certificate|status code|404|403/i.test(stderr);
}

async function compile(job: CompileJob): Promise<number> {
  if (job.denort) {
    try {
      if (!Deno.statSync(job.denort).isFile) throw new Error();
    } catch {
      console.error(`compile: DENORT_BIN '${job.denort}' is not a readable file`);
      return 1;
    }
  }
  const env: Record<string, string> = { NO_COLOR: "1" };
  if (job.denort) env.DENORT_BIN = job.denort;
  const child = new Deno.Command(Deno.execPath(), {
    args: job.args,
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  if (output.code === 0) {
    Deno.stderr.writeSync(output.stderr);
    return 0;
  }
  if (!job.denort && isDownloadFailure(stderr)) {
    console.error(OFFLINE_MESSAGE);
    return 1;
  }
  // Any other failure (a type error, a bad denort): deno's own words, without its backtrace.
  console.error(stderr.replace(/\n*Stack backtrace:[\s\S]*$/, "").trimEnd());
  return output.code || 1;
}

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: "string", multiple: true },
        all: { type: "boolean" },
        "out-dir": { type: "string" },
        "dry-run": { type: "boolean" },
        help: { type: "boolean" },
      },
    }));
  } catch (e) {
    console.error(`compile: ${(e as Error).message.split(/\.( |$)/)[0]}`);
    return 2;
  }
  if (values.help) {
    console.log("usage: scripts/compile.ts [--target TRIPLE]... [--all] [--out-dir DIR] [--dry-run]");
    return 0;
  }
  const host = Deno.build.target;
  const targets = values.all ? [...TARGETS] : values.target ?? [host];
  for (const t of targets) {
    if (!(TARGETS as readonly string[]).includes(t) && t !== host) {
      console.error(`compile: unknown target '${t}' (one of ${TARGETS.join(", ")})`);
      return 2;
    }
  }
  const outDir = (values["out-dir"] ?? "dist").replace(/\/+$/, "");
  const jobs = plan(targets, outDir, host);
  if (!values["dry-run"]) {
    Deno.mkdirSync(outDir.startsWith("/") ? outDir : `${ROOT}${outDir}`, { recursive: true });
  }
  for (const job of jobs) {
    console.log(commandLine(job));
    if (values["dry-run"]) continue;
    const code = await compile(job);
    if (code !== 0) return code;
    console.log(`built ${job.output}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
