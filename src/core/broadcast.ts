/**
 * The handlers of user events (the state is in events.ts, which says why the
 * order is agreed): a member hands its event to its leader (EVENT); the
 * leader of the view orders it and sends it on (EVENTS); each member says how
 * many it holds (EVENTS_OK); once a majority holds an event it is committed,
 * and the next EVENTS says so. A view change carries the cut (the proposal's
 * `events`, the view's `cut`), and every member delivers the events up to it
 * before it installs the next view.
 *
 * @module
 */

import type {
  EventMessage,
  EventRun,
  EventsMessage,
  EventsOkMessage,
  Operation,
  PeerId,
  UserEvent,
  View,
} from "./messages.ts";
import type { Node } from "./node.ts";
import { majorityOf } from "./quorum.ts";
import { compareEpochs } from "./epoch.ts";
import { eventKey, EventLog } from "./events.ts";
import { incarnationIn, tagsIn } from "./view.ts";
import { pump } from "./leader.ts";

/** The event log of the installed view (a new one when the view changed). */
export function eventLog(n: Node): EventLog {
  const view = n.view!;
  if (n.eventLog?.viewId !== view.id) {
    // The view before's events stay at hand for a member that missed its end (see cutFor).
    if (n.eventLog) n.previousLog = n.eventLog;
    n.eventLog = new EventLog(view.id);
  }
  return n.eventLog;
}

/**
 * Whether the installed view's events are this peer's to order: the view
 * names it as leader (one orderer a view), and this process holds the view's
 * events (one restored into it lost them).
 */
export function ownsOrder(n: Node): boolean {
  return n.view?.leader === n.id && n.view.id !== n.restoredInto;
}

/** Whether this peer orders events now: it leads, acts, and owns the order. */
function orders(n: Node): boolean {
  return n.role.name === "leader" && n.mayAct() && ownsOrder(n);
}

/** A new event of this peer's: kept in its outbox until delivered, and handed to the leader. */
export function broadcast(n: Node, name: string, payload: string): UserEvent {
  const event = n.outbox.add(name, payload, n.now);
  if (n.view) handOn(n, event);
  return event;
}

/** Hands this peer's own event to whoever orders: itself, or its leader. */
function handOn(n: Node, event: UserEvent): void {
  n.outbox.pending.get(event.number)!.sentAt = n.now;
  const leader = n.leader;
  if (leader === n.id) return order(n, event);
  if (leader !== null) n.send(leader, { type: "EVENT", viewId: n.view!.id, event });
}

/** An event handed to this leader by a member of its view. */
export function onEvent(n: Node, m: EventMessage): void {
  // Only an event handed on in this very view: one from before the sender was removed and
  // admitted again was reported undelivered (see settleOutbox); it is sent again after a view change.
  if (n.role.name !== "leader" || !n.isMember(m.from, m.incarnation) || m.viewId !== n.view!.id) {
    return n.log(
      "debug",
      `dropped EVENT from ${m.from} of view ${m.viewId}: not its leader in that view`,
      "event-stray",
    );
  }
  if (m.event.origin !== m.from || m.event.originRun !== m.incarnation) {
    return n.log("warning", `dropped EVENT from ${m.from}: it names another sender`, "event-invalid");
  }
  order(n, m.event);
}

/**
 * Orders `event` in the view, unless it is ordered or delivered already. While
 * a view change runs, or in a view another peer leads by name, it waits for the
 * next view (its cut is fixed); a leader in a view it does not name makes one.
 */
function order(n: Node, event: UserEvent): void {
  const leadership = n.leadership();
  if (!leadership) return;
  const key = eventKey(event);
  if (n.delivered.has(event)) return;
  if (!ownsOrder(n)) {
    // Not this view's to order: it waits for a view of this leader's own, which pump makes
    // (a group of one commits that at once, and orders what waits there).
    leadership.waiting.set(key, event);
    return pump(n);
  }
  const log = eventLog(n);
  if (log.holds(key)) return; // ordered by the view's leader before: the next cut delivers it
  if (leadership.current || !orders(n)) {
    if (!leadership.waiting.has(key)) leadership.waiting.set(key, event);
    return;
  }
  const position = log.length + 1;
  log.append({ first: position, events: [event] });
  for (const m of n.others(n.view!)) sendEvents(n, log, m, { first: position, events: [event] });
  advanceCommit(n, log);
}

