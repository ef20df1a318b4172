/**
 * The leader's side: its queue of operations, one view change at a time (a
 * batch beyond 8 peers), the REQ it proposes, the OKs it counts, and the
 * commit, with NEWVIEW to every member of the new view.
 *
 * @module
 */

import { compareBallots } from "./ballot.ts";
import { isLargeGroup } from "./config.ts";
import type { Reason } from "./leadership.ts";
import type { OkMessage, Operation, Proposal } from "./messages.ts";
import type { Body, Node } from "./node.ts";
import { canCommit } from "./quorum.ts";
import { incarnationIn, nextView, operationError, proposalOps, tagsIn } from "./view.ts";
import { NO_TAGS, sameTags } from "./tags.ts";
import { carriedFor, eventLog, orderWaiting, ownsOrder, ownViewWanted } from "./broadcast.ts";
import { evaluateTakeover, sendNewLeader } from "./candidate.ts";
import { catchUp, install, removed } from "./history.ts";

/**
 * Starts the next view change: the next queued operation that still makes
 * sense, or in a group of more than 8 peers every such operation queued
 * (see `Leadership.take`).
 */
export function pump(n: Node): void {
  const leadership = n.leadership();
  if (!n.mayAct()) return;
  const ownView = leadership && !leadership.current ? ownViewWanted(n) : null;
  if (ownView) leadership!.enqueue(ownView, "tags");
  while (
    leadership && leadership === n.leadership() && !leadership.current && leadership.queue.length > 0
  ) {
    const batched = isLargeGroup(n.cfg.peerCount);
    const [op, ...more] = leadership.take(batched, (o, reason) => stillWanted(n, o, reason));
    if (!op) break;
    const viewId = n.view!.id;
    const events = eventLog(n).length; // the cut: every event ordered in this view
    propose(n, {
      viewId,
      ...jump(n, viewId),
      op,
      ...(more.length > 0 ? { more } : {}),
      leader: n.id,
      ballot: leadership.ballot,
      ...(events > 0 ? { events } : {}),
    });
  }
  if (leadership && leadership === n.leadership() && !leadership.current) orderWaiting(n);
}

/**
 * The id the next view takes when a joiner holds a higher one from a history
 * this group could not know: above it, so that nobody's views go backwards
 * and the ids of the merged history are unique from then on. Else none.
 */
export function jump(n: Node, viewId: number): { nextViewId?: number } {
  const { viewId: held, peer } = n.above;
  if (held <= viewId) return {};
  n.log(
    "warning",
    `peer ${peer} holds view ${held}, from a group history this group could not know: ` +
      `numbering the next view ${held + 1}`,
    "renumber",
  );
  return { nextViewId: held + 1 };
}

/** Whether a queued operation still applies to the view, and is still wanted. */
function stillWanted(n: Node, op: Operation, reason: Reason): boolean {
  const view = n.view!;
  if (op.kind === "ADD" && incarnationIn(view, op.peer) === op.incarnation) return false;
  if (op.kind === "DEL" && reason === "failed" && !n.detector.suspected.has(op.peer)) return false;
  // A TAG that changes nothing is still wanted by a leader the view does not name: the view
  // it makes names it, and then it orders the view's user events (broadcast.ts).
  if (op.kind === "TAG" && sameTags(op.tags ?? NO_TAGS, tagsIn(view, op.peer))) {
    return op.peer === n.id && !ownsOrder(n);
  }
  return operationError(view, op, n.id) === null;
}

/** Accepts `proposal` itself and sends its REQ to every other member. */
export function propose(n: Node, proposal: Proposal): void {
  const requestId = n.nextRequestId++;
  n.acceptor.accept(proposal);
  n.leadership()!.begin(requestId, proposal, n.id, n.now);
  for (const m of n.others(n.view!)) {
    n.send(m, { type: "REQ", requestId, proposal, ...carriedFor(n, m, proposal.events) });
  }
  maybeCommit(n);
}

export function onOk(n: Node, m: OkMessage): void {
  const { from, requestId } = m;
  const cur = n.leadership()?.current;
  if (
    !cur || cur.requestId !== requestId || m.viewId !== n.view?.id ||
    compareBallots(m.ballot, cur.proposal.ballot) !== 0
  ) {
    return n.log("debug", `dropped OK ${requestId} from ${from}: no such request running`, "stale-ok");
  }
  // A vote counts only from the run of `from` that the view holds.
  if (!n.isMember(from, m.incarnation)) {
    return n.log("info", `dropped OK from peer ${from}: not the run the view holds`, "stale-ok");
  }
  cur.oks.add(from);
  maybeCommit(n);
}

/** Commits once a majority and every member not held failed said OK. */
export function maybeCommit(n: Node): void {
  if (n.probe) return; // it commits once the probe is over (see #pump)
  const leadership = n.leadership()!;
  const cur = leadership.current!;
  const view = n.view!;
  // Members not heard from directly are not waited for, even when others vouch for them.
  const notWaitedFor = n.detector.silent(n.others(view), n.now);
  for (const s of n.detector.suspected) notWaitedFor.add(s);
  const ops = proposalOps(cur.proposal);
  if (!canCommit(view, cur.oks, notWaitedFor, ops)) return;
  const next = nextView(view, cur.proposal);
  leadership.current = null;
  const newView: Body = { type: "NEWVIEW", view: next, ballot: leadership.ballot };
  // Each member a DEL removes hears of it too, so a live one knows to join again.
  const deleted = ops.flatMap((op) => op.kind === "DEL" && op.peer !== n.id ? [op] : []);
  if (!next.members.includes(n.id)) {
    // A takeover finished its predecessor's DEL of this very peer: the view is
    // chosen, so announce it, then leave and join again like any removed peer.
    for (const m of next.members) n.send(m, newView);
    for (const op of deleted) n.send(op.peer, newView);
    return removed(n, next);
  }
  install(n, next, leadership.ballot);
  for (const m of n.others(next)) n.send(m, newView);
  for (const op of deleted) {
    n.send(op.peer, newView);
    if (!op.left) {
      n.log("warning", `removed peer ${op.peer} (run ${op.incarnation}) in view ${next.id}`, "removal");
    }
  }
  pump(n);
}

export function retransmit(n: Node): void {
  const due = (sentAt: number) => n.now - sentAt >= n.retryMs();
  const role = n.role;
  const cur = role.name === "leader" ? role.leadership.current : null;
  if (cur && due(cur.sentAt)) {
    cur.sentAt = n.now;
    for (const m of n.others(n.view!)) {
      if (cur.oks.has(m)) continue;
      catchUp(n, m); // a member behind us cannot accept the REQ
      const carried = carriedFor(n, m, cur.proposal.events);
      n.send(m, { type: "REQ", requestId: cur.requestId, proposal: cur.proposal, ...carried });
    }
  }
  if (role.name === "candidate" && due(role.takeover.sentAt)) {
    const t = role.takeover;
    sendNewLeader(n, t, n.others(n.view!).filter((m) => !t.replies.has(m)));
    evaluateTakeover(n, t); // the wait for answers that kept their events may be over
  }
}
