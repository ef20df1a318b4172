/**
 * The TCP and UDP transport, portable across runtimes: stream messages framed
 * by `framing.ts`, connections opened on demand and re-established after a
 * break, bounded queues, and each message delivered with its sender and the
 * time it arrived. Each runtime supplies a {@linkcode NetAdapter} of a
 * screenful (`deno.ts`, `node.ts`).
 *
 * @module
 */

import type { HostAddress } from "../core/hostsfile.ts";
import { frameAll, FrameSplitter, MAX_FRAME_BYTES } from "./framing.ts";
import { addressKey, type Transport, type TransportHandlers } from "./transport.ts";

/** A byte stream connection, as each runtime gives it. */
export interface ByteConnection {
  /** The address of the other end. */
  readonly remote: HostAddress;
  /**
   * Bytes received, until the peer closes or the connection breaks. A chunk
   * may be overwritten once the next one is asked for: keep a copy.
   */
  readonly readable: AsyncIterable<Uint8Array>;
  /** Writes all of `data`; rejects if the connection is broken. */
  write(data: Uint8Array): Promise<void>;
  /** Closes the connection; never throws. */
  close(): void;
}

/** A bound UDP socket. */
export interface DatagramSocket {
  /** Sends one datagram; rejects on failure. */
  send(to: HostAddress, data: Uint8Array): Promise<void>;
  /** Closes the socket; resolves when it is closed. */
  close(): Promise<void>;
}

/** A server socket accepting stream connections. */
export interface StreamServer {
  /** Stops accepting; resolves when the accept loop is over. */
  close(): Promise<void>;
}

/**
 * What a runtime must provide. `listenStream` and `bindDatagram` reject with
 * {@linkcode AddressInUseError} when the port is taken.
 */
export interface NetAdapter {
  /** Accepts connections on `local`, handing each to `onConnection`. */
  listenStream(local: HostAddress, onConnection: (c: ByteConnection) => void): Promise<StreamServer>;
  /** Opens a connection to `to`. */
  connectStream(to: HostAddress): Promise<ByteConnection>;
  /** Binds a UDP socket on `local`, handing each datagram and its sender to `onDatagram`. */
  bindDatagram(
    local: HostAddress,
    onDatagram: (data: Uint8Array, from: HostAddress) => void,
  ): Promise<DatagramSocket>;
}

/** Options of a {@linkcode SocketTransport}. */
export interface SocketTransportOptions {
  /** Longest stream frame accepted, in bytes; longer ones are dropped (default {@linkcode MAX_FRAME_BYTES}). */
  maxFrameBytes?: number;
}

/** Messages queued per destination before the oldest are dropped. */
export const MAX_QUEUED_MESSAGES = 1024;

/** How long a connection attempt may take before its messages are dropped. */
export const CONNECT_TIMEOUT_MS = 2_000;

interface Outbound {
  readonly to: HostAddress;
  queue: Uint8Array[];
  conn: ByteConnection | null;
  draining: Promise<void> | null;
}

/**
 * A {@linkcode Transport} over a runtime's sockets.
 *
 * @example
 * ```ts
 * import { SocketTransport } from "./sockets.ts";
 * import { denoNet } from "./deno.ts";
 * const transport = new SocketTransport(denoNet);
 * await transport.listen({ hostname: "127.0.0.1", port: 7601 }, {
 *   onStream: (p) => console.log(p.from, new TextDecoder().decode(p.bytes)),
 *   onDatagram: (p) => console.log(p.from, new TextDecoder().decode(p.bytes)),
 *   onDiagnostic: console.error,
 * });
 * await transport.close();
 * ```
 */
export class SocketTransport implements Transport {
  readonly #net: NetAdapter;
  readonly #maxFrameBytes: number;
  #handlers: TransportHandlers | null = null;
  #server: StreamServer | null = null;
  #datagrams: DatagramSocket | null = null;
  readonly #outbound = new Map<string, Outbound>();
  readonly #connections = new Set<ByteConnection>();
  readonly #tasks = new Set<Promise<void>>();
  /** Addresses whose host name did not resolve, warned about once each. */
  readonly #unresolved = new Set<string>();
  #datagramsInFlight = 0;
  /** Set while close() waits for the datagrams in flight. */
  #datagramsDone: (() => void) | null = null;
  #closed = false;

  /** A transport over the given runtime adapter. */
  constructor(net: NetAdapter, options: SocketTransportOptions = {}) {
    this.#net = net;
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  /** Binds the TCP and UDP port. */
  async listen(local: HostAddress, handlers: TransportHandlers): Promise<void> {
    this.#handlers = handlers;
    this.#server = await this.#net.listenStream(local, (c) => this.#track(this.#read(c, true)));
    try {
      this.#datagrams = await this.#net.bindDatagram(
        local,
        (bytes, from) => !this.#closed && handlers.onDatagram({ bytes, from, receivedAt: performance.now() }),
      );
    } catch (e) {
      await this.#server.close();
      throw e;
    }
  }

