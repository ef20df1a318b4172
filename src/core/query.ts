/**
 * Queries: a question to every member of the view, and each member's answer.
 * The core only carries them: asking sends a QUERY to every other member and
 * hands the question to its own host as well (a `query` effect); an arriving
 * QUERY from a member of the view becomes a `query` effect; the host runs the
 * handler and gives the answer back ({@linkcode sendAnswer}), which goes out
 * as an ANSWER (or, to itself, as an `answer` effect). Matching answers to
 * queries, the timeout and who did not answer are the host's: the core keeps
 * no state for them.
 *
 * @module
 */

import type { IncomingAnswer } from "./effects.ts";
import type { AnswerMessage, QueryMessage } from "./messages.ts";
import type { Node } from "./node.ts";

/** A query's answer, as the host gives it back: bytes, or why there are none. */
export type QueryReply =
  | { readonly payload: Uint8Array; readonly error?: undefined }
  | { readonly payload?: undefined; readonly error: string };

/**
 * Asks `name` of every member of the view, this peer included; returns the
 * members asked (none while joining: nothing is sent).
 */
export function sendQuery(
  n: Node,
  queryId: number,
  name: string,
  payload: Uint8Array,
  timeoutMs: number,
): readonly number[] {
  const view = n.view;
  if (!view) return [];
  for (const to of n.others(view)) n.send(to, { type: "QUERY", queryId, name, payload, timeoutMs });
  n.out.push({ kind: "query", query: { from: n.id, queryId, name, payload, timeoutMs } });
  return view.members;
}

/**
 * A QUERY arrived: a member of the view (as the run the view holds) has it
 * answered; anyone else's is dropped, since a handler may run a command.
 */
export function onQuery(n: Node, m: QueryMessage): void {
  if (!n.isMember(m.from, m.incarnation)) {
    return n.log("info", `dropped QUERY ${m.name} from peer ${m.from}: not a member of view`, "query-sender");
  }
  const { from, queryId, name, payload, timeoutMs } = m;
  n.out.push({ kind: "query", query: { from, queryId, name, payload, timeoutMs } });
}

/** An ANSWER arrived: the host matches it to its query (a late or unknown one it drops). */
export function onAnswer(n: Node, m: AnswerMessage): void {
  n.out.push({
    kind: "answer",
    answer: { from: m.from, queryId: m.queryId, payload: m.payload, error: m.error },
  });
}

/** Sends the answer to query `queryId` of peer `to` (to itself: an `answer` effect). */
export function sendAnswer(n: Node, to: number, queryId: number, reply: QueryReply): void {
  const answer: IncomingAnswer = {
    from: n.id,
    queryId,
    payload: reply.payload ?? null,
    error: reply.payload ? null : reply.error ?? "",
  };
  if (to === n.id) return void n.out.push({ kind: "answer", answer });
  n.send(to, { type: "ANSWER", queryId, payload: answer.payload, error: answer.error });
}
