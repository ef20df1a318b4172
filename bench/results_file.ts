/**
 * Generated sections of `bench/results.md`: a block between two HTML comment
 * markers that one script owns and replaces on each run, leaving everything
 * outside it as it was (and that a full `bench.ts` run carries over).
 *
 * @module
 */

const begin = (name: string) =>
  `<!-- ${name}: begin (generated; replaced on each run, edits inside are lost) -->`;
const end = (name: string) => `<!-- ${name}: end -->`;

/** The section `name` of `text`, markers included, or null if it has none. */
export function extractSection(text: string, name: string): string | null {
  const from = text.indexOf(begin(name));
  const to = text.indexOf(end(name), from);
  if (from === -1 || to === -1) return null;
  return text.slice(from, to + end(name).length);
}

/** `text` with section `name` holding `body` (replaced in place, or appended). */
export function replaceSection(text: string, name: string, body: string[]): string {
  const block = [begin(name), ...body, end(name)].join("\n");
  const old = extractSection(text, name);
  if (old !== null) return text.replace(old, () => block);
  return `${text.trimEnd()}\n\n${block}\n`;
}
