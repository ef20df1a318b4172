/**
 * The simulator's recovery faults that live outside the scenario: a peer's
 * storage that survives its crashes (what `--data-dir` is to the CLI), and a
 * transport wrapper that lets the run see every message sent (to duplicate
 * it, or deliver it again later) and reach every listening peer (to deliver
 * forged messages), without touching the in-memory network itself.
 *
 * @module
 */

import { decodeDurableState, encodeDurableState } from "../../src/core/codec.ts";
import type { DurableState } from "../../src/core/effects.ts";
import type { HostAddress } from "../../src/core/hostsfile.ts";
import type { Storage } from "../../src/runtime/effect_runner.ts";
import { addressKey, type Transport, type TransportHandlers } from "../../src/transport/transport.ts";

/**
 * One peer's durable state, kept in memory across its crashes. It is kept
 * as the text the CLI's data dir would hold, so every write and every
 * restart goes through the codec of durable state.
 */
export class MemoryStorage implements Storage {
  #text: string | null = null;
  /** How many states were written. */
  writes = 0;

  /** The state written last, or null. */
  load(): Promise<DurableState | null> {
    return Promise.resolve(this.peek());
  }

  /** Keeps `state` (synchronously: nothing waits for the write). */
  save(state: DurableState): void {
    this.#text = encodeDurableState(state);
    this.writes++;
  }

  /** The state written last, or null; throws if it cannot be read back. */
  peek(): DurableState | null {
    if (this.#text === null) return null;
    const decoded = decodeDurableState(this.#text);
    if (!decoded.ok) throw new UnreadableState(`${decoded.error} in ${this.#text}`);
    return decoded.state;
  }

  /** Forgets everything: the peer restarts without its state (a new, empty data dir). */
  wipe(): void {
    this.#text = null;
  }
}

/** Durable state written by the runner could not be read back. */
export class UnreadableState extends Error {}

/** What the run learns from a wrapped transport. */
export interface WireHooks {
  /** A peer listens at `address` with `handlers` (the address is its `host:port` key). */
  listening(address: string, handlers: TransportHandlers): void;
  /** A message was handed to the network; `again(...)` sends the same bytes once more. */
  sent(to: HostAddress, bytes: Uint8Array, via: "stream" | "datagram", again: () => void): void;
  /** Whether the sender loses this message on its way out (a flaky host); none by default. */
  lost?(via: "stream" | "datagram"): boolean;
}

/**
 * `inner` as it is, but every `listen` and every send is reported to `hooks`.
 *
 * @example
 * ```ts
 * import { observedTransport } from "./faults.ts";
 * import { MemoryNetwork } from "../../src/transport/memory.ts";
 * const transport = observedTransport(new MemoryNetwork().transport(), {
 *   listening: () => {},
 *   sent: (_to, _bytes, _via, again) => again(), // every message twice
 * });
 * ```
 */
export function observedTransport(inner: Transport, hooks: WireHooks): Transport {
  return {
    listen: (local, handlers) => {
      const listening = inner.listen(local, handlers);
      hooks.listening(addressKey(local), handlers);
      return listening;
    },
    sendStream: (to, bytes) => {
      if (hooks.lost?.("stream")) return;
      inner.sendStream(to, bytes);
      hooks.sent(to, bytes, "stream", () => inner.sendStream(to, bytes));
    },
    sendDatagram: (to, bytes) => {
      if (hooks.lost?.("datagram")) return;
      inner.sendDatagram(to, bytes);
      hooks.sent(to, bytes, "datagram", () => inner.sendDatagram(to, bytes));
    },
    reset: (to) => inner.reset(to),
    flush: () => inner.flush(),
    close: () => inner.close(),
  };
}
