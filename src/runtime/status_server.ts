/**
 * `--status HOST:PORT`: a peer's status over HTTP. {@linkcode createStatusApp}
 * is the routes (a Hono app); {@linkcode serveStatus} serves them with
 * `Deno.serve` under Deno and `@hono/node-server` under Node.
 *
 * @module
 */

import type { PeerEvent } from "../core/effects.ts";
import type { Epoch } from "../core/messages.ts";
import type { PeerHealth } from "../core/peer_core.ts";
import type { HostAddress } from "../core/hostsfile.ts";
import { AddressInUseError, addressKey, onDeno } from "../transport/transport.ts";
import type { PeerMetrics } from "./metrics.ts";
import type { Peer, PeerStatus } from "./peer.ts";
import { eventJson, type JsonMember, memberJson } from "../core/format.ts";
import { STATUS_PAGE } from "./status_page.ts";
import { loadHono, loadNodeServer } from "../deps.ts";

/** How often `GET /events` sends a comment line, so that proxies and browsers keep the stream open. */
export const EVENTS_KEEPALIVE_MS = 5_000;

/**
 * The routes of a peer's status server, as a Hono app (mount its `fetch` in
 * another server, or serve it with {@linkcode serveStatus}):
 *
 * - `GET /v1/status`: {@linkcode Peer.status} as JSON, each member's address as `"host:port"`;
 * - `GET /metrics`: the peer's metrics in the Prometheus text format (version 0.0.4);
 * - `GET /events`: server-sent events: first the view installed so far as
 *   an event named `current` (a `view` event; none while joining), then every
 *   event of the peer, as it happens, as JSON (unnamed events), and a comment
 *   every {@linkcode EVENTS_KEEPALIVE_MS}; the stream ends when the peer stops;
 * - `GET /`: a page showing the members and a live timeline of views.
 *
 * @example
 * ```ts
 * import { createStatusApp, MemoryNetwork, PeerMetrics, startPeer } from "../../mod.ts";
 * const metrics = new PeerMetrics();
 * const hosts = [{ hostname: "127.0.0.1", port: 7601 }];
 * const peer = await startPeer({ hosts, id: 1, transport: new MemoryNetwork().transport(), metrics });
 * const app = createStatusApp(peer, metrics);
 * const status = await (await app.fetch(new Request("http://peer/v1/status"))).json();
 * console.log(status.role, status.members[0].address); // leader 127.0.0.1:7601
 * await peer.stop();
 * ```
 */
export function createStatusApp(peer: Peer, metrics: PeerMetrics): FetchApp {
  // Hono is loaded with the first request, so that a peer that serves no status never loads it.
  let app: Promise<FetchApp> | null = null;
  return {
    fetch: async (request) => await (await (app ??= statusRoutes(peer, metrics))).fetch(request),
  };
}

async function statusRoutes(peer: Peer, metrics: PeerMetrics): Promise<FetchApp> {
  const { Hono } = await loadHono();
  const app = new Hono();
  app.get("/", (c) => c.html(STATUS_PAGE));
  app.get("/v1/status", (c) => c.json(statusJson(peer.status())));
  app.get("/metrics", async (c) => {
    c.header("Content-Type", metrics.contentType);
    return c.body(await metrics.exposition());
  });
  app.get("/events", (c) => {
    c.header("Content-Type", "text/event-stream");
    c.header("Cache-Control", "no-cache");
    return c.body(eventStream(peer));
  });
  return app;
}

/** What `/v1/status` serves: the peer, its view, and each member in the one JSON shape of members. */
export interface StatusJson {
  /** The peer's ID. */
  readonly id: number;
  /** Its run. */
  readonly incarnation: number;
  /** joining, member, leader or candidate. */
  readonly role: string;
  /** The leader it follows, or null while joining. */
  readonly leader: number | null;
  /** Its installed view (with the epoch of its group history), or null while joining. */
  readonly view: {
    readonly id: number;
    readonly epoch: Epoch;
    readonly leader: number;
    readonly members: readonly number[];
  } | null;
  /** Each member of the view, as `members --format json` prints it. */
  readonly members: readonly JsonMember[];
  /** Its own health (removals while alive), and the peers on probation with it. */
  readonly health: PeerHealth;
}

/** A peer's status as `/v1/status` serves it. */
export function statusJson(status: PeerStatus): StatusJson {
  const { id, incarnation, role, leader, view } = status;
  return {
    id,
    incarnation,
    role,
    leader,
    view: view && { id: view.id, epoch: view.epoch, leader: view.leader, members: view.members },
    members: status.members.map((m) => memberJson(m, addressKey(m.address), leader)),
    health: status.health,
  };
}

/**
 * The peer's events as a server-sent event stream. Everything it holds (a
 * listener, a timer, a wait) goes when the client goes (the stream is
 * cancelled) or when the peer stops (the stream ends).
 */
