/**
 * A bench script's plumbing, shared by `scale.ts` and `events.ts`: its flags'
 * checks, and running it so that what it started stops however it ends.
 *
 * @module
 */

import { PeerProcess } from "../tests/support/cluster.ts";

/**
 * `text` as a positive whole number, for flag `--name`; throws with one line otherwise.
 *
 * @example
 * ```ts
 * import { positive } from "./script.ts";
 * positive("sizes", "16"); // 16
 * ```
 */
export function positive(name: string, text: string): number {
  const x = Number(text);
  if (!Number.isInteger(x) || x < 1) throw new Error(`--${name} wants a positive whole number, not ${text}`);
  return x;
}

/**
 * What `parse` returns; when it throws (a bad flag), its message and `usage` on stderr, and exit code 2.
 *
 * @example
 * ```ts ignore
 * import { optionsOrExit, positive } from "./script.ts";
 * const sizes = optionsOrExit(() => positive("sizes", Deno.args[0]), "usage: … --sizes N");
 * ```
 */
export function optionsOrExit<T>(parse: () => T, usage: string): T {
  try {
    return parse();
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    Deno.exit(2);
  }
}

/**
 * Runs `main`, then cleans up what it `started` (on SIGINT and SIGTERM too,
 * exiting 130), then exits 0.
 *
 * @example
 * ```ts ignore
 * import { runBench, Started } from "./script.ts";
 * await runBench(async () => {}, new Started());
 * ```
 */
export async function runBench(main: () => Promise<void>, started: Started): Promise<never> {
  const cleanUp = () => started.cleanUp();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      log(`${signal}: stopping every process this bench started`);
      cleanUp().finally(() => Deno.exit(130));
    });
  }
  try {
    await main();
  } finally {
    await cleanUp();
  }
  Deno.exit(0);
}

/** A line of the bench's progress on stdout, after the time of day. */
export const log = (text: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${text}`);

/**
 * Polls `predicate` every `everyMs` (default 50); throws `what()` after `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * import { until } from "./script.ts";
 * await until(() => "the flag", () => true, 1_000);
 * ```
 */
export async function until(
  what: () => string,
  predicate: () => boolean,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * What a bench started: its processes and temporary files, each stopped or
 * removed on the way out ({@linkcode Started.cleanUp}), whatever happens.
 *
 * @example
 * ```ts ignore
 * import { Started } from "./script.ts";
 * const started = new Started();
 * const p = started.spawn(1, ["sleep", "10"]);
 * await started.cleanUp();
 * ```
 */
export class Started {
  readonly #live = new Set<PeerProcess>();
  readonly #files = new Set<string>();
  readonly #closers: (() => void)[] = [];

  /** Starts `command` as process `id`, and keeps it until it exits or is stopped. */
  spawn(id: number, command: string[]): PeerProcess {
    const p = new PeerProcess(id, command);
    this.#live.add(p);
    const gone = () => this.#live.delete(p);
    p.status.then(gone, gone);
    return p;
  }

  /** Stops `procs` (all of them started here). */
  async stop(procs: PeerProcess[]): Promise<void> {
    await Promise.all(procs.map((p) => p.stop()));
    for (const p of procs) this.#live.delete(p);
  }

  /** Whether `p` still runs. */
  isLive(p: PeerProcess): boolean {
    return this.#live.has(p);
  }

  /** Throws if any of `procs` has exited (a peer that died is not going to form a group). */
  noneExited(procs: PeerProcess[], what: string): void {
    const gone = procs.find((p) => !this.isLive(p));
    if (gone) throw new Error(`${what} ${gone.id} exited early; its stderr:\n${gone.stderr.slice(-2000)}`);
  }

  /** Removes the file at `path` on the way out; returns `path`. */
  tempFile(path: string): string {
    this.#files.add(path);
    return path;
  }

  /** Calls `close` on the way out (a connection). */
  onCleanUp(close: () => void): void {
    this.#closers.push(close);
  }

  /** Closes, stops and removes everything above. */
  async cleanUp(): Promise<void> {
    for (const close of this.#closers.splice(0)) close();
    await this.stop([...this.#live]);
    for (const f of this.#files) Deno.removeSync(f);
    this.#files.clear();
  }
}
