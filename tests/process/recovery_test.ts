// Crash-and-restart with real peer processes (`deno run mod.ts`) on loopback:
// a majority of the view killed with SIGKILL and started again, with and
// without `--data-dir`; a forged NEWVIEW from outside the group; the whole
// group killed and restarted on its data dirs. PROTOCOL.md, "Guarantees"
// (liveness: a majority of a view restarted at once included) and "Restarts
// and durable state".
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { encodeMessage } from "../../mod.ts";
import {
  assertConsistent,
  DENO_PEER,
  DENO_PEER_RW,
  freePorts,
  type PeerProcess,
  sleep,
  spawnPeer,
  stopAll,
  type ViewLine,
  writeHostsfile,
} from "../support/cluster.ts";

/** How long the group has to heal after the last restart (or the forged line). */
const HEAL_MS = 10_000;

/** How long a healed group is watched afterwards: it must stay whole (> fail-after × heartbeat). */
const STABLE_MS = 1_500;

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/**
 * A group of `n` peers on loopback, each run of each peer kept (a restart is
 * a new PeerProcess for the same ID), with a data dir per peer if asked.
 */
class Cluster {
  readonly n: number;
  readonly ports: number[];
  readonly hostsfile: string;
  /** Index `id - 1`: the peer's data dir, or null without `--data-dir`. */
  readonly dataDirs: (string | null)[];
  /** Index `id - 1`: the peer's current run. */
  readonly current: (PeerProcess | null)[];
  /** Every run of every peer, in start order. */
  readonly runs: PeerProcess[] = [];
  readonly #tmp: string | null;

  constructor(n: number, options: { dataDir: boolean }) {
    this.n = n;
    this.ports = freePorts(n);
    this.hostsfile = writeHostsfile(this.ports);
    this.#tmp = options.dataDir ? Deno.makeTempDirSync({ prefix: "recovery-" }) : null;
    this.dataDirs = range(n).map((id) => this.#tmp ? join(this.#tmp, `peer-${id}`) : null);
    this.current = Array(n).fill(null);
  }

  /** Starts (or restarts) peer `id`, on its data dir if it has one. */
  start(id: number): PeerProcess {
    assert.equal(this.current[id - 1], null, `peer ${id} still runs`);
    const dir = this.dataDirs[id - 1];
    const flags = ["--log-level", "info", ...(dir ? ["--data-dir", dir] : [])];
    const p = spawnPeer(id, this.hostsfile, flags, dir ? DENO_PEER_RW : DENO_PEER);
    this.current[id - 1] = p;
    this.runs.push(p);
    return p;
  }

  /** The peers running now. */
  live(): PeerProcess[] {
    return this.current.filter((p): p is PeerProcess => p !== null);
  }

  /** SIGKILL to each of `ids` at once; waits until they are gone. */
  async kill9(ids: number[]): Promise<void> {
    const victims = ids.map((id) => this.current[id - 1]!);
    for (const p of victims) p.kill("SIGKILL");
    await Promise.all(victims.map((p) => p.exited()));
    for (const id of ids) this.current[id - 1] = null;
  }

  /**
   * The view `p` is in: the last it printed, or, for a run restarted on its
   * data dir that printed nothing yet, the view it restored (said on stderr
   * at `--log-level info`; a restored view is not printed again, so its line
   * is the one an earlier run printed).
   */
  viewOf(p: PeerProcess): ViewLine | undefined {
    const last = p.lastView();
    if (last) return last;
    const restored = /restored view (\d+) from durable state/.exec(p.stderr);
    if (!restored) return undefined;
    const line = this.runs.flatMap((q) => q.views()).find((v) => v.view === +restored[1]);
    return line && { ...line, peer: p.id };
  }

  /**
   * Whether every live peer is in one view (one id, one leader) of exactly
   * `members` (default 1..n), and exactly `members` run.
   */
  whole(members: number[] = range(this.n)): boolean {
    const live = this.live();
    const views = live.map((p) => this.viewOf(p));
    const first = views[0];
    return live.map((p) => p.id).join() === members.join() &&
      views.every((v) =>
        v !== undefined && v.members.join() === members.join() && v.view === first!.view &&
        v.leader === first!.leader
      );
  }

  /** Polls until {@linkcode Cluster.whole}; returns when that was first seen (ms since the epoch). */
  async waitWhole(what: string, deadline: number, members?: number[]): Promise<number> {
    while (!this.whole(members)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${this.summary()}`);
      await sleep(10);
    }
    return Date.now();
  }

  /** The one view every live peer is in (call after {@linkcode Cluster.whole}). */
  view(): ViewLine {
    return this.viewOf(this.live()[0])!;
  }

  /** Each live peer's view, one line. */
  summary(): string {
    return this.live().map((p) => {
      const v = this.viewOf(p);
      const restored = p.lastView() ? "" : " (restored)";
      return `peer ${p.id}: ${v ? `view ${v.view} leader ${v.leader} [${v.members}]${restored}` : "no view"}`;
    }).join("; ");
  }

  /**
   * Agreement over every line of every run, monotonic view ids within each
   * run (both {@linkcode assertConsistent}), and across the runs of one peer:
   * a restarted peer never prints a view id at or below one an earlier run of
   * it printed (PROTOCOL.md: views never go backwards while any peer of the
   * group history is up, and with `--data-dir` never).
   */
  check(): void {
    assertConsistent(this.runs);
    for (const id of range(this.n)) {
      let before = 0;
      for (const run of this.runs.filter((p) => p.id === id)) {
        const views = run.views();
        if (views.length > 0) {
          assert.ok(
            views[0].view > before,
            `peer ${id}: a restarted run printed view ${views[0].view} after an earlier run's view ${before}`,
          );
          before = views.at(-1)!.view;
        }
      }
    }
  }

  /** Every run's output, stderr cut to its tail. */
  describe(): string {
    return this.runs.map((p, i) => {
      const tail = p.stderr.split("\n").slice(-40).join("\n");
      return `--- peer ${p.id} (run ${i + 1}, started ${p.startedAt}) stdout:\n${
        p.lines.join("\n")
      }\n--- stderr (last 40 lines):\n${tail}`;
    }).join("\n");
  }

  async close(): Promise<void> {
    await stopAll(this.runs);
    Deno.removeSync(this.hostsfile);
    if (this.#tmp) Deno.removeSync(this.#tmp, { recursive: true });
  }
}

