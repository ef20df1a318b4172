/**
 * `make bench-flaky`: how often a flaky peer flaps, ours against serf, in the
 * same network namespaces. Five hosts, each its own namespace on one bridge;
 * nftables in one host's namespace drops a share of everything it sends
 * (`numgen random mod 100 < N drop`, TCP and UDP) for a while; a watcher on
 * another host counts the views (ours) or the member states (serf, polled
 * with `serf members` every 250 ms) that drop the flaky host, and those that
 * add it back, while the fault holds, and how long after the fault it is
 * back. Ours runs with a member and with the leader flaky (serf has no
 * leader). Writes `bench/results-flaky.md`. Needs root, iproute2, nftables,
 * and serf for its rows. Not a test: nothing fails on a figure.
 *
 * Flags: `--seconds 60` (how long the fault holds), `--losses 60,80,90`,
 * `--quick` (20 s, 80 and 90 % only).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { sleep } from "../tests/support/cluster.ts";
import {
  addRandomLoss,
  allInOneView,
  buildBridgedNetwork,
  flapsOf,
  Namespaces,
  nft,
  timeUntil,
  whyNoNetns,
  withBridgedGroup,
} from "../tests/support/netns.ts";

const IDS = [1, 2, 3, 4, 5];
const SUBNET = "10.202.0";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "60" },
    losses: { type: "string", default: "60,80,90" },
    quick: { type: "boolean", default: false },
  },
});
const seconds = flags.quick ? 20 : Number(flags.seconds);
const losses = (flags.quick ? "80,90" : flags.losses).split(",").map(Number);
if (!(seconds > 0) || losses.some((l) => !(l >= 0 && l <= 100))) {
  console.error("bench/flaky.ts: --seconds wants a number > 0 and --losses percentages");
  Deno.exit(2);
}

interface Row {
  system: string;
  who: string;
  loss: number;
  removals: number;
  readmissions: number;
  backMs: number | null;
}

const log = (text: string) => console.log(`bench-flaky: ${text}`);

async function ours(who: "member" | "leader", loss: number): Promise<Row> {
  let row: Row | null = null;
  await withBridgedGroup(`bf${who[0]}${loss}`, 5, SUBNET, async ({ peers, net, ids, formed }) => {
    const sick = who === "leader" ? formed.leader : (formed.leader === 3 ? 4 : 3);
    const watcher = peers.find((p) => p.id !== sick)!;
    const from = watcher.lines.length;
    await addRandomLoss(net.hostNs(sick), loss);
    await sleep(seconds * 1000);
    const flaps = flapsOf(watcher, sick, from);
    await nft(net.hostNs(sick), ["delete", "table", "inet", "loss"]);
    const backMs = await timeUntil(() => allInOneView(peers, ids), 30_000);
    row = { system: "ours", who: `${who} (peer ${sick})`, loss, ...flaps, backMs };
  });
  return row!;
}

/** The status serf's agent in `ns` gives node `name`, or null if it does not answer. */
async function serfStatus(ns: string, name: string): Promise<string | null> {
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", ns, "serf", "members", "-rpc-addr=127.0.0.1:7373", "-format=json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) return null;
  try {
    const { members } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      members: { name: string; status: string }[];
    };
    return members.find((m) => m.name === name)?.status ?? "absent";
  } catch {
    return null;
  }
}

async function serf(loss: number): Promise<Row> {
  const spaces = new Namespaces(`bs${loss}`);
  const agents: Deno.ChildProcess[] = [];
  try {
    const net = await buildBridgedNetwork(spaces, IDS, SUBNET);
    const spawn = (id: number, join: string[]) =>
      agents.push(
        new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            net.hostNs(id),
            "serf",
            "agent",
            `-bind=${net.address(id)}:7946`,
            "-rpc-addr=127.0.0.1:7373",
            `-node=n${id}`,
            ...join,
          ],
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    spawn(1, []);
    await sleep(1_000);
    for (const id of IDS.slice(1)) spawn(id, [`-join=${net.address(1)}:7946`]);
    const alive = async () => {
      for (const id of IDS) if (await serfStatus(net.hostNs(1), `n${id}`) !== "alive") return false;
      return true;
    };
    const formedBy = Date.now() + 40_000;
    while (!(await alive())) {
      if (Date.now() > formedBy) throw new Error("serf did not form");
      await sleep(250);
    }
    const sick = 3, watcher = net.hostNs(1), name = `n${sick}`;
    await addRandomLoss(net.hostNs(sick), loss);
    let removals = 0, readmissions = 0, last = "alive";
    for (const end = Date.now() + seconds * 1000; Date.now() < end; await sleep(250)) {
      const status = await serfStatus(watcher, name);
      if (status === null) continue;
      if (last === "alive" && status !== "alive") removals++;
      if (last !== "alive" && status === "alive") readmissions++;
      last = status;
    }
    await nft(net.hostNs(sick), ["delete", "table", "inet", "loss"]);
    const t0 = Date.now();
    let backMs: number | null = null;
    while (Date.now() - t0 < 30_000) {
      if (await serfStatus(watcher, name) === "alive") {
        backMs = Date.now() - t0;
        break;
      }
      await sleep(250);
    }
    return { system: "serf 0.8", who: `member (n${sick})`, loss, removals, readmissions, backMs };
  } finally {
    for (const a of agents) {
      try {
        a.kill("SIGKILL");
      } catch { /* exited */ }
      await a.status;
    }
    await spaces.deleteAll();
  }
}

const reason = await whyNoNetns({ nftables: true });
if (reason) {
  console.log(`bench-flaky: cannot run here: ${reason}`);
  Deno.exit(1);
}
const haveSerf = (await new Deno.Command("sh", { args: ["-c", "command -v serf"], stdout: "null" }).output())
  .success;
const rows: Row[] = [];
for (const loss of losses) {
  for (const who of ["member", "leader"] as const) {
    log(`ours, ${who} losing ${loss} % of what it sends for ${seconds} s ...`);
    rows.push(await ours(who, loss));
    log(JSON.stringify(rows.at(-1)));
  }
  if (haveSerf) {
    log(`serf, a member losing ${loss} % for ${seconds} s ...`);
    rows.push(await serf(loss));
    log(JSON.stringify(rows.at(-1)));
  } else log("serf not installed: its rows are left out (apt-get install serf)");
}
const perMinute = (n: number) => (n * 60 / seconds).toFixed(1);
const lines = [
  "# Flapping under egress loss on one host",
  "",
  `Written by \`make bench-flaky\` on ${
    new Date().toISOString().slice(0, 10)
  }: five hosts in network namespaces on`,
  `one bridge; one host drops the given share of everything it sends (nftables) for ${seconds} s; a watcher on`,
  "another host counts the views (ours) or member states (serf, polled every 250 ms) that drop the flaky host",
  "and that add it back while the fault holds, and how long after the fault it is back.",
  "",
  "| system | flaky host | egress loss | removals | re-admissions | removals / min | back after the fault |",
  "| --- | --- | --- | --- | --- | --- | --- |",
  ...rows.map((r) =>
    `| ${r.system} | ${r.who} | ${r.loss} % | ${r.removals} | ${r.readmissions} | ${
      perMinute(r.removals)
    } | ${r.backMs === null ? "not within 30 s" : `${(r.backMs / 1000).toFixed(1)} s`} |`
  ),
  "",
];
await Deno.writeTextFile(new URL("./results-flaky.md", import.meta.url), lines.join("\n"));
log("wrote bench/results-flaky.md");
