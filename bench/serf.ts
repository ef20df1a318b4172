/**
 * Serf agents for the benches that compare with serf (`scale.ts`, `events.ts`): starting a group of them on
 * loopback, and polling `serf members` until each agent asked sees what a bench waits for.
 *
 * @module
 */

import type { PeerProcess } from "../tests/support/cluster.ts";
import { sleep } from "../tests/support/cluster.ts";
import { choosePorts } from "./ports.ts";
import type { Started } from "./script.ts";

/** `serf members` of the agent at `rpc`: name → status; null if it does not answer. */
export async function serfMembers(rpc: string): Promise<Map<string, string> | null> {
  const out = await new Deno.Command("serf", {
    args: ["members", `-rpc-addr=${rpc}`, "-format=json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) return null;
  try {
    const { members } = JSON.parse(new TextDecoder().decode(out.stdout));
    return new Map((members as { name: string; status: string }[]).map((m) => [m.name, m.status]));
  } catch {
    return null;
  }
}

/**
 * Polls `serf members` on the agents at `rpcs` until `done` holds for each; returns the time it first held for
 * the last of them. Throws when one of `agents` exits, or after `timeoutMs`, saying `what()`.
 */
export async function serfUntil(
  started: Started,
  rpcs: string[],
  done: (members: Map<string, string>) => boolean,
  what: () => string,
  timeoutMs: number,
  agents: PeerProcess[],
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const finished = new Set<string>();
  for (;;) {
    started.noneExited(agents, "serf agent");
    for (const rpc of rpcs) {
      if (finished.has(rpc)) continue;
      const members = await serfMembers(rpc);
      if (members && done(members)) finished.add(rpc);
    }
    if (finished.size === rpcs.length) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s: ${what()}`);
    await sleep(100);
  }
}

/** A group of serf agents: the processes, each one's RPC address, and when the first was spawned. */
export interface SerfAgents {
  /** Agent `i + 1` (node name `n${i + 1}`) at index `i`. */
  agents: PeerProcess[];
  /** The RPC address of agent `i + 1`. */
  rpc: (i: number) => string;
  /** `Date.now()` when agent 1 was spawned. */
  t0: number;
}

/**
 * Starts `n` serf agents on loopback, `n1` … `nN`: agent 1 first (a `-join` to an agent not yet up fails), the
 * others joining it as soon as it answers. Returns without waiting for the group to form.
 */
export async function startSerfAgents(started: Started, n: number, timeoutMs: number): Promise<SerfAgents> {
  const ports = choosePorts(2 * n);
  const bind = (i: number) => `127.0.0.1:${ports[2 * i]}`;
  const rpc = (i: number) => `127.0.0.1:${ports[2 * i + 1]}`;
  const agent = (i: number, join: string[]) =>
    started.spawn(i + 1, [
      "serf",
      "agent",
      `-bind=${bind(i)}`,
      `-rpc-addr=${rpc(i)}`,
      `-node=n${i + 1}`,
      ...join,
    ]);
  const t0 = Date.now();
  const agents = [agent(0, [])];
  await serfUntil(started, [rpc(0)], () => true, () => "serf agent 1 did not answer", timeoutMs, agents);
  for (let i = 1; i < n; i++) agents.push(agent(i, [`-join=${bind(0)}`]));
  return { agents, rpc, t0 };
}
