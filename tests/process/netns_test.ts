/**
 * Multi-host test: one peer per network namespace, every peer on the default
 * port 7600 at its own address, as on real hosts. The namespaces hang off a
 * bridge that lives in a namespace of its own, so the test changes nothing
 * in the machine's own network and parallel runs (names carry the pid) do not
 * clash. Pulling one peer's cable (its veth on the bridge goes down) makes a
 * real partition: the majority removes the peer, the peer alone installs no
 * view (Quorum); plugging it back in, it rejoins and all converge (Liveness).
 *
 * Needs root and iproute2; skipped, with the reason printed, otherwise.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assertConsistent,
  DENO_PEER,
  PeerProcess,
  sleep,
  stopAll,
  UNREACHABLE_LINE,
} from "../support/cluster.ts";

/** Peers, one per namespace. */
const N = 4;
/** The non-leader peer cut off. Peer 2 is the lowest non-leader, so alone it tries to take over. */
const CUT = 2;
const PORT = 7600;
const SUBNET = "10.200.0";

/** `NETNS_DEBUG=1`: peers log at debug level, and every peer's output is printed at the end. */
const DEBUG = Deno.env.get("NETNS_DEBUG") !== undefined;

const tag = `mbt${Deno.pid}`;
const switchNs = `${tag}-sw`;
const peerNs = (id: number) => `${tag}-p${id}`;
const address = (id: number) => `${SUBNET}.${id}`;

/** Runs `ip ARGS`; throws with its stderr on failure. */
async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdin: "null", stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim() || `exit ${out.code}`}`,
    );
  }
}

/** Why this machine cannot run the test, or null if it can. */
async function whyNot(): Promise<string | null> {
  if (Deno.build.os !== "linux") return `network namespaces need Linux, not ${Deno.build.os}`;
  if (Deno.uid() !== 0) return "network namespaces need root";
  const probe = `${tag}-probe`;
  try {
    await ip("netns", "add", probe);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "the `ip` command (iproute2) is missing";
    return `cannot create a network namespace: ${(e as Error).message}`;
  }
  try {
    await ip("netns", "del", probe);
  } catch { /* best effort */ }
  return null;
}

/** The bridge in its own namespace, one namespace per peer wired to it. */
async function buildNetwork(created: string[]): Promise<void> {
  await ip("netns", "add", switchNs);
  created.push(switchNs);
  await ip("-n", switchNs, "link", "add", "br0", "type", "bridge");
  await ip("-n", switchNs, "link", "set", "br0", "up");
  for (let id = 1; id <= N; id++) {
    const ns = peerNs(id);
    await ip("netns", "add", ns);
    created.push(ns);
    // The pair is created inside the switch namespace with its far end moved into the peer's.
    await ip("-n", switchNs, "link", "add", `v${id}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
    await ip("-n", switchNs, "link", "set", `v${id}`, "master", "br0");
    await ip("-n", switchNs, "link", "set", `v${id}`, "up");
    await ip("-n", ns, "addr", "add", `${address(id)}/24`, "dev", "eth0");
    await ip("-n", ns, "link", "set", "eth0", "up");
    await ip("-n", ns, "link", "set", "lo", "up");
  }
}

/** Pulls (or plugs back) peer `id`'s cable: its port on the bridge. */
function setLink(id: number, state: "up" | "down"): Promise<void> {
  return ip("-n", switchNs, "link", "set", `v${id}`, state);
}

const all = Array.from({ length: N }, (_, i) => i + 1);
const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const unreachable = (p: PeerProcess, member: number) =>
  p.lines.some((l) => Number(UNREACHABLE_LINE.exec(l)?.[5]) === member);

