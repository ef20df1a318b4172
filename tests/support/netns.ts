/**
 * Test support: network namespaces (iproute2) and nftables rules in them, for
 * the process tests and benches that need a real network between peers: a
 * bridge with one namespace per peer (a cable per peer), or one namespace
 * whose loopback loses packets. Everything created is recorded in a
 * {@linkcode Namespaces} and deleted by its `deleteAll()`, which callers run
 * in a `finally`. Names carry the pid, so parallel runs do not clash.
 *
 * @module
 */

import {
  DENO_PEER,
  parseViewLine,
  type PeerProcess,
  sleep,
  startGroup,
  stopAll,
  type ViewLine,
} from "./cluster.ts";

/** Runs `ip ARGS`; throws with its stderr on failure (`Deno.errors.NotFound` if there is no `ip`). */
export async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdin: "null", stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim() || `exit ${out.code}`}`,
    );
  }
}

/** Runs `nft` inside namespace `ns` with `args`, `script` on its stdin; returns its stdout. */
export async function nft(ns: string, args: string[], script = ""): Promise<string> {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, "nft", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `nft ${args.join(" ")} in ${ns}: ${new TextDecoder().decode(out.stderr).trim() || `exit ${out.code}`}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** Whether `command --version` runs (false if it is not installed). */
async function installed(command: string): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/**
 * Why this machine cannot run a namespace test, or null if it can: Linux,
 * root, `ip`, a namespace that can be created, and with `nftables` also an
 * `nft` that can load a table inside one. `make test` installs nftables when
 * root (the Makefile's `nftables` target).
 */
export async function whyNoNetns(options: { nftables?: boolean } = {}): Promise<string | null> {
  if (Deno.build.os !== "linux") return `network namespaces need Linux, not ${Deno.build.os}`;
  if (Deno.uid() !== 0) return "network namespaces need root";
  if (options.nftables && !(await installed("nft"))) {
    return "the `nft` command (nftables) is missing: `make nftables` installs it as root";
  }
  const spaces = new Namespaces("probe");
  try {
    await spaces.add("p");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "the `ip` command (iproute2) is missing";
    return `cannot create a network namespace: ${(e as Error).message}`;
  }
  try {
    if (options.nftables) {
      await nft(
        spaces.name("p"),
        ["-f", "-"],
        "table inet probe {\n  chain c {\n    type filter hook output priority 0;\n  }\n}\n",
      );
    }
  } catch (e) {
    return `nftables cannot load a table in a namespace: ${(e as Error).message}`;
  } finally {
    await spaces.deleteAll();
  }
  return null;
}

/** The namespaces one test creates, named `mbt<pid>-<kind>-<suffix>`; `deleteAll()` removes them. */
export class Namespaces {
  readonly #prefix: string;
  readonly #created: string[] = [];

  /** Namespaces for one use (`kind`, a short word) of this process. */
  constructor(kind: string) {
    this.#prefix = `mbt${Deno.pid}-${kind}`;
  }

  /** The full name of namespace `suffix`. */
  name(suffix: string): string {
    return `${this.#prefix}-${suffix}`;
  }

  /** Creates namespace `suffix` with its loopback up; returns its full name. */
  async add(suffix: string): Promise<string> {
    const ns = this.name(suffix);
    await ip("netns", "add", ns);
    this.#created.push(ns);
    await ip("-n", ns, "link", "set", "lo", "up");
    return ns;
  }

  /** Deletes every namespace created (best effort: a failure is printed, not thrown). */
  async deleteAll(): Promise<void> {
    while (this.#created.length > 0) {
      const ns = this.#created.pop()!;
      try {
        await ip("netns", "del", ns);
      } catch (e) {
        console.log(`cleanup: ${(e as Error).message}`);
      }
    }
  }
}

/** A bridge in a namespace of its own and one namespace per host, each wired to it by a veth pair. */
export interface BridgedNetwork {
  /** The bridge's namespace. */
  switchNs: string;
  /** Host `id`'s namespace. */
  hostNs(id: number): string;
  /** Host `id`'s address (on its `eth0`). */
  address(id: number): string;
  /** Pulls (or plugs back) host `id`'s cable: its port on the bridge. */
  setLink(id: number, state: "up" | "down"): Promise<void>;
}

/**
 * Builds hosts `ids` at `${subnet}.<id>/24` on one bridge. The switch is in
 * its own namespace, so nothing changes in the machine's own network.
 */
