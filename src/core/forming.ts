/**
 * Forming the group: when this peer is stuck (its view is dead, or out of
 * the group no group has shown itself; founding is forming where nobody
 * knows a view), the FORM/FORM_PROMISE/FORM_ACCEPT/FORM_OK exchange with the
 * hostsfile, and the decision it carries out (formation.ts decides).
 *
 * @module
 */

import { compareBallots, NO_BALLOT } from "./ballot.ts";
import { compareEpochs, formatEpoch } from "./epoch.ts";
import { Formation, type FormKnowledge, isDead } from "./formation.ts";
import type {
  FormAcceptMessage,
  FormMessage,
  FormOkMessage,
  FormPromiseMessage,
  PeerId,
} from "./messages.ts";
import type { Body, Node } from "./node.ts";
import { compareViews, incarnationIn } from "./view.ts";
import { adopt, install, removed } from "./history.ts";
import { pump } from "./leader.ts";
import { becomeLeader, yieldTo } from "./roles.ts";

/**
 * Whether this peer should form the group: out of the group, when no group
 * of its epoch or a later one has shown itself for a failure timeout (or
 * every other peer asked it to join: none is left to find), and only peer 1
 * founds where it knows no view; in the group, when its view can vote no
 * more, or the members whose run could vote in it and that were heard from
 * lately are no majority of it (restarted without state, or silent).
 */
export function stuck(n: Node): boolean {
  const view = n.lastInstalled;
  if (!n.view) {
    if (n.leaving || (!view && n.id !== 1)) return false;
    if (n.joinersHeard.size === n.cfg.peerCount - 1) return true;
    const quiet = n.detector.timeoutMs;
    return n.now - n.groupSeenAt > quiet && n.now - n.startedAt > quiet;
  }
  if (!n.votes()) return true; // it can vote in it no more: finish forming the view it accepted
  // Beyond 8 peers a member hears only those it watches: the silence of the
  // others says nothing, only a newer run heard of does (the leader watches all).
  const watched = n.monitoring().allToAll ? null : new Set(n.watched());
  return isDead(n.view, (m) => {
    const run = incarnationIn(n.view!, m)!;
    if (m === n.id) return run === n.cfg.incarnation;
    const heard = n.now - (n.lastHeardAny.get(m) ?? -Infinity) <= n.detector.timeoutMs;
    return (heard || (watched !== null && !watched.has(m))) && (n.newestRun.get(m) ?? 0) <= run;
  });
}

/**
 * Starts forming once this peer is stuck: a view dead for a failure timeout
 * (out of the group, the quiet timeout is the wait); lower IDs go first, and
 * a peer that saw another's attempt waits. An attempt not yet proposed stops
 * once the peer is stuck no more (it got back into a live group).
 */
export function considerFormation(n: Node): void {
  const f = n.formation;
  if (f) {
    if (!f.proposal && !stuck(n)) return abandonFormation(n, "the group is live again");
    evaluateFormation(n, f);
    if (n.formation === f) retransmitFormation(n, f);
    return;
  }
  if (!stuck(n)) {
    n.deadSince = null;
    return;
  }
  n.deadSince ??= n.now;
  const wait = (n.view ? n.detector.timeoutMs : 0) + (n.id - 1) * n.retryMs();
  if (n.now - n.deadSince < wait || n.now - n.formSeenAt < wait) return;
  startFormation(n);
}

function startFormation(n: Node): void {
  // Above every promise, so above the round of every epoch this peer installed or accepted.
  const round = Math.max(n.acceptor.promised.round, n.lease.ballot.round) + 1;
  const f = new Formation({ round, leader: n.id }, n.nextRequestId++, n.now);
  n.formation = f;
  n.acceptor.promise(f.ballot);
  const last = n.lastInstalled;
  n.log(
    last ? "warning" : "info",
    last
      ? `view ${last.id} cannot gather its quorum (its members restarted without their state, ` +
        `or are silent): asking the hostsfile to form the group anew, ballot ${f.ballot.round}/${n.id}`
      : `no group has shown itself: asking the hostsfile to found one, ballot ${f.ballot.round}/${n.id}`,
    "formation",
  );
  for (const p of n.everyOther()) {
    n.send(p, { type: "FORM", requestId: f.requestId, ballot: f.ballot });
  }
  evaluateFormation(n, f);
}

export function onForm(n: Node, m: FormMessage): void {
  if (n.acceptor.refuses(m.ballot)) {
    return n.send(m.from, { type: "REJECT", promised: n.acceptor.promised });
  }
  n.acceptor.promise(m.ballot);
  n.formSeenAt = n.now;
  const mine = n.formation;
  if (mine && compareBallots(m.ballot, mine.ballot) > 0) n.formation = null;
  yieldTo(n, m.ballot);
  const { newest, pending, accepted, inView } = formKnowledge(n);
  n.send(m.from, {
    type: "FORM_PROMISE",
    requestId: m.requestId,
    ballot: m.ballot,
    newest,
    pending,
    accepted,
    inView,
  });
}

export function onFormPromise(n: Node, m: FormPromiseMessage): void {
  const f = n.formation;
  if (!f || f.requestId !== m.requestId || compareBallots(m.ballot, f.ballot) !== 0) {
    return n.log("debug", `dropped FORM_PROMISE from ${m.from}: no such attempt`, "stale-form");
  }
  if (f.proposal) {
    // A late answer that knows a later history than the one proposed: that one goes on.
    if (m.newest && compareEpochs(m.newest.epoch, f.proposal.epoch) > 0) {
      abandonFormation(n, `peer ${m.from} knows view ${m.newest.id} of a later epoch`);
    }
    return;
  }
  f.promises.set(m.from, m);
  evaluateFormation(n, f);
}

