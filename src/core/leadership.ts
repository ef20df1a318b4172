/**
 * The leader's state: its ballot, the operations waiting their turn, and the
 * one view change running.
 *
 * @module
 */

import type { Ballot, Operation, PeerId, Proposal } from "./messages.ts";

/** Why the leader queued an operation. */
export type Reason = "join" | "failed" | "restart" | "left";

/** The view change in progress: its REQ and the OKs gathered so far. */
export interface RunningChange {
  /** The REQ's request id. */
  readonly requestId: number;
  /** What is proposed. */
  readonly proposal: Proposal;
  /** Members that accepted it (the leader included). */
  readonly oks: Set<PeerId>;
  /** When its REQ last went out. */
  sentAt: number;
}

const sameOp = (a: Operation, b: Operation) =>
  a.kind === b.kind && a.peer === b.peer && a.incarnation === b.incarnation;

/**
 * A leader's queue and running view change.
 *
 * @example
 * ```ts
 * import { Leadership } from "./leadership.ts";
 * const leadership = new Leadership({ round: 0, leader: 1 });
 * leadership.enqueue({ kind: "ADD", peer: 2, incarnation: 7 }, "join");
 * leadership.queue.length; // 1
 * ```
 */
export class Leadership {
  /** The ballot this peer leads under. */
  readonly ballot: Ballot;
  /** Operations waiting their turn, oldest first. */
  readonly queue: { op: Operation; reason: Reason }[] = [];
  /** The view change running, if any. */
  current: RunningChange | null = null;

  /** Leadership under `ballot`, with nothing queued or running. */
  constructor(ballot: Ballot) {
    this.ballot = ballot;
  }

  /** Queues `op` unless it is running or queued already. */
  enqueue(op: Operation, reason: Reason): void {
    const cur = this.current?.proposal.op;
    if ((cur && sameOp(cur, op)) || this.queue.some((q) => sameOp(q.op, op))) return;
    this.queue.push({ op, reason });
  }

  /** How many joiners are waiting. */
  joinersWaiting(): number {
    return this.queue.filter((q) => q.op.kind === "ADD").length;
  }

  /** Starts a view change: the leader's own OK counts at once. */
  begin(requestId: number, proposal: Proposal, self: PeerId, now: number): RunningChange {
    this.current = { requestId, proposal, oks: new Set([self]), sentAt: now };
    return this.current;
  }
}
