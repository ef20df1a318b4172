/**
 * Leaving the group on purpose: asking the leader (a leader hands over to the
 * next in line first), a leader's side of a LEAVE, and the end of it.
 *
 * @module
 */

import { settleOutbox } from "./broadcast.ts";
import type { LeaveMessage, View } from "./messages.ts";
import type { Node } from "./node.ts";
import { startTakeover } from "./candidate.ts";
import { pump } from "./leader.ts";
import { becomeMember } from "./roles.ts";

/** Asks the leader to remove this peer; a leader hands over to the next in line first. */
export function askToLeave(n: Node): void {
  const view = n.view;
  if (!view) return;
  const role = n.role.name;
  if (role === "leader" || role === "candidate" || n.leader === n.id) {
    const next = n.others(view).find((m) => !n.detector.suspected.has(m) && !n.isLeaving(m));
    if (next === undefined) return finishLeaving(n, view); // nobody to hand over to
    becomeMember(n);
    n.lease.forget();
    n.send(next, { type: "LEAVE" });
  } else if (n.leader !== null) {
    n.send(n.leader, { type: "LEAVE" });
  }
}

export function onLeave(n: Node, m: LeaveMessage): void {
  if (!n.isMember(m.from, m.incarnation)) return;
  const wasLeader = m.from === n.leader;
  n.leavers.set(m.from, m.incarnation);
  const role = n.role;
  if (role.name === "leader") {
    role.leadership.enqueue({ ...n.deletion(m.from), left: true }, "left");
    return pump(n);
  }
  // The leader hands over: the next in line takes over at once, without waiting for a timeout.
  if (wasLeader && role.name === "member" && n.lowestAlive() === n.id && n.mayAct()) {
    startTakeover(n);
  }
}

/** This peer has left: it reports so, keeps what it must, and does nothing more. */
export function finishLeaving(n: Node, view: View | null): void {
  n.log("info", view ? `left the group: view ${view.id} does not hold this peer` : "left", "left");
  const event = {
    type: "left" as const,
    peer: n.id,
    viewId: view?.id ?? 0,
    leader: view?.leader ?? n.id,
    member: n.id,
    isLeader: false,
  };
  if (view) n.out.push({ kind: "event", event }); // never in a group: nothing to report
  settleOutbox(n, view, "this peer left the group");
  if (view) n.newest = view;
  n.view = null;
  n.role = { name: "joining" };
  n.ownVersion++;
  n.left = true;
}
