/**
 * The transport a peer runs on, after HashiCorp memberlist's: a reliable
 * message stream (TCP) and a datagram socket (UDP), both carrying bytes. What
 * arrives comes with the sender's address and the time it arrived, so a layer
 * above (sealing, say) can bind what it opens to who sent it.
 *
 * @module
 */

import type { HostAddress } from "../core/hostsfile.ts";

/** One message received: its bytes, the address it came from, and when. */
export interface Packet {
  /** The message's bytes (one frame of the stream, or one datagram). */
  readonly bytes: Uint8Array;
  /** The sender's address (for the stream, the remote end of the connection). */
  readonly from: HostAddress;
  /** When it arrived, in ms on the transport's clock. */
  readonly receivedAt: number;
}

/** What a transport delivers to its peer. */
export interface TransportHandlers {
  /** One message received over the stream (its framing removed). */
  onStream(packet: Packet): void;
  /** One datagram received. */
  onDatagram(packet: Packet): void;
  /**
   * A transport-level problem worth a diagnostic (never fatal): at level info,
   * or "warning" for one a user must mend (a host name that does not resolve).
   */
  onDiagnostic(text: string, level?: "warning"): void;
}

/**
 * A peer's network: streams opened on demand and re-established after a
 * break, datagrams best effort. Sends never throw and never reject: a
 * message that cannot be delivered is dropped, and the protocol retries.
 */
export interface Transport {
  /** Binds the port for both stream and datagrams; rejects if it is in use. */
  listen(local: HostAddress, handlers: TransportHandlers): Promise<void>;
  /** Sends one message over the reliable stream to `to` (the transport frames it). */
  sendStream(to: HostAddress, bytes: Uint8Array): void;
  /** Sends one datagram to `to`. */
  sendDatagram(to: HostAddress, bytes: Uint8Array): void;
  /**
   * Drops the stream connection to `to`, if any: the next message opens a
   * fresh one. Called when `to` turns unreachable, since a connection that
   * lived through a partition can sit in TCP's retransmission back-off for
   * seconds after the network heals.
   */
  reset(to: HostAddress): void;
  /** Resolves when every stream message sent so far is written or dropped. */
  flush(): Promise<void>;
  /** Closes every socket; resolves when nothing is left running. */
  close(): Promise<void>;
}

/** Raised by {@linkcode Transport.listen} when the port is taken. */
export class AddressInUseError extends Error {
  /** The error's name. */
  override name = "AddressInUseError";
}

/**
 * The `host:port` key of an address (IPv6 hosts in brackets).
 *
 * @example
 * ```ts
 * import { addressKey } from "./transport.ts";
 * addressKey({ hostname: "127.0.0.1", port: 7601 }); // "127.0.0.1:7601"
 * addressKey({ hostname: "::1", port: 7601 }); // "[::1]:7601"
 * ```
 */
export function addressKey(a: HostAddress): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/**
 * Who sent what arrived from `from`, for diagnostics: the peer whose hosts
 * entry it is; otherwise the address, with the peers whose host it is (a TCP
 * connection comes from an ephemeral port, not the peer's own, and anyone on
 * that host could have opened it; `self`, the receiving peer, is left out).
 *
 * @example
 * ```ts
 * import { senderName } from "./transport.ts";
 * const hosts = [{ hostname: "10.0.0.1", port: 7600 }, { hostname: "10.0.0.2", port: 7600 }];
 * senderName({ hostname: "10.0.0.2", port: 7600 }, hosts); // "peer 2 (10.0.0.2:7600)"
 * senderName({ hostname: "10.0.0.2", port: 40378 }, hosts); // "10.0.0.2:40378 (peer 2's host)"
 * senderName({ hostname: "10.0.0.9", port: 40378 }, hosts); // "10.0.0.9:40378"
 * ```
 */
export function senderName(from: HostAddress, hosts: readonly HostAddress[], self?: number): string {
  const key = addressKey(from);
  const exact = hosts.findIndex((h) => h.hostname === from.hostname && h.port === from.port);
  if (exact >= 0) return `peer ${exact + 1} (${key})`;
  const ids = hosts.flatMap((h, i) => h.hostname === from.hostname && i + 1 !== self ? [i + 1] : []);
  if (ids.length === 0) return key;
  return `${key} (${ids.length === 1 ? `peer ${ids[0]}'s host` : `the host of peers ${ids.join(", ")}`})`;
}

/** Whether this runs under Deno (else Node): which sockets and which HTTP server to use. */
export function onDeno(): boolean {
  return "Deno" in globalThis;
}
