/**
 * The membership protocol as a pure state machine, in the manner of etcd's
 * raft library: the host feeds it messages and clock ticks, with the time,
 * and carries out the effects it returns. It does no I/O and reads no clock.
 *
 * Group histories are explicit: every view belongs to an epoch, made only by
 * forming (founding is forming in which nobody knows a view), and every
 * message carries its sender's. One rule decides what a message's epoch
 * means on arrival (`epoch.ts`, carried out in `history.ts`): older, it is
 * answered with our view and dropped; newer, its view is installed or its
 * group joined; equal, it goes to the per-view Paxos. Within an epoch,
 * safety follows Paxos, one instance per view id: the members of view `v`
 * are the acceptors that choose view `v + 1`. A REQ is Paxos' accept, a
 * member's pending operation its accepted value, NEWLEADER the prepare of a
 * new ballot, and a takeover re-proposes the highest-ballot pending value it
 * learns of, unchanged, so every peer that installs (epoch, `v`) installs the
 * same view.
 *
 * This file is the router: it checks who a message is from, applies the
 * epoch rule, and hands the message to the handler of its type; the state
 * lives in `node.ts`, the role (joining, member, leader, candidate) changes
 * only in `roles.ts`, and each role's decisions live in a file of their own:
 * `joining.ts`, `member.ts`, `leader.ts`, `candidate.ts`, `leaving.ts`,
 * `forming.ts` (with the pure decision in `formation.ts`) and `history.ts`;
 * the sub-states are the acceptor (`acceptor.ts`), the leader's queue
 * (`leadership.ts`), the candidate's prepare phase (`takeover.ts`), the
 * follower's lease (`lease.ts`), the failure detector
 * (`failure_detector.ts`), the joiner's retries (`joiner.ts`), the probe of a
 * returning peer (`probe.ts`), and the quorum rules (`quorum.ts`).
 *
 * What a peer must keep to stay the same voter (its promise, what it
 * accepted, the view it installed) is handed to the host as one `persist`
 * effect at the head of every step that changed it, so it is written before
 * any message or output of that step.
 *
 * @module
 */

import { considerTakeover, onPending } from "./candidate.ts";
import type { CoreConfig } from "./config.ts";
import type { DurableState, Effect } from "./effects.ts";
import { classifyEpoch } from "./epoch.ts";
import { considerFormation, onForm, onFormAccept, onFormOk, onFormPromise } from "./forming.ts";
import { answered, endProbe, onNewer, onNewView, onOlder, sendProbes } from "./history.ts";
import { onJoin, onRedirect, onTags, sendJoin, sendProbation, syncTags } from "./joining.ts";
import { broadcast, onEvent, onEvents, onEventsOk, resendEvents } from "./broadcast.ts";
import { userEventError } from "./events.ts";
import { type Tags, tagsError } from "./tags.ts";
import { onOk, retransmit } from "./leader.ts";
import { askToLeave, finishLeaving, onLeave } from "./leaving.ts";
import { detectFailures, heardFrom, onHeartbeat, onNewLeader, onReq, sendHeartbeats } from "./member.ts";
import type { Probation } from "./damping.ts";
import {
  type Epoch,
  MAX_QUERY_ERROR_CHARS,
  MAX_QUERY_PAYLOAD_BYTES,
  type Message,
  type PeerId,
  type Proposal,
  QUERY_NAME,
  type View,
} from "./messages.ts";
import { Node, type Role } from "./node.ts";
import { Probe } from "./probe.ts";
import { onAnswer, onQuery, type QueryReply, sendAnswer, sendQuery } from "./query.ts";
import { onHigherBallot } from "./roles.ts";
import { incarnationIn, tagsIn } from "./view.ts";

export type { Role } from "./node.ts";
export type { QueryReply } from "./query.ts";

/**
 * Messages outside the epoch rule: a JOIN (how a peer of any history, or of
 * none, comes in) and forming, whose acceptors are the whole hostsfile.
 */
const ANY_EPOCH: ReadonlySet<Message["type"]> = new Set([
  "JOIN",
  "FORM",
  "FORM_PROMISE",
  "FORM_ACCEPT",
  "FORM_OK",
]);

/** A peer's health, and the peers on probation with it (see {@linkcode PeerCore.health}). */
export interface PeerHealth {
  /** How often this run was removed from a view while alive: its packets may be the ones lost. */
  readonly removedWhileAlive: number;
  /** Runs removed while alive that asked back: each proves its health over a window before it is admitted. */
  readonly probation: readonly Probation[];
}

