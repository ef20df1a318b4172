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
import { MAX_QUERY_PAYLOAD_BYTES } from "../core/messages.ts";
import { MAX_EVENT_PAYLOAD_BYTES, userEventError } from "../core/events.ts";
import { isLoopback } from "./peer.ts";
import { DEFAULT_QUERY_TIMEOUT_MS, MAX_QUERY_TIMEOUT_MS, type QueryResult } from "./queries.ts";

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
 * - `GET /`: a page showing the members and a live timeline of views;
 * - `POST /v1/query`: asks a query of the group (JSON `{name, payload, timeoutMs}`) and answers
 *   with its {@linkcode QueryJson} once it is done.
 *
 * Every route that is not a `GET` or `HEAD` (the control API: `POST /v1/query`, and any
 * added later) passes {@linkcode controlGuard} first: a request from a loopback
 * address, or with `Authorization: Bearer TOKEN` when `options.token` is given;
 * anything else gets 403 and a one-line JSON error. The remote address is what
 * {@linkcode serveStatus} passes with each request ({@linkcode RequestEnv}); a
 * request handed to `fetch` without one is not from loopback.
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
export function createStatusApp(peer: Peer, metrics: PeerMetrics, options: StatusAppOptions = {}): FetchApp {
  // Hono is loaded with the first request, so that a peer that serves no status never loads it.
  let app: Promise<FetchApp> | null = null;
  return {
    fetch: async (request, env) =>
      await (await (app ??= statusRoutes(peer, metrics, options))).fetch(request, env ?? {}),
  };
}

/** How {@linkcode createStatusApp} guards its control routes. */
export interface StatusAppOptions {
  /**
   * The bearer token that `POST` routes need (`--status-token FILE`); with
   * none (the default) they accept requests from loopback addresses only.
   */
  readonly token?: string | null;
}

/** What {@linkcode serveStatus} passes to the app with each request. */
export interface RequestEnv {
  /** The address the request came from (`127.0.0.1`, `::1`, `::ffff:10.0.0.7`, ...), if known. */
  readonly remoteAddress?: string;
}

/** A loopback address, IPv4-mapped ones (`::ffff:127.0.0.1`, Node on `::`) included. */
function fromLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return isLoopback(address.replace(/^::ffff:(?=\d+\.)/i, ""));
}

const utf8 = new TextEncoder();

/**
 * Whether `given` is `token`, in time that depends only on the length of `given` (the client's own):
 * every byte of `given` is compared, with no early exit, against the token's byte at that place (the
 * token repeated), and the lengths' difference counts too. In plain JavaScript: `node:crypto`'s
 * `timingSafeEqual` would load Node's crypto module into every peer process that imports this one
 * (about 1.2 MiB of a Deno peer's resident memory), `--status-token` or not.
 */
function sameToken(given: string, token: string): boolean {
  const a = utf8.encode(given), b = utf8.encode(token);
  if (b.length === 0) return false;
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i % b.length];
  return diff === 0;
}

/**
 * Whether a control request (a `POST`) may go on: `null` if so, else why
 * not. Without a token, only from loopback; with one, only with
 * `Authorization: Bearer TOKEN` (from anywhere, loopback included).
 *
 * @example
 * ```ts
 * import { controlGuard } from "./status_server.ts";
 * const request = new Request("http://peer/v1/query", { method: "POST" });
 * controlGuard(request, { remoteAddress: "10.0.0.7" }, null); // "POST is accepted from loopback only ..."
 * controlGuard(request, { remoteAddress: "127.0.0.1" }, null); // null
 * ```
 */
export function controlGuard(request: Request, env: RequestEnv, token: string | null): string | null {
  if (token === null) {
    return fromLoopback(env.remoteAddress) ? null : `${request.method} is accepted from loopback only ` +
      `(this request came from ${env.remoteAddress ?? "an unknown address"}); see --status-token`;
  }
  const given = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  if (given === undefined) return `${request.method} needs Authorization: Bearer <the --status-token>`;
  return sameToken(given, token) ? null : "wrong bearer token";
}

