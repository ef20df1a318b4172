// Idle CPU per peer with and without --key-file: N Deno peers on loopback (default 16), once formed,
// utime + stime from /proc over a window, for each setting in turn.
//   node_modules/.bin/deno run --allow-all bench/keyring_cpu.ts [--peers 16] [--seconds 10]
import { parseArgs } from "node:util";
import { generateKey } from "../mod.ts";
import { sleep, startGroup, stopAll } from "../tests/support/cluster.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { peers: { type: "string" }, seconds: { type: "string" } },
});
const n = Number(values.peers ?? 16);
const seconds = Number(values.seconds ?? 10);
const clkTck = Number(
  new TextDecoder().decode((await new Deno.Command("getconf", { args: ["CLK_TCK"] }).output()).stdout),
) ||
  100;

function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clkTck;
}

async function idleCpu(flags: string[]): Promise<number> {
  const { peers, hostsfile } = await startGroup(n, { flags: () => flags });
  try {
    await Promise.all(
      peers.map((p) => p.waitFor(`view of ${n}`, (q) => q.lastView()?.members.length === n, 60_000)),
    );
    await sleep(2000);
    const before = peers.map((p) => cpuSeconds(p.pid));
    await sleep(seconds * 1000);
    const used = peers.map((p, i) => cpuSeconds(p.pid) - before[i]);
    return used.reduce((a, b) => a + b, 0) / n / seconds;
  } finally {
    await stopAll(peers);
    Deno.removeSync(hostsfile);
  }
}

const keys = Deno.makeTempFileSync({ prefix: "keys-" });
Deno.writeTextFileSync(keys, `${generateKey()}\n`);
try {
  const plain = await idleCpu([]);
  const sealed = await idleCpu(["--key-file", keys]);
  console.log(`| peers | heartbeat | CPU per peer, plain | CPU per peer, --key-file | ratio |`);
  console.log(`| ----- | --------- | ------------------- | ------------------------ | ----- |`);
  console.log(
    `| ${n} | 200 ms | ${(plain * 100).toFixed(2)} % | ${(sealed * 100).toFixed(2)} % | ${
      (sealed / plain).toFixed(2)
    } |`,
  );
} finally {
  Deno.removeSync(keys);
}
