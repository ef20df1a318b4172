/**
 * Sealing: a {@linkcode Transport} wrapper that encrypts and authenticates
 * every message with the group's {@linkcode Keyring} (AES-256-GCM, from
 * WebCrypto), and drops anything that does not open or was seen before. The
 * protocol core and the codec do not change; without a keyring nothing is
 * wrapped and the wire stays plain text.
 *
 * A sealed message (a datagram as is; a stream line as its base64, since a
 * stream line cannot hold a newline):
 *
 * ```text
 * 0x53 'S' | version 1 | nonce (12 random bytes) | AES-256-GCM ciphertext and 16-byte tag
 * ```
 *
 * of the plaintext `run id (8 random bytes, one per SealedTransport) |
 * counter (uint64, +1 a message) | sent-at (uint64, ms since the epoch) |
 * payload`. The additional authenticated data is the two header bytes and the
 * destination's address as the hostsfile names it, so a message recorded on
 * its way to one member cannot be replayed to another.
 *
 * Replay protection: per run id, the highest counter seen and a window of
 * {@linkcode REPLAY_WINDOW} counters below it (for reordered datagrams); a
 * counter seen before, or below the window, is dropped. A message sent more
 * than {@linkcode FRESHNESS_MS} away from now (by the receiver's clock) is
 * dropped, which covers recordings from an earlier run; a run id's state is
 * forgotten {@linkcode FORGET_AFTER_MS} after its last message, when nothing
 * of it could still be fresh.
 *
 * @module
 */

import type { KeyObject } from "node:crypto";
import type { HostAddress } from "../core/hostsfile.ts";
import { keyMaterial, type Keyring } from "./keyring.ts";
import { addressKey, type Packet, type Transport, type TransportHandlers } from "./transport.ts";

/** The first byte of a sealed message ('S'). */
export const SEAL_MAGIC = 0x53;
/** The sealed format's version. */
export const SEAL_VERSION = 1;
/** The AES-GCM nonce length, in bytes. */
export const NONCE_BYTES = 12;
/** The AES-GCM tag length, in bytes. */
export const TAG_BYTES = 16;
/** run id + counter + sent-at, in bytes. */
const INNER_HEADER = 24;
/** Bytes a sealed message adds to its payload (before the stream's base64). */
export const SEAL_OVERHEAD: number = 2 + NONCE_BYTES + INNER_HEADER + TAG_BYTES;
/** How far a message's sent-at may be from the receiver's clock, in ms. */
export const FRESHNESS_MS = 30_000;
/** A run id's replay state is forgotten after this long without a message from it. */
export const FORGET_AFTER_MS = 2 * FRESHNESS_MS;
/** Counters below the highest seen that are still accepted once (reordered datagrams). */
export const REPLAY_WINDOW = 1024;

/** What is bound into a sealed message besides its payload. */
export interface SealHeader {
  /** The sending instance's run id: 8 bytes. */
  readonly runId: Uint8Array;
  /** The message's number within the run. */
  readonly counter: number;
  /** When it was sent, ms since the epoch. */
  readonly sentAt: number;
}

/** What {@linkcode openSealed} returns. */
export type OpenResult =
  | { readonly ok: true; readonly header: SealHeader; readonly payload: Uint8Array }
  | { readonly ok: false; readonly error: string };

const encoder = new TextEncoder();

function aad(to: string): Uint8Array<ArrayBuffer> {
  const dest = encoder.encode(to);
  const out = new Uint8Array(2 + dest.length);
  out[0] = SEAL_MAGIC;
  out[1] = SEAL_VERSION;
  out.set(dest, 2);
  return out;
}

/**
 * Seals `payload` for the member at `to` (its address as the hostsfile names it).
 *
 * @example
 * ```ts
 * import { Keyring, openSealed, seal } from "../../mod.ts";
 * const keyring = new Keyring([crypto.getRandomValues(new Uint8Array(32))]);
 * const [key] = await keyring.cryptoKeys();
 * const header = { runId: new Uint8Array(8), counter: 1, sentAt: Date.now() };
 * const sealed = await seal(key, "127.0.0.1:7601", header, new TextEncoder().encode("hi"));
 * const opened = await openSealed(await keyring.cryptoKeys(), "127.0.0.1:7601", sealed);
 * console.log(opened.ok); // true
 * ```
 */
