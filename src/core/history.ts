/**
 * The one rule for group histories, and what follows from it: a message of
 * an older epoch is answered with our view and dropped, one of a later epoch
 * is followed (its view installed where it names this run, joined
 * otherwise), one of our epoch goes to the per-view Paxos (epoch.ts says why
 * epochs order histories). Here too: installing a view, being removed from
 * one, catching a peer behind up, and the returning peer's probe.
 *
 * @module
 */

import { isLargeGroup } from "./config.ts";
import { RESTART_GRACE_TIMEOUTS } from "./damping.ts";
import { compareEpochs, formatEpoch } from "./epoch.ts";
import type { Ballot, Message, NewViewMessage, PeerId, View } from "./messages.ts";
import type { Node } from "./node.ts";
import { Probe } from "./probe.ts";
import { compareViews, incarnationIn } from "./view.ts";
import { evaluateTakeover } from "./candidate.ts";
import { abandonFormation } from "./forming.ts";
import { onRedirect } from "./joining.ts";
import { pump } from "./leader.ts";
import { finishLeaving } from "./leaving.ts";
import {
  afterInstall,
  awaitsCut,
  cutFor,
  deliverCut,
  dropWaiting,
  settleOutbox,
  takeCut,
} from "./broadcast.ts";
import { becomeJoining, becomeMember, yieldTo } from "./roles.ts";

/** A message of an older history: its sender is behind; show it our view, and drop it. */
export function onOlder(n: Node, m: Message): void {
  catchUp(n, m.from, true);
  n.log(
    "info",
    `dropped ${m.type} from peer ${m.from}: its epoch ${formatEpoch(m.epoch)} is older than ours`,
    "epoch-older",
  );
}

/**
 * A message of a later history: this peer is behind. A view of it that
 * names this very run is installed; any other view is joined; any other
 * message is answered with a PROBE, which the sender answers (ours being
 * older to it) with its view.
 */
export function onNewer(n: Node, m: Message): void {
  if (n.formation) abandonFormation(n, `peer ${m.from} is in a later epoch`);
  // A joiner follows a REDIRECT of a later group like any: that is how it joins it.
  if (m.type === "REDIRECT") return onRedirect(n, m.from, m.leader);
  if (m.type !== "NEWVIEW") {
    // A peer that never installed a view is joining already: only a view that names it is news.
    if (!n.epoch()) return;
    if (n.now - (n.caughtUpAt.get(m.from) ?? -Infinity) < n.retryMs()) return;
    n.caughtUpAt.set(m.from, n.now);
    return n.send(m.from, { type: "PROBE" });
  }
  // (a joiner that never installed a view is simply admitted: no news there)
  if (n.epoch()) {
    n.log(
      "warning",
      `peer ${m.from} is in the later epoch ${formatEpoch(m.view.epoch)}: following it`,
      "epoch-newer",
    );
  }
  adopt(n, m.view, m.ballot);
}

/** Peer `from` answered in an epoch no later than ours: it counts toward the probe. */
export function answered(n: Node, from: PeerId): void {
  n.probe?.answered.add(from);
  endProbe(n);
}

/** Ends the probe once it is over (see {@linkcode Probe.over}), and acts on what waited for it. */
export function endProbe(n: Node): void {
  const probe = n.probe;
  const view = n.view;
  if (!probe || !view) return;
  if (!probe.over(n.now, n.cfg.peerCount, view, n.id, n.detector.timeoutMs)) return;
  n.probe = null;
  // What waited for it goes on at the next tick, once failure detection has seen who else is
  // back: a view change started at the first answer would remove peers back a moment later.
  n.log("info", `no later epoch answered: acting in epoch ${formatEpoch(n.epoch())}`, "probe");
}

/** Asks every peer not yet heard since the probe started which epoch it is in. */
export function sendProbes(n: Node): void {
  const probe = n.probe ??= new Probe(n.now);
  if (n.now - probe.sentAt < n.retryMs()) return;
  probe.sentAt = n.now;
  for (const p of n.everyOther()) if (!probe.answered.has(p)) n.send(p, { type: "PROBE" });
}

/**
 * Sends `to` the newest view this peer knows, at most once per retry
 * interval. Outside the group, a peer passes on the view that removed it
 * only to the runs that view names, or to a peer of an older epoch
 * (`older`): a view it cannot place must not spread and strand others.
 */
export function catchUp(n: Node, to: PeerId, older = false): void {
  const view = n.newest;
  if (!view) return;
  if (!n.view && !older && incarnationIn(view, to) !== n.newestRun.get(to)) return;
  if (n.now - (n.caughtUpAt.get(to) ?? -Infinity) < n.retryMs()) return;
  n.caughtUpAt.set(to, n.now);
  n.send(to, { type: "NEWVIEW", view, ballot: n.lease.ballot, ...cutFor(n, view) });
}

