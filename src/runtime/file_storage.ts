/**
 * Durable state on disk: the {@linkcode Storage} behind the CLI's
 * `--data-dir DIR`. One file, `DIR/state.json`, names the peer and the
 * hostsfile it belongs to and holds what the peer promised, accepted and
 * installed. Every write goes to `state.json.tmp`, is flushed, renamed over
 * `state.json`, and the directory is flushed too, so a power cut leaves
 * either the old state or the new one, never a torn file.
 *
 * Portable: it uses `node:fs/promises` and `node:path`, which Deno and Node
 * both provide. Under Deno the peer needs `--allow-write` for DIR.
 *
 * @example
 * ```ts
 * import { FileStorage } from "./file_storage.ts";
 * import { startPeer } from "./peer.ts";
 * const hosts = [{ hostname: "127.0.0.1", port: 7601 }];
 * const storage = new FileStorage("/var/lib/membership", { peer: 1, hosts });
 * const peer = await startPeer({ hosts, id: 1, storage }); // loads state.json, if any
 * await peer.stop();
 * ```
 *
 * @module
 */

import { join, resolve } from "node:path";

/**
 * node:fs/promises, loaded when a FileStorage first touches its directory: under Deno, loading it
 * costs several MiB of memory, and `mod.ts` exports this class to every peer process, most of
 * which keep no data dir.
 */
const fs = () => import("node:fs/promises");
import { decodeDurableState, encodeDurableState } from "../core/codec.ts";
import type { DurableState } from "../core/effects.ts";
import type { HostAddress } from "../core/hostsfile.ts";
import type { PeerId } from "../core/messages.ts";
import { addressKey } from "../transport/transport.ts";
import type { Storage } from "./effect_runner.ts";

/** The version of the `state.json` layout this module reads and writes. */
const FORMAT = 1;

/** The state file's name inside the data directory. */
const STATE_FILE = "state.json";

/**
 * The data directory cannot be used, or its state file cannot be trusted:
 * the message is one line that names the path and the problem. The CLI
 * prints it and exits 2; a peer never starts fresh on a state it cannot read.
 *
 * @example
 * ```ts
 * import { FileStorage, StorageError } from "./file_storage.ts";
 * const storage = new FileStorage("/tmp/data", { peer: 2, hosts: [] });
 * try {
 *   await storage.load();
 * } catch (e) {
 *   if (e instanceof StorageError) console.error(e.message); // "data dir state /tmp/data/state.json: not JSON"
 * }
 * ```
 */
export class StorageError extends Error {
  /** Always `"StorageError"`. */
  override name = "StorageError";
}

/**
 * Whose state a data directory holds: the peer's ID and the hostsfile's
 * addresses, in order. A directory written for another identity is refused.
 *
 * @example
 * ```ts
 * import type { StorageIdentity } from "./file_storage.ts";
 * const identity: StorageIdentity = { peer: 2, hosts: [{ hostname: "127.0.0.1", port: 7602 }] };
 * ```
 */
export interface StorageIdentity {
  /** This peer's ID. */
  readonly peer: PeerId;
  /** Every peer's address, as the hostsfile lists them. */
  readonly hosts: readonly HostAddress[];
}

/** Why a file-system call failed, in a few words: the error code, or Deno's permission message. */
function reason(e: unknown): string {
  const err = e as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof err?.code === "string" && err.code !== "") return err.code;
  if (err?.name === "NotCapable" || err?.name === "PermissionDenied") {
    return String(err.message).split("\n")[0]; // e.g. Requires write access to "…", run again with --allow-write
  }
  return String(err?.message ?? e).split("\n")[0];
}

/** Error codes of platforms that cannot open or flush a directory; the rename stands without it. */
const NO_DIRECTORY_SYNC = new Set(["EISDIR", "EPERM", "EINVAL"]);

/**
 * Keeps one peer's durable state in `DIR/state.json`. `load()` creates the
 * directory if it does not exist yet and checks that it can be written;
 * `save()` writes atomically and durably, one write at a time.
 *
 * @example
 * ```ts
 * import { FileStorage } from "./file_storage.ts";
 * const storage = new FileStorage("/tmp/peer-2", {
 *   peer: 2,
 *   hosts: [{ hostname: "127.0.0.1", port: 7601 }, { hostname: "127.0.0.1", port: 7602 }],
 * });
 * const restored = await storage.load(); // null on the first run
 * await storage.save({
 *   incarnation: 7, promised: { round: 0, leader: 1 }, accepted: null,
 *   installed: null, member: false, formAccepted: null,
 * });
 * ```
 */
export class FileStorage implements Storage {
  /** The data directory (absolute). */
  readonly dir: string;
  /** The state file, `DIR/state.json`. */
  readonly path: string;
  readonly #tmp: string;
  readonly #peer: PeerId;
  readonly #hosts: readonly string[];
  /** The last write queued; the next one starts after it settles. */
  #tail: Promise<void> = Promise.resolve();

  /** Keeps the state of `identity` in `dir`; nothing is touched until {@linkcode FileStorage.load}. */
  constructor(dir: string, identity: StorageIdentity) {
    this.dir = resolve(dir);
    this.path = join(this.dir, STATE_FILE);
    this.#tmp = `${this.path}.tmp`;
    this.#peer = identity.peer;
    this.#hosts = identity.hosts.map(addressKey);
  }

