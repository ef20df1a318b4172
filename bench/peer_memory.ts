// Memory and idle CPU per peer process as the group grows:
//   node_modules/.bin/deno run --allow-all bench/peer_memory.ts [--peers 8,16,32] [--procs 16]
//     [--seconds 10] [--v8-flags=...] [--key-file]
// For each group size N, peers 1..min(N, procs) are CLI processes (bench/memory_peer.ts, i.e.
// mod.ts plus a SIGUSR2 memory report) and the rest, if any, run in this process through the
// library on real sockets, so a large group needs few processes. Once every measured process
// is in a view of N and the group has idled for a while, it prints, per process (median and
// max): VmRSS, RssAnon, RssFile, VmHWM, V8 heap used / total and external from
// Deno.memoryUsage(), CPU % over the window (and the system part of it), and the main thread's
// wake-ups (voluntary context switches) a second.
import { parseArgs } from "node:util";
import { generateKey, type Peer, startPeer } from "../mod.ts";
import { DENO, freePorts, PeerProcess, ROOT, sleep, writeHostsfile } from "../tests/support/cluster.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    peers: { type: "string" },
    procs: { type: "string" },
    seconds: { type: "string" },
    settle: { type: "string" },
    "v8-flags": { type: "string" },
    "key-file": { type: "boolean" },
  },
});
const sizes = (values.peers ?? "8,16,32").split(",").map(Number);
const maxProcs = Number(values.procs ?? 16);
const seconds = Number(values.seconds ?? 10);
const settle = Number(values.settle ?? 5);
const clkTck = 100;

function procStatus(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of Deno.readTextFileSync(`/proc/${pid}/status`).split("\n")) {
    const m = /^(VmRSS|VmHWM|RssAnon|RssFile|Threads):\s+(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** User and system CPU seconds so far, and the main thread's voluntary context switches (its wake-ups). */
function cpuSeconds(pid: number): { user: number; sys: number; wakeups: number } {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  const wakeups = /voluntary_ctxt_switches:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return {
    user: Number(fields[11]) / clkTck,
    sys: Number(fields[12]) / clkTck,
    wakeups: Number(wakeups?.[1]),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (kb: number) => (kb / 1024).toFixed(1);

async function measure(n: number, keyFile: string | null) {
  const procs = Math.min(n, maxProcs);
  const ports = freePorts(n);
  const hostsfile = writeHostsfile(ports);
  const hosts = ports.map((port) => ({ hostname: "127.0.0.1", port }));
  const v8 = values["v8-flags"] ? [`--v8-flags=${values["v8-flags"]}`] : [];
  const keyring = keyFile
    ? (await import("../mod.ts")).parseKeyring(Deno.readTextFileSync(keyFile))
    : undefined;
  const children: PeerProcess[] = [];
  const library: Peer[] = [];
  try {
    for (let id = 1; id <= procs; id++) {
      children.push(
        new PeerProcess(id, [
          DENO,
          "run",
          ...v8,
          "--unstable-net",
          "--allow-net",
          "--allow-read",
          "--allow-env",
          "--allow-sys",
          `${ROOT}bench/memory_peer.ts`,
          "-h",
          hostsfile,
          "--id",
          String(id),
          ...(keyFile ? ["--key-file", keyFile] : []),
        ]),
      );
      await sleep(20);
    }
    for (let id = procs + 1; id <= n; id++) library.push(await startPeer({ hosts, id, keyring }));
    await Promise.all(
      children.map((p) => p.waitFor(`view of ${n}`, (q) => q.lastView()?.members.length === n, 90_000)),
    );
    await sleep(settle * 1000);
    const before = children.map((p) => cpuSeconds(p.pid));
    await sleep(seconds * 1000);
    const after = children.map((p) => cpuSeconds(p.pid));
    const rate = (f: (c: ReturnType<typeof cpuSeconds>) => number) =>
      after.map((a, i) => (f(a) - f(before[i])) / seconds);
    const cpu = rate((c) => (c.user + c.sys) * 100);
    const sys = rate((c) => c.sys * 100);
    const wakeups = rate((c) => c.wakeups);
    const status = children.map((p) => procStatus(p.pid));
    for (const p of children) p.stderr = "";
    for (const p of children) Deno.kill(p.pid, "SIGUSR2");
    await sleep(500);
    const usage = children.flatMap((p) => {
      const m = /memory (\{.*\})/.exec(p.stderr);
      return m ? [JSON.parse(m[1]) as Deno.MemoryUsage] : [];
    });
    const col = (k: string) => status.map((s) => s[k]);
    const use = (k: keyof Deno.MemoryUsage) => usage.map((u) => u[k] / 1024);
    const row = (name: string, xs: number[], f: (x: number) => string) =>
      `${name} ${f(median(xs))} / ${f(Math.max(...xs))}`;
    console.log(
      [
        `| ${n} (${procs} processes)${keyFile ? " keyring" : ""}`,
        row("", col("VmRSS"), mib),
        row("", col("RssAnon"), mib),
        row("", col("RssFile"), mib),
        row("", col("VmHWM"), mib),
        row("", use("heapUsed"), mib),
        row("", use("heapTotal"), mib),
        row("", use("external"), mib),
        row("", cpu, (x) => x.toFixed(2)),
        row("", sys, (x) => x.toFixed(2)),
        row("", wakeups, (x) => x.toFixed(0)),
      ].join(" |") + " |",
    );
  } finally {
    await Promise.all(children.map((p) => p.stop()));
    await Promise.all(library.map((p) => p.stop()));
    Deno.removeSync(hostsfile);
  }
}

let keyFile: string | null = null;
if (values["key-file"]) {
  keyFile = Deno.makeTempFileSync({ prefix: "keys-" });
  Deno.writeTextFileSync(keyFile, `${generateKey()}\n`);
}
console.log(
  `| peers | VmRSS MiB | RssAnon MiB | RssFile MiB | VmHWM MiB | V8 heap used MiB | V8 heap total MiB | external MiB | CPU % | of it system % | wake-ups/s |`,
);
console.log(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
try {
  for (const n of sizes) await measure(n, keyFile);
} finally {
  if (keyFile) Deno.removeSync(keyFile);
}