/** Runs `body` over a new cluster, then checks it; prints every run's output on failure; always stops them. */
async function withCluster(
  n: number,
  options: { dataDir: boolean },
  body: (c: Cluster) => Promise<void>,
): Promise<void> {
  const c = new Cluster(n, options);
  try {
    await body(c);
    c.check();
    if (Deno.env.get("RECOVERY_VERBOSE")) console.log(c.describe());
  } catch (e) {
    console.log(c.describe());
    throw e;
  } finally {
    await c.close();
  }
}

/** Starts peers 1..n together and waits until all are in view n = [1..n]. */
async function formGroup(c: Cluster): Promise<void> {
  for (const id of range(c.n)) c.start(id);
  await c.waitWhole(`all ${c.n} in one view`, Date.now() + 20_000);
  assert.equal(c.view().view, c.n, `view ${c.n} after ${c.n} joins: ${c.summary()}`);
}

/**
 * Waits until the group stays whole for {@linkcode STABLE_MS}: it must not fall apart again. Peers
 * restarted on their data dirs included: a removal of one proposed while it was down may still
 * commit after it is back, but its JOIN says it was down, and it is back at once (no probation).
 */
async function assertStaysWhole(c: Cluster): Promise<void> {
  const view = c.view();
  await sleep(STABLE_MS);
  assert.ok(c.whole(), `still one view of all ${c.n} ${STABLE_MS} ms later: ${c.summary()}`);
  assert.ok(c.view().view >= view.view);
}

/**
 * Kills `victims` with SIGKILL at once, starts them again `downMs` later,
 * and waits until every peer is in one view of all n, within
 * {@linkcode HEAL_MS} of the last restart; then checks the group stays so.
 */
async function killAndRestart(
  c: Cluster,
  victims: number[],
  downMs = 2_000,
): Promise<{ healMs: number; view: ViewLine }> {
  const before = c.view();
  await c.kill9(victims);
  await sleep(downMs);
  const restarted = victims.map((id) => c.start(id));
  const lastStart = Math.max(...restarted.map((p) => p.startedAt));
  const healedAt = await c.waitWhole(
    `all ${c.n} back in one view within ${HEAL_MS} ms of the last restart`,
    lastStart + HEAL_MS,
  );
  const view = c.view();
  assert.ok(view.view >= before.view, `view ids never went back: ${before.view} → ${view.view}`);
  await assertStaysWhole(c);
  return { healMs: healedAt - lastStart, view };
}