type HonoApp = InstanceType<Awaited<ReturnType<typeof loadHono>>["Hono"]>;

async function statusRoutes(peer: Peer, metrics: PeerMetrics, options: StatusAppOptions): Promise<FetchApp> {
  const { Hono } = await loadHono();
  const app: HonoApp = new Hono();
  const token = options.token ?? null;
  // The control API: every route but GET and HEAD, the ones added later included.
  app.use("*", async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return await next();
    const refused = controlGuard(c.req.raw, (c.env ?? {}) as RequestEnv, token);
    if (refused !== null) return c.json({ error: refused }, 403);
    await next();
  });
  app.post("/v1/query", async (c) => {
    const body = await readBody(c.req.raw, 2 * MAX_QUERY_PAYLOAD_BYTES);
    if (body === null) return c.json({ error: `the body is over ${2 * MAX_QUERY_PAYLOAD_BYTES} bytes` }, 413);
    const asked = queryRequest(body);
    if ("error" in asked) return c.json({ error: asked.error }, asked.status);
    let query;
    try {
      query = peer.query(asked.name, asked.payload, { timeoutMs: asked.timeoutMs });
    } catch (e) {
      return c.json({ error: (e as Error).message }, 503); // not in a group yet, or stopped
    }
    return c.json(queryJson(await query.done));
  });
  app.post("/v1/event", async (c) => {
    const body = await readBody(c.req.raw, 2 * MAX_EVENT_PAYLOAD_BYTES);
    if (body === null) return c.json({ error: `the body is over ${2 * MAX_EVENT_PAYLOAD_BYTES} bytes` }, 413);
    const asked = eventRequest(body);
    if ("error" in asked) return c.json({ error: asked.error }, asked.status);
    if (!peer.view) {
      return c.json({ error: `peer ${peer.id} is not in a group yet (it is ${peer.role})` }, 503);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((
      resolve,
    ) => (timer = setTimeout(() => resolve("late"), asked.timeoutMs)));
    try {
      const outcome = await Promise.race([peer.broadcast(asked.name, asked.payload), late]);
      if (outcome === "late") {
        return c.json({ error: `not delivered within ${asked.timeoutMs} ms (it may still be)` }, 504);
      }
      return c.json({ name: asked.name, peer: peer.id, view: peer.view?.id ?? 0 });
    } catch (e) {
      return c.json({ error: (e as Error).message }, 503); // left, removed, or stopped first
    } finally {
      clearTimeout(timer);
    }
  });
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

/** A request's body as text, or null once it is over `max` bytes (the rest is not read). */
async function readBody(request: Request, max: number): Promise<string | null> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) (all.set(chunk, at), at += chunk.length);
  return new TextDecoder().decode(all);
}

