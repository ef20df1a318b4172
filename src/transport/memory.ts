/**
 * An in-memory network for tests and simulation: every peer's transport in
 * one process, with delays, datagram loss, stream breaks, partitions and
 * crashes. Time comes from a {@linkcode Scheduler}: real timers for tests of
 * the runtime, a virtual clock for the deterministic simulator.
 *
 * @module
 */

import type { HostAddress } from "../core/hostsfile.ts";
import { RealTimeScheduler, type Scheduler } from "../scheduler.ts";
import { AddressInUseError, addressKey, type Transport, type TransportHandlers } from "./transport.ts";

export { RealTimeScheduler, type Scheduler } from "../scheduler.ts";

/** Faults the network injects; every field may change while it runs. */
export interface NetworkFaults {
  /** Shortest one-way delay in ms. */
  minDelayMs: number;
  /** Longest one-way delay in ms (messages may overtake each other). */
  maxDelayMs: number;
  /** Probability that a datagram is lost. */
  datagramLoss: number;
  /** Probability that a stream message is lost to a broken connection. */
  streamBreak: number;
}

/** Options of a {@linkcode MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Where time comes from (default: real timers). */
  scheduler?: Scheduler;
  /** Randomness for delays and losses (default: Math.random). */
  random?: () => number;
  /** Initial faults (default: 1–3 ms delay, no loss). */
  faults?: Partial<NetworkFaults>;
}

/** A transport's address once it listens: its key, and the `from` of what it sends. */
interface Own {
  readonly key: string;
  readonly address: HostAddress;
}

interface Node {
  handlers: TransportHandlers | null;
  crashed: boolean;
}

/** One key for the link between two addresses, whichever way round. */
const linkKey = (a: string, b: string): string => (a < b ? `${a} ${b}` : `${b} ${a}`);

/**
 * Many peers' transports in one process.
 *
 * @example
 * ```ts
 * import { MemoryNetwork } from "./memory.ts";
 * const net = new MemoryNetwork({ faults: { datagramLoss: 0.1 } });
 * const a = net.transport();
 * const b = net.transport();
 * net.partition([["127.0.0.1:7601"], ["127.0.0.1:7602"]]);
 * net.heal();
 * await net.close();
 * ```
 */
export class MemoryNetwork {
  /** The faults in force. */
  readonly faults: NetworkFaults;
  readonly #scheduler: Scheduler;
  readonly #random: () => number;
  readonly #nodes = new Map<string, Node>();
  readonly #inFlight = new Set<() => void>();
  #group = new Map<string, number>();
  readonly #cutLinks = new Set<string>();

  /** Creates a network with no nodes. */
  constructor(options: MemoryNetworkOptions = {}) {
    this.#scheduler = options.scheduler ?? new RealTimeScheduler();
    this.#random = options.random ?? Math.random;
    this.faults = { minDelayMs: 1, maxDelayMs: 3, datagramLoss: 0, streamBreak: 0, ...options.faults };
  }

  /** A new transport on this network; it owns an address once it listens. */
  transport(): Transport {
    let own: Own | null = null;
    return {
      listen: (local, handlers) => {
        const key = addressKey(local);
        const existing = this.#nodes.get(key);
        if (existing && !existing.crashed && existing.handlers) {
          return Promise.reject(new AddressInUseError(`${key} is in use`));
        }
        own = { key, address: { hostname: local.hostname, port: local.port } };
        this.#nodes.set(key, { handlers, crashed: false });
        return Promise.resolve();
      },
      sendStream: (to, bytes) => own && this.#send(own, to, bytes, "stream"),
      sendDatagram: (to, bytes) => own && this.#send(own, to, bytes, "datagram"),
      reset: () => {},
      flush: () => Promise.resolve(),
      close: () => {
        if (own) this.#nodes.delete(own.key);
        own = null;
        return Promise.resolve();
      },
    };
  }

  /** Whether messages can pass between two addresses now. */
  connected(a: string, b: string): boolean {
    if (this.#cutLinks.size > 0 && this.#cutLinks.has(linkKey(a, b))) return false;
    if (this.#group.size === 0) return true; // no partition: every message passes this test
    return (this.#group.get(a) ?? 0) === (this.#group.get(b) ?? 0);
  }

  /** Cuts the one link between two addresses, both ways (everyone else still reaches both). */
  cutLink(a: string, b: string): void {
    this.#cutLinks.add(linkKey(a, b));
  }

  /** Mends every cut link. */
  mendLinks(): void {
    this.#cutLinks.clear();
  }

  /** Splits the network: addresses in different groups cannot talk; unlisted ones join group 0. */
  partition(groups: readonly (readonly string[])[]): void {
    this.#group = new Map(groups.flatMap((g, i) => g.map((a) => [a, i + 1] as const)));
  }

  /** Ends every partition (cut links stay cut). */
  heal(): void {
    this.#group = new Map();
  }

  /** The process at `address` dies: it neither sends nor receives again. */
  crash(address: string): void {
    const node = this.#nodes.get(address);
    if (node) node.crashed = true;
  }

  /** Drops everything in flight. */
  close(): Promise<void> {
    for (const cancel of this.#inFlight) cancel();
    this.#inFlight.clear();
    return Promise.resolve();
  }

  #send(own: Own, to: HostAddress, data: Uint8Array, via: "stream" | "datagram"): void {
    const from = own.key;
    const key = addressKey(to);
    if (this.#nodes.get(from)?.crashed || !this.connected(from, key)) return;
    const loss = via === "stream" ? this.faults.streamBreak : this.faults.datagramLoss;
    if (loss > 0 && this.#random() < loss) return;
    const { minDelayMs, maxDelayMs } = this.faults;
    const delay = minDelayMs + this.#random() * Math.max(0, maxDelayMs - minDelayMs);
    const bytes = new Uint8Array(data); // a copy: what is in flight is no longer the sender's to change
    const cancel = this.#scheduler.schedule(delay, () => {
      this.#inFlight.delete(cancel);
      const node = this.#nodes.get(key);
      if (!node?.handlers || node.crashed || !this.connected(from, key)) return;
      const packet = { bytes, from: own.address, receivedAt: this.#scheduler.now() };
      if (via === "stream") node.handlers.onStream(packet);
      else node.handlers.onDatagram(packet);
    });
    this.#inFlight.add(cancel);
  }
}