/** Installs a committed view this peer belongs to, and reports it. */
export function install(n: Node, view: View, ballot: Ballot): void {
  const previous = n.view;
  const leaderBefore = n.leader;
  const epochChanged = compareEpochs(view.epoch, n.epoch()) !== 0;
  // The history moved on: an attempt to form anew would now reuse a view id.
  if (n.formation) abandonFormation(n, `view ${view.id} installed meanwhile`);
  deliverCut(n, view); // the events of the view before, up to the agreed cut, come first
  dropWaiting(n, view);
  n.view = view;
  n.newest = view;
  n.lastInstalled = view;
  n.ownVersion++;
  n.joinersHeard.clear();
  n.joinTarget = null; // admitted: its probation is over
  n.restarted = false; // admitted
  if (n.role.name === "joining") becomeMember(n);
  n.acceptor.installed(view, ballot, epochChanged);
  // Ballots of another history say nothing of who leads this one.
  if (epochChanged) n.lease.forget();
  // Beyond 8 peers a candidate that gave up tells only its observers so (its heartbeats
  // lead nothing now): a newer view committed under another ballot shows who leads.
  if (isLargeGroup(n.cfg.peerCount) && n.role.name === "member") {
    n.lease.follow(ballot, n.now);
  } else n.lease.observe(ballot, n.now);
  if (!previous) n.lease.renew(n.now);
  n.detector.watch(previous, view, n.now);
  const cur = n.leadership()?.current;
  if (cur && (epochChanged || cur.proposal.viewId < view.id)) n.leadership()!.current = null; // decided elsewhere
  n.out.push({ kind: "event", event: { type: "view", peer: n.id, view } });
  // Members that left on purpose are reported as left, never as unreachable; any other member
  // removed is on probation should that run ask back (damping.ts).
  for (const m of previous?.members ?? []) {
    if (incarnationIn(view, m) !== undefined) continue;
    const run = incarnationIn(previous!, m)!;
    if (n.leavers.get(m) !== run) {
      n.damping.removed(m, run, n.now);
      continue;
    }
    n.leavers.delete(m);
    const isLeader = m === previous!.leader || m === leaderBefore;
    n.out.push({
      kind: "event",
      event: { type: "left", peer: n.id, viewId: view.id, leader: view.leader, member: m, isLeader },
    });
  }
  afterInstall(n);
}

/** This peer learned it is not in the group's view `view`: it joins again (or, leaving, is done). */
export function removed(n: Node, view: View): void {
  if (n.leaving) return finishLeaving(n, view);
  n.log("warning", `not a member of view ${view.id}: joining again`, "removed");
  // Removed soon after it came back on its data dir: a removal proposed while it was down, not a
  // sign of loss. Its JOINs say so, and it is admitted at once (damping.ts).
  n.restarted = n.restoredAt !== null &&
    n.now - n.restoredAt <= RESTART_GRACE_TIMEOUTS * n.detector.timeoutMs;
  if (n.restarted) {
    n.log("info", `removed by view ${view.id}, proposed while this peer was down`, "removed-down");
  } else if (n.view && incarnationIn(n.view, n.id) === n.cfg.incarnation) {
    // Removed while alive: others could not hear it. Lifeguard's local health: it is the likely
    // sick one, and it proves otherwise to the leader before it is admitted again.
    n.selfRemovals++;
    n.log(
      "warning",
      `removed from the group while alive (${n.selfRemovals} time${n.selfRemovals === 1 ? "" : "s"}): ` +
        `its packets may be getting lost; on probation until the leader hears it steadily`,
      "health",
    );
  }
  settleOutbox(n, view, `removed from the group in view ${view.id}`);
  n.newest = view;
  becomeJoining(n, view.leader);
  n.joinTarget = view.leader === n.id ? null : view.leader;
}

/**
 * Installs `view` if it names this run and is newer than the last view this
 * peer installed; a newer view without this peer means removal. Within the
 * epoch of the newest view known, only a view newer than that one counts
 * (the order of one history is agreed); a view of another epoch that names
 * this run outweighs a mere report of another history.
 */
export function adopt(n: Node, view: View, ballot: Ballot): boolean {
  const newest = n.newest;
  const sameHistory = newest !== null && compareEpochs(view.epoch, newest.epoch) === 0;
  if (incarnationIn(view, n.id) === n.cfg.incarnation) {
    if (compareViews(view, n.lastInstalled) <= 0 || (sameHistory && compareViews(view, newest) <= 0)) {
      return false;
    }
    if (awaitsCut(n, view)) return false;
    install(n, view, ballot);
  } else if (compareViews(view, newest) > 0) {
    if (awaitsCut(n, view)) return false; // its own events may be among them
    removed(n, view);
  } else return false;
  return true;
}

export function onNewView(n: Node, m: NewViewMessage): void {
  if (m.carried) takeCut(n, m.view, m.carried);
  if (!adopt(n, m.view, m.ballot)) return;
  yieldTo(n, m.ballot);
  if (n.role.name === "candidate") evaluateTakeover(n, n.role.takeover);
  else pump(n);
}