  /** Queues a message for `to`, connecting if need be. */
  sendStream(to: HostAddress, bytes: Uint8Array): void {
    if (this.#closed) return;
    const key = addressKey(to);
    let out = this.#outbound.get(key);
    if (!out) this.#outbound.set(key, out = { to, queue: [], conn: null, draining: null });
    out.queue.push(new Uint8Array(bytes)); // a copy: the caller may reuse its buffer before the write
    if (out.queue.length > MAX_QUEUED_MESSAGES) {
      out.queue.splice(0, out.queue.length - MAX_QUEUED_MESSAGES);
      this.#diagnose(`queue to ${key} full: dropped the oldest messages`);
    }
    if (!out.draining) {
      const o = out;
      o.draining = this.#track(this.#drain(o).finally(() => (o.draining = null)));
    }
  }

  /** Sends a datagram; failures become diagnostics. */
  sendDatagram(to: HostAddress, bytes: Uint8Array): void {
    const socket = this.#datagrams;
    if (this.#closed || !socket) return;
    // Counted rather than tracked one by one (a heartbeat to every member is most of what a peer
    // sends): close() waits until the count is back to zero.
    this.#datagramsInFlight++;
    socket.send(to, new Uint8Array(bytes)).then(this.#datagramSent, (e) => {
      this.#diagnoseSend(to, `datagram to ${addressKey(to)} failed`, e);
      this.#datagramSent();
    });
  }

  readonly #datagramSent = (): void => {
    if (--this.#datagramsInFlight === 0) this.#datagramsDone?.();
  };

  /** Closes the connection to `to`; queued messages go out on a fresh one. */
  reset(to: HostAddress): void {
    const out = this.#outbound.get(addressKey(to));
    out?.conn?.close();
    if (out) out.conn = null;
  }

  /** Resolves when every queued message is written or dropped. */
  async flush(): Promise<void> {
    while (true) {
      const draining = [...this.#outbound.values()].flatMap((o) => o.draining ? [o.draining] : []);
      if (draining.length === 0) return;
      await Promise.all(draining);
    }
  }

  /** Closes every socket and waits for every task. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const o of this.#outbound.values()) o.queue = [];
    for (const c of this.#connections) c.close();
    await Promise.all([this.#server?.close(), this.#datagrams?.close()]);
    if (this.#datagramsInFlight > 0) {
      await new Promise<void>((resolve) => (this.#datagramsDone = resolve));
    }
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }

  #track(task: Promise<void>): Promise<void> {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task)).catch(() => {});
    return task;
  }

  #diagnose(text: string, level?: "warning"): void {
    if (!this.#closed) this.#handlers?.onDiagnostic(text, level);
  }

  /**
   * A send that failed: a diagnostic; a warning, once per address, when its host
   * name does not resolve (a hostsfile mistake that retrying will not mend).
   */
  #diagnoseSend(to: HostAddress, what: string, e: unknown, dropped?: number): void {
    const key = addressKey(to);
    const text = `${what}: ${errorText(e)}${dropped === undefined ? "" : `; dropped ${dropped} message(s)`}`;
    if (!isUnresolved(e) || this.#unresolved.has(key)) return this.#diagnose(text);
    this.#unresolved.add(key);
    this.#diagnose(`${text} (host '${to.hostname}' does not resolve: check the hostsfile)`, "warning");
  }

  /** Reads a connection to its end; inbound ones deliver frames, outbound ones only watch. */
  async #read(conn: ByteConnection, inbound: boolean): Promise<void> {
    this.#connections.add(conn);
    const frames = new FrameSplitter(this.#maxFrameBytes);
    const from = conn.remote;
    try {
      for await (const chunk of conn.readable) {
        if (!inbound) continue;
        const receivedAt = performance.now();
        for (const bytes of frames.push(chunk)) {
          if (!this.#closed) this.#handlers?.onStream({ bytes, from, receivedAt });
        }
        if (frames.oversized > 0) {
          this.#diagnose(`dropped ${frames.oversized} over-long frame(s) from ${addressKey(from)}`);
          frames.oversized = 0;
        }
      }
    } catch {
      // A reset connection ends like a closed one.
    } finally {
      this.#connections.delete(conn);
      conn.close();
    }
  }

  async #drain(out: Outbound): Promise<void> {
    let retried = false;
    while (out.queue.length > 0 && !this.#closed) {
      if (!out.conn) {
        try {
          out.conn = await this.#connect(out.to);
        } catch (e) {
          this.#diagnoseSend(out.to, `cannot connect to ${addressKey(out.to)}`, e, out.queue.length);
          out.queue = [];
          return;
        }
        const conn = out.conn;
        this.#track(
          this.#read(conn, false).then(() => {
            if (out.conn === conn) out.conn = null;
          }),
        );
      }
      const batch = out.queue.splice(0);
      try {
        await out.conn.write(frameAll(batch));
        retried = false;
      } catch (e) {
        out.conn?.close();
        out.conn = null;
        if (retried) {
          this.#diagnose(
            `write to ${addressKey(out.to)} failed: ${errorText(e)}; dropped ${batch.length} message(s)`,
          );
        } else {
          out.queue.unshift(...batch); // once more, on a fresh connection
          retried = true;
        }
      }
    }
  }

  #connect(to: HostAddress): Promise<ByteConnection> {
    const attempt = this.#net.connectStream(to);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), CONNECT_TIMEOUT_MS);
    });
    return Promise.race([attempt, timeout]).then((conn) => {
      if (this.#closed) {
        conn.close();
        throw new Error("transport closed");
      }
      return conn;
    }, (e) => {
      attempt.then((late) => late.close(), () => {}); // a late connection is not used
      throw e;
    }).finally(() => clearTimeout(timer));
  }
}

/** Whether a connect or send failed because the host name did not resolve (Deno's and Node's words). */
export function isUnresolved(e: unknown): boolean {
  const { code, message } = (e ?? {}) as { code?: string; message?: string };
  return code === "ENOTFOUND" || code === "EAI_AGAIN" ||
    /failed to lookup address|not known|getaddrinfo|no address associated/i.test(String(message ?? ""));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
