/**
 * Queries on the command line: `membership query URL NAME [PAYLOAD]` asks a
 * query through a peer's `--status` endpoint ({@linkcode postQuery}) and
 * prints the answers ({@linkcode formatQuery}); `--on-query NAME=COMMAND`
 * answers a query by running COMMAND ({@linkcode commandHandler}), like serf's
 * handlers. Portable: `fetch` and `node:child_process`, which Deno and Node
 * both have.
 *
 * @module
 */

import process from "node:process";
import { MAX_QUERY_PAYLOAD_BYTES, QUERY_NAME } from "../core/messages.ts";
import { StatusFetchError } from "./members.ts";
import { controlUrl, postControl } from "./control_client.ts";
import type { QueryHandler } from "./queries.ts";
import type { QueryJson } from "./status_server.ts";

/** One `--on-query NAME=COMMAND`. */
export interface OnQuery {
  /** The query answered. */
  readonly name: string;
  /** The shell command that answers it (run with `sh -c`). */
  readonly command: string;
}

/**
 * Parses `NAME=COMMAND`; throws an Error with one line when it is not one.
 *
 * @example
 * ```ts
 * import { parseOnQuery } from "./query_cli.ts";
 * parseOnQuery("uptime=uptime -p"); // { name: "uptime", command: "uptime -p" }
 * ```
 */
export function parseOnQuery(text: string): OnQuery {
  const at = text.indexOf("=");
  if (at < 0) throw new Error(`--on-query wants NAME=COMMAND, not '${text}' (no '=')`);
  const name = text.slice(0, at), command = text.slice(at + 1);
  if (!QUERY_NAME.test(name)) {
    throw new Error(`--on-query: the name '${name}' is not 1 to 64 letters, digits, '_', '.', ':' or '-'`);
  }
  if (name === "ping") throw new Error("--on-query: ping is built in: every peer answers it");
  if (command.trim() === "") throw new Error(`--on-query ${name}= wants a command after the '='`);
  return { name, command };
}

/**
 * A handler that runs `command` with `sh -c`, the payload on its stdin, and
 * answers with its stdout: an exit code other than 0, more than 64 KiB of
 * output, or the asker's timeout answer with an error instead (the command is
 * killed then). `MEMBERSHIP_QUERY` and `MEMBERSHIP_QUERY_FROM` in its
 * environment name the query and the asker.
 *
 * @example
 * ```ts ignore
 * peer.onQuery("uptime", commandHandler("uptime"));
 * ```
 */
export function commandHandler(command: string): QueryHandler {
  return async ({ name, from, payload, signal }) => {
    // (loaded when a command first runs: a peer without --on-query never pays for the module)
    const { spawn } = await import("node:child_process");
    return await new Promise((resolve, reject) => {
      let env: Record<string, string | undefined> | undefined;
      try {
        env = { ...process.env, MEMBERSHIP_QUERY: name, MEMBERSHIP_QUERY_FROM: String(from) };
      } catch {
        env = undefined; // (no --allow-env: the command inherits the environment as it is)
      }
      const child = spawn("sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"], env });
      const out: Uint8Array[] = [];
      let size = 0;
      let stderr = "";
      let failed: string | null = null;
      const kill = (why: string) => {
        failed ??= why;
        child.kill("SIGKILL");
      };
      const onAbort = () => kill("the asker stopped waiting: command killed");
      signal.addEventListener("abort", onAbort, { once: true });
      child.stdout!.on("data", (chunk: Uint8Array) => {
        size += chunk.length;
        if (size > MAX_QUERY_PAYLOAD_BYTES) return kill(`output over ${MAX_QUERY_PAYLOAD_BYTES} bytes`);
        out.push(chunk);
      });
      child.stderr!.on("data", (chunk: Uint8Array) => {
        if (stderr.length < 1_000) stderr += new TextDecoder().decode(chunk);
      });
      child.stdin!.on("error", () => {}); // a command that does not read its stdin
      child.stdin!.end(payload);
      child.on("error", (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(new Error(`cannot run sh: ${e.message}`));
      });
      child.on("close", (code, killedBy) => {
        signal.removeEventListener("abort", onAbort);
        if (failed) return reject(new Error(failed));
        if (code !== 0) {
          const said = stderr.trim().split("\n")[0];
          return reject(new Error(`exit ${code ?? killedBy}${said ? `: ${said}` : ""}`));
        }
        const all = new Uint8Array(size);
        let at = 0;
        for (const chunk of out) (all.set(chunk, at), at += chunk.length);
        resolve(all);
      });
    });
  };
}