/**
 * A leader the view does not name (a takeover that changed no view), or one
 * restored into its view, orders no events there: while any wait, it wants a
 * view of its own (a TAG of its own tags, changing nothing else), whose cut
 * delivers what the view's leader ordered. `pump` queues it.
 */
export function ownViewWanted(n: Node): Operation | null {
  const leadership = n.leadership();
  if (!leadership || ownsOrder(n)) return null;
  const log = eventLog(n);
  const waits = leadership.waiting.size > 0 || n.outbox.pending.size > 0 || log.length > log.delivered;
  return waits
    ? { kind: "TAG", peer: n.id, incarnation: n.cfg.incarnation, tags: tagsIn(n.view!, n.id) }
    : null;
}

/** Orders what waited for the view change (see {@linkcode dropWaiting}), and this leader's own. */
export function orderWaiting(n: Node): void {
  const leadership = n.leadership();
  if (!leadership || leadership.current || !orders(n)) return;
  const waiting = [...leadership.waiting.values(), ...[...n.outbox.pending.values()].map((p) => p.event)];
  leadership.waiting.clear();
  for (const e of waiting) order(n, e);
}

/**
 * A view is installed: events waiting of runs it does not hold are dropped at
 * once. Their senders were told they are undelivered (settleOutbox), even if
 * the same run is admitted again before the events' turn would come.
 */
export function dropWaiting(n: Node, view: View): void {
  const waiting = n.leadership()?.waiting;
  for (const [key, e] of waiting ?? []) {
    if (incarnationIn(view, e.origin) !== e.originRun) waiting!.delete(key);
  }
}

function sendEvents(n: Node, log: EventLog, to: PeerId, run: EventRun): void {
  if (!log.stillSince.has(to)) log.stillSince.set(to, n.now);
  const ballot = n.leadership()!.ballot;
  n.send(to, { type: "EVENTS", viewId: log.viewId, ballot, run, committed: log.committed });
}

/** Commits what a majority of the view holds, delivers it, and tells the others. */
function advanceCommit(n: Node, log: EventLog): void {
  const view = n.view!;
  const held = view.members.map((m) => m === n.id ? log.length : log.have.get(m) ?? 0)
    .sort((a, b) => b - a);
  const committed = held[majorityOf(view) - 1];
  if (committed <= log.committed) return;
  log.committed = committed;
  deliverUpTo(n, log, committed);
  for (const m of n.others(view)) sendEvents(n, log, m, { first: log.length + 1, events: [] });
}

/** A member takes the leader's events in, delivers what is committed, and says how many it holds. */
export function onEvents(n: Node, m: EventsMessage): void {
  const view = n.view;
  if (!view || m.viewId !== view.id || m.from !== view.leader) {
    return n.log("debug", `dropped EVENTS from ${m.from} for view ${m.viewId}`, "events-stale");
  }
  if (n.acceptor.refuses(m.ballot)) {
    // It promised a later ballot (a takeover it gave up, say): the leader learns it, as from a REQ.
    n.log("info", `refused EVENTS from replaced leader ${m.from}`, "events-refused");
    return n.send(m.from, { type: "REJECT", promised: n.acceptor.promised });
  }
  const log = eventLog(n);
  log.append(m.run);
  deliverUpTo(n, log, Math.min(m.committed, log.length));
  if (m.run.events.length > 0) {
    n.send(m.from, { type: "EVENTS_OK", viewId: view.id, have: log.length });
  }
}

/** What the leader's heartbeat says of the view's events: how many are committed (a lost EVENTS is news again). */
export function committedNews(n: Node): { committed?: number } {
  const log = n.eventLog;
  return orders(n) && log?.viewId === n.view!.id && log.committed > 0 ? { committed: log.committed } : {};
}

