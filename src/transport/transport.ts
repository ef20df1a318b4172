/**
 * The transport a peer runs on, after HashiCorp memberlist's: a reliable
 * message stream (TCP) and a datagram socket (UDP), both carrying text.
 *
 * @module
 */

import type { HostAddress } from "../core/hostsfile.ts";

/** What a transport delivers to its peer. */
export interface TransportHandlers {
  /** One line received over the stream (newline removed). */
  onStreamMessage(text: string): void;
  /** One datagram received. */
  onDatagram(text: string): void;
  /** A transport-level problem worth a diagnostic (never fatal). */
  onDiagnostic(text: string): void;
}

/**
 * A peer's network: streams opened on demand and re-established after a
 * break, datagrams best effort. Sends never throw and never reject: a
 * message that cannot be delivered is dropped, and the protocol retries.
 */
export interface Transport {
  /** Binds the port for both stream and datagrams; rejects if it is in use. */
  listen(local: HostAddress, handlers: TransportHandlers): Promise<void>;
  /** Sends one message over the reliable stream to `to`. */
  sendStream(to: HostAddress, text: string): void;
  /** Sends one datagram to `to`. */
  sendDatagram(to: HostAddress, text: string): void;
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
 * The `host:port` key of an address.
 *
 * @example
 * ```ts
 * import { addressKey } from "./transport.ts";
 * addressKey({ hostname: "127.0.0.1", port: 7601 }); // "127.0.0.1:7601"
 * ```
 */
export function addressKey(a: HostAddress): string {
  return `${a.hostname}:${a.port}`;
}