/**
 * The group still works after a restart on data dirs (whose peers print
 * nothing when nothing changed): SIGKILL one member that does not lead; the
 * others must install a view without it (a DEL committed by the restored
 * voters), and, restarted on its data dir, it must be back in.
 */
async function probeLiveness(c: Cluster): Promise<string> {
  const view = c.view();
  const victim = Math.max(...view.members.filter((m) => m !== view.leader));
  const rest = range(c.n).filter((id) => id !== victim);
  const killedAt = Date.now();
  await c.kill9([victim]);
  const removedAt = await c.waitWhole(`the others remove peer ${victim}`, killedAt + HEAL_MS, rest);
  const without = c.view().view;
  const restarted = c.start(victim);
  const backAt = await c.waitWhole(`peer ${victim} back in`, restarted.startedAt + HEAL_MS);
  return `probe: peer ${victim} killed, removed in ${removedAt - killedAt} ms (view ${without}), back in ${
    backAt - restarted.startedAt
  } ms after its restart (view ${c.view().view})`;
}

/** Which peers printed "forming the group anew" / "formed the group anew" on stderr. */
function formedAnew(c: Cluster): string {
  const by = (re: RegExp) => [...new Set(c.runs.filter((p) => re.test(p.stderr)).map((p) => p.id))];
  return `forming anew: [${by(/forming the group anew/)}], formed anew: [${by(/formed the group anew/)}]`;
}

for (const dataDir of [false, true]) {
  const mode = dataDir ? "with --data-dir" : "without --data-dir";

  test(`recovery: 5 peers, SIGKILL 3,4,5 at once, restart 2 s later: all 5 in one view again (${mode})`, async () => {
    await withCluster(5, { dataDir }, async (c) => {
      await formGroup(c);
      const { healMs, view } = await killAndRestart(c, [3, 4, 5]);
      console.log(
        `${mode}: healed in ${healMs} ms after the last restart: view ${view.view} leader ${view.leader}; ${
          formedAnew(c)
        }`,
      );
      if (dataDir) console.log(await probeLiveness(c));
    });
  });

  test(`recovery: 5 peers, SIGKILL 1,2,3 (the leader among them) at once, restart: all 5 in one view again (${mode})`, async () => {
    await withCluster(5, { dataDir }, async (c) => {
      await formGroup(c);
      assert.equal(c.view().leader, 1);
      const { healMs, view } = await killAndRestart(c, [1, 2, 3]);
      console.log(
        `${mode}: healed in ${healMs} ms after the last restart: view ${view.view} leader ${view.leader}; ${
          formedAnew(c)
        }`,
      );
      if (dataDir) console.log(await probeLiveness(c));
    });
  });
}

/**
 * A NEWVIEW for view 99 = [1], sent over TCP by a process outside the group
 * (this test) to peers 2, 3 and 4 of a group in view 4, claiming to come from
 * peer 4 (to peers 2 and 3) and from peer 3 (to peer 4) as `incarnation`.
 */
async function forgeNewView(c: Cluster, incarnation: number): Promise<void> {
  const line = (from: number) =>
    encodeMessage({
      type: "NEWVIEW",
      from,
      incarnation,
      view: { epoch: { round: 1, former: 1, run: 1 }, id: 99, leader: 1, members: [1], incarnations: [1] },
      ballot: { round: 0, leader: 1 },
    }) + "\n";
  await Promise.all([[2, 4], [3, 4], [4, 3]].map(async ([to, from]) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: c.ports[to - 1] });
    try {
      await conn.write(new TextEncoder().encode(line(from)));
    } finally {
      conn.close();
    }
  }));
}

const FORGED = [
  ["an old run (incarnation 1)", () => 1],
  ["a newer run than the real one (incarnation now + 10^7 ms)", () => Date.now() + 10_000_000],
] as const;

