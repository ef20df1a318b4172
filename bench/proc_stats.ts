/**
 * What the benches read about processes and the machine: CPU time and
 * resident memory from `/proc`, simple statistics, and the line that says
 * which machine and runtime measured. Shared by `bench.ts` and `scale.ts`.
 *
 * @module
 */

/** The median of `xs` (NaN when empty). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The largest of `xs` (NaN when empty). */
export const max = (xs: number[]): number => xs.length ? Math.max(...xs) : NaN;

/** The sum of `xs`. */
export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** The trimmed stdout of a command, or "" if it cannot run. */
export async function commandText(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

/** Clock ticks per second, the unit of `/proc/PID/stat` times (`getconf CLK_TCK`, 100 if unknown). */
export async function clockTicks(): Promise<number> {
  return Number(await commandText("getconf", ["CLK_TCK"])) || 100;
}

/** utime + stime of a process, in seconds (`ticks`: from {@linkcode clockTicks}). */
export function cpuSeconds(pid: number, ticks: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // field 3 onwards
  return (Number(fields[11]) + Number(fields[12])) / ticks; // utime (14), stime (15)
}

/**
 * Wake-ups of a process so far: the voluntary context switches of all its threads (each time one
 * went to sleep waiting for something: a timer, a datagram, a lock), summed over `/proc/PID/task`.
 */
export function wakeUps(pid: number): number {
  let total = 0;
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const status = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/status`);
      total += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch { /* the thread ended meanwhile */ }
  }
  return total;
}

/** Resident set size of a process, in MiB. */
export function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/** The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them. */
export async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(" ");
}

/** `nproc`, the CPU model and the runtime's version, for the results' header. */
export async function machine(
  deno: string,
): Promise<{ nproc: string; cpuModel: string; denoVersion: string }> {
  const nproc = await commandText("nproc", []) || `${navigator.hardwareConcurrency}`;
  const denoVersion = (await commandText(deno, ["--version"])).split("\n").join("; ");
  const cpuModel =
    /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))?.[1] ?? "?";
  return { nproc, cpuModel, denoVersion };
}