/** The leader's heartbeat says `committed` events are: deliver those held, and ask for those missing. */
export function onCommittedNews(n: Node, from: PeerId, committed: number): void {
  if (from !== n.view!.leader) return;
  const log = eventLog(n);
  deliverUpTo(n, log, Math.min(committed, log.length));
  if (log.length < committed) n.send(from, { type: "EVENTS_OK", viewId: log.viewId, have: log.length });
}

/** The leader learns how many events a member holds. */
export function onEventsOk(n: Node, m: EventsOkMessage): void {
  if (n.role.name !== "leader" || m.viewId !== n.view?.id || !n.isMember(m.from, m.incarnation)) return;
  const log = eventLog(n);
  log.held(m.from, m.have, n.now);
  if (orders(n)) advanceCommit(n, log);
}

/** Delivers events up to `upTo` of `log`, in order. */
function deliverUpTo(n: Node, log: EventLog, upTo: number): void {
  for (let p = log.delivered + 1; p <= upTo; p++) {
    const event = log.at(p);
    if (n.delivered.has(event)) {
      // Ordered again: the group forgot it (a majority of a view went down with it) and its sender,
      // which never saw it delivered, sent it again. Each member delivers an event once.
      n.log(
        "info",
        `${eventKey(event)} at position ${p} of view ${log.viewId} was delivered here already`,
        "event-again",
      );
      continue;
    }
    n.delivered.add(event);
    if (n.outbox.owns(event) && n.outbox.pending.delete(event.number)) {
      n.out.push({ kind: "broadcast", number: event.number, outcome: "delivered" });
    }
    n.out.push({
      kind: "event",
      event: { type: "event", peer: n.id, viewId: log.viewId, position: p, event },
    });
  }
  log.delivered = Math.max(log.delivered, upTo);
}

/** Whether `next` is the view right after `view`: same epoch, and its cut (or id) follows it. */
function follows(view: View, next: View): boolean {
  return compareEpochs(next.epoch, view.epoch) === 0 &&
    (next.cut ? next.cut.of === view.id : next.id === view.id + 1);
}

/**
 * Before installing (or being removed by) `next`: the events of this peer's
 * view up to the cut `next` carries. A peer that skipped a view has no cut to
 * deliver; one that lacks events of it says so (it missed the REQ that carried them).
 */
export function deliverCut(n: Node, next: View): void {
  const log = n.eventLog;
  const view = n.view;
  if (!view || !follows(view, next)) {
    // It skipped views (caught up over them, or joined another history): its events may have
    // been delivered there, unseen here. Sent again they could be delivered twice: their fate is unknown.
    settle(n, "unknown", "this peer missed views in which it may have been delivered");
    return;
  }
  if (!log || log.viewId !== view.id) return;
  const count = next.cut?.count ?? 0;
  if (log.length < count) {
    n.log(
      "warning",
      `view ${next.id}: missed ${count - log.length} events of view ${view.id}`,
      "events-missed",
    );
  }
  deliverUpTo(n, log, Math.min(count, log.length));
}

/** A catch-up NEWVIEW of `view` carries the events of its cut, where this peer still holds them. */
export function cutFor(n: Node, view: View): { carried?: EventRun } {
  const log = n.eventLog?.viewId === view.cut?.of ? n.eventLog : n.previousLog;
  if (!view.cut || log?.viewId !== view.cut.of || log.length === 0) return {};
  return { carried: log.runFrom(1, Math.min(view.cut.count, log.length)) };
}

/** A member behind takes in the events of the cut a catch-up NEWVIEW carried. */
export function takeCut(n: Node, view: View, carried: EventRun): void {
  if (n.view && view.cut?.of === n.view.id) eventLog(n).append(carried);
}

/**
 * Whether this member should not install `next` yet: it follows this peer's
 * view, whose events up to its cut this peer lacks (it missed the view's end,
 * and learned of the next view from a message that does not carry them). Its
 * heartbeats, of the older view, bring a catch-up NEWVIEW that does; after a
 * failure timeout it installs without them (they may be lost for good).
 */
