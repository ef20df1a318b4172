/**
 * Queries, as the library offers them: {@linkcode Peer.query} asks every
 * member of the view and {@linkcode Query} hands back the answers as they
 * come, then who was asked, who answered and who did not;
 * {@linkcode Peer.onQuery} registers the handler that answers a query by
 * name. The core carries the messages (`src/core/query.ts`); this file
 * matches answers to queries, keeps the time, and runs the handlers.
 *
 * @module
 */

import type { IncomingAnswer, IncomingQuery } from "../core/effects.ts";
import { MAX_QUERY_PAYLOAD_BYTES, type PeerId, QUERY_NAME, type View } from "../core/messages.ts";
import type { QueryReply } from "../core/query.ts";
import type { Scheduler } from "../scheduler.ts";

/** How long a query waits for answers when no `timeoutMs` is given. */
export const DEFAULT_QUERY_TIMEOUT_MS = 2_000;

/** The longest a query may wait for answers: 5 minutes. */
export const MAX_QUERY_TIMEOUT_MS = 300_000;

/** The most handlers a peer runs at once; a query beyond that is answered with an error (`busy`). */
export const MAX_RUNNING_HANDLERS = 64;

/** The query every peer answers by itself: its answer says which peer answered. */
export const PING_QUERY = "ping";

/** How to ask: see {@linkcode Peer.query}. */
export interface QueryOptions {
  /** How long to wait for answers, in ms (default {@linkcode DEFAULT_QUERY_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
}

/** One member's answer to a query. */
export interface QueryAnswer {
  /** The member that answered. */
  readonly from: PeerId;
  /** Milliseconds from asking to this answer. */
  readonly ms: number;
  /** The answer's bytes (empty when `error` is set). */
  readonly payload: Uint8Array;
  /** The answer as UTF-8 text. */
  readonly text: string;
  /**
   * Why the member has no answer, or null: it has no handler for the query
   * (`no handler for query "X"`), or its handler failed.
   */
  readonly error: string | null;
}

/** How a query ended: who was asked, who answered, and who did not. */
export interface QueryResult {
  /** The query's name. */
  readonly name: string;
  /** The id of the view whose members were asked. */
  readonly viewId: number;
  /** Every member of that view, the asker included. */
  readonly asked: readonly PeerId[];
  /** The answers, in the order they came (errors included). */
  readonly answers: readonly QueryAnswer[];
  /** The members that answered (with an answer or an error), ascending. */
  readonly answered: readonly PeerId[];
  /** The members asked that did not answer in time, ascending. */
  readonly missing: readonly PeerId[];
  /** How long the query waited. */
  readonly timeoutMs: number;
  /** How long it ran: the timeout, or less when every member answered. */
  readonly elapsedMs: number;
}

/**
 * A query under way: iterate it for the answers as they come (each loop sees
 * every answer, from the first); `done` resolves with the summary once every
 * member asked has answered or the timeout passed.
 *
 * @example
 * ```ts ignore
 * const q = peer.query("uptime", "", { timeoutMs: 2000 });
 * for await (const a of q) console.log(a.from, a.error ?? a.text, `${a.ms} ms`);
 * const { answered, asked, missing } = await q.done;
 * console.log(`${answered.length} of ${asked.length} answered; missing: ${missing}`);
 * ```
 */
export interface Query extends AsyncIterable<QueryAnswer> {
  /** The query's name. */
  readonly name: string;
  /** The members asked: those of the view at the time of asking, the asker included. */
  readonly asked: readonly PeerId[];
  /** The id of that view. */
  readonly viewId: number;
  /** The answers so far. */
  readonly answers: readonly QueryAnswer[];
  /** Resolves when every member asked has answered, the timeout passed, or the query was cancelled. */
  readonly done: Promise<QueryResult>;
  /** Ends the query now: members that did not answer yet count as missing. */
  cancel(): void;
}

/** A query that reached this peer, as its handler sees it. */
export interface QueryRequest {
  /** The query's name. */
  readonly name: string;
  /** The member that asked (this peer's own ID when it asked itself). */
  readonly from: PeerId;
  /** The question's bytes. */
  readonly payload: Uint8Array;
  /** The question as UTF-8 text. */
  readonly text: string;
  /** Aborts when the asker stops waiting (its timeout) or this peer stops: give up then. */
  readonly signal: AbortSignal;
}

/**
 * Answers a query: its answer as text or bytes (at most 64 KiB), or a
 * promise of it. Throwing answers with an error that says why.
 */
export type QueryHandler = (request: QueryRequest) => string | Uint8Array | Promise<string | Uint8Array>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Text as its UTF-8 bytes; bytes as they are. */
export function queryBytes(payload: string | Uint8Array): Uint8Array {
  return typeof payload === "string" ? encoder.encode(payload) : payload;
}

/** What the asking side needs of its peer. */
export interface QueriesHost {
  /** This peer's ID. */
  readonly self: PeerId;
  /** The clock, and the timers (cancelled on stop). */
  readonly scheduler: Scheduler;
  /** Sends query `queryId` to the members of the view (the core's `query`). */
  ask(queryId: number, name: string, payload: Uint8Array, timeoutMs: number): void;
  /** Sends an answer (the core's `answer`). */
  answer(to: PeerId, queryId: number, reply: QueryReply): void;
  /** A diagnostic. */
  log(level: "debug" | "info" | "warning", text: string, key: string): void;
}

/** A query of this peer's, waiting for answers. */
class PendingQuery implements Query {
  readonly name: string;
  readonly asked: readonly PeerId[];
  readonly viewId: number;
  readonly done: Promise<QueryResult>;
  readonly #answers: QueryAnswer[] = [];
  readonly #from = new Set<PeerId>();
  readonly #wakers = new Set<() => void>();
  readonly #startedAt: number;
  readonly #timeoutMs: number;
  readonly #scheduler: Scheduler;
  readonly #cancelTimer: () => void;
  readonly #onEnd: () => void;
  #resolve: (result: QueryResult) => void = () => {};
  #ended = false;

