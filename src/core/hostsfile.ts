/**
 * The hostsfile: one peer a line, `host`, `host:port` or `[ipv6]:port`;
 * blank lines and `#` comments (whole lines, or after the host) ignored. A
 * peer's ID is its 1-based position among the lines.
 *
 * @module
 */

/** Where a peer listens: TCP and UDP share the port. */
export interface HostAddress {
  /** Host name or IP address. */
  readonly hostname: string;
  /** TCP and UDP port. */
  readonly port: number;
}

/** The port a line without one uses. */
export const DEFAULT_PORT = 7600;

/** A hostsfile that cannot be used; the message names the line. */
export class HostsfileError extends Error {
  /** The error's name. */
  override name = "HostsfileError";
}

function parsePort(text: string, lineNo: number): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new HostsfileError(`line ${lineNo}: port '${text}' is not a number from 1 to 65535`);
  }
  return port;
}

function parseLine(line: string, lineNo: number): HostAddress {
  if (/\s/.test(line)) throw new HostsfileError(`line ${lineNo}: '${line}' holds spaces`);
  if (/^[0-9a-f]*:[0-9a-f]*:[0-9a-f:.]*$/i.test(line) && !line.startsWith("[")) {
    // ::1:7602, 2001:db8::5 — an IPv6 address, with a port or not, cannot be told apart from its last group.
    throw new HostsfileError(
      `line ${lineNo}: '${line}' is not host or host:port; write an IPv6 address in brackets, as [::1] or [::1]:7602`,
    );
  }
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(line); // [::1]:7601
  if (bracketed) {
    const port = bracketed[2] === undefined ? DEFAULT_PORT : parsePort(bracketed[2], lineNo);
    return { hostname: bracketed[1], port };
  }
  const parts = line.split(":");
  if (parts.length > 2) {
    throw new HostsfileError(`line ${lineNo}: '${line}' is not host or host:port`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(parts[0])) {
    throw new HostsfileError(`line ${lineNo}: '${parts[0]}' is not a host name or address`);
  }
  return {
    hostname: parts[0],
    port: parts.length === 2 ? parsePort(parts[1], lineNo) : DEFAULT_PORT,
  };
}

/**
 * Parses a hostsfile's text into peer addresses, peer ID = index + 1.
 * Throws {@linkcode HostsfileError} naming the first bad line.
 *
 * @example
 * ```ts
 * import { parseHostsfile } from "./hostsfile.ts";
 * parseHostsfile("# lab\nalpha\n127.0.0.1:7601\n");
 * // [{ hostname: "alpha", port: 7600 }, { hostname: "127.0.0.1", port: 7601 }]
 * ```
 */
export function parseHostsfile(text: string): HostAddress[] {
  const hosts: HostAddress[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    // A `#` starts a comment, on a line of its own or after the host.
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    hosts.push(parseLine(line, i + 1));
  });
  if (hosts.length === 0) throw new HostsfileError("no peers listed");
  const seen = new Map<string, string>();
  for (const h of hosts) {
    const written = `${h.hostname}:${h.port}`;
    // Host names are case-insensitive; other spellings of one address (`localhost`, 127.0.0.1)
    // take a lookup, which the CLI does when it starts.
    const key = `${h.hostname.toLowerCase()}:${h.port}`;
    const before = seen.get(key);
    if (before !== undefined) {
      throw new HostsfileError(
        before === written
          ? `${written} is listed twice`
          : `${written} is ${before} again, written another way`,
      );
    }
    seen.set(key, written);
  }
  return hosts;
}

/**
 * The ID of the peer whose host matches `hostname` (full name or its first
 * label), or an error message when none or several match.
 *
 * @example
 * ```ts
 * import { idForHostname } from "./hostsfile.ts";
 * idForHostname([{ hostname: "peer1", port: 7600 }, { hostname: "peer2", port: 7600 }], "peer2");
 * // { id: 2 }
 * ```
 */
export function idForHostname(
  hosts: readonly HostAddress[],
  hostname: string,
): { id: number } | { error: string } {
  // "peer1" matches "peer1.lab.example"; addresses match only in full.
  const short = (name: string) => /[a-z]/i.test(name) ? name.split(".")[0].toLowerCase() : name;
  const matches = hosts.flatMap((h, i) =>
    h.hostname.toLowerCase() === hostname.toLowerCase() || short(h.hostname) === short(hostname)
      ? [i + 1]
      : []
  );
  if (matches.length === 1) return { id: matches[0] };
  return {
    error: matches.length === 0
      ? `hostname '${hostname}' is not in the hostsfile; pass --id N`
      : `hostname '${hostname}' matches peers ${matches.join(", ")}; pass --id N`,
  };
}