/** A member of the view as one peer sees it. */
export interface MemberState {
  /** The member's ID. */
  readonly id: PeerId;
  /** The run of it that the view holds. */
  readonly incarnation: number;
  /** Milliseconds since it was last heard from. */
  readonly silentMs: number;
  /** Whether it is heard from, held unreachable, or leaving on purpose. */
  readonly state: "alive" | "suspected" | "leaving";
  /** Its tags, as the view agreed them. */
  readonly tags: Tags;
}

/**
 * One peer's protocol state. Every method takes the current time in ms and
 * returns the effects to carry out, in order.
 *
 * @example
 * ```ts
 * import { PeerCore } from "./peer_core.ts";
 * const core = new PeerCore({
 *   id: 1, peerCount: 3, incarnation: 1, heartbeatMs: 200, failAfter: 5, random: Math.random,
 * });
 * const effects = core.start(0); // peer 1 asks the others to join; it founds once none is in a group
 * console.log(effects[0]); // { kind: "send", channel: "stream", to: 2, message: { type: "JOIN", ... } }
 * ```
 */
export class PeerCore {
  readonly #n: Node;

  /** Creates the state machine; nothing happens until {@linkcode start}. */
  constructor(config: CoreConfig) {
    const n = this.#n = new Node(config);
    const r = config.restored;
    if (r) {
      n.acceptor.restore(r.promised, r.accepted, r.formAccepted);
      // A new process of the run: its events get new numbers, and it lost the view's events it held.
      n.restarts = (r.restarts ?? 0) + 1;
      n.ownVersion++;
      n.outbox.restarted(n.restarts);
      n.restoredInto = r.installed?.id ?? null;
      n.lastInstalled = n.newest = r.installed;
      if (r.member && r.installed && incarnationIn(r.installed, config.id) === config.incarnation) {
        n.view = r.installed;
        n.role = { name: "member" };
      }
    }
  }

  /** This peer's ID. */
  get id(): PeerId {
    return this.#n.id;
  }

  /** The installed view, or null while joining. */
  get view(): View | null {
    return this.#n.view;
  }

  /** The leader this peer follows (itself when leading), or null while joining. */
  get leader(): PeerId | null {
    return this.#n.leader;
  }

  /** Where this peer stands. */
  get role(): Role {
    return this.#n.role.name;
  }

  /** The accepted, not yet installed, proposal, if any. */
  get pending(): Proposal | null {
    return this.#n.acceptor.accepted;
  }

  /** Members this peer currently holds unreachable. */
  get suspected(): ReadonlySet<PeerId> {
    return this.#n.detector.suspected;
  }

  /**
   * Whether this peer, back on its data dir or cut off from its view, waits
   * to hear the hostsfile's epochs before it acts in its own (see `probe.ts`).
   */
  get probing(): boolean {
    return this.#n.probe !== null;
  }

  /**
   * This peer's health as it sees it at `now` (Lifeguard's local health: how
   * often it was removed while alive), and the peers on probation with it, as
   * their leader sees them (damping.ts).
   */
  health(now: number): PeerHealth {
    const n = this.#n;
    return { removedWhileAlive: n.selfRemovals, probation: n.damping.probations(now) };
  }

  /** The epoch of the last view this peer installed, if any. */
  get epoch(): Epoch | undefined {
    return this.#n.epoch();
  }

  /** This peer's run. */
  get incarnation(): number {
    return this.#n.cfg.incarnation;
  }

  /**
   * Each member of the installed view as this peer sees it at `now`: its run,
   * how long since it was last heard from (0 for this peer), and its state.
   */
  members(now: number): MemberState[] {
    const n = this.#n;
    const view = n.view;
    if (!view) return [];
    return view.members.map((id, i) => {
      const heard = id === n.id ? now : n.detector.lastHeard(id) ?? now;
      const state = n.detector.suspected.has(id) ? "suspected" : n.isLeaving(id) ? "leaving" : "alive";
      const tags = tagsIn(view, id);
      return { id, incarnation: view.incarnations[i], silentMs: Math.max(0, now - heard), state, tags };
    });
  }