export async function seal(
  key: CryptoKey,
  to: string,
  header: SealHeader,
  payload: Uint8Array,
): Promise<Uint8Array> {
  const plain = innerPlain(header, payload);
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const cipher = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad(to) }, key, plain),
  );
  const out = new Uint8Array(2 + NONCE_BYTES + cipher.length);
  out[0] = SEAL_MAGIC;
  out[1] = SEAL_VERSION;
  out.set(nonce, 2);
  out.set(cipher, 2 + NONCE_BYTES);
  return out;
}

/**
 * Opens a sealed message addressed to `self` with any of `keys`. Never
 * throws and never rejects: bytes that are not a sealed message, or that no
 * key opens, come back as `{ ok: false }`.
 *
 * @example
 * ```ts
 * import { Keyring, openSealed } from "../../mod.ts";
 * const keys = await new Keyring([new Uint8Array(32)]).cryptoKeys();
 * const opened = await openSealed(keys, "127.0.0.1:7601", new TextEncoder().encode("JOIN"));
 * console.log(opened.ok); // false
 * ```
 */
export async function openSealed(
  keys: readonly CryptoKey[],
  self: string,
  bytes: Uint8Array,
): Promise<OpenResult> {
  if (bytes.length < SEAL_OVERHEAD || bytes[0] !== SEAL_MAGIC) return { ok: false, error: "not sealed" };
  if (bytes[1] !== SEAL_VERSION) return { ok: false, error: `sealed with unknown version ${bytes[1]}` };
  const nonce = bytes.slice(2, 2 + NONCE_BYTES);
  const cipher = bytes.slice(2 + NONCE_BYTES);
  const additionalData = aad(self);
  for (const key of keys) {
    let plain: Uint8Array;
    try {
      plain = new Uint8Array(
        await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData }, key, cipher),
      );
    } catch {
      continue; // not this key (or tampered with): try the next
    }
    return innerHeader(plain);
  }
  return { ok: false, error: "does not open" };
}

/** Sealing and opening with raw keys, synchronously. */
export interface SyncSealing {
  /** As {@linkcode seal}, with a raw 32-byte key. */
  seal(key: Uint8Array, to: string, header: SealHeader, payload: Uint8Array): Uint8Array;
  /** As {@linkcode openSealed}, with raw 32-byte keys. */
  open(keys: readonly Uint8Array[], self: string, bytes: Uint8Array): OpenResult;
}

/**
 * The code {@linkcode SealedTransport} seals and opens with (`node:crypto`,
 * synchronous), as functions of raw keys: so that the tamper and property
 * tests run on what the transport runs, not only on the WebCrypto
 * {@linkcode seal} and {@linkcode openSealed}. Not part of the public API.
 */
export async function transportSealing(): Promise<SyncSealing> {
  const nodeCrypto = await import("node:crypto");
  const keyOf = (key: Uint8Array) => nodeCrypto.createSecretKey(key);
  return {
    seal: (key, to, header, payload) => sealNow(nodeCrypto, keyOf(key), aad(to), header, payload),
    open: (keys, self, bytes) => openNow(nodeCrypto, keys.map(keyOf), aad(self), bytes),
  };
}

/** `node:crypto`, loaded only by a transport that seals (it adds several MiB to a process). */
type NodeCrypto = typeof import("node:crypto");

/** The plaintext that is sealed: run id, counter, sent-at, payload. */
function innerPlain(header: SealHeader, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  if (header.runId.length !== 8) throw new RangeError("a run id is 8 bytes");
  const plain = new Uint8Array(INNER_HEADER + payload.length);
  plain.set(header.runId, 0);
  const view = new DataView(plain.buffer);
  writeUint64(view, 8, header.counter);
  writeUint64(view, 16, Math.max(0, Math.floor(header.sentAt)));
  plain.set(payload, INNER_HEADER);
  return plain;
}

/** A safe integer as a big-endian uint64 (without going through BigInt). */
function writeUint64(view: DataView, at: number, n: number): void {
  view.setUint32(at, Math.floor(n / 2 ** 32));
  view.setUint32(at + 4, n >>> 0);
}

/**
 * The same seal as {@linkcode seal}, synchronously with `node:crypto`: a heartbeat-sized message
 * costs a few µs this way, where WebCrypto's AES-GCM is a promise and a thread hop each time.
 */
