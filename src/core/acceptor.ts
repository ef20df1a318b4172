/**
 * The Paxos acceptor of one peer: the ballot it promised and the proposal it
 * accepted (its *pending* operation). The members of view `v` are the
 * acceptors that choose view `v + 1`.
 *
 * @module
 */

import { compareBallots, maxBallot, NO_BALLOT } from "./ballot.ts";
import type { Ballot, Proposal } from "./messages.ts";

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

  /** Promises `ballot`, if it is higher than the promise. */
  promise(ballot: Ballot): void {
    this.#promised = maxBallot(this.#promised, ballot);
  }

  /** Accepts `proposal`, promising its ballot. */
  accept(proposal: Proposal): void {
    this.promise(proposal.ballot);
    this.#accepted = proposal;
  }

  /** View `viewId`, committed under `ballot`, is installed: what was accepted below it is settled. */
  installed(viewId: number, ballot: Ballot): void {
    if (this.#accepted && this.#accepted.viewId < viewId) this.#accepted = null;
    this.promise(ballot);
  }

  /** Leaving the group: what was accepted no longer matters; the promise stays. */
  forget(): void {
    this.#accepted = null;
  }
}