/** Polls `predicate` over several peers' output; fails after `timeoutMs`. */
async function until(what: string, predicate: () => boolean, timeoutMs: number, peers: PeerProcess[]) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}\n${peers.map((p) => p.describe()).join("\n")}`);
    }
    await sleep(50);
  }
}

const reason = await whyNot();
if (reason) console.log(`netns_test skipped: ${reason}`);

test(
  `netns: ${N} hosts join, a cut-off peer is removed and installs nothing, then rejoins`,
  reason ? { skip: reason } : {},
  async () => {
    const created: string[] = [];
    const peers: PeerProcess[] = [];
    const hostsfile = await Deno.makeTempFile({ prefix: "hosts-netns-", suffix: ".txt" });
    const t0 = performance.now();
    const log = (what: string) =>
      console.log(`  [${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}`);
    try {
      await Deno.writeTextFile(hostsfile, all.map((id) => `${address(id)}:${PORT}`).join("\n") + "\n");
      await buildNetwork(created);
      log(
        `network: bridge in ${switchNs}, peers in ${peerNs(1)}..${peerNs(N)} at ${address(1)}..${address(N)}`,
      );

      for (const id of all) {
        peers.push(
          new PeerProcess(id, [
            "ip",
            "netns",
            "exec",
            peerNs(id),
            ...DENO_PEER,
            "-h",
            hostsfile,
            "--id",
            `${id}`,
            ...(DEBUG ? ["--log-level", "debug"] : []),
          ]),
        );
      }
      await Promise.all(peers.map((p) =>
        p.waitFor(`view ${N} with all`, (q) => {
          const v = q.lastView();
          return v !== undefined && v.view === N && v.leader === 1 && same(v.members, all);
        }, 30_000)
      ));
      log(`all ${N} in view ${N}`);

      // The partition: the cut peer alone on one side, the majority (leader 1 included) on the other.
      const cut = peers[CUT - 1];
      const majority = peers.filter((p) => p.id !== CUT);
      const cutViewsBefore = cut.views().length;
      await setLink(CUT, "down");
      log(`peer ${CUT}'s link down`);
      const rest = all.filter((id) => id !== CUT);
      await Promise.all(majority.map((p) =>
        p.waitFor(`peer ${CUT} unreachable and removed`, (q) => {
          const v = q.lastView();
          return unreachable(q, CUT) && v !== undefined && same(v.members, rest);
        }, 15_000)
      ));
      log(`majority ${rest} removed peer ${CUT} (view ${majority[0].lastView()?.view})`);
      // The cut peer notices it hears nobody; give its (doomed) takeover time to try.
      await cut.waitFor("the leader reported unreachable", (q) => unreachable(q, 1), 15_000);
      await sleep(3_000);
      assert.equal(
        cut.views().length,
        cutViewsBefore,
        `peer ${CUT}, alone in a minority, installed a view:\n${cut.describe()}`,
      );
      for (const p of majority) {
        assert.ok(
          !rest.some((id) => unreachable(p, id)),
          `a live majority peer was reported:\n${p.describe()}`,
        );
      }
      log(`peer ${CUT} alone installed no view`);

      await setLink(CUT, "up");
      log(`peer ${CUT}'s link up`);
      await until(
        `all ${N} in one view again`,
        () => {
          const last = peers.map((q) => q.lastView());
          return last.every((v) => v && same(v.members, all) && v.view === last[0]!.view);
        },
        25_000,
        peers,
      );
      log(`all ${N} in view ${peers[0].lastView()?.view} again`);
      // Not a failure of Liveness, but worth seeing: a message the leader queued on its old
      // connection during the partition sits in TCP's backed-off retransmission, so the NEWVIEW
      // that re-adds the peer can arrive after the peer has been held unreachable once more.
      const views = peers[0].views();
      const removals = views.filter((v, i) =>
        i > 0 && views[i - 1].members.includes(CUT) && !v.members.includes(CUT)
      )
        .length;
      if (removals > 1) log(`note: peer ${CUT} was removed ${removals} times before it stayed in`);
      assertConsistent(peers);
      if (DEBUG) { for (const p of peers) console.log(p.describe()); }
    } finally {
      await stopAll(peers);
      for (const ns of created.reverse()) {
        try {
          await ip("netns", "del", ns);
        } catch (e) {
          console.log(`cleanup: ${(e as Error).message}`);
        }
      }
      await Deno.remove(hostsfile).catch(() => {});
    }
  },
);
