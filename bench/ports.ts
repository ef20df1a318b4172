/**
 * Ports for the benches' processes on loopback: free for TCP and UDP, below
 * the kernel's ephemeral range (where the tests' `freePorts` and every
 * outgoing connection take theirs, so none takes one of ours meanwhile), and
 * never one this process handed out before. Shared by `scale.ts` and
 * `events.ts`.
 *
 * @module
 */

const usedPorts = new Set<number>();

/** The kernel's ephemeral port range (`ip_local_port_range`), or the IANA one elsewhere. */
function localPortRange(): [number, number] {
  try {
    const [lo, hi] = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)
      .map(Number);
    if (lo > 0 && hi >= lo) return [lo, hi];
  } catch { /* not Linux: assume the IANA range */ }
  return [49152, 65535];
}

/**
 * `n` ports free for TCP and UDP on 127.0.0.1, from a random point of
 * 20000 up to the ephemeral range, never one this run used before.
 */
export function choosePorts(n: number): number[] {
  const [ephemeralLow] = localPortRange();
  const low = 20_000, high = Math.max(low + 2 * n + 1000, ephemeralLow) - 1;
  const span = high - low + 1;
  const start = Math.floor(Math.random() * span);
  const ports: number[] = [];
  for (let i = 0; i < span && ports.length < n; i++) {
    const port = low + (start + i) % span;
    if (usedPorts.has(port)) continue;
    try {
      const tcp = Deno.listen({ hostname: "127.0.0.1", port });
      try {
        Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" }).close();
      } finally {
        tcp.close();
      }
    } catch {
      continue; // taken, one way or the other
    }
    usedPorts.add(port);
    ports.push(port);
  }
  if (ports.length < n) throw new Error(`only ${ports.length} of ${n} free ports in ${low}..${high}`);
  return ports;
}
