/**
 * Reading a text file the user named (the hostsfile, the key file) in the
 * runtime at hand, without loading more than that takes.
 *
 * @module
 */

import { onDeno } from "../transport/transport.ts";

/**
 * The UTF-8 text of the file at `path`: Deno's own call under Deno, where
 * `node:fs/promises` would load the Node compatibility layer's file system
 * into every peer process (several MiB of each one's memory, for one read);
 * `node:fs/promises` under Node. Errors are the runtime's own (both carry
 * `code`, such as `ENOENT`).
 *
 * @example
 * ```ts
 * import { readTextFile } from "./text_file.ts";
 * const hosts = await readTextFile("examples/hosts.local.txt");
 * ```
 */
export async function readTextFile(path: string): Promise<string> {
  if (onDeno()) return await Deno.readTextFile(path);
  return await (await import("node:fs/promises")).readFile(path, "utf8");
}