for (const dataDir of [false, true]) {
  const mode = dataDir ? "with --data-dir" : "without --data-dir";
  for (const [name, incarnation] of FORGED) {
    test(`recovery: a forged NEWVIEW for view 99 = [1] to peers 2, 3, 4, as ${name}, strands nobody (${mode})`, async () => {
      await withCluster(4, { dataDir }, async (c) => {
        await formGroup(c);
        await sleep(300);
        const printed = c.live().map((p) => p.lines.length);
        const logged = c.live().map((p) => p.stderr.length);
        const forgedAt = Date.now();
        await forgeNewView(c, incarnation());
        // Give the forged line time to act before judging "one view again".
        await sleep(500);
        const healedAt = await c.waitWhole(
          `all 4 in one view within ${HEAL_MS} ms of the forged line`,
          forgedAt + HEAL_MS,
        );
        await assertStaysWhole(c);
        const after = c.live().map((p, i) => p.lines.slice(printed[i]));
        const notes = c.live().map((p, i) =>
          p.stderr.slice(logged[i]).split("\n").filter((l) =>
            /NEWVIEW|view 99|back in the group|joining again/.test(l)
          )
        );
        const dropped = c.live().filter((_, i) => notes[i].some((l) => /dropped NEWVIEW/.test(l)));
        const rejoined = c.live().filter((_, i) => notes[i].some((l) => /back in the group/.test(l)));
        for (const [i, p] of c.live().entries()) {
          if (after[i].length + notes[i].length === 0) continue;
          console.log(
            `  peer ${p.id} after the forged line:\n    ${[...after[i], ...notes[i]].join("\n    ")}`,
          );
        }
        console.log(
          `forged as ${name} (${mode}): dropped by [${
            dropped.map((p) => p.id)
          }]; left on it and came back: [${
            rejoined.map((p) => p.id)
          }]; lines printed after it: ${after.flat().length}; one view of all 4 (view ${c.view().view}) when checked, ${
            healedAt - forgedAt
          } ms after the forged line (see bench/results.md for the time it takes)`,
        );
      });
    });
  }
}

test("recovery: after a forged NEWVIEW as a newer run of peers 4 and 3, the leader crashes: peers 2, 3, 4 still converge", async () => {
  await withCluster(4, { dataDir: false }, async (c) => {
    await formGroup(c);
    await sleep(300);
    await forgeNewView(c, Date.now() + 10_000_000);
    await sleep(500);
    await c.waitWhole("all 4 in one view after the forged line", Date.now() + HEAL_MS);
    const killedAt = Date.now();
    await c.kill9([1]);
    // The survivors are a majority of view 4: they must remove the leader.
    const healedAt = await c.waitWhole("peers 2, 3, 4 in one view without 1", killedAt + HEAL_MS, [2, 3, 4]);
    console.log(
      `survivors in view ${c.view().view} = [2,3,4] ${healedAt - killedAt} ms after the leader's crash`,
    );
  });
});

test("recovery: 5 peers with --data-dir, SIGKILL all 5, restart all 5: they carry on above view 5", async () => {
  await withCluster(5, { dataDir: true }, async (c) => {
    await formGroup(c);
    const firstRuns = [...c.runs];
    await c.kill9(range(5));
    await sleep(1_000);
    const restarted = range(5).map((id) => c.start(id));
    const lastStart = Math.max(...restarted.map((p) => p.startedAt));
    const healedAt = await c.waitWhole(
      `all 5 back in one view within ${HEAL_MS} ms of the last restart`,
      lastStart + HEAL_MS,
    );
    const resumed = c.view();
    assert.equal(resumed.view, 5, `the group resumed where it was: ${c.summary()}`);
    await assertStaysWhole(c);
    const probe = await probeLiveness(c);
    const v = c.view();
    assert.ok(v.view > 5, `view id above 5 after the probe: ${v.view}`);
    for (const p of restarted) {
      assert.ok(!p.views().some((w) => w.view === 1), `peer ${p.id} founded view 1 again`);
      const printedBefore = firstRuns.find((q) => q.id === p.id)!.views().at(-1)!.view;
      for (const w of p.views()) {
        assert.ok(w.view > printedBefore, `peer ${p.id}: view ${w.view} after ${printedBefore}`);
      }
    }
    console.log(
      `whole group restarted on its data dirs: resumed view ${resumed.view} leader ${resumed.leader} everywhere ${
        healedAt - lastStart
      } ms after the last restart; ${formedAnew(c)}; ${probe}`,
    );
  });
});
