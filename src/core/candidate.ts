/**
 * Taking over from a failed leader: who is next in line, NEWLEADER to the
 * members of the view, and leading once a majority answered, finishing the
 * highest-ballot pending proposal (Paxos' prepare phase).
 *
 * @module
 */

import { compareBallots, NO_BALLOT } from "./ballot.ts";
import type { PeerId, PendingMessage } from "./messages.ts";
import type { Node } from "./node.ts";
import type { Takeover } from "./takeover.ts";
import { proposalError, proposalOps } from "./view.ts";
import { adopt } from "./history.ts";
import { eventLog, takeCut } from "./broadcast.ts";
import { isMajority } from "./quorum.ts";
import { propose, pump } from "./leader.ts";
import { becomeCandidate, becomeLeader, becomeMember } from "./roles.ts";

/**
 * How many failure timeouts a candidate waits for answers from a majority of
 * the view that kept the view's user events, before it leads without them.
 * Longer waits cost liveness: a takeover that waits is more often cut short
 * (by another attempt, a formation) and starts again (soak seeds 115319,
 * 121567, 124961 never converged at 4).
 */
const INTACT_WAIT_TIMEOUTS = 1;

/** Takes over when nobody has led for a failure timeout and we are next in line. */
export function considerTakeover(n: Node): void {
  const role = n.role.name;
  if (role === "leader") return;
  const lowest = n.lowestAlive();
  if (role === "candidate") {
    // Beyond 8 peers a candidate watches members it did not before: it yields only to one
    // that someone heard lately, not to one merely not yet timed out (a restarted run).
    const yields = lowest !== n.id &&
      (n.monitoring().allToAll ||
        (lowest !== undefined && n.detector.vouchedFor(lowest, n.now)));
    if (yields) {
      n.log("info", `giving up takeover: peer ${lowest} is reachable and comes first`, "abandon");
      becomeMember(n);
      // It leads nothing: follow whoever shows itself next, not its own ballot (seed 1175774).
      if (n.lease.ballot.leader === n.id) n.lease.forget();
      n.lease.renew(n.now);
    }
    return;
  }
  if (lowest !== n.id || !n.mayAct()) return;
  if (!n.lease.expired(n.now, n.detector.timeoutMs)) return;
  startTakeover(n);
}

export function startTakeover(n: Node): void {
  const view = n.view!;
  const takeover = becomeCandidate(n);
  const { round } = takeover.ballot;
  n.log(
    "warning",
    `taking over as leader of view ${view.id} with ballot ${round}/${n.id}`,
    "takeover",
  );
  sendNewLeader(n, takeover, n.others(view));
  evaluateTakeover(n, takeover);
}

export function sendNewLeader(n: Node, takeover: Takeover, to: PeerId[]): void {
  const { requestId, ballot } = takeover;
  const have = eventLog(n).length;
  const eventsHave = have > 0 ? { eventsHave: have } : {};
  for (const m of to) n.send(m, { type: "NEWLEADER", requestId, viewId: n.view!.id, ballot, ...eventsHave });
  takeover.sentAt = n.now;
}

export function onPending(n: Node, m: PendingMessage): void {
  const role = n.role;
  if (
    role.name !== "candidate" || role.takeover.requestId !== m.requestId ||
    compareBallots(m.ballot, role.takeover.ballot) !== 0
  ) {
    return n.log(
      "debug",
      `dropped PENDING ${m.requestId} from ${m.from}: no such takeover`,
      "stale-pending",
    );
  }
  role.takeover.replies.set(m.from, m);
  if (m.carried) {
    if (m.view.id === n.view!.id) eventLog(n).append(m.carried);
    else takeCut(n, m.view, m.carried); // the view it answered from follows ours: its cut
  }
  evaluateTakeover(n, role.takeover);
}

/** Leads once a majority of the view has answered NEWLEADER. */
export function evaluateTakeover(n: Node, takeover: Takeover): void {
  const newest = takeover.newestView(n.view!);
  if (newest !== n.view) {
    adopt(n, newest, NO_BALLOT);
    if (n.role.name !== "candidate" || n.role.takeover !== takeover) return;
  }
  const view = n.view!;
  if (!takeover.answeredBy(view, n.id)) return;
  // Every event a majority held is in some answer of a majority that kept its events (a member
  // restarted into the view lost them): wait for one, for INTACT_WAIT_TIMEOUTS failure timeouts at
  // most (a view whose members restarted in majority must still change).
  const kept = (m: PeerId) => {
    if (m === n.id) return n.restoredInto !== view.id;
    const r = takeover.replies.get(m);
    return r !== undefined && r.view.id === view.id && !r.forgot;
  };
  const intact = isMajority(view, kept);
  // (no use waiting once too many answered that they forgot)
  const mayYet = (m: PeerId) => kept(m) || (m !== n.id && !takeover.replies.has(m));
  const waited = n.now - takeover.startedAt >= INTACT_WAIT_TIMEOUTS * n.detector.timeoutMs;
  if (!intact && isMajority(view, mayYet) && !waited) return;
  const log = eventLog(n);
  const short = [...takeover.replies.values()].filter((r) =>
    r.view.id === view.id && (r.eventsHave ?? 0) > log.length
  );
  if (short.length > 0) return sendNewLeader(n, takeover, short.map((r) => r.from));
  let recovered = takeover.recovered(n.acceptor.accepted, view.id);
  if (recovered && (recovered.events ?? 0) > log.length) {
    if (intact) {
      // A member accepts a cut only holding its events: had a majority accepted this one, a
      // majority would hold them, and an answer of a majority that kept its events would bring
      // them. None did: it was not chosen, and the cut shrinks to the events that exist.
      const { events: _, ...rest } = recovered;
      recovered = log.length > 0 ? { ...rest, events: log.length } : rest;
    } else {
      // Too many members restarted to tell: proposed as it is (it may have been chosen), and
      // members that lack its events accept it too (REQ's `held`).
      n.log(
        "warning",
        `events ${log.length + 1} to ${recovered.events} of view ${view.id} were lost with the peers ` +
          `that restarted`,
        "events-lost",
      );
    }
  }
  const leadership = becomeLeader(n, takeover.ballot);
  for (const r of takeover.replies.values()) {
    if (r.view.id === view.id) log.held(r.from, r.eventsHave ?? 0, n.now);
  }
  n.log(
    "warning",
    `leading view ${view.id} with ballot ${takeover.ballot.round}/${n.id}` +
      (recovered
        ? `; finishing pending ${proposalOps(recovered).map((o) => `${o.kind} ${o.peer}`).join(", ")}`
        : ""),
    "leading",
  );
  for (const s of n.detector.suspected) leadership.enqueue(n.deletion(s), "failed");
  for (const m of view.members) {
    if (n.isLeaving(m)) leadership.enqueue({ ...n.deletion(m), left: true }, "left");
  }
  if (recovered && !proposalError(view, recovered)) {
    propose(n, { ...recovered, ballot: takeover.ballot });
  } else {
    pump(n);
  }
}
