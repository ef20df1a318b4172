/**
 * The group's keyring: AES-256 keys, one base64 key a line (as
 * `openssl rand -base64 32` prints), the first of which seals what a peer
 * sends while every key opens what it receives, so that keys rotate without
 * stopping the group. See {@linkcode SealedTransport} for how they are used.
 *
 * @module
 */

/** The length of a key, in bytes (AES-256). */
export const KEY_BYTES = 32;

/**
 * A key file that cannot be a keyring: empty, a line that is not base64, or
 * a key that is not 32 bytes. {@linkcode KeyringError.line} names the line.
 */
export class KeyringError extends Error {
  /** The error's name. */
  override name = "KeyringError";
  /** The 1-based line at fault, or null when the whole text is (no key at all). */
  readonly line: number | null;

  /** An error about `line` (null: the whole text). */
  constructor(message: string, line: number | null) {
    super(line === null ? message : `line ${line}: ${message}`);
    this.line = line;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The group's keys. The first key seals; every key opens. Keys are imported
 * into WebCrypto (`crypto.subtle`, AES-GCM, not extractable) on first use.
 *
 * @example
 * ```ts
 * import { Keyring } from "./keyring.ts";
 * const keyring = new Keyring([crypto.getRandomValues(new Uint8Array(32))]);
 * console.log(keyring.size); // 1
 * const [sealing] = await keyring.cryptoKeys();
 * ```
 */
export class Keyring {
  readonly #raw: readonly Uint8Array[];
  #imported: Promise<readonly CryptoKey[]> | null = null;

  /** A keyring of `keys` (32 bytes each, at least one), the first sealing. */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new KeyringError("a keyring needs at least one key", null);
    keys.forEach((k, i) => {
      if (k.length !== KEY_BYTES) {
        throw new KeyringError(`key ${i + 1} is ${k.length} bytes, not ${KEY_BYTES}`, null);
      }
    });
    this.#raw = keys.map((k) => new Uint8Array(k));
    RAW.set(this, this.#raw);
  }

  /** How many keys the keyring holds. */
  get size(): number {
    return this.#raw.length;
  }

  /**
   * The keys as WebCrypto AES-GCM keys, in order: the first seals, every one
   * opens. Imported once, on the first call.
   */
  cryptoKeys(): Promise<readonly CryptoKey[]> {
    this.#imported ??= Promise.all(
      this.#raw.map((raw) =>
        crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, { name: "AES-GCM" }, false, [
          "encrypt",
          "decrypt",
        ])
      ),
    );
    return this.#imported;
  }
}

/**
 * The raw bytes of `keyring`'s keys, in order: for the sealing transport, which
 * seals with `node:crypto`. Not part of the public API (mod.ts does not export it).
 */
export function keyMaterial(keyring: Keyring): readonly Uint8Array[] {
  return RAW.get(keyring)!;
}

/** Each keyring's raw keys, for {@linkcode keyMaterial}. */
const RAW = new WeakMap<Keyring, readonly Uint8Array[]>();

/**
 * Parses a key file: one base64 key of 32 bytes a line, blank lines and lines
 * starting with `#` ignored, spaces around a key allowed. Throws
 * {@linkcode KeyringError} naming the line for a line that is not base64 or
 * not 32 bytes, and for a text with no key at all.
 *
 * @example
 * ```ts
 * import { parseKeyring } from "./keyring.ts";
 * const keyring = parseKeyring(`# the group's keys, newest first
 * 6b0Jb7vVY1mH4Q0o9F3sZ2xw8lqJ5Ckq1cR7dU2yTgA=
 * `);
 * console.log(keyring.size); // 1
 * ```
 */
export function parseKeyring(text: string): Keyring {
  const keys: Uint8Array[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (!BASE64.test(line)) {
      throw new KeyringError("not a base64 key (make one with: openssl rand -base64 32)", i + 1);
    }
    const bytes = Uint8Array.from(atob(line), (c) => c.charCodeAt(0));
    if (bytes.length !== KEY_BYTES) {
      throw new KeyringError(
        `the key is ${bytes.length} bytes, not ${KEY_BYTES} (openssl rand -base64 32)`,
        i + 1,
      );
    }
    keys.push(bytes);
  });
  if (keys.length === 0) {
    throw new KeyringError("no key in it (one base64 key a line: openssl rand -base64 32)", null);
  }
  return new Keyring(keys);
}

/**
 * A new random key as a key file line (what `openssl rand -base64 32` prints).
 *
 * @example
 * ```ts
 * import { generateKey, parseKeyring } from "./keyring.ts";
 * const keyring = parseKeyring(generateKey() + "\n" + generateKey());
 * console.log(keyring.size); // 2
 * ```
 */
export function generateKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(KEY_BYTES))));
}