export function awaitsCut(n: Node, next: View): boolean {
  const view = n.view;
  const count = next.cut && view && next.cut.of === view.id ? next.cut.count : 0;
  if (!view || count === 0 || compareEpochs(next.epoch, view.epoch) !== 0 || eventLog(n).length >= count) {
    return false;
  }
  if (n.cutAwaited?.viewId !== next.id) n.cutAwaited = { viewId: next.id, since: n.now };
  if (n.now - n.cutAwaited.since >= n.detector.timeoutMs) return false;
  n.log("info", `view ${next.id} waits: events of view ${view.id} missing here`, "cut-awaited");
  return true;
}

/** After a view is installed: hand the own events not yet delivered to its leader (a leader orders them in `pump`). */
export function afterInstall(n: Node): void {
  if (n.leader === n.id) return;
  for (const { event } of n.outbox.pending.values()) handOn(n, event);
}

/** Events of the view a REQ must carry to `to`: those up to the cut that it may lack. */
export function carriedFor(
  n: Node,
  to: PeerId,
  cut: number | undefined,
): { carried?: EventRun; held?: number } {
  const log = eventLog(n);
  const have = log.have.get(to) ?? 0;
  if (!cut) return {};
  // A recovered proposal's cut may hold events lost with the peers that restarted (candidate.ts).
  const held = log.length < cut ? { held: log.length } : {};
  return cut > have && log.length > have
    ? { carried: log.runFrom(have + 1, Math.min(cut, log.length)), ...held }
    : held;
}

/** A member takes in what a REQ carried; false (and it says how many it holds) if it still lacks some. */
export function holdsCut(
  n: Node,
  to: PeerId,
  carried: EventRun | undefined,
  cut: number | undefined,
  held: number | undefined,
): boolean {
  const log = eventLog(n);
  if (carried) log.append(carried);
  if (log.length >= Math.min(cut ?? 0, held ?? Infinity)) return true;
  n.send(to, { type: "EVENTS_OK", viewId: log.viewId, have: log.length });
  return false;
}

/**
 * Every tick: the leader sends again what a member lacks once its count stood
 * still for a retry interval (its heartbeats say what is committed), and this
 * peer hands its own events on again after a failure timeout without delivery.
 */
export function resendEvents(n: Node): void {
  if (!n.view) return;
  const log = eventLog(n);
  if (orders(n)) {
    for (const m of n.others(n.view)) {
      const have = log.have.get(m) ?? 0;
      const still = n.now - (log.stillSince.get(m) ?? n.now);
      const resent = n.now - (log.resentAt.get(m) ?? -Infinity);
      if (have >= log.length || still < n.retryMs() || resent < n.retryMs()) continue;
      log.resentAt.set(m, n.now);
      sendEvents(n, log, m, log.runFrom(have + 1));
    }
  }
  for (const { event, sentAt } of n.outbox.pending.values()) {
    if (n.now - sentAt >= n.detector.timeoutMs) handOn(n, event);
  }
}

/**
 * This peer is out of the group (removed by `next`, or left): it delivers the
 * cut of its view, and tells the senders of its own events still pending. If
 * `next` follows its view directly, they were not delivered and never will
 * be (a leader orders only events of members, handed on in its very view);
 * if it skipped views, nobody can tell it: their fate is unknown.
 */
export function settleOutbox(n: Node, next: View | null, reason: string): void {
  const view = n.view;
  if (next) deliverCut(n, next);
  // Certain only where it saw every view since it handed the event on, and delivered the whole
  // cut of the last: an event of its own left is then in no cut.
  const whole = view !== null && next !== null && follows(view, next) &&
    eventLog(n).length >= (next.cut?.count ?? 0);
  if (whole) settle(n, "undelivered", `${reason} before it was delivered`);
  else settle(n, "unknown", `${reason}; it may have been delivered`);
}

/** Tells the senders of every own event pending what became of them, and forgets them. */
function settle(n: Node, outcome: "undelivered" | "unknown", reason: string): void {
  for (const number of n.outbox.pending.keys()) n.out.push({ kind: "broadcast", number, outcome, reason });
  n.outbox.pending.clear();
}
