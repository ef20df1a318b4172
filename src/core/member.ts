/**
 * A member's side: heartbeats sent and received (what a member of the same
 * view heard is evidence too), failure detection over the members it
 * watches, and its votes as an acceptor: OK to a REQ, PENDING to a NEWLEADER.
 *
 * @module
 */

import { compareBallots } from "./ballot.ts";
import type { Ballot, HeartbeatMessage, NewLeaderMessage, PeerId, ReqMessage } from "./messages.ts";
import type { Body, Node } from "./node.ts";
import { isMajority } from "./quorum.ts";
import { incarnationIn, proposalError, proposalOps } from "./view.ts";
import { catchUp, sendProbes } from "./history.ts";
import { committedNews, cutFor, eventLog, holdsCut, onCommittedNews } from "./broadcast.ts";
import { maybeCommit, pump } from "./leader.ts";
import { onHigherBallot, yieldTo } from "./roles.ts";

/** The one liveness rule: any message from a member, as the run its view records. */
export function heardFrom(n: Node, from: PeerId, incarnation: number): void {
  if (!n.isMember(from, incarnation)) return;
  if (n.detector.heard(from, n.now)) {
    n.log("info", `peer ${from} is reachable again`, "reachable");
  }
}

export function onHeartbeat(n: Node, m: HeartbeatMessage): void {
  // A peer behind us (or, while we join again, behind the view that removed us): catch it up.
  if (m.viewId < n.newestId()) return catchUp(n, m.from);
  const view = n.view;
  if (!view) return;
  observeLeadership(n, m.from, m.leading);
  if (m.viewId !== view.id || !n.isMember(m.from, m.incarnation)) return;
  if (m.committed) onCommittedNews(n, m.from, m.committed);
  // What a member of the same view heard is evidence too (one bad link is not a failure).
  for (const [p, ageMs] of m.heard) {
    if (p === n.id || incarnationIn(view, p) === undefined) continue; // (a binary search: the leader reads N of these)
    if (n.detector.heardOf(p, n.now - ageMs, n.now)) {
      n.log("info", `peer ${p} is reachable again (heard by peer ${m.from})`, "reachable");
    }
  }
}

/** What a heartbeat of the current view says about who leads. */
function observeLeadership(n: Node, from: PeerId, leading: Ballot | null): void {
  if (!leading) {
    // The peer we follow leads nothing now (a candidate that gave up, a leader
    // that stepped down): forget its ballot, so the leader heard next is followed
    // instead of a phantom.
    if (n.lease.ballot.leader === from) n.lease.forget();
    return;
  }
  if (leading.leader === from) n.lease.observe(leading, n.now);
  const mine = n.myBallot();
  if (mine && compareBallots(leading, mine) > 0) onHigherBallot(n, leading, `heartbeat of peer ${from}`);
}

export function sendHeartbeats(n: Node): void {
  const view = n.view!;
  // Cut off from a majority of its view, this peer may have been removed with
  // the news lost: it heartbeats the whole hostsfile so a peer further on can
  // catch it up (a heartbeat from an older view is answered with NEWVIEW).
  const suspected = n.detector.suspected;
  const layout = n.monitoring();
  const leads = n.leadsOrSeeks();
  let to: PeerId[];
  if (!isMajority(view, (m) => m === n.id || !suspected.has(m))) to = n.everyOther();
  else if (layout.allToAll || leads) to = n.others(view);
  else {
    // Beyond 8 peers: its observers, and the leader (which hears every member).
    const targets = new Set(layout.observers);
    const leader = n.leader;
    if (leader !== null && leader !== n.id) targets.add(leader);
    to = [...targets];
  }
  // A leader of a large group vouches for nobody: that list would grow with the group.
  const heard = !layout.allToAll && leads ? [] : n.detector.ages(n.watched(), n.now);
  const committed = committedNews(n);
  const heartbeat: Body = { type: "HEARTBEAT", viewId: view.id, leading: n.myBallot(), heard, ...committed };
  for (const m of to) n.send(m, heartbeat, "datagram");
  // A leader also heartbeats one peer outside its view per interval, in turn: two histories
  // that formed apart (a partition, a restart without state) meet, and the older joins the later.
  const outside = to.length === n.cfg.peerCount - 1 || n.role.name !== "leader"
    ? []
    : n.everyOther().filter((p) => incarnationIn(view, p) === undefined);
  if (outside.length > 0) {
    n.outsideNext = (n.outsideNext + 1) % outside.length;
    n.send(outside[n.outsideNext], heartbeat, "datagram");
  }
}

