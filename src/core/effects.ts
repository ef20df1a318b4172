/**
 * What the protocol core asks its host to do, and the events it reports.
 *
 * @module
 */

import type { Ballot, FormAcceptance, Message, PeerId, Proposal, UserEvent, View } from "./messages.ts";

/** A view was installed, or a member became unreachable. */
export type PeerEvent =
  | {
    /** A view was installed. */
    readonly type: "view";
    /** The peer that installed it. */
    readonly peer: PeerId;
    /** The view. */
    readonly view: View;
  }
  | {
    /** A member was detected unreachable. */
    readonly type: "unreachable";
    /** The peer that detected it. */
    readonly peer: PeerId;
    /** The detecting peer's view id. */
    readonly viewId: number;
    /** The detecting peer's view leader. */
    readonly leader: PeerId;
    /** The unreachable member. */
    readonly member: PeerId;
    /** Whether the unreachable member is the leader. */
    readonly isLeader: boolean;
  }
  | {
    /** A member left on purpose: the view without it is installed (or, for the member itself, committed). */
    readonly type: "left";
    /** The peer that reports it. */
    readonly peer: PeerId;
    /** The reporting peer's view id: the view without the member. */
    readonly viewId: number;
    /** That view's leader. */
    readonly leader: PeerId;
    /** The member that left. */
    readonly member: PeerId;
    /** Whether the member that left was the leader. */
    readonly isLeader: boolean;
  }
  | {
    /** The group was formed anew (a majority of `above` restarted without state); a view event follows. */
    readonly type: "formed";
    /** The peer that reports it. */
    readonly peer: PeerId;
    /** The view formed. */
    readonly view: View;
    /** The id of the newest view known before, which could never gather its quorum again. */
    readonly above: number;
  }
  | {
    /**
     * A user event was delivered: every member of view `viewId` that
     * installs the next view delivers the same events of it, in the same order.
     */
    readonly type: "event";
    /** The peer that delivers it. */
    readonly peer: PeerId;
    /** The view it was delivered in. */
    readonly viewId: number;
    /** Its position in that view's order, from 1. */
    readonly position: number;
    /** The event: who broadcast it, its name and payload. */
    readonly event: UserEvent;
  };

/** Diagnostic levels, as LogTape names them. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** How a message travels: the reliable stream (TCP) or a datagram (UDP). */
export type Channel = "stream" | "datagram";

/**
 * What a peer must keep across a restart to stay the same voter: its run,
 * what it promised, what it accepted, and the view it installed. A host with
 * storage writes it before it carries out any effect that follows it.
 */
export interface DurableState {
  /** The run this state belongs to: a peer restarted on it is the same run. */
  readonly incarnation: number;
  /** No REQ, NEWLEADER or FORM below this ballot may be accepted. */
  readonly promised: Ballot;
  /** The accepted, not yet installed, proposal. */
  readonly accepted: Proposal | null;
  /** The last view this peer installed (kept after it was removed from the group). */
  readonly installed: View | null;
  /** Whether this peer is still a member of `installed`. */
  readonly member: boolean;
  /** The view accepted to form the group anew, not yet installed. */
  readonly formAccepted: FormAcceptance | null;
  /**
   * How often this run was restored from this state: a restored process
   * numbers its user events afresh, above the numbers of the one before.
   */
  readonly restarts?: number;
}

/** A query that reached this peer (or that it asked itself): the host runs its handler and answers. */
export interface IncomingQuery {
  /** The asker. */
  readonly from: PeerId;
  /** The asker's id for it: the answer names it. */
  readonly queryId: number;
  /** The query's name: which handler answers. */
  readonly name: string;
  /** The question's bytes. */
  readonly payload: Uint8Array;
  /** How long the asker waits for the answer, in ms. */
  readonly timeoutMs: number;
}

/** An answer to one of this peer's queries (its own answer too). */
export interface IncomingAnswer {
  /** The member that answered. */
  readonly from: PeerId;
  /** The query it answers. */
  readonly queryId: number;
  /** The answer's bytes, or null when `error` says why there are none. */
  readonly payload: Uint8Array | null;
  /** The member's error (no handler, a handler that failed), or null. */
  readonly error: string | null;
}

/**
 * One thing for the host to do, in order. Like raft's `Ready`, each says
 * exactly what it means: which channel a message takes, which connection to
 * drop, what to persist before anything after it happens.
 */
export type Effect =
  | {
    /** Send a message over the named channel. */
    readonly kind: "send";
    /** Stream (control) or datagram (heartbeats). */
    readonly channel: Channel;
    /** Destination peer. */
    readonly to: PeerId;
    /** The message. */
    readonly message: Message;
  }
  | {
    /**
     * Drop the stream connection to `peer`, so the next message opens a fresh
     * one: one that lived through a partition may sit in TCP's back-off.
     */
    readonly kind: "reset";
    /** The peer whose connection goes. */
    readonly peer: PeerId;
  }
  | {
    /** Write this state durably; nothing after this effect happens until it is written. */
    readonly kind: "persist";
    /** The state to write. */
    readonly state: DurableState;
  }
  | {
    /** Report an event (print it, hand it to listeners). */
    readonly kind: "event";
    /** The event. */
    readonly event: PeerEvent;
  }
  | {
    /**
     * This peer's own user event `number` is settled: delivered here, not
     * delivered and never to be, or of unknown fate (this peer missed views in
     * which it may have been delivered). Tell whoever broadcast it.
     */
    readonly kind: "broadcast";
    /** The event's number among this run's. */
    readonly number: number;
    /** What became of it. */
    readonly outcome: "delivered" | "undelivered" | "unknown";
    /** Why, in a few words (not for `delivered`). */
    readonly reason?: string;
  }
  | {
    /** Run the handler of this query, then hand its answer to the core (`PeerCore.answer`). */
    readonly kind: "query";
    /** The query. */
    readonly query: IncomingQuery;
  }
  | {
    /** An answer to one of this peer's queries arrived. */
    readonly kind: "answer";
    /** The answer. */
    readonly answer: IncomingAnswer;
  }
  | {
    /** Write a diagnostic. `key` groups repeats for rate limiting. */
    readonly kind: "log";
    /** Severity. */
    readonly level: LogLevel;
    /** The text. */
    readonly text: string;
    /** Rate-limit key: diagnostics with the same key are one stream. */
    readonly key: string;
  };