function sealNow(
  nodeCrypto: NodeCrypto,
  key: KeyObject,
  additionalData: Uint8Array,
  header: SealHeader,
  payload: Uint8Array,
): Uint8Array {
  const plain = innerPlain(header, payload);
  const out = new Uint8Array(2 + NONCE_BYTES + plain.length + TAG_BYTES);
  out[0] = SEAL_MAGIC;
  out[1] = SEAL_VERSION;
  const nonce = out.subarray(2, 2 + NONCE_BYTES);
  crypto.getRandomValues(nonce);
  const cipher = nodeCrypto.createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(additionalData);
  let at = 2 + NONCE_BYTES;
  for (const part of [cipher.update(plain), cipher.final(), cipher.getAuthTag()]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The same as {@linkcode openSealed}, synchronously with `node:crypto`. */
function openNow(
  nodeCrypto: NodeCrypto,
  keys: readonly KeyObject[],
  additionalData: Uint8Array,
  bytes: Uint8Array,
): OpenResult {
  if (bytes.length < SEAL_OVERHEAD || bytes[0] !== SEAL_MAGIC) return { ok: false, error: "not sealed" };
  if (bytes[1] !== SEAL_VERSION) return { ok: false, error: `sealed with unknown version ${bytes[1]}` };
  const nonce = bytes.subarray(2, 2 + NONCE_BYTES);
  const cipher = bytes.subarray(2 + NONCE_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  for (const key of keys) {
    let plain: Uint8Array;
    try {
      const decipher = nodeCrypto.createDecipheriv("aes-256-gcm", key, nonce);
      decipher.setAAD(additionalData);
      decipher.setAuthTag(tag);
      const head = decipher.update(cipher);
      const tail = decipher.final();
      plain = new Uint8Array(head.length + tail.length);
      plain.set(head);
      plain.set(tail, head.length);
    } catch {
      continue; // not this key (or tampered with): try the next
    }
    return innerHeader(plain);
  }
  return { ok: false, error: "does not open" };
}

/** The header and payload of an opened plaintext. */
function innerHeader(plain: Uint8Array): OpenResult {
  if (plain.length < INNER_HEADER) return { ok: false, error: "sealed message too short" };
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const counter = view.getBigUint64(8);
  const sentAt = view.getBigUint64(16);
  if (counter > BigInt(Number.MAX_SAFE_INTEGER) || sentAt > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { ok: false, error: "sealed message with an impossible counter or time" };
  }
  return {
    ok: true,
    header: { runId: plain.slice(0, 8), counter: Number(counter), sentAt: Number(sentAt) },
    payload: plain.slice(INNER_HEADER),
  };
}

/** One sending run's replay state. */
interface RunState {
  /** The highest counter accepted. */
  max: number;
  /** Bit `c % REPLAY_WINDOW` set: counter `c` (within the window) was accepted. */
  readonly seen: Uint8Array;
  /** The clock when its last message was accepted. */
  lastAt: number;
}

/**
 * Remembers which messages of each sending run were accepted; see the module
 * documentation. `check` says why a message must be dropped, or null and
 * records it.
 *
 * @example
 * ```ts
 * import { ReplayGuard } from "./sealed.ts";
 * const guard = new ReplayGuard();
 * const header = { runId: new Uint8Array(8), counter: 1, sentAt: Date.now() };
 * guard.check(header, Date.now()); // null: accepted
 * guard.check(header, Date.now()); // "replayed"
 * ```
 */
export class ReplayGuard {
  readonly #runs = new Map<string, RunState>();
  #lastSweep = 0;

  /** How many runs it remembers now. */
  get size(): number {
    return this.#runs.size;
  }

  /** Null if the message is fresh and new (now recorded), else why it is dropped. */
  check(header: SealHeader, now: number): "replayed" | "stale" | null {
    this.#sweep(now);
    if (Math.abs(header.sentAt - now) > FRESHNESS_MS) return "stale";
    const id = hex(header.runId);
    const c = header.counter;
    let run = this.#runs.get(id);
    if (!run) {
      run = { max: c, seen: new Uint8Array(REPLAY_WINDOW / 8), lastAt: now };
      this.#runs.set(id, run);
      setBit(run.seen, c);
      return null;
    }
    if (c > run.max) {
      if (c - run.max >= REPLAY_WINDOW) run.seen.fill(0);
      else for (let i = run.max + 1; i < c; i++) clearBit(run.seen, i);
      run.max = c;
    } else if (run.max - c >= REPLAY_WINDOW || getBit(run.seen, c)) {
      return "replayed";
    }
    setBit(run.seen, c);
    run.lastAt = now;
    return null;
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < FRESHNESS_MS / 4) return;
    this.#lastSweep = now;
    for (const [id, run] of this.#runs) {
      if (now - run.lastAt > FORGET_AFTER_MS) this.#runs.delete(id);
    }
  }
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b];
  return s;
}

const bit = (c: number) => c % REPLAY_WINDOW;
function setBit(bits: Uint8Array, c: number): void {
  bits[bit(c) >> 3] |= 1 << (bit(c) & 7);
}
function clearBit(bits: Uint8Array, c: number): void {
  bits[bit(c) >> 3] &= ~(1 << (bit(c) & 7));
}
function getBit(bits: Uint8Array, c: number): boolean {
  return (bits[bit(c) >> 3] & (1 << (bit(c) & 7))) !== 0;
}

/** A stream line holds no newline: a sealed message goes as its base64 there. */
function toBase64(bytes: Uint8Array): Uint8Array {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return encoder.encode(btoa(s));
}

const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;
const decoder = new TextDecoder();

function fromBase64(line: Uint8Array): Uint8Array | null {
  const text = decoder.decode(line);
  if (text.length % 4 !== 0 || !BASE64_LINE.test(text)) return null;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Options of a {@linkcode SealedTransport}. */
export interface SealedTransportOptions {
  /**
   * This peer's address as the hostsfile names it (what other members send
   * to); sealed messages are bound to it. Default: the address it listens on.
   */
  readonly self?: HostAddress;
  /** The clock for sent-at and freshness, ms since the epoch (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Where dropped messages are reported (default: the handlers'
   * `onDiagnostic`); `key` is `"sealed"`, for rate limiting.
   */
  readonly onDrop?: (text: string, key: string) => void;
  /** How diagnostics name a sender (default: its address; see `senderName`). */
  readonly nameSender?: (from: HostAddress) => string;
}

/**
 * Whether bytes received look sealed (a datagram as sent, or a stream line's
 * base64): what a peer without a keyring tells a user it got.
 */
export function looksSealed(bytes: Uint8Array): boolean {
  if (bytes[0] === SEAL_MAGIC && bytes[1] === SEAL_VERSION) return true;
  // base64 of 0x53 0x01 and the nonce's first bits: "Uw" then E, F, G or H.
  return bytes[0] === 0x55 && bytes[1] === 0x77 && bytes[2] >= 0x45 && bytes[2] <= 0x48;
}

/**
 * A transport that seals what it sends and opens what it receives with a
 * keyring; see the module documentation for the format and the replay
 * protection. The keyring can be replaced while it runs
 * ({@linkcode SealedTransport.setKeyring}), which is how keys rotate.
 *
 * @example
 * ```ts
 * import { generateKey, MemoryNetwork, parseKeyring, SealedTransport, startPeer } from "../../mod.ts";
 * const keyring = parseKeyring(generateKey());
 * const net = new MemoryNetwork();
 * const transport = new SealedTransport(net.transport(), keyring);
 * const peer = await startPeer({ hosts: [{ hostname: "127.0.0.1", port: 7601 }], id: 1, transport });
 * await peer.stop();
 * await net.close();
 * ```
 */
export class SealedTransport implements Transport {
  readonly #inner: Transport;
  readonly #options: SealedTransportOptions;
  readonly #now: () => number;
  readonly #runId = crypto.getRandomValues(new Uint8Array(8));
  readonly #guard = new ReplayGuard();
  #keyring: Keyring;
  /** `#keyring`'s keys for `node:crypto`, made when it is first used. */
  #keys: { readonly keyring: Keyring; readonly keys: readonly KeyObject[] } | null = null;
  #counter = 0;
  #self = "";
  /** The additional data bound into what is sent to each destination, and into what this peer opens. */
  readonly #additionalData = new Map<string, Uint8Array>();
  /** No new work once set. */
  #closed = false;
  #handlers: TransportHandlers | null = null;
  /** Set once `node:crypto` is loaded; until then, work waits in `#backlog`, in order. */
  #crypto: NodeCrypto | null = null;
  readonly #loading: Promise<void>;
  #backlog: (() => void)[] = [];

  /** Wraps `inner`; messages are sealed with `keyring`'s first key. */
  constructor(inner: Transport, keyring: Keyring, options: SealedTransportOptions = {}) {
    this.#inner = inner;
    this.#keyring = keyring;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#loading = import("node:crypto").then((nodeCrypto) => {
      this.#crypto = nodeCrypto;
      const backlog = this.#backlog;
      this.#backlog = [];
      for (const work of backlog) work();
    });
  }

  /** The keyring in use. */
  get keyring(): Keyring {
    return this.#keyring;
  }

  /** Replaces the keyring: what is sent from now on is sealed with its first key; every key opens. */
  setKeyring(keyring: Keyring): void {
    this.#keyring = keyring;
  }

  /** Binds through the inner transport; what arrives is opened before `handlers` see it. */
  async listen(local: HostAddress, handlers: TransportHandlers): Promise<void> {
    this.#self = addressKey(this.#options.self ?? local);
    this.#handlers = handlers;
    await this.#loading;
    return await this.#inner.listen(local, {
      onStream: (packet) => this.#receive(packet, "stream"),
      onDatagram: (packet) => this.#receive(packet, "datagram"),
      onDiagnostic: (text, level) => handlers.onDiagnostic(text, level),
    });
  }

  /** Seals and sends over the stream, in order per destination. */
  sendStream(to: HostAddress, bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#whenLoaded(() => {
      const sealed = this.#seal(addressKey(to), bytes);
      if (sealed) this.#inner.sendStream(to, toBase64(sealed));
    });
  }

  /** Seals and sends one datagram. */
  sendDatagram(to: HostAddress, bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#whenLoaded(() => {
      const sealed = this.#seal(addressKey(to), bytes);
      if (sealed) this.#inner.sendDatagram(to, sealed);
    });
  }

  /** Drops the inner stream connection to `to`. */
  reset(to: HostAddress): void {
    this.#inner.reset(to);
  }

  /** Resolves once every message sent so far is sealed and handed on, and the inner transport flushed. */
  async flush(): Promise<void> {
    await this.#loading;
    await this.#inner.flush();
  }

  /** Sends what was handed to it so far, then closes the inner transport. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#loading;
    await this.#inner.close();
  }

  /** Runs `work` now, or once `node:crypto` is loaded (in the order it was asked for). */
  #whenLoaded(work: () => void): void {
    if (this.#crypto) work();
    else this.#backlog.push(work);
  }

  /** The keyring's keys for `node:crypto`, made once per keyring. */
  #keyObjects(): readonly KeyObject[] {
    const keyring = this.#keyring;
    if (this.#keys?.keyring !== keyring) {
      const make = this.#crypto!.createSecretKey;
      this.#keys = { keyring, keys: keyMaterial(keyring).map((raw) => make(raw)) };
    }
    return this.#keys.keys;
  }

  /** The additional data for messages to `to` (a hostsfile address: few, so each is kept). */
  #aad(to: string): Uint8Array {
    let data = this.#additionalData.get(to);
    if (!data) {
      if (this.#additionalData.size >= 4096) this.#additionalData.clear(); // bounded, whatever `to` is
      this.#additionalData.set(to, data = aad(to));
    }
    return data;
  }

  /** Seals; null (with a diagnostic) if sealing failed. */
  #seal(to: string, bytes: Uint8Array): Uint8Array | null {
    const header = { runId: this.#runId, counter: ++this.#counter, sentAt: this.#now() };
    try {
      return sealNow(this.#crypto!, this.#keyObjects()[0], this.#aad(to), header, bytes);
    } catch (e) {
      this.#handlers?.onDiagnostic(`cannot seal a message to ${to}: ${e}`);
      return null;
    }
  }

  #receive(packet: Packet, via: "stream" | "datagram"): void {
    if (this.#closed || !this.#handlers) return;
    const from = this.#options.nameSender?.(packet.from) ?? addressKey(packet.from);
    const opened = this.#open(packet, via);
    if (!opened.ok) return this.#drop(`dropped a message from ${from}: ${opened.error}`);
    const why = this.#guard.check(opened.header, this.#now());
    if (why) {
      const text = why === "stale"
        ? `dropped a stale message from ${from} (sent ${
          Math.round((this.#now() - opened.header.sentAt) / 1000)
        } s ago: a recording, or clocks apart)`
        : `dropped a replayed message from ${from}`;
      return this.#drop(text);
    }
    const delivered = { bytes: opened.payload, from: packet.from, receivedAt: packet.receivedAt };
    if (via === "stream") this.#handlers.onStream(delivered);
    else this.#handlers.onDatagram(delivered);
  }

  #open(packet: Packet, via: "stream" | "datagram"): OpenResult {
    const bytes = via === "stream" ? fromBase64(packet.bytes) : packet.bytes;
    if (bytes === null) return { ok: false, error: "not sealed (wrong key? or no key)" };
    try {
      const opened = openNow(this.#crypto!, this.#keyObjects(), this.#aad(this.#self), bytes);
      if (opened.ok) return opened;
      return { ok: false, error: `${opened.error} (wrong key?)` };
    } catch (e) {
      return { ok: false, error: `cannot open: ${e} (wrong key?)` };
    }
  }

  #drop(text: string): void {
    if (this.#options.onDrop) this.#options.onDrop(text, "sealed");
    else this.#handlers?.onDiagnostic(text);
  }
}
