/**
 * The command line: flags, hostsfile, own ID, printing events, crash flags.
 * Portable: it uses `node:` modules that Deno and Node both provide.
 *
 * @module
 */

import { configure, defaultTextFormatter, getLogger, getThrottlingFilter, type LogRecord } from "../deps.ts";
import process from "node:process";
import { parseArgs } from "node:util";
import type { PeerEvent } from "../core/effects.ts";
import { DEFAULT_FAIL_AFTER, DEFAULT_HEARTBEAT_MS } from "../core/config.ts";
import { formatEvent, type OutputFormat } from "../core/format.ts";
import { parseTag, type Tags, tagsError } from "../core/tags.ts";
import { userEventError } from "../core/events.ts";
import { postEvent } from "./control_client.ts";
import {
  DEFAULT_PORT,
  type HostAddress,
  HostsfileError,
  idForHostname,
  parseHostsfile,
} from "../core/hostsfile.ts";
import { AddressInUseError, addressKey, onDeno } from "../transport/transport.ts";
import { type Keyring, KeyringError, parseKeyring } from "../transport/keyring.ts";
import { isUnresolved } from "../transport/sockets.ts";
import { VERSION } from "../version.ts";
import { fetchStatus, formatMembers, StatusFetchError } from "./members.ts";
import { PeerMetrics } from "./metrics.ts";
import { isLoopback, startPeer } from "./peer.ts";
import { createStatusApp, serveStatus } from "./status_server.ts";
import { readTextFile } from "./text_file.ts";
import { readTimelineFiles, renderTimeline, TimelineInputError } from "./timeline.ts";
import { commandHandler, formatQuery, type OnQuery, parseOnQuery, postQuery } from "./query_cli.ts";
import { DEFAULT_QUERY_TIMEOUT_MS, MAX_QUERY_TIMEOUT_MS } from "./queries.ts";
import { FileStorage, StorageError } from "./file_storage.ts";

/** A user's mistake: one line on stderr and exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The command's usage text, printed by `--help`. */
export const USAGE = `membership ${VERSION}: one agreed view of the live peers of a group

Usage: membership -h HOSTSFILE [options]       run a peer
       membership members URL [--format json] [--tag KEY=VALUE]...
                                                the group as one peer's --status URL sees it
       membership timeline FILE... [-o OUT.svg] peers' --format json output as an SVG timeline
       membership query URL NAME [PAYLOAD] [--timeout MS] [--format json] [--status-token FILE]
                                                ask the group a query through a peer's --status URL
       membership event URL NAME [PAYLOAD] [--timeout MS] [--status-token FILE]
                                                broadcast a user event through a peer's --status URL
  membership is ./membership in a clone (after make or npm ci), node dist/membership.mjs,
  a compiled binary, or deno run --unstable-net --allow-net --allow-read --allow-write
  --allow-env --allow-sys mod.ts: the same flags for all.

  -h, --hostsfile PATH     one peer a line, host or host:port (port ${DEFAULT_PORT} by default)
  -d, --delay SECONDS      wait this long before joining (default 0)
  -c, --crash-delay SECS   crash (exit at once, no goodbye) this long after joining
  -t, --test4              test case 4, on the leader (see docs/protocol.md)
      --id N               this peer's ID, instead of matching the hostname
      --heartbeat MS       heartbeat interval (default ${DEFAULT_HEARTBEAT_MS})
      --fail-after N       missed intervals before a member is unreachable (default ${DEFAULT_FAIL_AFTER})
      --format text|json   how events are printed on stdout (default text)
      --log-level LEVEL    diagnostics on stderr: debug, info, warning, error, fatal (default warning)
      --status HOST:PORT   serve this peer's status over HTTP: /v1/status, /metrics, and a live page at /
      --key-file PATH      the group's keyring: one base64 key a line (openssl rand -base64 32); the
                           first seals, every key opens; SIGHUP re-reads it (see docs/security.md)
      --data-dir DIR       keep this peer's votes and views in DIR: a restart on it is the same
                           member and voter (deno run also needs --allow-write)
      --tag KEY=VALUE      a tag of this peer's, agreed with the view; repeatable (8 KiB in all)
      --on-query NAME=COMMAND  answer query NAME with the stdout of COMMAND (sh -c), the payload
                           on its stdin; repeatable (deno run also needs --allow-run)
      --status-token FILE  POST routes of --status (queries, events) need Authorization: Bearer and
                           the file's content; without it they accept loopback only
      --help, --version    this text, the version

membership members URL: ID, ADDRESS, STATE, ROLE, INCARNATION, LAST HEARD and TAGS of each member,
  from URL/v1/status of a peer started with --status (http:// may be left out); --format json for
  JSON; --tag KEY=VALUE (repeatable) lists only the members with those tags.
membership query URL NAME [PAYLOAD]: asks every member of the view of the peer at URL (its --status)
  and prints PEER, ANSWER and MS of each answer, then who did not answer (e.g. "3 of 5 answered;
  4 and 5 did not"); --timeout MS (default ${DEFAULT_QUERY_TIMEOUT_MS}), --format json, --status-token FILE
  (the peer's token). Every peer answers ping.
membership event URL NAME [PAYLOAD]: broadcasts a user event through the peer at URL; returns once
  it is delivered (every member delivers the group's events in one order); --timeout MS (default
  10000), --status-token FILE. Members print it as a JSON event line (--format json) or on stderr.
membership timeline FILE...: one lane per peer, a box per view, marks for unreachable, left and
  crashed peers; the SVG on stdout, or in OUT.svg with -o.

The protocol, the output lines and the guarantees: docs/protocol.md in the repository.`;

