/**
 * The CLI's client of the control API: a JSON body POSTed to a peer's
 * `--status` endpoint (`membership query`, `membership event`), with the
 * `--status-token` if given, and every failure as one line.
 *
 * @module
 */

import { StatusFetchError, statusUrl } from "./members.ts";

/**
 * The URL of control route `route` for what a user typed (a peer's
 * `--status` address, with or without `http://`).
 *
 * @example
 * ```ts
 * import { controlUrl } from "./control_client.ts";
 * controlUrl("127.0.0.1:8080", "/v1/event"); // "http://127.0.0.1:8080/v1/event"
 * ```
 */
export function controlUrl(text: string, route: string): string {
  return statusUrl(text).replace(/\/v1\/status$/, route);
}

/** How {@linkcode postControl} sends. */
export interface ControlOptions {
  /** The peer's `--status-token`, if it has one. */
  readonly token?: string;
  /** How long to wait for the answer. */
  readonly timeoutMs: number;
}

/**
 * POSTs `body` as JSON to `target`; resolves with the JSON answer of a 200.
 * Throws {@linkcode StatusFetchError} with one line when nothing answers in
 * time, or the peer refuses (403, 400, 413, 503...), saying why.
 *
 * @example
 * ```ts ignore
 * import { controlUrl, postControl } from "./control_client.ts";
 * await postControl(controlUrl("127.0.0.1:8080", "/v1/event"), { name: "deploy", payload: "v2" }, { timeoutMs: 10_000 });
 * ```
 */
export async function postControl(target: string, body: unknown, options: ControlOptions): Promise<unknown> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let text: string;
  let status: number;
  try {
    const response = await fetch(target, {
      method: "POST",
      signal,
      headers: {
        "content-type": "application/json",
        ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
      },
      body: JSON.stringify(body),
    });
    status = response.status;
    text = await response.text();
  } catch (e) {
    if ((e as Error)?.name === "NotCapable") throw e;
    if (signal.aborted) throw new StatusFetchError(`${target}: no answer in time`);
    throw new StatusFetchError(`cannot reach ${target}: ${(e as Error).message.split("\n")[0]}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StatusFetchError(`${target} answered HTTP ${status}: not a membership status endpoint`);
  }
  const error = (value as { error?: unknown })?.error;
  if (status !== 200) {
    throw new StatusFetchError(
      typeof error === "string"
        ? `${target} refused (HTTP ${status}): ${error}`
        : `${target} answered HTTP ${status}`,
    );
  }
  return value;
}

/** What `POST /v1/event` answers once the event is delivered at the peer. */
export interface EventJson {
  /** The event's name. */
  readonly name: string;
  /** The peer that broadcast it. */
  readonly peer: number;
  /** The view the peer held once it was delivered there. */
  readonly view: number;
}

/**
 * Broadcasts user event `name` through the `--status` endpoint at `url`;
 * resolves once the peer delivered it (and so every member of its view does,
 * in the same order). Throws {@linkcode StatusFetchError} as {@linkcode postControl}.
 *
 * @example
 * ```ts ignore
 * import { postEvent } from "./control_client.ts";
 * await postEvent("127.0.0.1:8080", { name: "deploy", payload: "v2", timeoutMs: 10_000 });
 * ```
 */
export async function postEvent(
  url: string,
  event: {
    readonly name: string;
    readonly payload: string;
    readonly timeoutMs: number;
    readonly token?: string;
  },
): Promise<EventJson> {
  const target = controlUrl(url, "/v1/event");
  const body = { name: event.name, payload: event.payload, timeoutMs: event.timeoutMs };
  const v = await postControl(target, body, {
    token: event.token,
    timeoutMs: event.timeoutMs + 5_000,
  }) as EventJson;
  if (typeof v?.name !== "string" || typeof v.view !== "number") {
    throw new StatusFetchError(`${target} is not a membership status endpoint (no event result)`);
  }
  return v;
}
