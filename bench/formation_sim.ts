/**
 * What forming a group costs, in the simulator's setting: N protocol cores on
 * the product's effect runner, over the in-memory network (1-3 ms delays, no
 * loss) and one virtual clock, all started at virtual time 0. Runs until
 * every peer holds one view of all N, and prints the view changes that took
 * (the final view id less the founding view) and the messages sent by then,
 * control messages by type and heartbeats apart.
 *
 * `deno run bench/formation_sim.ts [--spread MS] [--crash K] [N ...]` (default
 * 16 32 64); `--spread` starts each peer at a random time in [0, MS] instead
 * (the simulator's seeds spread starts over 2,000 ms); `--crash` then crashes
 * the K highest IDs at once and measures their removal the same way. Groups of
 * more than 8 peers batch queued operations (one view change for a crowd of
 * joiners); run it on a checkout before batching to compare.
 *
 * @module
 */

import type { HostAddress } from "../src/core/hostsfile.ts";
import type { View } from "../src/core/messages.ts";
import { PeerCore } from "../src/core/peer_core.ts";
import { EffectRunner } from "../src/runtime/effect_runner.ts";
import { VirtualScheduler } from "../src/scheduler.ts";
import { MemoryNetwork } from "../src/transport/memory.ts";
import { mulberry32 as stream } from "../tests/support/prng.ts";

const HEARTBEAT_MS = 100;
/** Give up after this much virtual time. */
const LIMIT_MS = 600_000;

/** What one phase cost: until when, view changes, and messages sent meanwhile. */
interface Phase {
  readonly ms: number | null;
  readonly viewChanges: number;
  readonly stream: Map<string, number>;
  readonly datagrams: number;
}

function describe(p: Phase, what: string): string {
  const control = [...p.stream.values()].reduce((a, b) => a + b, 0);
  const byType = [...p.stream.entries()].sort((a, b) => b[1] - a[1]).map(([t, c]) => `${t} ${c}`).join(", ");
  return `${p.ms === null ? `not ${what}` : `${what} after ${p.ms.toFixed(0)} virtual ms`}, ` +
    `${p.viewChanges} view changes, ${control} control messages (${byType}), ${p.datagrams} heartbeats`;
}

function run(n: number, spreadMs: number, crash: number): string {
  const began = performance.now();
  const clock = new VirtualScheduler();
  const net = new MemoryNetwork({ scheduler: clock, random: stream(n) });
  const hosts: HostAddress[] = Array.from({ length: n }, (_, i) => ({ hostname: "sim", port: 7601 + i }));
  const views: (View | null)[] = new Array(n + 1).fill(null);
  let counts = { stream: new Map<string, number>(), datagrams: 0 };
  const decoder = new TextDecoder();
  const startAt = stream(7 * n);
  const stops: (() => void)[] = [];
  for (let p = 1; p <= n; p++) {
    const base = net.transport();
    const transport = {
      ...base,
      sendStream: (to: HostAddress, bytes: Uint8Array) => {
        const type = String(JSON.parse(decoder.decode(bytes)).type);
        counts.stream.set(type, (counts.stream.get(type) ?? 0) + 1);
        return base.sendStream(to, bytes);
      },
      sendDatagram: (to: HostAddress, bytes: Uint8Array) => {
        counts.datagrams++;
        return base.sendDatagram(to, bytes);
      },
    };
    const core = new PeerCore({
      id: p,
      peerCount: n,
      incarnation: 1,
      heartbeatMs: HEARTBEAT_MS,
      failAfter: 5,
      random: stream(1_000 + p),
    });
    const runner = new EffectRunner({
      core,
      hosts,
      transport,
      scheduler: clock,
      tickMs: HEARTBEAT_MS,
      onEvent: (e) => {
        if (e.type === "view") views[p] = e.view;
      },
      onLog: () => {},
    });
    // A peer listens from its start on (the memory network binds at once), as in the simulator.
    clock.schedule(Math.floor(startAt() * (spreadMs + 1)), () => {
      void runner.listen(hosts[p - 1]);
      runner.start();
    });
    stops.push(() => {
      runner.halt();
      void transport.close();
    });
  }
  /** Runs until every peer of `live` holds one view of exactly `live`; the phase's cost. */
  const phase = (live: number[]): Phase => {
    const from = clock.now();
    const firstId = views[1]?.id ?? 1;
    counts = { stream: new Map(), datagrams: 0 };
    const done = () => {
      const first = views[live[0]];
      return first !== null && first.members.join() === live.join() &&
        live.every((p) => views[p]?.id === first.id);
    };
    let ms: number | null = null;
    while (clock.now() < from + LIMIT_MS && clock.runNext(from + LIMIT_MS)) {
      if (done()) {
        ms = clock.now() - from;
        break;
      }
    }
    return { ms, viewChanges: (views[live[0]]?.id ?? 1) - firstId, ...counts };
  };
  const all = Array.from({ length: n }, (_, i) => i + 1);
  const lines = [
    `${n} peers${spreadMs > 0 ? ` started over ${spreadMs} ms` : ""}: ${describe(phase(all), "formed")}`,
  ];
  if (crash > 0) {
    for (const p of all.slice(n - crash)) stops[p - 1]();
    lines.push(`  ${crash} of them crash at once: ${describe(phase(all.slice(0, n - crash)), "removed")}`);
  }
  return `${lines.join("\n")}; ${((performance.now() - began) / 1000).toFixed(1)} s wall`;
}

const args = [...Deno.args];
const flag = (name: string) => {
  const at = args.indexOf(name);
  return at < 0 ? 0 : Number(args.splice(at, 2)[1]);
};
const spreadMs = flag("--spread");
const crash = flag("--crash");
const sizes = args.length > 0 ? args.map(Number) : [16, 32, 64];
for (const n of sizes) console.log(run(n, spreadMs, crash));
