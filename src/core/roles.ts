/**
 * Role changes: the only places `Node.role` is set (joining, member, leader,
 * candidate), and the ballot rules that move a peer between them (a higher
 * ballot seen: lead again above it, or step down).
 *
 * @module
 */

import { compareBallots } from "./ballot.ts";
import { Leadership } from "./leadership.ts";
import type { Ballot, PeerId } from "./messages.ts";
import type { Node } from "./node.ts";
import { Takeover } from "./takeover.ts";
import { startTakeover } from "./candidate.ts";
import { sendJoin } from "./joining.ts";

/** Drops out of the group and joins again, asking `hint` first. */
export function becomeJoining(n: Node, hint: PeerId | null): void {
  n.role = { name: "joining" };
  n.view = null;
  n.probe = null;
  n.ownVersion++;
  // What it accepted stays: it is still an acceptor of that view's instance, and a removal
  // that nobody confirmed may leave that value the only trace of a choice.
  n.detector.clear();
  n.watchedLast = null;
  // Out of the group it follows nobody: the view it installs next names its leader afresh, even one
  // under a lower ballot than a leader it followed (or was) before (soak seed 9021309).
  n.lease.forget();
  n.joiner.askNext(hint, true);
  sendJoin(n);
}

export function becomeMember(n: Node): void {
  n.role = { name: "member" };
}

export function becomeLeader(n: Node, ballot: Ballot): Leadership {
  const leadership = new Leadership(ballot);
  n.role = { name: "leader", leadership };
  n.lease.follow(ballot, n.now);
  return leadership;
}

export function becomeCandidate(n: Node): Takeover {
  const round = Math.max(n.acceptor.promised.round, n.lease.ballot.round) + 1;
  const takeover = new Takeover({ round, leader: n.id }, n.nextRequestId++, n.now);
  n.acceptor.promise(takeover.ballot);
  n.role = { name: "candidate", takeover };
  return takeover;
}

/** Someone holds a higher ballot: lead again above it if we should, else follow. */
export function onHigherBallot(n: Node, ballot: Ballot, source: string): void {
  n.acceptor.promise(ballot);
  const formation = n.formation;
  if (formation && compareBallots(ballot, formation.ballot) > 0) {
    n.formation = null; // another attempt to form anew is ahead: it will finish
    n.formSeenAt = n.now;
  }
  const mine = n.myBallot();
  if (!mine || compareBallots(ballot, mine) <= 0) return;
  if (n.lowestAlive() === n.id && n.mayAct()) {
    n.log(
      "info",
      `${source} holds ballot ${ballot.round}/${ballot.leader}; taking over again`,
      "ballot",
    );
    startTakeover(n);
  } else {
    stepDown(n, ballot);
  }
}

/** Steps down if this peer leads, or seeks to, under a ballot lower than `ballot`. */
export function yieldTo(n: Node, ballot: Ballot): void {
  const mine = n.myBallot();
  if (mine && compareBallots(ballot, mine) > 0) stepDown(n, ballot);
}

function stepDown(n: Node, ballot: Ballot): void {
  n.log(
    "warning",
    `stepping down for the leader of ballot ${ballot.round}/${ballot.leader}`,
    "step-down",
  );
  becomeMember(n);
  // A ballot of its own (an attempt it gave up, echoed back by a REJECT) leads nothing:
  // follow whoever shows itself next, never a phantom of itself (soak seed 1001999).
  if (ballot.leader === n.id) n.lease.forget();
  else n.lease.observe(ballot, n.now);
  n.lease.renew(n.now);
}