const LOG_LEVELS = ["debug", "info", "warning", "error", "fatal"] as const;

/** Parsed, validated command-line options. */
export interface CliOptions {
  /** Path of the hostsfile. */
  readonly hostsfile: string;
  /** Seconds to wait before joining. */
  readonly delaySeconds: number;
  /** Seconds after joining to crash, or null. */
  readonly crashDelaySeconds: number | null;
  /** Test case 4. */
  readonly test4: boolean;
  /** Explicit ID, or null to match the hostname. */
  readonly id: number | null;
  /** Heartbeat interval, ms. */
  readonly heartbeatMs: number;
  /** Missed intervals before unreachable. */
  readonly failAfter: number;
  /** Output format. */
  readonly format: OutputFormat;
  /** Lowest diagnostic level shown. */
  readonly logLevel: typeof LOG_LEVELS[number];
  /** Directory of this peer's durable state, or null to keep none. */
  readonly dataDir: string | null;
  /** Where to serve the status endpoint, or null for none. */
  readonly status: HostAddress | null;
  /** Path of the group's key file, or null for plain text. */
  readonly keyFile: string | null;
  /** This peer's tags (`--tag KEY=VALUE`). */
  readonly tags: Tags;
  /** The queries this peer answers by running a command (`--on-query NAME=COMMAND`). */
  readonly onQuery: readonly OnQuery[];
  /** Path of the file whose content the status endpoint's POST routes want as a bearer token, or null. */
  readonly statusToken: string | null;
}

