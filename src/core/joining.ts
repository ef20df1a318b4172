/**
 * The joiner's side: JOINs to whom the joiner asks next (joiner.ts), following
 * a REDIRECT, and what a JOIN gets from each role: a joining peer counts it
 * (every other peer asking means no group is left to find), a member
 * redirects it, a leader admits it.
 *
 * @module
 */

import { compareEpochs } from "./epoch.ts";
import type { JoinMessage, PeerId, TagsMessage } from "./messages.ts";
import { sameTags } from "./tags.ts";
import type { Node } from "./node.ts";
import { incarnationIn, tagsIn } from "./view.ts";
import { catchUp } from "./history.ts";
import { pump } from "./leader.ts";

export function sendJoin(n: Node): void {
  // The JOIN names the last view this peer installed: a group of another history numbers above it.
  const knownViewId = n.lastInstalled?.id ?? 0;
  const tags = Object.keys(n.tags).length > 0 ? { tags: n.tags } : {};
  const restarted = n.restarted ? { restarted: true } : {};
  for (const p of n.joiner.next(n.now, n.cfg.random)) {
    n.send(p, { type: "JOIN", knownViewId, ...tags, ...restarted });
  }
}

export function onRedirect(n: Node, from: PeerId, leader: PeerId): void {
  if (leader > n.cfg.peerCount || n.view || leader === n.id) return;
  n.joinTarget = leader;
  if (leader === from) return; // it leads, or believes so: the retry will reach it
  n.joiner.askNext(leader, false);
  sendJoin(n);
}

export function onJoin(n: Node, m: JoinMessage): void {
  if (m.probation && n.role.name !== "leader") return; // for the leader alone; the joiner's JOINs are answered
  if (!n.view) {
    // Every other peer asking to join: no group is left to find (see #stuck).
    n.joinersHeard.add(m.from);
    return; // it retries; we cannot help yet
  }
  const known = incarnationIn(n.view, m.from);
  // A member that missed its NEWVIEW: any member can catch it up, and must,
  // since a candidate may need that member's answer to reach a majority.
  if (known === m.incarnation) return catchUp(n, m.from);
  if (compareEpochs(m.epoch, n.epoch()) > 0) {
    // It comes from a later history: it finds that group, or shows it to us.
    n.send(m.from, { type: "PROBE" });
    return n.log("info", `not admitting peer ${m.from}: its epoch is later than ours`, "join-later");
  }
  const role = n.role;
  if (role.name === "candidate") return; // it retries; we cannot help yet
  if (role.name !== "leader") {
    return n.send(m.from, { type: "REDIRECT", leader: n.leader ?? 1, viewId: n.view.id });
  }
  const leadership = role.leadership;
  // A run removed while alive proves its health first (damping.ts); one removed while it was down
  // and back on its data dir (its JOIN says so) was no flap.
  if (m.restarted && n.damping.forgive(m.from, m.incarnation, n.now)) {
    n.log("info", `peer ${m.from} was removed while it was down: no probation`, "restarted");
  }
  if (m.probation) n.damping.arrived(m.from, m.incarnation, n.now);
  if (!n.damping.admits(m.from, m.incarnation, n.now)) {
    return n.log("info", `peer ${m.from} is on probation: not admitted yet`, "probation");
  }
  if (
    n.damping.removals(m.from, m.incarnation, n.now) > 0 &&
    !n.leadership()?.queue.some((q) => q.op.peer === m.from)
  ) {
    n.log(
      "warning",
      `peer ${m.from}, removed while alive, proved its health: admitting it again`,
      "readmitted",
    );
  }
  if (m.knownViewId > Math.max(n.view.id, n.above.viewId)) {
    n.above = { viewId: m.knownViewId, peer: m.from };
  }
  if (known !== undefined) leadership.enqueue({ kind: "DEL", peer: m.from, incarnation: known }, "restart");
  const tags = m.tags && Object.keys(m.tags).length > 0 ? { tags: m.tags } : {};
  leadership.enqueue({ kind: "ADD", peer: m.from, incarnation: m.incarnation, ...tags }, "join");
  pump(n);
}

/**
 * Every tick: a member whose tags the view does not hold yet asks its leader
 * to commit them (again after a retry interval: a takeover may have lost the
 * request, and a restart on the data dir or forming anew may bring other tags).
 */
export function syncTags(n: Node): void {
  const view = n.view;
  if (!view || sameTags(tagsIn(view, n.id), n.tags) || n.now - n.tagsSentAt < n.retryMs()) return;
  n.tagsSentAt = n.now;
  const leadership = n.leadership();
  if (leadership) {
    leadership.enqueue({ kind: "TAG", peer: n.id, incarnation: n.cfg.incarnation, tags: n.tags }, "tags");
    return pump(n);
  }
  const leader = n.leader;
  if (leader !== null && leader !== n.id) n.send(leader, { type: "TAGS", tags: n.tags });
}

/** A member asks this leader to commit its new tags. */
export function onTags(n: Node, m: TagsMessage): void {
  const leadership = n.leadership();
  if (!leadership || !n.isMember(m.from, m.incarnation)) {
    return n.log("debug", `dropped TAGS from ${m.from}: not its leader`, "tags-stray");
  }
  leadership.enqueue({ kind: "TAG", peer: m.from, incarnation: m.incarnation, tags: m.tags }, "tags");
  pump(n);
}

/**
 * A joining peer tells the leader it was pointed at that it is here every
 * heartbeat interval, by datagram: a run removed while alive is admitted once
 * enough of them arrive (damping.ts), any other at the first.
 */
export function sendProbation(n: Node): void {
  const to = n.joinTarget;
  if (to === null || n.view) return;
  const restarted = n.restarted ? { restarted: true } : {};
  n.send(
    to,
    { type: "JOIN", knownViewId: n.lastInstalled?.id ?? 0, probation: true, ...restarted },
    "datagram",
  );
}
