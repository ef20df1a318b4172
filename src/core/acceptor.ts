/**
 * The Paxos acceptor of one peer: the ballot it promised and the proposal it
 * accepted (its *pending* operation). The members of view `v` are the
 * acceptors that choose view `v + 1`.
 *
 * @module
 */

import { compareBallots, NO_BALLOT } from "./ballot.ts";
import { compareEpochs } from "./epoch.ts";
import type { Ballot, Epoch, FormAcceptance, Operation, Proposal, View } from "./messages.ts";
import { compareViews, proposalOps } from "./view.ts";

const sameOp = (a: Operation, b: Operation) =>
  a.kind === b.kind && a.peer === b.peer && a.incarnation === b.incarnation && !a.left === !b.left;

const sameProposal = (a: Proposal, b: Proposal) => {
  const [aOps, bOps] = [proposalOps(a), proposalOps(b)];
  return a.viewId === b.viewId && a.nextViewId === b.nextViewId && a.leader === b.leader &&
    compareBallots(a.ballot, b.ballot) === 0 &&
    aOps.length === bOps.length && aOps.every((op, i) => sameOp(op, bOps[i]));
};

/**
 * What this peer promised and accepted.
 *
 * @example
 * ```ts
 * import { Acceptor } from "./acceptor.ts";
 * const acceptor = new Acceptor();
 * acceptor.promise({ round: 1, leader: 2 });
 * acceptor.refuses({ round: 0, leader: 1 }); // true
 * ```
 */
export class Acceptor {
  #promised: Ballot = NO_BALLOT;
  #accepted: Proposal | null = null;
  #formAccepted: FormAcceptance | null = null;
  #version = 0;

  /** Starts from what an earlier run of this peer promised and accepted. */
  restore(promised: Ballot, accepted: Proposal | null, formAccepted: FormAcceptance | null): void {
    this.#promised = promised;
    this.#accepted = accepted;
    this.#formAccepted = formAccepted;
  }

  /** Rises whenever what must be durable changes. */
  get version(): number {
    return this.#version;
  }

  /** No REQ or NEWLEADER below this ballot is accepted. */
  get promised(): Ballot {
    return this.#promised;
  }

  /** The accepted, not yet installed, proposal, if any. */
  get accepted(): Proposal | null {
    return this.#accepted;
  }

  /** The accepted proposal if it applies to view `viewId`. */
  acceptedFor(viewId: number): Proposal | null {
    return this.#accepted?.viewId === viewId ? this.#accepted : null;
  }

  /** Whether `ballot` is below the promise. */
  refuses(ballot: Ballot): boolean {
    return compareBallots(ballot, this.#promised) < 0;
  }

  /** The view accepted to form the group anew, if any. */
  get formAccepted(): FormAcceptance | null {
    return this.#formAccepted;
  }

  /** Promises `ballot`, if it is higher than the promise. */
  promise(ballot: Ballot): void {
    if (compareBallots(ballot, this.#promised) <= 0) return;
    this.#promised = ballot;
    this.#version++;
  }

  /** Accepts `proposal`, promising its ballot. */
  accept(proposal: Proposal): void {
    this.promise(proposal.ballot);
    if (this.#accepted && sameProposal(this.#accepted, proposal)) return; // a retransmitted REQ
    this.#accepted = proposal;
    this.#version++;
  }

  /** Accepts a view to form the group anew, promising its ballot. */
  acceptForm(acceptance: FormAcceptance): void {
    this.promise(acceptance.ballot);
    this.#formAccepted = acceptance;
    this.#version++;
  }

  /**
   * Whether this acceptor still votes in views of `epoch`: not once it
   * accepted a view formed in a later epoch. That view may have been chosen,
   * and a view change in the old history beside it would split the group;
   * it finds out by forming anew itself, which proposes that view again.
   */
  votesIn(epoch: Epoch): boolean {
    return !this.#formAccepted || compareEpochs(this.#formAccepted.view.epoch, epoch) <= 0;
  }

  /**
   * `view`, committed under `ballot`, is installed: what was accepted below it
   * (or in another history) is settled.
   */
  installed(view: View, ballot: Ballot, epochChanged: boolean): void {
    if (this.#accepted && (epochChanged || this.#accepted.viewId < view.id)) this.#accepted = null;
    if (this.#formAccepted && compareViews(this.#formAccepted.view, view) <= 0) this.#formAccepted = null;
    this.promise(ballot);
    this.#version++;
  }

  /** Leaving the group: what was accepted no longer matters; the promise stays. */
  forget(): void {
    this.#accepted = null;
    this.#version++;
  }
}
