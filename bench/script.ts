/**
 * A bench script's plumbing, shared by `scale.ts` and `events.ts`: its flags'
 * checks, and running it so that what it started stops however it ends.
 *
 * @module
 */

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
 * Runs `main`, then `cleanUp` (on SIGINT and SIGTERM too, exiting 130), then exits 0.
 *
 * @example
 * ```ts ignore
 * import { runBench } from "./script.ts";
 * await runBench(async () => {}, async () => {}, console.log);
 * ```
 */
export async function runBench(
  main: () => Promise<void>,
  cleanUp: () => Promise<void>,
  log: (text: string) => void,
): Promise<never> {
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
