/**
 * Embedding the membership library in a Deno program: three peers in one
 * process, first over the in-memory network (no sockets: what the tests and
 * the simulator use), then over real TCP and UDP sockets on loopback.
 *
 * ```sh
 * node_modules/.bin/deno run --unstable-net --allow-net examples/embed_deno.ts [--memory | --sockets]
 * ```
 *
 * Each run waits until every peer has installed the view of all three,
 * prints it, and stops the peers; exit code 1 if a view does not come within
 * 10 seconds.
 *
 * @module
 */

import { type HostAddress, MemoryNetwork, type Peer, startPeer, type View } from "../mod.ts";

/** `n` ports free for TCP and UDP on loopback right now. */
function freePorts(n: number): number[] {
  const ports: number[] = [];
  while (ports.length < n) {
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = tcp.addr as Deno.NetAddr;
    try {
      Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" }).close();
      if (!ports.includes(port)) ports.push(port);
    } catch { /* UDP side taken: try another */ }
    tcp.close();
  }
  return ports;
}

async function run(label: string, hosts: HostAddress[], network?: MemoryNetwork): Promise<boolean> {
  const peers: Peer[] = [];
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error("no view of all three within 10 s")), 10_000);
  try {
    for (let id = 1; id <= hosts.length; id++) {
      peers.push(
        await startPeer({
          hosts,
          id,
          listen: hosts[id - 1],
          heartbeatMs: 100,
          transport: network?.transport(), // undefined: the sockets of the runtime at hand
        }),
      );
    }
    const all = (view: View) => view.members.length === hosts.length;
    const views = await Promise.all(peers.map((peer) => peer.waitForView(all, deadline.signal)));
    for (const [i, view] of views.entries()) {
      console.log(
        `${label}: peer ${i + 1}: view ${view.id}, leader ${view.leader}, members [${view.members}]`,
      );
    }
    return true;
  } catch (e) {
    console.error(`${label}: ${(e as Error).message}`);
    return false;
  } finally {
    clearTimeout(timer);
    await Promise.all(peers.map((peer) => peer.stop()));
    await network?.close();
  }
}

if (import.meta.main) {
  const only = Deno.args[0];
  let ok = true;
  if (only !== "--sockets") {
    // Addresses on a MemoryNetwork are only names: no port is bound.
    const hosts = [1, 2, 3].map((i) => ({ hostname: "10.0.0.1", port: 7600 + i }));
    ok = await run("memory", hosts, new MemoryNetwork()) && ok;
  }
  if (only !== "--memory") {
    const hosts = freePorts(3).map((port) => ({ hostname: "127.0.0.1", port }));
    ok = await run("sockets", hosts) && ok;
  }
  Deno.exit(ok ? 0 : 1);
}
