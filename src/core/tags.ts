/**
 * Tags: a member's key/value metadata (`role=db`, `port=5432`), agreed with
 * the view. A peer's tags travel in its JOIN; a change is a `TAG` operation
 * the leader commits like any other, so every peer that installs view `v`
 * sees the same tags for every member of `v`.
 *
 * @module
 */

/** A member's tags: keys to values. */
export type Tags = Readonly<Record<string, string>>;

/**
 * The most a member's tags may take, in bytes of their JSON form: 8 KiB
 * (serf's 512 bytes is what its users complain of).
 */
export const MAX_TAGS_BYTES = 8_192;

/** The most characters of one key. */
export const MAX_TAG_KEY_LENGTH = 128;

const KEY = /^[A-Za-z0-9_.:\/-]+$/;

/** No tags. */
export const NO_TAGS: Tags = Object.freeze({});

/**
 * Why `tags` are not acceptable, or null if they are: each key is 1 to 128 of
 * `A-Z a-z 0-9 _ . : / -`, each value a string without control characters,
 * and the whole at most {@linkcode MAX_TAGS_BYTES} as JSON.
 *
 * @example
 * ```ts
 * import { tagsError } from "./tags.ts";
 * tagsError({ role: "db" }); // null
 * tagsError({ "ro le": "db" }); // "tag key \"ro le\" must be 1 to 128 of A-Z a-z 0-9 _ . : / -"
 * ```
 */
export function tagsError(tags: unknown): string | null {
  if (typeof tags !== "object" || tags === null || Array.isArray(tags)) return "tags must be an object";
  for (const [key, value] of Object.entries(tags)) {
    if (key.length > MAX_TAG_KEY_LENGTH || !KEY.test(key)) {
      return `tag key ${JSON.stringify(key)} must be 1 to ${MAX_TAG_KEY_LENGTH} of A-Z a-z 0-9 _ . : / -`;
    }
    // deno-lint-ignore no-control-regex
    if (typeof value !== "string" || /[\u0000-\u001f\u007f]/.test(value)) {
      return `tag ${key}: its value must be text without control characters`;
    }
  }
  const bytes = new TextEncoder().encode(JSON.stringify(tags)).length;
  if (bytes > MAX_TAGS_BYTES) return `tags take ${bytes} bytes, more than ${MAX_TAGS_BYTES}`;
  return null;
}

/**
 * Parses one `KEY=VALUE` (the CLI's `--tag`): the value may be empty and may
 * hold `=`. Throws with a one-line reason on anything else.
 *
 * @example
 * ```ts
 * import { parseTag } from "./tags.ts";
 * parseTag("role=db"); // ["role", "db"]
 * ```
 */
export function parseTag(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new Error(`--tag ${JSON.stringify(text)}: expected KEY=VALUE`);
  const key = text.slice(0, eq), value = text.slice(eq + 1);
  const error = tagsError({ [key]: value });
  if (error) throw new Error(`--tag ${JSON.stringify(text)}: ${error}`);
  return [key, value];
}

/**
 * Whether two sets of tags are the same.
 *
 * @example
 * ```ts
 * import { sameTags } from "./tags.ts";
 * sameTags({ a: "1", b: "2" }, { b: "2", a: "1" }); // true
 * ```
 */
export function sameTags(a: Tags, b: Tags): boolean {
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/**
 * Whether every tag of `filter` is among `tags` (`members --tag role=db`).
 *
 * @example
 * ```ts
 * import { matchesTags } from "./tags.ts";
 * matchesTags({ role: "db", zone: "a" }, { role: "db" }); // true
 * ```
 */
export function matchesTags(tags: Tags, filter: Tags): boolean {
  return Object.entries(filter).every(([k, v]) => Object.hasOwn(tags, k) && tags[k] === v);
}
