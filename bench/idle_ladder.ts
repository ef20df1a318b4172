/**
 * Where an idle peer's CPU goes (issue 18): N processes of each rung, one rung after another, each
 * measured with `perf stat -e task-clock` over all N at once (an exact count of CPU time), with the
 * median VmRSS, RssAnon and RssFile and wake-ups a second. Rungs: `serf` (agents at their defaults),
 * `traffic` (`bench/traffic_process.ts`, the stand-in), `codec`, `codec-tcp`, `transport`, `library`
 * (`bench/ladder_rung.ts`), `cli` (`mod.ts -h … --id N --format json`); `--timed` also times the
 * handlers of `transport` and `library` in CPU time (see ladder_rung.ts). Prints one line a rung.
 * Needs `perf` (linux-perf) and, for its rung, serf.
 *
 *   deno run --allow-all bench/idle_ladder.ts [--n 64] [--idle 10] [--settle 12] [--repeat 1] [--timed]
 *     [--rungs serf,traffic,codec,codec-tcp,transport,library,cli]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { choosePorts } from "./ports.ts";
import { median, wakeUps } from "./proc_stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    n: { type: "string", default: "64" },
    idle: { type: "string", default: "10" },
    settle: { type: "string", default: "12" },
    repeat: { type: "string", default: "1" },
    timed: { type: "boolean", default: false },
    rungs: { type: "string", default: "serf,traffic,codec,codec-tcp,transport,library,cli" },
  },
});
const n = Number(values.n), idle = Number(values.idle), settle = Number(values.settle);
const ROOT = new URL("../", import.meta.url).pathname;
const DENO = Deno.execPath();
const PEER = [DENO, "run", "--unstable-net", "--allow-net", "--allow-read", "--allow-env", "--allow-sys"];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function command(
  rung: string,
  id: number,
  ports: number[],
  spare: number[],
  hostsfile: string,
  timedDir: string,
): string[] {
  const port = ports[id - 1];
  switch (rung) {
    case "serf":
      return [
        "serf",
        "agent",
        `-node=n${id}`,
        `-bind=127.0.0.1:${port}`,
        `-rpc-addr=127.0.0.1:${spare[id - 1]}`,
      ]
        .concat(id > 1 ? [`-join=127.0.0.1:${ports[0]}`] : []);
    case "traffic":
      return [...PEER, `${ROOT}bench/traffic_process.ts`, `${id}`, ports.join(",")];
    case "cli":
      return [...PEER, `${ROOT}mod.ts`, "-h", hostsfile, "--id", `${id}`, "--format", "json"];
    default:
      return [
        ...PEER,
        ...(timedDir ? [`--allow-write=${timedDir}`] : []),
        `${ROOT}bench/ladder_rung.ts`,
        rung,
        `${id}`,
        ports.join(","),
        hostsfile,
        ...(timedDir ? [timedDir] : []),
      ];
  }
}

function memory(pid: number): { rss: number; anon: number; file: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kib("VmRSS"), anon: kib("RssAnon"), file: kib("RssFile") };
}

type Sums = Record<string, number>;
/** Each process's sums (see ladder_rung.ts), or null where none was written yet. */
function readSums(dir: string): (Sums | null)[] {
  return Array.from({ length: n }, (_, i) => {
    try {
      return JSON.parse(Deno.readTextFileSync(`${dir}/${i + 1}`)) as Sums;
    } catch {
      return null;
    }
  });
}

for (let round = 0; round < Number(values.repeat); round++) {
  for (const rung of values.rungs.split(",")) {
    const chosen = choosePorts(2 * n);
    const ports = chosen.slice(0, n), spare = chosen.slice(n); // spare: serf's RPC ports
    const hostsfile = await Deno.makeTempFile();
    await Deno.writeTextFile(hostsfile, ports.map((p) => `127.0.0.1:${p}\n`).join(""));
    const timedDir = values.timed && (rung === "transport" || rung === "library")
      ? await Deno.makeTempDir()
      : "";
    const procs: Deno.ChildProcess[] = [];
    try {
      for (let id = 1; id <= n; id++) {
        const [cmd, ...args] = command(rung, id, ports, spare, hostsfile, timedDir);
        procs.push(new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).spawn());
        if (rung === "serf" && id === 1) await sleep(1000);
      }
      await sleep(settle * 1000);
      const pids = procs.map((p) => p.pid);
      const woken = pids.map(wakeUps);
      const before = timedDir ? readSums(timedDir) : [];
      const perf = await new Deno.Command("perf", {
        args: ["stat", "-x,", "-e", "task-clock", "-p", pids.join(","), "--", "sleep", `${idle}`],
        stdout: "null",
        stderr: "piped",
      }).output();
      const line = new TextDecoder().decode(perf.stderr).split("\n").find((l) => l.includes("task-clock"));
      const ms = Number(line?.split(",")[0]);
      const mem = pids.map(memory);
      const wake = pids.map((p, i) => (wakeUps(p) - woken[i]) / idle);
      const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
      console.log(
        `${rung}: group ${(ms / idle / 10).toFixed(1)} %, ${(ms / idle / n).toFixed(2)} ms/s a process; ` +
          `VmRSS ${median(mem.map((m) => m.rss)).toFixed(1)} MiB (anon ${
            median(mem.map((m) => m.anon)).toFixed(1)
          }, file ${median(mem.map((m) => m.file)).toFixed(1)}); wake-ups/s ${median(wake).toFixed(1)}; ` +
          `load ${load}`,
      );
      if (timedDir) {
        const after = readSums(timedDir);
        const pairs = after.flatMap((a, i) => {
          const b = before[i];
          return a && b && a.seconds > b.seconds ? [[b, a]] : [];
        });
        const rate = (key: string) =>
          median(pairs.map(([b, a]) => (a[key] - b[key]) / (a.seconds - b.seconds)));
        const keys = Object.keys(pairs[0]?.[1] ?? {}).filter((k) => k !== "seconds" && !k.endsWith("Calls"));
        console.log(
          `  timed, ms/s a process (median): ` +
            keys.map((k) =>
              `${k} ${rate(k).toFixed(3)}${k === "cpu" ? "" : ` (${rate(`${k}Calls`).toFixed(1)}/s)`}`
            )
              .join(", "),
        );
      }
    } finally {
      for (const p of procs) {
        try {
          p.kill("SIGKILL");
        } catch { /* gone */ }
      }
      await Promise.all(procs.map((p) => p.status));
      await Deno.remove(hostsfile);
      if (timedDir) await Deno.remove(timedDir, { recursive: true });
    }
    await sleep(1000);
  }
}