  /**
   * Creates the directory if needed, checks that it can be written, and
   * reads the state file: null if there is none yet. Rejects with a
   * {@linkcode StorageError} if the directory cannot be used, or the file
   * cannot be read, is malformed, or was written by another peer or for
   * another hostsfile.
   */
  async load(): Promise<DurableState | null> {
    await this.#prepareDir();
    let text: string;
    try {
      text = await (await fs()).readFile(this.path, "utf8");
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return null;
      throw this.#fileError(`cannot read (${reason(e)})`);
    }
    return this.#parse(text);
  }

  /**
   * Writes `state` over the state file: to `state.json.tmp`, flushed,
   * renamed over `state.json`, then the directory flushed. A save called
   * while another is in progress waits for it. Rejects with a
   * {@linkcode StorageError} if the write fails.
   */
  save(state: DurableState): Promise<void> {
    const text = this.#render(state);
    const write = this.#tail.catch(() => {}).then(() => this.#write(text));
    this.#tail = write;
    return write;
  }

  async #prepareDir(): Promise<void> {
    try {
      await (await fs()).mkdir(this.dir, { recursive: true });
    } catch (e) {
      const code = (e as { code?: string }).code;
      const what = code === "EEXIST" || code === "ENOTDIR"
        ? "not a directory"
        : code
        ? `cannot create (${code})`
        : reason(e); // Deno's: Requires write access to "…", run again with the --allow-write flag
      throw new StorageError(`data dir ${this.dir}: ${what}`);
    }
    // Root ignores permission bits, and Deno's `access` ignores its own permissions: the
    // only reliable check is a write. The probe is the temporary file every save rewrites.
    try {
      const probe = await (await fs()).open(this.#tmp, "w");
      await probe.close();
      await (await fs()).rm(this.#tmp, { force: true });
    } catch (e) {
      throw new StorageError(`data dir ${this.dir}: not writable (${reason(e)})`);
    }
  }

  #fileError(problem: string): StorageError {
    return new StorageError(`data dir state ${this.path}: ${problem}`);
  }

  #parse(text: string): DurableState {
    let file: unknown;
    try {
      file = JSON.parse(text);
    } catch {
      throw this.#fileError("not JSON");
    }
    if (typeof file !== "object" || file === null || Array.isArray(file)) {
      throw this.#fileError("not a JSON object");
    }
    const f = file as Record<string, unknown>;
    if (f.format !== FORMAT) {
      throw this.#fileError(`format ${JSON.stringify(f.format) ?? "missing"}, not ${FORMAT}`);
    }
    if (typeof f.peer !== "number" || !Number.isInteger(f.peer) || f.peer < 1) {
      throw this.#fileError("field 'peer' must be a peer ID");
    }
    if (!Array.isArray(f.hosts) || !f.hosts.every((h) => typeof h === "string")) {
      throw this.#fileError("field 'hosts' must be a list of host:port");
    }
    if (f.peer !== this.#peer) {
      throw new StorageError(
        `data dir state ${this.path} was written by peer ${f.peer}, not peer ${this.#peer}`,
      );
    }
    const hosts = f.hosts as string[];
    if (hosts.length !== this.#hosts.length || hosts.some((h, i) => h !== this.#hosts[i])) {
      throw new StorageError(
        `data dir state ${this.path} was written for another hostsfile (${this.#difference(hosts)})`,
      );
    }
    const decoded = decodeDurableState(JSON.stringify(f.state ?? null));
    if (!decoded.ok) throw this.#fileError(`bad state: ${decoded.error}`);
    return decoded.state;
  }

  /** How the hostsfile written differs from this one, in a few words. */
  #difference(written: readonly string[]): string {
    if (written.length !== this.#hosts.length) {
      return `${written.length} peer(s), not ${this.#hosts.length}`;
    }
    const i = written.findIndex((h, i) => h !== this.#hosts[i]);
    return `peer ${i + 1} was ${written[i]}, not ${this.#hosts[i]}`;
  }

  /** The file's text: one field a line, each value compact JSON. */
  #render(state: DurableState): string {
    const fields: [string, unknown][] = [
      ["format", FORMAT],
      ["peer", this.#peer],
      ["hosts", this.#hosts],
      ["state", JSON.parse(encodeDurableState(state))],
    ];
    return `{\n${fields.map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(",\n")}\n}\n`;
  }

  async #write(text: string): Promise<void> {
    try {
      const file = await (await fs()).open(this.#tmp, "w");
      try {
        await file.writeFile(text, "utf8");
        await file.sync();
      } finally {
        await file.close();
      }
      await (await fs()).rename(this.#tmp, this.path);
    } catch (e) {
      throw this.#fileError(`cannot write (${reason(e)})`);
    }
    await this.#syncDir();
  }

  /** Flushes the directory, so the rename survives a power cut; skipped where a directory cannot be. */
  async #syncDir(): Promise<void> {
    let dir;
    try {
      dir = await (await fs()).open(this.dir, "r");
    } catch (e) {
      if (NO_DIRECTORY_SYNC.has((e as { code?: string }).code ?? "")) return;
      throw new StorageError(`data dir ${this.dir}: cannot flush (${reason(e)})`);
    }
    try {
      await dir.sync();
    } catch (e) {
      if (!NO_DIRECTORY_SYNC.has((e as { code?: string }).code ?? "")) {
        throw new StorageError(`data dir ${this.dir}: cannot flush (${reason(e)})`);
      }
    } finally {
      await dir.close();
    }
  }
}