  /** What this peer must keep across a restart to stay the same voter. */
  get durableState(): DurableState {
    const n = this.#n;
    return {
      incarnation: n.cfg.incarnation,
      promised: n.acceptor.promised,
      accepted: n.acceptor.accepted,
      installed: n.lastInstalled,
      member: n.view !== null,
      formAccepted: n.acceptor.formAccepted,
      ...(n.restarts > 0 ? { restarts: n.restarts } : {}),
    };
  }

  /**
   * Starts the peer: every peer asks to join (peer 1 founds the group by
   * forming it once no group shows itself); a peer restored as a member first
   * asks the hostsfile which epoch each peer is in.
   */
  start(now: number): Effect[] {
    return this.#step(now, (n) => {
      n.detector.start(now);
      n.startedAt = now;
      if (!n.view) return sendJoin(n);
      // Restored from an earlier run's state: the same member, watching afresh.
      n.restoredAt = now;
      n.detector.watch(null, n.view, now);
      n.lease.renew(now);
      n.log("info", `restored view ${n.view.id} from durable state`, "restored");
      n.probe = new Probe(now);
      sendProbes(n);
    });
  }

  /** Handles one decoded message from peer `message.from`. */
  receive(now: number, message: Message): Effect[] {
    return this.#step(now, (n) => {
      const from = message.from;
      if (from < 1 || from > n.cfg.peerCount || from === n.id) {
        return n.log(
          "warning",
          `dropped ${message.type}: sender ${from} is not another peer of the hostsfile`,
          "sender",
        );
      }
      // Only the agreed view says which run of a member is current: a higher run
      // merely heard of (forged, or a clock that went back) never silences the real one.
      const recorded = n.view ? incarnationIn(n.view, from) : undefined;
      if (recorded !== undefined && message.incarnation < recorded) {
        return n.log(
          "info",
          `dropped ${message.type} from an old incarnation of peer ${from}`,
          "old-incarnation",
        );
      }
      n.newestRun.set(from, Math.max(n.newestRun.get(from) ?? 0, message.incarnation));
      n.lastHeardAny.set(from, now);
      const order = classifyEpoch(n.epoch(), message.type === "NEWVIEW" ? message.view.epoch : message.epoch);
      if (order !== "newer") answered(n, from);
      if (!ANY_EPOCH.has(message.type)) {
        // The one rule for group histories (epoch.ts).
        if (order === "older") return onOlder(n, message);
        n.groupSeenAt = now;
        if (order === "newer") return onNewer(n, message);
      }
      heardFrom(n, from, message.incarnation);
      this.#route(n, message);
    });
  }

  /** Hands a message of this peer's epoch (or outside the rule) to the handler of its type. */
  #route(n: Node, message: Message): void {
    switch (message.type) {
      case "JOIN":
        return onJoin(n, message);
      case "REDIRECT":
        return onRedirect(n, message.from, message.leader);
      case "REQ":
        return onReq(n, message);
      case "OK":
        return onOk(n, message);
      case "NEWVIEW":
        return onNewView(n, message);
      case "NEWLEADER":
        return onNewLeader(n, message);
      case "PENDING":
        return onPending(n, message);
      case "REJECT":
        return onHigherBallot(n, message.promised, `REJECT from ${message.from}`);
      case "HEARTBEAT":
        return onHeartbeat(n, message);
      case "FORM":
        return onForm(n, message);
      case "FORM_PROMISE":
        return onFormPromise(n, message);
      case "FORM_ACCEPT":
        return onFormAccept(n, message);
      case "FORM_OK":
        return onFormOk(n, message);
      case "LEAVE":
        return onLeave(n, message);
      case "PROBE":
        return n.send(message.from, { type: "PROBE_ACK" });
      case "PROBE_ACK":
        return; // its envelope was the answer (see receive)
      case "TAGS":
        return onTags(n, message);
      case "EVENT":
        return onEvent(n, message);
      case "EVENTS":
        return onEvents(n, message);
      case "EVENTS_OK":
        return onEventsOk(n, message);
      case "QUERY":
        return onQuery(n, message);
      case "ANSWER":
        return onAnswer(n, message);
    }
  }

  /** How many of this run's own user events are not delivered yet. */
  get pendingEvents(): number {
    return this.#n.outbox.pending.size;
  }

  /** The tags this peer asks for (the view's `tags` say what is agreed). */
  get tags(): Tags {
    return this.#n.tags;
  }

  /**
   * Replaces this peer's tags: the leader commits them as a `TAG` operation,
   * so they show in the next view. Throws on tags {@linkcode tagsError} rejects.
   */
  setTags(now: number, tags: Tags): Effect[] {
    const error = tagsError(tags);
    if (error) throw new Error(error);
    return this.#step(now, (n) => {
      n.tags = { ...tags };
      n.tagsSentAt = -Infinity;
      syncTags(n);
    });
  }

  /**
   * Broadcasts a user event to the group: it is delivered (an `event` event)
   * at every member, in the same order everywhere. Returns its number among
   * this run's events, and the effects; a `broadcast` effect with that
   * number says what became of it. Throws on a bad name or payload.
   */
  broadcast(now: number, name: string, payload: string): { number: number; effects: Effect[] } {
    const error = userEventError(name, payload);
    if (error) throw new Error(error);
    let number = 0;
    const effects = this.#step(now, (n) => {
      number = broadcast(n, name, payload).number;
    });
    return { number, effects };
  }

  /**
   * Asks query `name` (see {@linkcode QUERY_NAME}) of every member of the
   * view: a QUERY to each other member, and a `query` effect for this peer's
   * own handler. `queryId` is the host's, to match the answers (`answer`
   * effects). While joining nothing is asked. A name or payload the wire
   * cannot carry is refused with a diagnostic.
   */
  query(now: number, queryId: number, name: string, payload: Uint8Array, timeoutMs: number): Effect[] {
    return this.#step(now, (n) => {
      if (!QUERY_NAME.test(name) || payload.length > MAX_QUERY_PAYLOAD_BYTES) {
        return n.log(
          "error",
          `query ${JSON.stringify(name)} not sent: bad name or payload too large`,
          "query",
        );
      }
      sendQuery(n, queryId, name, payload, timeoutMs);
    });
  }

  /**
   * The host's answer to query `queryId` of peer `to` (a `query` effect):
   * an ANSWER to the asker, or an `answer` effect when this peer asked. An
   * answer over {@linkcode MAX_QUERY_PAYLOAD_BYTES} goes as an error instead.
   */
  answer(now: number, to: PeerId, queryId: number, reply: QueryReply): Effect[] {
    return this.#step(now, (n) => {
      if (reply.payload && reply.payload.length > MAX_QUERY_PAYLOAD_BYTES) {
        reply = {
          error: `answer of ${reply.payload.length} bytes is over the limit of ${MAX_QUERY_PAYLOAD_BYTES}`,
        };
      } else if (reply.error !== undefined && reply.error.length > MAX_QUERY_ERROR_CHARS) {
        reply = { error: reply.error.slice(0, MAX_QUERY_ERROR_CHARS) };
      }
      sendAnswer(n, to, queryId, reply);
    });
  }

  /**
   * Leaves the group on purpose: the leader is asked to remove this peer (a
   * leader hands over to the next in line first). Once the view without it
   * is committed, a `left` event names this peer and the core does nothing more.
   */
  leave(now: number): Effect[] {
    return this.#step(now, (n) => {
      if (n.leaving) return;
      n.leaving = true;
      const view = n.view;
      if (!view || view.members.length === 1) return finishLeaving(n, view);
      askToLeave(n);
    });
  }

  /** Whether this peer has left the group on purpose. */
  get hasLeft(): boolean {
    return this.#n.left;
  }

  /** Advances timers: heartbeats, failure detection, retries, takeover, forming. */
  tick(now: number): Effect[] {
    return this.#step(now, (n) => {
      const stall = n.detector.tick(now);
      if (stall > 0) {
        n.lease.extend(stall);
        n.log("info", `event loop stalled ${stall} ms; failure deadlines extended`, "stall");
      }
      considerFormation(n);
      if (!n.view && n.joiner.due(now)) sendJoin(n);
      if (!n.view) return sendProbation(n);
      if (n.probe) {
        endProbe(n);
        if (n.probe) sendProbes(n);
      }
      sendHeartbeats(n);
      detectFailures(n);
      if (!n.view) return;
      considerTakeover(n);
      retransmit(n);
      syncTags(n);
      resendEvents(n);
      if (n.leaving) askToLeave(n);
    });
  }

  /** Runs one step at `now`; a change of the durable state heads its effects as one `persist`. */
  #step(now: number, body: (n: Node) => void): Effect[] {
    const n = this.#n;
    if (n.left) return [];
    n.now = now;
    n.out = [];
    const version = n.durableVersion();
    body(n);
    if (n.durableVersion() !== version) n.out.unshift({ kind: "persist", state: this.durableState });
    return n.out;
  }
}