/** What {@linkcode postQuery} sends. */
export interface QueryAsk {
  /** The query's name. */
  readonly name: string;
  /** Its payload, as text. */
  readonly payload: string;
  /** How long the peer waits for answers. */
  readonly timeoutMs: number;
  /** The `--status-token` of the peer, if it has one. */
  readonly token?: string;
}

/**
 * Asks a query through the `--status` endpoint at `url`; resolves with the
 * result once the peer's wait is over. Throws {@linkcode StatusFetchError}
 * with one line when nothing answers, or the peer refuses (403, 400, 503...).
 *
 * @example
 * ```ts ignore
 * import { formatQuery, postQuery } from "./query_cli.ts";
 * console.log(formatQuery(await postQuery("127.0.0.1:8080", { name: "ping", payload: "", timeoutMs: 2000 }), "text"));
 * ```
 */
export async function postQuery(url: string, ask: QueryAsk): Promise<QueryJson> {
  const body = { name: ask.name, payload: ask.payload, timeoutMs: ask.timeoutMs };
  const target = controlUrl(url, "/v1/query");
  const v = await postControl(target, body, {
    token: ask.token,
    timeoutMs: ask.timeoutMs + 5_000,
  }) as QueryJson;
  if (!Array.isArray(v.asked) || !Array.isArray(v.answers) || !Array.isArray(v.missing)) {
    throw new StatusFetchError(`${target} is not a membership status endpoint (no query result)`);
  }
  return v;
}

/** "4 and 5", "3, 4 and 5". */
function andList(ids: readonly number[]): string {
  return ids.length <= 1 ? ids.join("") : `${ids.slice(0, -1).join(", ")} and ${ids.at(-1)}`;
}

/**
 * The summary line: `3 of 5 answered; 4 and 5 did not`, with how many
 * answered with an error.
 *
 * @example
 * ```ts
 * import { querySummary } from "./query_cli.ts";
 * querySummary({ asked: [1, 2, 3, 4, 5], answered: [1, 2, 3], missing: [4, 5], answers: [] }); // "3 of 5 answered; 4 and 5 did not"
 * ```
 */
export function querySummary(
  r: Pick<QueryJson, "asked" | "answered" | "missing"> & {
    readonly answers: readonly { readonly error: string | null }[];
  },
): string {
  const errors = r.answers.filter((a) => a.error !== null).length;
  const withError = errors > 0 ? ` (${errors} with an error)` : "";
  const missing = r.missing.length > 0 ? `; ${andList(r.missing)} did not` : "";
  return `${r.answered.length} of ${r.asked.length} answered${withError}${missing}`;
}

/**
 * A query's result as `membership query` prints it: a table (PEER, ANSWER,
 * MS; an answer of several lines continues under ANSWER, an error reads
 * `error: ...`) and the summary line; or with `format` `"json"` the result as
 * `POST /v1/query` serves it.
 *
 * @example
 * ```ts
 * import { formatQuery } from "./query_cli.ts";
 * formatQuery({
 *   name: "ping", view: 5, asked: [1, 2], answered: [1], missing: [2], timeout_ms: 2000, elapsed_ms: 2000,
 *   answers: [{ from: 1, ms: 0, payload: "pong from peer 1", error: null }],
 * }, "text");
 * // PEER  ANSWER            MS
 * // 1     pong from peer 1  0
 * // 1 of 2 answered; 2 did not
 * ```
 */
export function formatQuery(result: QueryJson, format: "text" | "json"): string {
  if (format === "json") return JSON.stringify(result, null, 2) + "\n";
  const rows = [...result.answers].sort((a, b) => a.from - b.from).map((a) => ({
    peer: String(a.from),
    lines: a.error !== null ? [`error: ${a.error}`] : a.payload.replace(/\n$/, "").split("\n"),
    ms: String(a.ms),
  }));
  const peerWidth = Math.max(4, ...rows.map((r) => r.peer.length));
  const answerWidth = Math.max(6, ...rows.flatMap((r) => r.lines.map((l) => l.length)));
  const line = (peer: string, answer: string, ms: string) =>
    `${peer.padEnd(peerWidth)}  ${answer.padEnd(answerWidth)}  ${ms}`.trimEnd() + "\n";
  let text = line("PEER", "ANSWER", "MS");
  for (const r of rows) {
    text += line(r.peer, r.lines[0], r.ms);
    for (const more of r.lines.slice(1)) text += line("", more, "");
  }
  return text + querySummary(result) + "\n";
}