function number(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
  integer: boolean,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} wants ${integer ? "an integer" : "a number"} >= ${min}, not '${text}'`);
  }
  return n;
}

/** The options of `membership -h HOSTSFILE ...`, as parseArgs takes them (docs/ tables are tested against them). */
export const CLI_OPTIONS = {
  hostsfile: { type: "string", short: "h" },
  delay: { type: "string", short: "d" },
  "crash-delay": { type: "string", short: "c" },
  test4: { type: "boolean", short: "t" },
  id: { type: "string" },
  heartbeat: { type: "string" },
  "fail-after": { type: "string" },
  format: { type: "string" },
  "log-level": { type: "string" },
  "data-dir": { type: "string" },
  status: { type: "string" },
  "key-file": { type: "string" },
  tag: { type: "string", multiple: true },
  "on-query": { type: "string", multiple: true },
  "status-token": { type: "string" },
  help: { type: "boolean" },
  version: { type: "boolean" },
} as const;

/**
 * `--heartbeat -5` as `--heartbeat=-5`: parseArgs takes a value that starts
 * with `-` for an option ("argument is ambiguous"), so a negative number
 * after a flag that takes a value is attached to it, and is then refused by
 * the flag's own check with the same line as zero.
 */
function attachNegatives(args: string[]): string[] {
  const long = new Map<string, string>();
  for (const [name, option] of Object.entries(CLI_OPTIONS)) {
    if (option.type !== "string") continue;
    long.set(`--${name}`, name);
    if ("short" in option) long.set(`-${option.short}`, name);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = long.get(args[i]);
    if (name !== undefined && i + 1 < args.length && /^-(\d|\.\d|Infinity$)/.test(args[i + 1])) {
      out.push(`--${name}=${args[++i]}`);
    } else {
      out.push(args[i]);
    }
    if (args[i] === "--") return [...out, ...args.slice(i + 1)];
  }
  return out;
}

/**
 * Parses the command line; throws {@linkcode UsageError} on a mistake.
 * Returns "help" or "version" for those flags.
 *
 * @example
 * ```ts
 * import { parseCli } from "./cli.ts";
 * const options = parseCli(["-h", "hosts.txt", "--id", "2"]);
 * ```
 */
export function parseCli(args: string[]): CliOptions | "help" | "version" {
  let values;
  try {
    ({ values } = parseArgs({
      args: attachNegatives(args),
      strict: true,
      allowPositionals: false,
      options: CLI_OPTIONS,
    }));
  } catch (e) {
    throw argsError(e);
  }
  if (values.help) return "help";
  if (values.version) return "version";
  if (!values.hostsfile) throw new UsageError("-h, --hostsfile PATH is required (see --help)");
  const format = values.format ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`--format wants text or json, not '${format}'`);
  }
  const logLevel = values["log-level"] ?? "warning";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level wants one of ${LOG_LEVELS.join(", ")}, not '${logLevel}'`);
  }
  const status = values.status === undefined ? null : statusAddress(values.status);
  const dataDir = values["data-dir"] ?? null;
  if (dataDir === "") throw new UsageError("--data-dir wants a directory, not ''");
  const keyFile = values["key-file"] ?? null;
  if (keyFile === "") throw new UsageError("--key-file wants a file, not ''");
  const onQuery = (values["on-query"] ?? []).map((text) => {
    try {
      return parseOnQuery(text);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
  const statusToken = values["status-token"] ?? null;
  if (statusToken === "") throw new UsageError("--status-token wants a file, not ''");
  if (statusToken !== null && status === null) {
    throw new UsageError("--status-token guards --status: give --status HOST:PORT too");
  }
  return {
    hostsfile: values.hostsfile,
    delaySeconds: number("--delay", values.delay, 0, 0, false),
    crashDelaySeconds: values["crash-delay"] === undefined
      ? null
      : number("--crash-delay", values["crash-delay"], 0, 0, false),
    test4: values.test4 ?? false,
    id: values.id === undefined ? null : number("--id", values.id, 0, 1, true),
    heartbeatMs: number("--heartbeat", values.heartbeat, DEFAULT_HEARTBEAT_MS, 1, true),
    failAfter: number("--fail-after", values["fail-after"], DEFAULT_FAIL_AFTER, 1, true),
    format,
    logLevel: logLevel as CliOptions["logLevel"],
    dataDir,
    status,
    keyFile,
    tags: parseTags(values.tag ?? []),
    onQuery,
    statusToken,
  };
}

/**
 * An error of the file system, the network or the permissions as one line:
 * `what`, then why (the permission, the OS's code, or the first line of the
 * message).
 */
function userError(e: unknown, what: string, otherwise?: string): UsageError {
  const { code, message } = (e ?? {}) as { code?: string; message?: string };
  const why = code ?? (message ? String(message).split("\n")[0] : "");
  return notPermitted(e, what, otherwise) ?? new UsageError(`${what}${why ? ` (${why})` : ""}`);
}

/** Reads a file the user named, as one line naming it (`what`) when it cannot. */
async function readUserFile(path: string, what: string): Promise<string> {
  try {
    return await readTextFile(path);
  } catch (e) {
    throw userError(e, `cannot read ${what} '${path}'`);
  }
}

/**
 * A permission Deno was not given (`NotCapable`, raised under `deno run`
 * without the `--allow-…` flag) as one line that names the flag; one the OS
 * refused (`PermissionDenied`, a port below 1024, say) as one line too; null
 * for any other error. Node and the compiled binaries have the permissions.
 */
function notPermitted(e: unknown, what: string, otherwise?: string): UsageError | null {
  const { name, message } = (e ?? {}) as { name?: string; message?: string };
  if (name === "PermissionDenied") return new UsageError(`${what}: ${String(message).split("\n")[0]}`);
  if (name !== "NotCapable") return null;
  // Deno: 'Requires net access to "0.0.0.0:7601", run again with the --allow-net flag'
  const [, kind, target] = /Requires (\w+) access to "?([^",]*)"?/.exec(message ?? "") ?? [];
  const flag = /--allow-[a-z]+/.exec(message ?? "")?.[0] ??
    (kind ? `--allow-${kind}` : "the missing --allow-… flag");
  const access = kind ? `: deno was not given ${kind} access${target ? ` to ${target}` : ""}` : "";
  return new UsageError(
    `${what}${access}; run deno with ${flag} (as ./membership does)${otherwise ? `, ${otherwise}` : ""}`,
  );
}

