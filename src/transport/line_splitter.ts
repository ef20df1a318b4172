/**
 * Newline framing for the message stream, with a bound on line length so a
 * peer that never sends a newline cannot make us buffer without end.
 *
 * @module
 */

/**
 * Turns byte chunks into lines. Lines longer than `maxLength` characters are
 * dropped whole and counted in {@linkcode LineSplitter.oversized}.
 *
 * @example
 * ```ts
 * import { LineSplitter } from "./line_splitter.ts";
 * const s = new LineSplitter(100);
 * s.push(new TextEncoder().encode("a\nb")); // ["a"]
 * s.push(new TextEncoder().encode("c\n")); // ["bc"]
 * ```
 */
export class LineSplitter {
  readonly #decoder = new TextDecoder();
  readonly #maxLength: number;
  #partial = "";
  #discarding = false;
  /** How many over-long lines were dropped so far. */
  oversized = 0;

  /** A splitter that drops lines over `maxLength` characters. */
  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  /** Feeds a chunk; returns the complete lines it finished. */
  push(chunk: Uint8Array): string[] {
    const parts = (this.#partial + this.#decoder.decode(chunk, { stream: true })).split("\n");
    this.#partial = parts.pop()!;
    const lines: string[] = [];
    for (const part of parts) {
      if (this.#discarding) this.#discarding = false; // the end of an over-long line
      else if (part.length > this.#maxLength) this.oversized++;
      else if (part.length > 0) lines.push(part.endsWith("\r") ? part.slice(0, -1) : part);
    }
    if (this.#partial.length > this.#maxLength) {
      if (!this.#discarding) this.oversized++;
      this.#discarding = true;
      this.#partial = "";
    }
    return lines;
  }
}