/** Once a majority of the hostsfile promised: propose the view to form, or find the group live. */
function evaluateFormation(n: Node, f: Formation): void {
  if (f.proposal || !f.promised(n.cfg.peerCount)) return;
  // A majority suffices, but peers heard from lately get a retry interval to answer
  // too, so that the new view holds every live peer it can.
  f.majorityAt ??= n.now;
  const live = (p: PeerId) => n.now - (n.lastHeardAny.get(p) ?? -Infinity) <= n.detector.timeoutMs;
  const waiting = n.everyOther().some((p) => !f.promises.has(p) && live(p));
  if (waiting && n.now - f.majorityAt < n.retryMs()) return;
  const decision = f.decide(formKnowledge(n), n.restartedSince);
  if (decision.kind !== "propose") {
    abandonFormation(
      n,
      decision.kind === "live"
        ? `view ${decision.view.id} can carry on by itself`
        : `members of view ${decision.view.id} not heard from could still commit it`,
    );
    if (decision.kind !== "live") return;
    // Join the live group: install its view if it is newer and names this run, else ask its leader.
    if (compareViews(decision.view, n.newest) > 0) adopt(n, decision.view, NO_BALLOT);
    else if (!n.view) {
      n.joiner.askNext(decision.view.leader === n.id ? null : decision.view.leader, true);
    }
    return;
  }
  f.proposal = decision.view;
  f.sentAt = n.now;
  n.acceptor.acceptForm({ ballot: f.ballot, view: decision.view });
  for (const p of f.promises.keys()) sendFormAccept(n, f, p);
  maybeFormed(n, f);
}

/** What this peer itself knows that bears on forming anew. */
function formKnowledge(n: Node): FormKnowledge {
  const newest = n.lastInstalled;
  return {
    from: n.id,
    incarnation: n.cfg.incarnation,
    newest,
    pending: newest ? n.acceptor.acceptedFor(newest.id) : null,
    accepted: n.acceptor.formAccepted,
    inView: n.view !== null,
    tags: n.tags,
  };
}

/** Gives up this attempt; another may start after a full wait. */
export function abandonFormation(n: Node, why: string): void {
  n.log("info", `not forming anew: ${why}`, "formation");
  n.formation = null;
  n.deadSince = null;
  n.formSeenAt = n.now;
}

function sendFormAccept(n: Node, f: Formation, to: PeerId): void {
  n.send(to, { type: "FORM_ACCEPT", requestId: f.requestId, ballot: f.ballot, view: f.proposal! });
}

export function onFormAccept(n: Node, m: FormAcceptMessage): void {
  if (n.acceptor.refuses(m.ballot)) {
    return n.send(m.from, { type: "REJECT", promised: n.acceptor.promised });
  }
  n.acceptor.acceptForm({ ballot: m.ballot, view: m.view });
  n.formSeenAt = n.now;
  n.send(m.from, { type: "FORM_OK", requestId: m.requestId, ballot: m.ballot });
}

export function onFormOk(n: Node, m: FormOkMessage): void {
  const f = n.formation;
  if (!f || !f.proposal || f.requestId !== m.requestId || compareBallots(m.ballot, f.ballot) !== 0) {
    return n.log("debug", `dropped FORM_OK from ${m.from}: no such attempt`, "stale-form");
  }
  f.oks.add(m.from);
  maybeFormed(n, f);
}

/** Once a majority of the hostsfile accepted: the view is chosen; install it and lead it. */
function maybeFormed(n: Node, f: Formation): void {
  if (!f.accepted(n.cfg.peerCount) || !f.overridesSafely(n.id, n.restartedSince)) return;
  const view = f.proposal!;
  n.formation = null;
  n.deadSince = null;
  const above = n.newestId();
  n.log(
    above > 0 ? "warning" : "info",
    above > 0
      ? `formed the group anew as view ${view.id} [${view.members.join(",")}] above view ${above}`
      : `founded the group as view ${view.id} of epoch ${formatEpoch(view.epoch)}`,
    "formed",
  );
  const newView: Body = { type: "NEWVIEW", view, ballot: f.ballot };
  for (const m of view.members) if (m !== n.id) n.send(m, newView);
  // (founding, where nobody knew a view, is reported by the view event alone, as the seed prints it)
  if (above > 0) n.out.push({ kind: "event", event: { type: "formed", peer: n.id, view, above } });
  if (incarnationIn(view, n.id) !== n.cfg.incarnation) return removed(n, view);
  install(n, view, f.ballot);
  const leadership = becomeLeader(n, f.ballot);
  for (const s of n.detector.suspected) leadership.enqueue(n.deletion(s), "failed");
  pump(n);
}

function retransmitFormation(n: Node, f: Formation): void {
  // An attempt that cannot finish (a promiser crashed before accepting) makes way for a new one.
  if (n.now - f.startedAt > 10 * n.retryMs()) return abandonFormation(n, "no answer");
  if (n.now - f.sentAt < n.retryMs()) return;
  f.sentAt = n.now;
  if (!f.proposal) {
    for (const p of n.everyOther()) {
      if (!f.promises.has(p)) n.send(p, { type: "FORM", requestId: f.requestId, ballot: f.ballot });
    }
  } else {
    for (const p of f.promises.keys()) if (!f.oks.has(p)) sendFormAccept(n, f, p);
  }
}