/** A control request's body as a JSON object, or why it is none (`example` shows what to send). */
function jsonObject(body: string, example: string): { fields: Record<string, unknown> } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { error: `the body is not JSON: send ${example}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { error: "the body is not a JSON object" };
  }
  return { fields: value as Record<string, unknown> };
}

/** How long `POST /v1/event` waits for the event's delivery by default, and at most. */
const DEFAULT_EVENT_TIMEOUT_MS = 10_000;
const MAX_EVENT_TIMEOUT_MS = 300_000;

/** A `POST /v1/event` body, checked: the event to broadcast, or why not (and the HTTP status). */
function eventRequest(
  body: string,
): { name: string; payload: string; timeoutMs: number } | { error: string; status: 400 | 413 } {
  const parsed = jsonObject(body, '{"name": "deploy", "payload": "v2"}');
  if ("error" in parsed) return { error: parsed.error, status: 400 };
  const { name, payload = "", timeoutMs = DEFAULT_EVENT_TIMEOUT_MS } = parsed.fields;
  const error = userEventError(name, payload);
  if (error) return { error, status: error.includes("more than") ? 413 : 400 };
  if (
    typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < 1 ||
    timeoutMs > MAX_EVENT_TIMEOUT_MS
  ) {
    return { error: `'timeoutMs' must be an integer from 1 to ${MAX_EVENT_TIMEOUT_MS}`, status: 400 };
  }
  return { name: name as string, payload: payload as string, timeoutMs };
}

/** A `POST /v1/query` body, checked: the query to ask, or why not (and the HTTP status). */
function queryRequest(
  body: string,
): { name: string; payload: string; timeoutMs: number } | { error: string; status: 400 | 413 } {
  const parsed = jsonObject(body, '{"name": "ping", "payload": "", "timeoutMs": 2000}');
  if ("error" in parsed) return { error: parsed.error, status: 400 };
  const { name, payload = "", timeoutMs = DEFAULT_QUERY_TIMEOUT_MS } = parsed.fields;
  if (typeof name !== "string" || !/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) {
    return { error: "'name' must be 1 to 64 letters, digits, '_', '.', ':' or '-'", status: 400 };
  }
  if (typeof payload !== "string") return { error: "'payload' must be a string", status: 400 };
  if (new TextEncoder().encode(payload).length > MAX_QUERY_PAYLOAD_BYTES) {
    return { error: `'payload' is over ${MAX_QUERY_PAYLOAD_BYTES} bytes`, status: 413 };
  }
  if (
    typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < 1 ||
    timeoutMs > MAX_QUERY_TIMEOUT_MS
  ) {
    return { error: `'timeoutMs' must be an integer from 1 to ${MAX_QUERY_TIMEOUT_MS}`, status: 400 };
  }
  return { name, payload, timeoutMs };
}

/** One answer as `POST /v1/query` serves it. */
export interface QueryAnswerJson {
  /** The member that answered. */
  readonly from: number;
  /** Milliseconds from asking to the answer. */
  readonly ms: number;
  /** The answer as UTF-8 text (empty with an error). */
  readonly payload: string;
  /** The member's error (no handler for the query, a handler that failed), or null. */
  readonly error: string | null;
}

/** What `POST /v1/query` serves: {@linkcode QueryResult} as JSON, payloads as text. */
export interface QueryJson {
  /** The query's name. */
  readonly name: string;
  /** The id of the view whose members were asked. */
  readonly view: number;
  /** The members asked (the view's, the asking peer included). */
  readonly asked: readonly number[];
  /** Those that answered, ascending. */
  readonly answered: readonly number[];
  /** Those that did not answer in time, ascending. */
  readonly missing: readonly number[];
  /** The answers, in the order they came. */
  readonly answers: readonly QueryAnswerJson[];
  /** How long the query waited at most, and how long it ran. */
  readonly timeout_ms: number;
  /** How long it ran: the timeout, or less when every member answered. */
  readonly elapsed_ms: number;
}

/** A query's result as `POST /v1/query` serves it. */
export function queryJson(result: QueryResult): QueryJson {
  return {
    name: result.name,
    view: result.viewId,
    asked: result.asked,
    answered: result.answered,
    missing: result.missing,
    answers: result.answers.map((a) => ({ from: a.from, ms: a.ms, payload: a.text, error: a.error })),
    timeout_ms: result.timeoutMs,
    elapsed_ms: result.elapsedMs,
  };
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
  /** Answers one request; `env` says where it came from. */
  fetch(request: Request, env?: RequestEnv): Response | Promise<Response>;
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
  const fetch = async (request: Request, env: RequestEnv) =>
    endOnAbort(await app.fetch(request, env), closing.signal);
  return onDeno() ? serveDeno(fetch, address, closing) : serveNode(fetch, address, closing);
}

type Fetch = (request: Request, env: RequestEnv) => Promise<Response>;

function serveDeno(fetch: Fetch, address: HostAddress, closing: AbortController): Promise<StatusServer> {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { ...address, onListen: () => {} },
      (request, info) => fetch(request, { remoteAddress: info.remoteAddr.hostname }),
    );
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
      fetch: (request: Request, env: { incoming?: { socket?: { remoteAddress?: string } } }) =>
        fetch(request, { remoteAddress: env.incoming?.socket?.remoteAddress }),
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
