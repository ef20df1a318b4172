/**
 * What the protocol core asks its host to do, and the events it reports.
 *
 * @module
 */

import type { Message, PeerId, View } from "./messages.ts";

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
  };

/** Diagnostic levels, as LogTape names them. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** One thing for the host to do. */
export type Effect =
  | {
    /** Send a message: control over the stream, heartbeats as datagrams. */
    readonly kind: "send";
    /** Destination peer. */
    readonly to: PeerId;
    /** The message. */
    readonly message: Message;
  }
  | {
    /** Report an event (print it, hand it to listeners). */
    readonly kind: "event";
    /** The event. */
    readonly event: PeerEvent;
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
  }
  | {
    /** Crash now (test case 4), after the sends above it. */
    readonly kind: "crash";
  };