export function detectFailures(n: Node): void {
  const watched = n.watched();
  // Members it starts watching (a new layout, or it leads now): their silence counts from now.
  // (Small groups watch every member all along: nothing starts there.)
  const last = n.watchedLast;
  if (last && !n.monitoring().allToAll) {
    for (const m of watched) if (!last.has(m)) n.detector.startWatching(m, n.now);
  }
  n.watchedLast = new Set(watched);
  // One it stopped watching is no longer its to hold unreachable (its observers judge it).
  for (const s of [...n.detector.suspected]) if (!n.watchedLast.has(s)) n.detector.unsuspect(s);
  for (const m of n.detector.expired(watched, n.now)) {
    suspect(n, m);
    n.leadership()?.enqueue(n.deletion(m), "failed");
  }
  // Cut off from a majority of its view for a failure timeout: before it commits anything
  // there again, it learns whether a later epoch formed meanwhile.
  const view = n.view!;
  if (!n.probe && !isMajority(view, (m) => m === n.id || !n.detector.suspected.has(m))) {
    n.log("info", "cut off from a majority of the view: asking the hostsfile for its epochs", "probe");
    sendProbes(n);
  }
  // The running operation may have been waiting only for the member that just failed.
  if (n.leadership()?.current) maybeCommit(n);
  pump(n);
}

/** Holds `m` unreachable and reports it, once per failure. */
export function suspect(n: Node, m: PeerId): void {
  const view = n.view!;
  n.detector.suspect(m);
  const isLeader = m === view.leader || m === n.leader;
  n.out.push({
    kind: "event",
    event: {
      type: "unreachable",
      peer: n.id,
      viewId: view.id,
      leader: view.leader,
      member: m,
      isLeader,
    },
  });
  n.out.push({ kind: "reset", peer: m });
}

export function onReq(n: Node, m: ReqMessage): void {
  const view = n.view;
  const p = m.proposal;
  if (!view) return n.log("debug", `dropped REQ from ${m.from}: not a member`, "req-joining");
  if (p.viewId < view.id) {
    catchUp(n, m.from);
    return n.log("info", `dropped REQ for old view ${p.viewId} from ${m.from}`, "req-stale");
  }
  if (!n.votes()) {
    return n.log("info", `dropped REQ from ${m.from}: ${n.barredWhy()}`, "barred");
  }
  if (n.acceptor.refuses(p.ballot)) {
    n.log("info", `refused REQ from replaced leader ${m.from}`, "req-refused");
    return n.send(m.from, { type: "REJECT", promised: n.acceptor.promised });
  }
  if (p.viewId > view.id) {
    return n.log("debug", `dropped REQ for view ${p.viewId}: still at ${view.id}`, "req-ahead");
  }
  const error = proposalError(view, p);
  if (error) return n.log("warning", `dropped REQ from ${m.from}: ${error}`, "req-invalid");
  if (!holdsCut(n, m.from, m.carried, p.events, m.held)) {
    return n.log("info", `REQ from ${m.from} waits: events of view ${view.id} missing here`, "req-events");
  }
  n.acceptor.accept(p);
  yieldTo(n, p.ballot);
  // Even if a heartbeat showed a higher ballot: never promised, it belongs to a
  // candidate that did not win, and following it would name a phantom leader.
  n.lease.follow(p.ballot, n.now);
  n.send(m.from, { type: "OK", requestId: m.requestId, viewId: p.viewId, ballot: p.ballot });
  for (const op of proposalOps(p)) {
    const gone = op.peer;
    if (op.kind !== "DEL" || gone === n.id) continue;
    if (op.left) n.leavers.set(gone, op.incarnation);
    // The leader found it failed a moment before our own deadline would have.
    else if (!n.detector.suspected.has(gone)) suspect(n, gone);
  }
}

export function onNewLeader(n: Node, m: NewLeaderMessage): void {
  const view = n.view;
  if (!view) return;
  if (m.viewId < view.id) {
    catchUp(n, m.from);
    return n.log(
      "info",
      `dropped NEWLEADER for old view ${m.viewId} from ${m.from}`,
      "newleader-stale",
    );
  }
  if (!n.votes()) {
    return n.log("info", `dropped NEWLEADER from ${m.from}: ${n.barredWhy()}`, "barred");
  }
  if (n.acceptor.refuses(m.ballot)) {
    return n.send(m.from, { type: "REJECT", promised: n.acceptor.promised });
  }
  n.acceptor.promise(m.ballot);
  yieldTo(n, m.ballot);
  const pending = n.acceptor.acceptedFor(view.id);
  const log = eventLog(n);
  n.send(m.from, {
    type: "PENDING",
    requestId: m.requestId,
    ballot: m.ballot,
    view,
    pending,
    ...(log.length > 0 ? { eventsHave: log.length } : {}),
    ...(n.restoredInto === view.id ? { forgot: true } : {}),
    // Events of the candidate's view it may lack: beyond what it holds, or (one view on) the cut.
    ...(m.viewId === view.id
      ? log.length > (m.eventsHave ?? 0) ? { carried: log.runFrom((m.eventsHave ?? 0) + 1) } : {}
      : cutFor(n, view)),
  });
}