export async function buildBridgedNetwork(
  spaces: Namespaces,
  ids: number[],
  subnet: string,
): Promise<BridgedNetwork> {
  const switchNs = await spaces.add("sw");
  await ip("-n", switchNs, "link", "add", "br0", "type", "bridge");
  await ip("-n", switchNs, "link", "set", "br0", "up");
  const hostNs = (id: number) => spaces.name(`p${id}`);
  const address = (id: number) => `${subnet}.${id}`;
  for (const id of ids) {
    const ns = await spaces.add(`p${id}`);
    // The pair is created inside the switch namespace with its far end moved into the host's.
    await ip("-n", switchNs, "link", "add", `v${id}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
    await ip("-n", switchNs, "link", "set", `v${id}`, "master", "br0");
    await ip("-n", switchNs, "link", "set", `v${id}`, "up");
    await ip("-n", ns, "addr", "add", `${address(id)}/24`, "dev", "eth0");
    await ip("-n", ns, "link", "set", "eth0", "up");
  }
  return {
    switchNs,
    hostNs,
    address,
    setLink: (id, state) => ip("-n", switchNs, "link", "set", `v${id}`, state),
  };
}

/** The command prefix that runs a Deno peer inside namespace `ns`. */
export function peerIn(ns: string): string[] {
  return ["ip", "netns", "exec", ns, ...DENO_PEER];
}

/**
 * Makes namespace `ns` drop `percent` % of the packets it sends, of every
 * protocol. On a loopback every packet is sent once (and received once), so
 * this is `percent` % loss of all UDP and TCP traffic in both directions.
 * Named counters count what the rule saw: `sent_tcp` and `sent_other`,
 * `dropped_tcp` and `dropped_other` (read them with {@linkcode nftCounters}).
 */
export function addRandomLoss(ns: string, percent: number): Promise<string> {
  // One random draw per packet: a TCP packet never reaches the second drop rule.
  return nft(
    ns,
    ["-f", "-"],
    `table inet loss {
  counter sent_tcp {}
  counter sent_other {}
  counter dropped_tcp {}
  counter dropped_other {}
  chain output {
    type filter hook output priority 0; policy accept;
    meta l4proto tcp counter name "sent_tcp"
    meta l4proto != tcp counter name "sent_other"
    meta l4proto tcp numgen random mod 100 < ${percent} counter name "dropped_tcp" drop
    meta l4proto != tcp numgen random mod 100 < ${percent} counter name "dropped_other" drop
  }
}
`,
  );
}

/**
 * Checks that the loss rule of {@linkcode addRandomLoss} really dropped about
 * `percent` % of each protocol's packets (within 4 standard deviations of the
 * binomial, plus one point); returns a one-line summary of the counts, or
 * throws saying what is off. A protocol not in `required` may have seen no
 * packet at all (a member that takes part in no view change sends no TCP).
 */
export async function checkRandomLoss(
  ns: string,
  percent: number,
  required: readonly ("tcp" | "other")[] = ["tcp", "other"],
): Promise<string> {
  const c = await nftCounters(ns, "loss");
  const summary: string[] = [];
  for (const proto of ["tcp", "other"] as const) {
    const sent = c[`sent_${proto}`] ?? 0;
    const dropped = c[`dropped_${proto}`] ?? 0;
    const share = sent === 0 ? 0 : (100 * dropped) / sent;
    summary.push(
      `${proto === "tcp" ? "TCP" : "UDP and other"} ${dropped}/${sent} dropped (${share.toFixed(1)} %)`,
    );
    if (sent === 0 && !required.includes(proto)) continue;
    if (sent === 0) throw new Error(`the loss rule in ${ns} saw no ${proto} packet`);
    const sd = 100 * Math.sqrt((percent / 100) * (1 - percent / 100) / sent);
    if (Math.abs(share - percent) > 4 * sd + 1) {
      throw new Error(
        `the loss rule in ${ns} dropped ${share.toFixed(1)} % of ${proto} packets, not ${percent} %`,
      );
    }
  }
  return summary.join(", ");
}

/**
 * Makes namespace `ns` drop everything it sends to and receives from
 * `address`, of every protocol: one link cut, both ways. Named counter
 * `dropped` counts the packets dropped.
 */
export function cutLinkTo(ns: string, address: string): Promise<string> {
  return nft(
    ns,
    ["-f", "-"],
    `table inet badlink {
  counter dropped {}
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr ${address} counter name "dropped" drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr ${address} counter name "dropped" drop
  }
}
`,
  );
}

/** The packet counts of the named counters of table `inet <table>` in `ns`. */
export async function nftCounters(ns: string, table: string): Promise<Record<string, number>> {
  const json = JSON.parse(await nft(ns, ["-j", "list", "counters", "table", "inet", table])) as {
    nftables: { counter?: { name: string; packets: number } }[];
  };
  return Object.fromEntries(
    json.nftables.flatMap((e) => e.counter ? [[e.counter.name, e.counter.packets]] : []),
  );
}

/** Everything a group of peers printed that shows one was dropped from the view, or reported. */
export interface GroupRecord {
  /** Unreachable lines printed, as `peer P: <line>`. */
  unreachable: string[];
  /** Views that left out a member the printing peer's previous view had, as `peer P: <line>`. */
  removals: string[];
}

/**
 * What `peers` printed from output line `from[i]` of peer i on (default: from
 * the start): their unreachable lines, and the views that removed a member.
 */
export function groupRecord(peers: PeerProcess[], from: number[] = peers.map(() => 0)): GroupRecord {
  const unreachable: string[] = [];
  const removals: string[] = [];
  for (const [i, p] of peers.entries()) {
    let previous: number[] | undefined;
    for (const [n, line] of p.lines.entries()) {
      const view = parseView(line);
      if (view) {
        if (n >= from[i] && previous && previous.some((m) => !view.includes(m))) {
          removals.push(`peer ${p.id}: ${line}`);
        }
        previous = view;
      } else if (n >= from[i] && /unreachable/.test(line)) {
        unreachable.push(`peer ${p.id}: ${line}`);
      }
    }
  }
  return { unreachable, removals };
}

/** The members of a text or JSON view line, or null if it is not one. */
function parseView(line: string): number[] | null {
  const text = parseViewLine(line);
  if (text) return text.members;
  if (line.startsWith('{"event":"view"')) return (JSON.parse(line) as { members: number[] }).members;
  return null;
}

/** Whether every one of `peers` has last installed the same view, of exactly `members`. */
export function allInOneView(peers: PeerProcess[], members: number[]): boolean {
  const last = peers.map((p) => p.lastView() ?? lastJsonView(p));
  return last.every((v) =>
    v !== undefined && v.view === last[0]!.view && v.members.join() === members.join()
  );
}

/** The last `--format json` view event `p` printed, if any. */
function lastJsonView(p: PeerProcess): { view: number; members: number[] } | undefined {
  for (let i = p.lines.length - 1; i >= 0; i--) {
    if (p.lines[i].startsWith('{"event":"view"')) {
      return JSON.parse(p.lines[i]) as { view: number; members: number[] };
    }
  }
  return undefined;
}

/** Polls `predicate` every 50 ms; resolves with the ms it took to hold, or null after `timeoutMs`. */
export async function timeUntil(predicate: () => boolean, timeoutMs: number): Promise<number | null> {
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) return null;
    await sleep(50);
  }
  return performance.now() - start;
}

/**
 * The views `p` printed from output line `from` on that dropped peer `who`,
 * and those that added it back: how often it flapped, as `p` saw it.
 */
export function flapsOf(p: PeerProcess, who: number, from = 0): { removals: number; readmissions: number } {
  let removals = 0, readmissions = 0;
  let inView: boolean | undefined;
  for (const [n, line] of p.lines.entries()) {
    const members = parseView(line);
    if (!members) continue;
    const now = members.includes(who);
    if (n >= from && inView === true && !now) removals++;
    if (n >= from && inView === false && now) readmissions++;
    inView = now;
  }
  return { removals, readmissions };
}

/** A group of peer processes, each in its own namespace on one bridge (see {@linkcode withBridgedGroup}). */
export interface BridgedGroup {
  /** The peers, by ID order. */
  readonly peers: PeerProcess[];
  /** The network: each peer's namespace and address. */
  readonly net: BridgedNetwork;
  /** The peer IDs, 1 to n. */
  readonly ids: number[];
  /** The view all of them installed once formed. */
  readonly formed: ViewLine;
  /** Prints a line with the seconds since the start. */
  log(what: string): void;
}

/**
 * Starts `n` peers, one per namespace (named after `name`) on a bridge of
 * `subnet`.0/24, at port 7600, waits up to 40 s for one view of all, runs
 * `body`, and always stops the peers and deletes the namespaces; on failure
 * it prints what every peer printed.
 */
export async function withBridgedGroup(
  name: string,
  n: number,
  subnet: string,
  body: (group: BridgedGroup) => Promise<void>,
): Promise<void> {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const spaces = new Namespaces(name);
  const hostsfile = await Deno.makeTempFile({ prefix: `hosts-${name}-`, suffix: ".txt" });
  let peers: PeerProcess[] = [];
  const t0 = performance.now();
  const log = (what: string) => console.log(`  [${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}`);
  try {
    const net = await buildBridgedNetwork(spaces, ids, subnet);
    await Deno.writeTextFile(hostsfile, ids.map((id) => `${net.address(id)}:7600`).join("\n") + "\n");
    ({ peers } = await startGroup(n, { command: (id) => peerIn(net.hostNs(id)), hostsfile }));
    const formedMs = await timeUntil(() => allInOneView(peers, ids), 40_000);
    if (formedMs === null) throw new Error(`the ${n} peers did not form one view of all within 40 s`);
    const formed = peers[0].lastView()!;
    log(`all ${n} in view ${formed.view} led by ${formed.leader} after ${(formedMs / 1000).toFixed(1)} s`);
    await body({ peers, net, ids, formed, log });
  } catch (e) {
    for (const p of peers) console.log(p.describe());
    throw e;
  } finally {
    await stopAll(peers);
    await spaces.deleteAll();
    await Deno.remove(hostsfile).catch(() => {});
  }
}
