/**
 * The leader's state: its ballot, the operations waiting their turn, and the
 * one view change running.
 *
 * @module
 */

import {
  type Ballot,
  MAX_PROPOSAL_OPERATIONS,
  type Operation,
  type PeerId,
  type Proposal,
  type UserEvent,
} from "./messages.ts";
import { proposalOps } from "./view.ts";

/** Why the leader queued an operation. */
export type Reason = "join" | "failed" | "restart" | "left" | "tags";

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
  /** User events that wait for the view change running to be ordered in the next view, by key. */
  readonly waiting = new Map<string, UserEvent>();

  /** Leadership under `ballot`, with nothing queued or running. */
  constructor(ballot: Ballot) {
    this.ballot = ballot;
  }

  /** Queues `op` unless it is running or queued already. */
  enqueue(op: Operation, reason: Reason): void {
    const running = this.current ? proposalOps(this.current.proposal) : [];
    if (running.some((r) => sameOp(r, op)) || this.queue.some((q) => sameOp(q.op, op))) return;
    this.queue.push({ op, reason });
  }

  /**
   * Takes what the next view change commits off the queue, oldest first:
   * operations `wanted` rejects are dropped. Unbatched, that is the first
   * wanted operation; batched, every wanted one up to
   * {@linkcode MAX_PROPOSAL_OPERATIONS}, one per peer: an operation on a peer
   * already taken (the re-ADD of a restarted run after its DEL) stays queued
   * for the next change, as does everything beyond the cap.
   */
  take(batched: boolean, wanted: (op: Operation, reason: Reason) => boolean): Operation[] {
    const taken: Operation[] = [];
    const peers = new Set<PeerId>();
    const limit = batched ? MAX_PROPOSAL_OPERATIONS : 1;
    let i = 0;
    while (i < this.queue.length && taken.length < limit) {
      const { op, reason } = this.queue[i];
      if (peers.has(op.peer)) {
        i++; // its turn comes in the next change
      } else if (!wanted(op, reason)) {
        this.queue.splice(i, 1);
      } else {
        this.queue.splice(i, 1);
        taken.push(op);
        peers.add(op.peer);
      }
    }
    return taken;
  }

  /** Starts a view change: the leader's own OK counts at once. */
  begin(requestId: number, proposal: Proposal, self: PeerId, now: number): RunningChange {
    this.current = { requestId, proposal, oks: new Set([self]), sentAt: now };
    return this.current;
  }
}
