/**
 * The command line: flags, hostsfile, own ID, printing events, crash flags.
 * Portable: it uses `node:` modules that Deno and Node both provide.
 *
 * @module
 */

import { configure, defaultTextFormatter, getThrottlingFilter, type LogRecord } from "@logtape/logtape";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import type { PeerEvent } from "../core/effects.ts";
import { DEFAULT_FAIL_AFTER, DEFAULT_HEARTBEAT_MS } from "../core/config.ts";
import { formatEvent, type OutputFormat } from "../core/format.ts";
import { type HostAddress, HostsfileError, idForHostname, parseHostsfile } from "../core/hostsfile.ts";
import { AddressInUseError } from "../transport/transport.ts";
import { VERSION } from "../version.ts";
import { FileStorage, StorageError } from "./file_storage.ts";
import { startPeer } from "./peer.ts";

/** A user's mistake: one line on stderr and exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The command's usage text, printed by `--help`. */
export const USAGE = `membership ${VERSION}: one agreed view of the live peers of a group

Usage: membership -h HOSTSFILE [options]
  (deno run --unstable-net --allow-net --allow-read --allow-env --allow-sys mod.ts …,
   node dist/membership.mjs …, or a compiled binary: the same flags)

  -h, --hostsfile PATH     one peer a line, host or host:port (port ${7600} by default)
  -d, --delay SECONDS      wait this long before joining (default 0)
  -c, --crash-delay SECS   crash (exit at once, no goodbye) this long after joining
  -t, --test4              test case 4, on the leader (see PROTOCOL.md)
      --id N               this peer's ID, instead of matching the hostname
      --heartbeat MS       heartbeat interval (default ${DEFAULT_HEARTBEAT_MS})
      --fail-after N       missed intervals before a member is unreachable (default ${DEFAULT_FAIL_AFTER})
      --format text|json   how events are printed on stdout (default text)
      --log-level LEVEL    diagnostics on stderr: debug, info, warning, error (default warning)
      --data-dir DIR       keep this peer's votes and views in DIR: a restart on it is the same
                           member and voter (deno run also needs --allow-write)
      --help, --version    this text, the version`;

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
      args,
      strict: true,
      allowPositionals: false,
      options: {
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
        help: { type: "boolean" },
        version: { type: "boolean" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0].split(/\.( |$)/)[0]);
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
  const dataDir = values["data-dir"] ?? null;
  if (dataDir === "") throw new UsageError("--data-dir wants a directory, not ''");
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
  };
}

/** Reads and parses the hostsfile, as a user error when it cannot. */
async function loadHosts(path: string): Promise<HostAddress[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(`cannot read hostsfile '${path}'${code ? ` (${code})` : ""}`);
  }
  try {
    return parseHostsfile(text);
  } catch (e) {
    if (e instanceof HostsfileError) throw new UsageError(`hostsfile '${path}': ${e.message}`);
    throw e;
  }
}

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

async function runPeer(options: CliOptions): Promise<number> {
  const hosts = await loadHosts(options.hostsfile);
  let id = options.id;
  if (id === null) {
    const match = idForHostname(hosts, hostname());
    if ("error" in match) throw new UsageError(match.error);
    id = match.id;
  } else if (id > hosts.length) {
    throw new UsageError(`--id ${id} is past the ${hosts.length} peer(s) of the hostsfile`);
  }
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
      if (event.type === "view" && options.crashDelaySeconds !== null && crashTimer === undefined) {
        crashTimer = setTimeout(crash, options.crashDelaySeconds * 1000);
      }
    };
    let peer;
    try {
      peer = await startPeer({
        hosts,
        id,
        heartbeatMs: options.heartbeatMs,
        failAfter: options.failAfter,
        test4: options.test4,
        storage: options.dataDir === null ? undefined : new FileStorage(options.dataDir, { peer: id, hosts }),
        onCrash: crash,
        onEvent,
      });
    } catch (e) {
      if (e instanceof AddressInUseError || e instanceof StorageError) throw new UsageError(e.message);
      throw e;
    }
    await sleep(2 ** 31 - 1, stopping.signal);
    clearTimeout(crashTimer);
    await peer.leave();
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
