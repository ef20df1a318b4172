/**
 * Newline framing of the message stream, on bytes: a frame is a payload
 * followed by `\n`. Splitting never decodes text, so a multi-byte character
 * cut between two chunks comes out intact, and the bound on a frame's length
 * means a peer that never sends a newline cannot make us buffer without end.
 *
 * @module
 */

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * The transport's own bound on a frame, in bytes: 24 MiB. Larger than any
 * message the codec accepts (16 MiB), sealed and in base64 too (4/3 of it), so
 * the codec's stricter limit is the one that speaks.
 *
 * @example
 * ```ts
 * import { FrameSplitter, MAX_FRAME_BYTES } from "./framing.ts";
 * const splitter = new FrameSplitter(MAX_FRAME_BYTES);
 * ```
 */
export const MAX_FRAME_BYTES = 25_165_824;

/**
 * One payload as a frame: its bytes and a newline. The payload must not
 * contain a newline itself (the codec's output never does).
 *
 * @example
 * ```ts
 * import { frame } from "./framing.ts";
 * frame(new TextEncoder().encode("hi")); // Uint8Array [104, 105, 10]
 * ```
 */
export function frame(payload: Uint8Array): Uint8Array {
  return frameAll([payload]);
}

/**
 * Several payloads framed into one buffer, so they go out in one write.
 *
 * @example
 * ```ts
 * import { frameAll } from "./framing.ts";
 * const encode = (s: string) => new TextEncoder().encode(s);
 * frameAll([encode("a"), encode("b")]); // the bytes of "a\nb\n"
 * ```
 */
export function frameAll(payloads: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of payloads) length += p.length + 1;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of payloads) {
    out.set(p, at);
    at += p.length;
    out[at++] = NEWLINE;
  }
  return out;
}

/**
 * Turns byte chunks into frames, newline removed (and a `\r` before it, for
 * CRLF); empty frames are skipped. A frame longer than `maxFrameBytes` bytes
 * (counting a trailing `\r`) is dropped whole and counted in
 * {@linkcode FrameSplitter.oversized}; no more than `maxFrameBytes` of a
 * partial frame is ever buffered.
 *
 * @example
 * ```ts
 * import { FrameSplitter } from "./framing.ts";
 * const encode = (s: string) => new TextEncoder().encode(s);
 * const s = new FrameSplitter(100);
 * s.push(encode("a\nb")); // [the bytes of "a"]
 * s.push(encode("c\n")); // [the bytes of "bc"]
 * ```
 */
export class FrameSplitter {
  readonly #maxFrameBytes: number;
  // The partial frame as the chunks it came in, so many small chunks cost no repeated copying.
  #parts: Uint8Array[] = [];
  #partLength = 0;
  #discarding = false;
  /** How many over-long frames were dropped so far (the caller may reset it). */
  oversized = 0;

  /** A splitter that drops frames over `maxFrameBytes` bytes. */
  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Feeds a chunk; returns the complete frames it finished, as fresh copies. */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let start = 0;
    while (start <= chunk.length) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end === -1) {
        this.#keep(chunk.subarray(start));
        break;
      }
      const tail = chunk.subarray(start, end);
      if (this.#discarding) this.#discarding = false; // the end of an over-long frame, counted already
      else if (this.#partLength + tail.length > this.#maxFrameBytes) this.oversized++;
      else {
        const f = this.#take(tail);
        if (f.length > 0) frames.push(f);
      }
      this.#parts = [];
      this.#partLength = 0;
      start = end + 1;
    }
    return frames;
  }

  /** Buffers the start of a frame, or starts discarding it once it is too long. */
  #keep(bytes: Uint8Array): void {
    if (this.#discarding || bytes.length === 0) return;
    if (this.#partLength + bytes.length > this.#maxFrameBytes) {
      this.oversized++;
      this.#discarding = true;
      this.#parts = [];
      this.#partLength = 0;
      return;
    }
    // A copy, as the runtime may reuse the chunk's buffer (and Node's Buffer#slice would not copy).
    this.#parts.push(new Uint8Array(bytes));
    this.#partLength += bytes.length;
  }

  /** The buffered start and `tail` as one frame, without a trailing `\r`. */
  #take(tail: Uint8Array): Uint8Array {
    let length = this.#partLength + tail.length;
    const last = tail.length > 0 ? tail[tail.length - 1] : this.#parts.at(-1)?.at(-1);
    if (last === CARRIAGE_RETURN) length--;
    const out = new Uint8Array(length);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p.subarray(0, length - at), at);
      at += p.length;
    }
    if (at < length) out.set(tail.subarray(0, length - at), at);
    return out;
  }
}
