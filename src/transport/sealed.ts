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

import type { HostAddress } from "../core/hostsfile.ts";
import type { Keyring } from "./keyring.ts";
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
  if (header.runId.length !== 8) throw new RangeError("a run id is 8 bytes");
  const plain = new Uint8Array(INNER_HEADER + payload.length);
  plain.set(header.runId, 0);
  const view = new DataView(plain.buffer);
  view.setBigUint64(8, BigInt(header.counter));
  view.setBigUint64(16, BigInt(Math.max(0, Math.floor(header.sentAt))));
  plain.set(payload, INNER_HEADER);
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
  return { ok: false, error: "does not open" };
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

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
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
  #counter = 0;
  #self = "";
  /** No new work once set; what is queued still goes out. */
  #closed = false;
  #innerClosed = false;
  #handlers: TransportHandlers | null = null;
  /** The last stream send queued per destination: stream order is kept. */
  readonly #sendChains = new Map<string, Promise<void>>();
  /** The last delivery queued per sender: delivery order is kept. */
  readonly #receiveChains = new Map<string, Promise<void>>();
  /** Every seal and open still running. */
  readonly #pending = new Set<Promise<void>>();

  /** Wraps `inner`; messages are sealed with `keyring`'s first key. */
  constructor(inner: Transport, keyring: Keyring, options: SealedTransportOptions = {}) {
    this.#inner = inner;
    this.#keyring = keyring;
    this.#options = options;
    this.#now = options.now ?? Date.now;
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
  listen(local: HostAddress, handlers: TransportHandlers): Promise<void> {
    this.#self = addressKey(this.#options.self ?? local);
    this.#handlers = handlers;
    return this.#inner.listen(local, {
      onStream: (packet) => this.#receive(packet, "stream"),
      onDatagram: (packet) => this.#receive(packet, "datagram"),
      onDiagnostic: (text) => handlers.onDiagnostic(text),
    });
  }

  /** Seals and sends over the stream, in order per destination. */
  sendStream(to: HostAddress, bytes: Uint8Array): void {
    if (this.#closed) return;
    const key = addressKey(to);
    const sealing = this.#seal(key, bytes);
    const previous = this.#sendChains.get(key) ?? Promise.resolve();
    const chain = this.#track(
      Promise.all([previous, sealing]).then(([, sealed]) => {
        if (sealed && !this.#innerClosed) this.#inner.sendStream(to, toBase64(sealed));
      }),
      () => {
        if (this.#sendChains.get(key) === chain) this.#sendChains.delete(key);
      },
    );
    this.#sendChains.set(key, chain);
  }

  /** Seals and sends one datagram. */
  sendDatagram(to: HostAddress, bytes: Uint8Array): void {
    if (this.#closed) return;
    const sending = this.#seal(addressKey(to), bytes).then((sealed) => {
      if (sealed && !this.#innerClosed) this.#inner.sendDatagram(to, sealed);
    });
    this.#track(sending);
  }

  /** Drops the inner stream connection to `to`. */
  reset(to: HostAddress): void {
    this.#inner.reset(to);
  }

  /** Resolves once every message sent so far is sealed and handed on, and the inner transport flushed. */
  async flush(): Promise<void> {
    await Promise.all([...this.#sendChains.values()]);
    await this.#inner.flush();
  }

  /**
   * Sends what is already being sealed, then closes the inner transport;
   * resolves when no seal or open is left running.
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
    this.#innerClosed = true;
    await this.#inner.close();
  }

  /** Seals; resolves with null (never rejects) if sealing failed. */
  async #seal(to: string, bytes: Uint8Array): Promise<Uint8Array | null> {
    const header = { runId: this.#runId, counter: ++this.#counter, sentAt: this.#now() };
    try {
      const [key] = await this.#keyring.cryptoKeys();
      return await seal(key, to, header, bytes);
    } catch (e) {
      this.#handlers?.onDiagnostic(`cannot seal a message to ${to}: ${e}`);
      return null;
    }
  }

  #receive(packet: Packet, via: "stream" | "datagram"): void {
    if (this.#closed) return;
    const from = addressKey(packet.from);
    const keyring = this.#keyring;
    // Opening starts now; delivery waits for the sender's earlier messages.
    const opening = this.#open(packet, via, keyring);
    const previous = this.#receiveChains.get(from) ?? Promise.resolve();
    const chain = this.#track(
      Promise.all([previous, opening]).then(([, opened]) => {
        if (this.#closed || !this.#handlers) return;
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
      }),
      () => {
        if (this.#receiveChains.get(from) === chain) this.#receiveChains.delete(from);
      },
    );
    this.#receiveChains.set(from, chain);
  }

  async #open(packet: Packet, via: "stream" | "datagram", keyring: Keyring): Promise<OpenResult> {
    const bytes = via === "stream" ? fromBase64(packet.bytes) : packet.bytes;
    if (bytes === null) return { ok: false, error: "not sealed (wrong key? or no key)" };
    try {
      const opened = await openSealed(await keyring.cryptoKeys(), this.#self, bytes);
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

  /** `work` caught (the result never rejects), kept in the pending set until it settles. */
  #track(work: Promise<void>, after: () => void = () => {}): Promise<void> {
    const tracked: Promise<void> = work.catch((e) => this.#handlers?.onDiagnostic(`sealing: ${e}`)).finally(
      () => {
        this.#pending.delete(tracked);
        after();
      },
    );
    this.#pending.add(tracked);
    return tracked;
  }
}