  constructor(
    name: string,
    view: View,
    timeoutMs: number,
    scheduler: Scheduler,
    onEnd: () => void,
  ) {
    this.name = name;
    this.asked = view.members;
    this.viewId = view.id;
    this.#timeoutMs = timeoutMs;
    this.#scheduler = scheduler;
    this.#startedAt = scheduler.now();
    this.#onEnd = onEnd;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.#cancelTimer = scheduler.schedule(timeoutMs, () => this.cancel());
  }

  get answers(): readonly QueryAnswer[] {
    return [...this.#answers];
  }

  /** Takes an answer; false if it is not one this query waits for (not asked, or a second one). */
  take(a: IncomingAnswer): boolean {
    if (this.#ended || !this.asked.includes(a.from) || this.#from.has(a.from)) return false;
    this.#from.add(a.from);
    const payload = a.payload ?? new Uint8Array();
    const ms = Math.max(0, Math.round(this.#scheduler.now() - this.#startedAt));
    this.#answers.push({ from: a.from, ms, payload, text: decoder.decode(payload), error: a.error });
    this.#wake();
    if (this.#from.size === this.asked.length) this.cancel();
    return true;
  }

  cancel(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#cancelTimer();
    this.#onEnd();
    const answered = [...this.#from].sort((a, b) => a - b);
    this.#resolve({
      name: this.name,
      viewId: this.viewId,
      asked: this.asked,
      answers: [...this.#answers],
      answered,
      missing: this.asked.filter((m) => !this.#from.has(m)),
      timeoutMs: this.#timeoutMs,
      elapsedMs: Math.max(0, Math.round(this.#scheduler.now() - this.#startedAt)),
    });
    this.#wake();
  }

  #wake(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<QueryAnswer> {
    let i = 0;
    let wake = () => {};
    const waker = () => wake();
    this.#wakers.add(waker);
    try {
      while (true) {
        while (i < this.#answers.length) yield this.#answers[i++];
        if (this.#ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.#wakers.delete(waker);
    }
  }
}

/**
 * A peer's queries: those it asked, waiting for answers, and the handlers
 * that answer those it is asked. One per {@linkcode Peer}.
 */
export class Queries {
  readonly #host: QueriesHost;
  readonly #pending = new Map<number, PendingQuery>();
  readonly #handlers = new Map<string, QueryHandler>();
  /** Handlers running: what ends each early, and the cancel of its deadline. */
  readonly #running = new Map<AbortController, () => void>();
  #nextId = 1;
  #stopped = false;

  /** The queries of the peer `host` describes; `ping` is answered from the start. */
  constructor(host: QueriesHost) {
    this.#host = host;
    this.#handlers.set(PING_QUERY, () => `pong from peer ${host.self}`);
  }

  /** See {@linkcode Peer.query}; `view` is the peer's view now. */
  ask(view: View | null, name: string, payload: string | Uint8Array, options: QueryOptions = {}): Query {
    if (this.#stopped) throw new Error("the peer stopped");
    if (!QUERY_NAME.test(name)) {
      throw new TypeError(
        `a query name is 1 to 64 letters, digits, '_', '.', ':' or '-', not ${JSON.stringify(name)}`,
      );
    }
    const bytes = queryBytes(payload);
    if (bytes.length > MAX_QUERY_PAYLOAD_BYTES) {
      throw new RangeError(
        `a query payload is at most ${MAX_QUERY_PAYLOAD_BYTES} bytes, not ${bytes.length}`,
      );
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_QUERY_TIMEOUT_MS) {
      throw new RangeError(`timeoutMs is an integer from 1 to ${MAX_QUERY_TIMEOUT_MS}, not ${timeoutMs}`);
    }
    if (!view) throw new Error(`peer ${this.#host.self} is not in a group yet: nobody to ask`);
    const id = this.#nextId++;
    const query = new PendingQuery(
      name,
      view,
      timeoutMs,
      this.#host.scheduler,
      () => this.#pending.delete(id),
    );
    this.#pending.set(id, query);
    this.#host.ask(id, name, bytes, timeoutMs);
    return query;
  }

  /** See {@linkcode Peer.onQuery}. */
  onQuery(name: string, handler: QueryHandler): () => void {
    if (name === PING_QUERY) throw new Error("ping is built in: every peer answers it");
    if (!QUERY_NAME.test(name)) {
      throw new TypeError(
        `a query name is 1 to 64 letters, digits, '_', '.', ':' or '-', not ${JSON.stringify(name)}`,
      );
    }
    this.#handlers.set(name, handler);
    return () => {
      if (this.#handlers.get(name) === handler) this.#handlers.delete(name);
    };
  }

  /** An answer arrived (the core's `answer` effect). */
  answered(answer: IncomingAnswer): void {
    const query = this.#pending.get(answer.queryId);
    if (!query?.take(answer)) {
      this.#host.log(
        "debug",
        `dropped an answer of peer ${answer.from} to query ${answer.queryId}: late, unasked or twice`,
        "query-late",
      );
    }
  }

  /** A query arrived (the core's `query` effect): runs its handler, then answers. */
  received(query: IncomingQuery): void {
    if (this.#stopped) return;
    const handler = this.#handlers.get(query.name);
    const reply = (r: QueryReply) => this.#host.answer(query.from, query.queryId, r);
    if (!handler) return reply({ error: `no handler for query ${JSON.stringify(query.name)}` });
    if (this.#running.size >= MAX_RUNNING_HANDLERS) {
      return reply({ error: `busy: ${MAX_RUNNING_HANDLERS} queries are being answered` });
    }
    const stop = new AbortController();
    const cancelTimer = this.#host.scheduler.schedule(
      query.timeoutMs,
      () => stop.abort(new Error(`query ${query.name}: the asker stopped waiting`)),
    );
    this.#running.set(stop, cancelTimer);
    const request: QueryRequest = {
      name: query.name,
      from: query.from,
      payload: query.payload,
      text: decoder.decode(query.payload),
      signal: stop.signal,
    };
    const run = async (): Promise<QueryReply> => {
      try {
        return { payload: queryBytes(await handler(request)) };
      } catch (e) {
        return { error: `handler failed: ${e instanceof Error ? e.message : String(e)}` };
      }
    };
    void run().then((r) => {
      cancelTimer();
      this.#running.delete(stop);
      if (!this.#stopped && !stop.signal.aborted) reply(r);
    });
  }

  /** Ends every query (members not heard from are missing) and aborts every handler running. */
  stop(): void {
    this.#stopped = true;
    for (const query of [...this.#pending.values()]) query.cancel();
    for (const [stop, cancelTimer] of [...this.#running]) {
      cancelTimer();
      stop.abort(new Error("the peer stopped"));
    }
  }
}