/** An IPv4 address (four dotted numbers) or an IPv6 one (any colon: a host name has none); isIP decides. */
function looksLikeAddress(hostname: string): boolean {
  return /^\d+(\.\d+){3}$/.test(hostname) || hostname.includes(":");
}

/**
 * The hostsfile's names, resolved once at start. This peer's own entry must
 * resolve: it binds that address's port (on all interfaces unless it is a
 * loopback one) and every other peer reaches it there, so a name that does not
 * resolve here is a mistake, not a network that will heal (other peers' names
 * that do not resolve are warned about when first used). And two lines that
 * name one address in two spellings (`localhost:7641`, `127.0.0.1:7641`) are
 * one peer listed twice, which the parser, reading text, cannot see.
 */
async function checkHostNames(hosts: HostAddress[], id: number, path: string): Promise<void> {
  // node:net and node:dns are loaded only for a hostsfile that names hosts (each costs a Deno peer
  // process memory): a line that is an address, as in every group on one machine, needs neither.
  const net = hosts.some(({ hostname }) => !looksLikeAddress(hostname)) ? await import("node:net") : null;
  const resolved = await Promise.all(hosts.map(async ({ hostname }, i) => {
    if (!net || net.isIP(hostname) !== 0) return [hostname];
    try {
      return (await (await import("node:dns/promises")).lookup(hostname, { all: true })).map((a) =>
        a.address
      );
    } catch (e) {
      if (i + 1 === id && isUnresolved(e)) {
        throw new UsageError(`hostsfile '${path}': peer ${id}'s host '${hostname}' does not resolve`);
      }
      return []; // another peer's, or another failure: the sockets will say when it is used
    }
  }));
  const lineOf = new Map<string, number>();
  for (const [i, addresses] of resolved.entries()) {
    for (const address of addresses) {
      const key = addressKey({ hostname: address, port: hosts[i].port });
      const first = lineOf.get(key);
      if (first !== undefined && first !== i) {
        throw new UsageError(
          `hostsfile '${path}': ${addressKey(hosts[first])} and ${addressKey(hosts[i])} are both ${key}: ` +
            "one peer listed twice",
        );
      }
      lineOf.set(key, i);
    }
  }
}

/** Reads and parses the hostsfile, as a user error when it cannot. */
async function loadHosts(path: string): Promise<HostAddress[]> {
  const text = await readUserFile(path, "hostsfile");
  try {
    return parseHostsfile(text);
  } catch (e) {
    if (e instanceof HostsfileError) throw new UsageError(`hostsfile '${path}': ${e.message}`);
    throw e;
  }
}

/** Reads and parses the key file, as a user error (naming the file and line) when it cannot. */
async function loadKeyring(path: string): Promise<Keyring> {
  const text = await readUserFile(path, "key file");
  try {
    return parseKeyring(text);
  } catch (e) {
    if (e instanceof KeyringError) throw new UsageError(`key file '${path}': ${e.message}`);
    throw e;
  }
}

/** Where a user event goes in text mode (see configureLogging). */
const eventLog = getLogger(["membership", "user-event"]);