function eventStream(peer: Peer): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const done = new AbortController();
  return new ReadableStream({
    start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      const json = (event: PeerEvent) => JSON.stringify(eventJson(event, new Date()));
      const sendEvent = (event: PeerEvent) => send(`data: ${json(event)}\n\n`);
      const unsubscribe = peer.onEvent(sendEvent);
      const keepalive = setInterval(() => send(": keep-alive\n\n"), EVENTS_KEEPALIVE_MS);
      done.signal.addEventListener("abort", () => {
        unsubscribe();
        clearInterval(keepalive);
      }, { once: true });
      // Rejects when the peer stops (its predicate never holds), or when `done` aborts.
      peer.waitForView(() => false, done.signal).catch(() => {
        if (done.signal.aborted) return;
        done.abort();
        controller.close();
      });
      const current: PeerEvent | null = peer.view && { type: "view", peer: peer.id, view: peer.view };
      if (current) send(`event: current\ndata: ${json(current)}\n\n`);
    },
    cancel() {
      done.abort();
    },
  });
}

/** A running status server. */
export interface StatusServer {
  /** The port it listens on (the one chosen when port 0 was asked for). */
  readonly port: number;
  /** Ends open responses (`/events` streams), closes the socket; nothing is left running. */
  close(): Promise<void>;
}

/** An HTTP app: what {@linkcode createStatusApp} returns and {@linkcode serveStatus} serves. */
export interface FetchApp {
  /** Answers one request. */
  fetch(request: Request): Response | Promise<Response>;
}

/**
 * Serves `app` on `address` (port 0: any free port) with this runtime's HTTP
 * server: `Deno.serve` under Deno, `@hono/node-server` under Node. Rejects
 * with {@linkcode AddressInUseError} if the port is taken.
 *
 * @example
 * ```ts
 * import { createStatusApp, MemoryNetwork, PeerMetrics, serveStatus, startPeer } from "../../mod.ts";
 * const metrics = new PeerMetrics();
 * const hosts = [{ hostname: "127.0.0.1", port: 7601 }];
 * const peer = await startPeer({ hosts, id: 1, transport: new MemoryNetwork().transport(), metrics });
 * const server = await serveStatus(createStatusApp(peer, metrics), { hostname: "127.0.0.1", port: 0 });
 * console.log(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text());
 * await server.close();
 * await peer.stop();
 * ```
 */
export function serveStatus(app: FetchApp, address: HostAddress): Promise<StatusServer> {
  const closing = new AbortController();
  const fetch = async (request: Request) => endOnAbort(await app.fetch(request), closing.signal);
  return onDeno() ? serveDeno(fetch, address, closing) : serveNode(fetch, address, closing);
}

type Fetch = (request: Request) => Promise<Response>;

function serveDeno(fetch: Fetch, address: HostAddress, closing: AbortController): Promise<StatusServer> {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ ...address, onListen: () => {} }, fetch);
  } catch (e) {
    const inUse = e instanceof Deno.errors.AddrInUse;
    return Promise.reject(inUse ? new AddressInUseError(`port ${address.port} is in use`) : e);
  }
  return Promise.resolve({
    port: server.addr.port,
    async close() {
      closing.abort(); // ends open responses, which shutdown() waits for
      await server.shutdown();
    },
  });
}

async function serveNode(
  fetch: Fetch,
  address: HostAddress,
  closing: AbortController,
): Promise<StatusServer> {
  const { serve: nodeServe } = await loadNodeServer();
  return await new Promise((resolve, reject) => {
    const server = nodeServe({
      fetch,
      hostname: address.hostname,
      port: address.port,
      overrideGlobalObjects: false, // leave a library user's Request and Response alone
    });
    server.once("error", (e) => {
      const inUse = (e as { code?: string }).code === "EADDRINUSE";
      reject(inUse ? new AddressInUseError(`port ${address.port} is in use`) : e);
    });
    // server.close() closes idle connections only: one whose response ends while closing goes too.
    server.on("request", (request, response) => {
      response.once("finish", () => closing.signal.aborted && request.socket.end());
    });
    server.once("listening", () =>
      resolve({
        port: (server.address() as { port: number }).port,
        close: () =>
          new Promise<void>((done) => {
            closing.abort();
            server.close(() => done());
          }),
      }));
  });
}

/**
 * `response` with a body that ends (closes) when `signal` aborts, so that a
 * server can shut down while a stream is open: the original body is cancelled.
 */
function endOnAbort(response: Response, signal: AbortSignal): Response {
  if (!response.body) return response;
  const reader = response.body.getReader();
  let ended = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const onAbort = () => {
        if (ended) return;
        ended = true;
        controller.close();
        void reader.cancel().catch(() => {});
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
      reader.closed.finally(() => signal.removeEventListener("abort", onAbort)).catch(() => {});
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (ended) return;
      if (done) {
        ended = true;
        controller.close();
      } else {
        controller.enqueue(value);
      }
    },
    cancel(reason) {
      ended = true;
      return reader.cancel(reason);
    },
  });
  return new Response(body, response);
}