async function configureLogging(level: CliOptions["logLevel"]): Promise<void> {
  const stderr = (record: LogRecord) => void process.stderr.write(defaultTextFormatter(record));
  await configure({
    reset: true,
    sinks: { stderr },
    filters: {
      // Diagnostics about bad input are rate limited per kind.
      throttle: getThrottlingFilter({
        limit: 5,
        windowMs: 10_000,
        key: (r) => String(r.properties.key ?? r.rawMessage),
      }),
    },
    loggers: [
      { category: ["membership"], lowestLevel: level, sinks: ["stderr"], filters: ["throttle"] },
      // User events, in text mode: at info level, shown unless --log-level error asks for less
      // (never throttled: each is an event of the group's, not a repeated diagnostic).
      {
        category: ["membership", "user-event"],
        lowestLevel: level === "error" ? "error" : "info",
        sinks: ["stderr"],
        parentSinks: "override",
      },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["stderr"] },
    ],
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * Runs the command with `args`; resolves with the exit code once the peer
 * stops (on SIGINT or SIGTERM). A crash flag exits the process directly.
 *
 * @example
 * ```ts
 * import { runCli } from "./cli.ts";
 * const code = await runCli(["--version"]); // prints the version, 0
 * ```
 */
export async function runCli(args: string[]): Promise<number> {
  try {
    if (args[0] === "members") return await runMembers(args.slice(1));
    if (args[0] === "timeline") return await runTimeline(args.slice(1));
    if (args[0] === "query") return await runQuery(args.slice(1));
    if (args[0] === "event") return await runEvent(args.slice(1));
    const options = parseCli(args);
    if (options === "help") return console.log(USAGE), 0;
    if (options === "version") return console.log(`membership ${VERSION}`), 0;
    return await runPeer(options);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`membership: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/**
 * parseArgs says e.g. "Unknown option '--bogus'. To specify a positional argument …": its first
 * sentence, lower-cased like every other message, after `prefix` (a subcommand's name).
 */
function argsError(e: unknown, prefix = ""): UsageError {
  const first = (e as Error).message.split("\n")[0].split(/\.( |$)/)[0];
  return new UsageError(`${prefix}${first.charAt(0).toLowerCase()}${first.slice(1)} (see --help)`);
}

/** parseArgs for a subcommand, its mistakes as one line like the peer's. */
function parseSub<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw argsError(e, `${command}: `);
  }
}

/** `--tag KEY=VALUE`, repeated, as tags; a bad one is a usage error (exit 2). */
function parseTags(given: readonly string[], prefix = ""): Tags {
  const tags: Record<string, string> = {};
  for (const text of given) {
    try {
      const [key, value] = parseTag(text);
      tags[key] = value;
    } catch (e) {
      throw new UsageError(`${prefix}${(e as Error).message}`);
    }
  }
  const error = tagsError(tags);
  if (error) throw new UsageError(`${prefix}--tag: ${error}`);
  return tags;
}

/** `membership members URL [--format text|json] [--tag KEY=VALUE]...`. */
async function runMembers(args: string[]): Promise<number> {
  const { values, positionals } = parseSub("members", () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        format: { type: "string" },
        tag: { type: "string", multiple: true },
        help: { type: "boolean" },
      },
    }));
  if (values.help) return console.log(USAGE), 0;
  const format = values.format ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`members: --format wants text or json, not '${format}'`);
  }
  const filter = parseTags(values.tag ?? [], "members: ");
  if (positionals.length !== 1) {
    throw new UsageError("members wants one URL, a peer's --status address (e.g. http://127.0.0.1:8080)");
  }
  const status = await reach("members", `cannot fetch ${positionals[0]}`, () => fetchStatus(positionals[0]));
  process.stdout.write(formatMembers(status, format, filter));
  if (status.members.length === 0) {
    process.stderr.write(`membership: peer ${status.id} has no view yet (it is ${status.role})\n`);
  }
  return 0;
}

/** `membership timeline FILE... [-o OUT]`. */
async function runTimeline(args: string[]): Promise<number> {
  const { values, positionals } = parseSub("timeline", () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { output: { type: "string", short: "o" }, help: { type: "boolean" } },
    }));
  if (values.help) return console.log(USAGE), 0;
  if (positionals.length === 0) {
    throw new UsageError("timeline wants one or more files of peers' --format json output");
  }
  let events;
  try {
    events = await readTimelineFiles(positionals);
  } catch (e) {
    if (e instanceof TimelineInputError) throw new UsageError(`timeline: ${e.message}`);
    throw notPermitted(e, "timeline: cannot read its files") ?? e;
  }
  const svg = renderTimeline(events);
  const output = values.output;
  if (output === undefined) {
    process.stdout.write(svg);
    return 0;
  }
  try {
    await (await import("node:fs/promises")).writeFile(output, svg);
  } catch (e) {
    throw userError(e, `timeline: cannot write '${output}'`);
  }
  return 0;
}

/** `membership query URL NAME [PAYLOAD] [--timeout MS] [--format text|json] [--status-token FILE]`. */
async function runQuery(args: string[]): Promise<number> {
  const { values, positionals } = parseSub("query", () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        timeout: { type: "string" },
        format: { type: "string" },
        "status-token": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  if (values.help) return console.log(USAGE), 0;
  const format = values.format ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`query: --format wants text or json, not '${format}'`);
  }
  if (positionals.length < 2 || positionals.length > 3) {
    throw new UsageError("query wants URL NAME [PAYLOAD]: a peer's --status address and the query's name");
  }
  const [url, name, payload = ""] = positionals;
  const timeoutMs = number("query: --timeout", values.timeout, DEFAULT_QUERY_TIMEOUT_MS, 1, true);
  if (timeoutMs > MAX_QUERY_TIMEOUT_MS) {
    throw new UsageError(`query: --timeout wants at most ${MAX_QUERY_TIMEOUT_MS}, not '${values.timeout}'`);
  }
  const token = values["status-token"] === undefined ? undefined : await loadToken(values["status-token"]);
  const result = await reach(
    "query",
    `cannot reach ${url}`,
    () => postQuery(url, { name, payload, timeoutMs, token }),
  );
  process.stdout.write(formatQuery(result, format));
  return 0;
}

/**
 * Calls a peer's status endpoint for subcommand `command`: what the endpoint
 * refused, or a permission Deno was not given, becomes one line (exit 2).
 */
async function reach<T>(command: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof StatusFetchError) throw new UsageError(`${command}: ${e.message}`);
    throw notPermitted(e, `${command}: ${what}`) ?? e;
  }
}

/** `membership event URL NAME [PAYLOAD] [--timeout MS] [--status-token FILE]`. */
async function runEvent(args: string[]): Promise<number> {
  const { values, positionals } = parseSub("event", () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { timeout: { type: "string" }, "status-token": { type: "string" }, help: { type: "boolean" } },
    }));
  if (values.help) return console.log(USAGE), 0;
  if (positionals.length < 2 || positionals.length > 3) {
    throw new UsageError("event wants URL NAME [PAYLOAD]: a peer's --status address and the event's name");
  }
  const [url, name, payload = ""] = positionals;
  const error = userEventError(name, payload);
  if (error) throw new UsageError(`event: ${error}`);
  const timeoutMs = number("event: --timeout", values.timeout, 10_000, 1, true);
  const token = values["status-token"] === undefined ? undefined : await loadToken(values["status-token"]);
  const result = await reach(
    "event",
    `cannot reach ${url}`,
    () => postEvent(url, { name, payload, timeoutMs, token }),
  );
  process.stdout.write(`event ${result.name} delivered by peer ${result.peer} in view ${result.view}\n`);
  return 0;
}

/** The content of a `--status-token FILE`, trimmed; as a user error when it is unreadable or empty. */
async function loadToken(path: string): Promise<string> {
  const token = (await readUserFile(path, "status token file")).trim();
  if (token === "") throw new UsageError(`status token file '${path}' is empty`);
  if (/\s/.test(token)) throw new UsageError(`status token file '${path}' holds more than one word`);
  return token;
}

/**
 * `--on-query` runs commands: under Deno that needs `--allow-run` (Node, and
 * a compiled binary given it, always may). One line and exit 2 when not.
 */
function checkMayRun(onQuery: readonly OnQuery[]): void {
  if (onQuery.length === 0 || !onDeno()) return;
  const run = Deno.permissions.querySync({ name: "run", command: "sh" }).state === "granted";
  const env = Deno.permissions.querySync({ name: "env" }).state === "granted"; // (node:child_process reads it)
  if (!run || !env) {
    throw new UsageError(
      `--on-query ${onQuery[0].name}=… runs commands: run deno with ${
        run ? "" : "--allow-run (or --allow-run=sh)"
      }${run || env ? "" : " and "}${env ? "" : "--allow-env"}`,
    );
  }
}

/** `--status HOST:PORT`: an address with an explicit port, as a hostsfile line writes it. */
function statusAddress(text: string): HostAddress {
  const bad = new UsageError(`--status wants HOST:PORT (e.g. 127.0.0.1:8080), not '${text}'`);
  if (!/:\d+$/.test(text)) throw bad;
  try {
    return parseHostsfile(text)[0];
  } catch {
    throw bad;
  }
}

async function runPeer(options: CliOptions): Promise<number> {
  const hosts = await loadHosts(options.hostsfile);
  let id = options.id;
  if (id === null) {
    let name: string;
    try {
      name = (await import("node:os")).hostname();
    } catch (e) {
      throw notPermitted(e, "cannot find this peer's ID by its hostname", "or pass --id N") ?? e;
    }
    const match = idForHostname(hosts, name);
    if ("error" in match) throw new UsageError(match.error);
    id = match.id;
  } else if (id > hosts.length) {
    throw new UsageError(`--id ${id} is past the ${hosts.length} peer(s) of the hostsfile`);
  }
  await checkHostNames(hosts, id, options.hostsfile);
  checkMayRun(options.onQuery);
  const keyring = options.keyFile === null ? undefined : await loadKeyring(options.keyFile);
  const statusToken = options.statusToken === null ? null : await loadToken(options.statusToken);
  await configureLogging(options.logLevel);

  // The first SIGINT or SIGTERM leaves the group on purpose; a second SIGINT exits at once.
  const stopping = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(130);
    stopping.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let onHangup: (() => void) | undefined;
  try {
    await sleep(options.delaySeconds * 1000, stopping.signal);
    if (stopping.signal.aborted) return 0;
    // At once, no goodbye: sockets die with the process. A crash asked for (-c, -t) exits 0;
    // durable state that cannot be written exits 1.
    const crash = (reason?: "filter" | "storage") => process.exit(reason === "storage" ? 1 : 0);
    let crashTimer: ReturnType<typeof setTimeout> | undefined;
    const onEvent = (event: PeerEvent) => {
      const line = formatEvent(event, options.format, new Date());
      if (line !== null) console.log(line);
      // In text mode a user event goes to stderr: the seed's stdout stays exactly as it was.
      else if (event.type === "event") {
        const e = event.event;
        eventLog.info("{text}", {
          text: `event ${e.name} from peer ${e.origin}: ${e.payload}`,
          key: "event",
        });
      }
      if (event.type === "view" && options.crashDelaySeconds !== null && crashTimer === undefined) {
        crashTimer = setTimeout(crash, options.crashDelaySeconds * 1000);
      }
    };
    const metrics = options.status ? new PeerMetrics() : undefined;
    let peer;
    try {
      peer = await startPeer({
        metrics,
        hosts,
        id,
        heartbeatMs: options.heartbeatMs,
        failAfter: options.failAfter,
        test4: options.test4,
        storage: options.dataDir === null ? undefined : new FileStorage(options.dataDir, { peer: id, hosts }),
        onCrash: crash,
        onEvent,
        keyring,
        tags: options.tags,
      });
    } catch (e) {
      if (e instanceof AddressInUseError || e instanceof StorageError) throw new UsageError(e.message);
      throw notPermitted(e, `cannot bind port ${hosts[id - 1].port}`) ?? e;
    }
    if (options.keyFile !== null) process.on("SIGHUP", onHangup = reloadKeyring(peer, options.keyFile));
    for (const { name, command } of options.onQuery) peer.onQuery(name, commandHandler(command));
    let status;
    try {
      status = options.status
        ? await serveStatus(createStatusApp(peer, metrics!, { token: statusToken }), options.status)
        : undefined;
    } catch (e) {
      await peer.stop();
      // Whatever stops the server from listening is about the address given: in use, not this
      // host's (EADDRNOTAVAIL), a name that does not resolve, a port not permitted.
      throw userError(e, `--status ${addressKey(options.status!)}: cannot serve`);
    }
    if (options.status && !isLoopback(options.status.hostname)) {
      process.stderr.write(
        `membership: --status ${
          addressKey(options.status)
        } serves plain HTTP without authentication to anyone ` +
          `who can reach it (reading; POST ${
            statusToken === null ? "from loopback only" : "with the --status-token, sent in clear text"
          }: see docs/security.md)\n`,
      );
    }
    await sleep(2 ** 31 - 1, stopping.signal);
    clearTimeout(crashTimer);
    await peer.leave();
    await status?.close();
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (onHangup) process.off("SIGHUP", onHangup);
  }
}

/** SIGHUP: re-reads the key file and replaces the keyring; a bad file keeps the old one. */
function reloadKeyring(peer: { setKeyring(keyring: Keyring): void }, path: string): () => void {
  return () => {
    void loadKeyring(path).then((keyring) => {
      peer.setKeyring(keyring);
      process.stderr.write(`membership: key file '${path}' reloaded: ${keyring.size} key(s)\n`);
    }, (e) => {
      process.stderr.write(`membership: ${e.message}; keeping the keyring in use\n`);
    });
  };
}
