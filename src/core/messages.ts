/**
 * The messages peers exchange. Control messages travel one a line over TCP,
 * heartbeats one a datagram over UDP (see `codec.ts` for the string form).
 *
 * @module
 */

import type { Tags } from "./tags.ts";

/** A peer's ID: its 1-based position among the hostsfile's peer lines. */
export type PeerId = number;

/**
 * The wire protocol version every message carries. Version 2 added the epoch
 * (an envelope field, and one in every view) and PROBE/PROBE_ACK; a peer of
 * another version is refused with a diagnostic, never half understood.
 */
export const PROTOCOL_VERSION = 2;

/**
 * A leadership ballot, as in Paxos: `round` rises with every takeover and
 * `leader` breaks ties, so two candidates never hold the same ballot.
 */
export interface Ballot {
  /** 0 for the founder, then one more than the highest round seen. */
  readonly round: number;
  /** The peer that holds the ballot. */
  readonly leader: PeerId;
}

/**
 * A group history's identity: the ballot (`round`, `former`) of the attempt to
 * form that proposed its first view, and the former's run. Only forming makes
 * an epoch (founding is forming in which nobody knows a view); an attempt
 * proposes one value per ballot, a run never reuses a ballot and runs are
 * unique, so two formations never make the same epoch. A later formation's
 * round is above every promise its acceptors made, hence above the round of
 * every epoch they installed: epochs order by round, then former, then run.
 */
export interface Epoch {
  /** The forming attempt's round. */
  readonly round: number;
  /** The peer that formed it. */
  readonly former: PeerId;
  /** That peer's run. */
  readonly run: number;
}

/** An agreed view: its epoch, id, leader and members (ascending IDs). */
export interface View {
  /** The group history it belongs to: (epoch, id) names one view. */
  readonly epoch: Epoch;
  /** Starts at 1 and rises by exactly one per committed operation. */
  readonly id: number;
  /** The leader that proposed this view. */
  readonly leader: PeerId;
  /** Member IDs, ascending. */
  readonly members: readonly PeerId[];
  /**
   * The incarnation of each member, index for index with `members`: a peer
   * that restarts is a new incarnation and must be removed and added again.
   */
  readonly incarnations: readonly number[];
  /**
   * Each member's tags, index for index with `members`; absent when no
   * member has any. Agreed with the view, like everything in it.
   */
  readonly tags?: readonly Tags[];
  /**
   * The agreed cut that makes user events view-synchronous (events.ts): how
   * many events of view `of` (the view this one follows, same epoch) every
   * member delivers before it installs this one. Absent for none.
   */
  readonly cut?: { readonly of: number; readonly count: number };
}

/** A view operation: add a joiner (with its incarnation), delete a member, or set a member's tags. */
export interface Operation {
  /** `ADD` a joiner, `DEL` a member, or `TAG`: set a member's tags. */
  readonly kind: "ADD" | "DEL" | "TAG";
  /** The peer added or deleted. */
  readonly peer: PeerId;
  /** The incarnation added (the joiner's run) or removed (the member's run in the view). */
  readonly incarnation: number;
  /** For `DEL`: the member asked to leave (it is reported as left, not unreachable). */
  readonly left?: boolean;
  /** For `ADD`, the joiner's tags; for `TAG`, the member's new tags. */
  readonly tags?: Tags;
}

/**
 * The most operations one proposal carries: a batch beyond it waits for the
 * next view change, so that a REQ (and a PENDING, which adds a view) stays
 * well under the codec's message limit.
 */
export const MAX_PROPOSAL_OPERATIONS = 64;

/**
 * A proposed view change: `op` (and in a batch the operations in `more`)
 * applied to view `viewId` gives view `viewId + 1` (or `nextViewId`) led by
 * `leader`. `ballot` is the ballot it was proposed under.
 */
export interface Proposal {
  /** The id of the view the operation applies to. */
  readonly viewId: number;
  /**
   * The id of the view it makes, when above `viewId + 1`: a group that met a
   * peer holding a higher view id from a history it could not know (back on
   * its data dir after the group was founded again) numbers above it.
   */
  readonly nextViewId?: number;
  /** The operation: the first of a batch. */
  readonly op: Operation;
  /**
   * A batch's other operations (groups of more than 8 peers), absent for a
   * single operation. Every operation of a proposal names a different peer,
   * so they apply to the view in any order; at most
   * {@linkcode MAX_PROPOSAL_OPERATIONS} in all.
   */
  readonly more?: readonly Operation[];
  /** The leader named by the resulting view (its first proposer). */
  readonly leader: PeerId;
  /** The ballot under which it was (re)proposed. */
  readonly ballot: Ballot;
  /**
   * How many user events of view `viewId` are delivered before the view it
   * makes (the new view's `cut`); absent for none.
   */
  readonly events?: number;
}

/**
 * What every message carries besides its type: who sent it, and which run of
 * that peer. A peer's liveness and votes count only for the incarnation its
 * view records, so a restarted peer is never mistaken for its previous run.
 */
export interface Envelope {
  /** Sender. */
  readonly from: PeerId;
  /** The sender's incarnation. */
  readonly incarnation: number;
  /**
   * The sender's epoch: that of the last view it installed (kept while it
   * joins again), or of a view it accepted to form above it; absent if none.
   */
  readonly epoch?: Epoch;
}

/** A joiner asks to be added, as its `incarnation`. */
export interface JoinMessage extends Envelope {
  /** Message type. */
  readonly type: "JOIN";
  /** The id of the last view the joiner installed (0 if none): a group numbers above it. */
  readonly knownViewId: number;
  /**
   * A probation datagram: a peer removed while alive asks its leader every
   * heartbeat interval, and is admitted once enough of them arrive (damping.ts).
   */
  readonly probation?: boolean;
  /** The joiner's tags, if any. */
  readonly tags?: Tags;
  /**
   * The joiner's run came back on its data dir and was removed soon after: a
   * removal proposed while it was down, no flap, so the leader admits it
   * without probation (damping.ts).
   */
  readonly restarted?: boolean;
}

/** A member that does not lead answers a JOIN with the leader it follows. */
export interface RedirectMessage extends Envelope {
  /** Message type. */
  readonly type: "REDIRECT";
  /** The leader to ask. */
  readonly leader: PeerId;
  /** The id of the view the sender holds (or last installed): a group with that view exists. */
  readonly viewId: number;
}

/** Phase one of an operation: store it as pending and answer OK. */
export interface ReqMessage extends Envelope {
  /** Message type. */
  readonly type: "REQ";
  /** Identifies this request at its leader. */
  readonly requestId: number;
  /** The proposal. */
  readonly proposal: Proposal;
  /** User events of the view up to the proposal's cut that this member may lack. */
  readonly carried?: EventRun;
  /**
   * How many of the cut's events the leader holds, when fewer than the cut:
   * the rest were lost with peers that restarted, and a member accepts without them.
   */
  readonly held?: number;
}

/** A member accepted the request. */
export interface OkMessage extends Envelope {
  /** Message type. */
  readonly type: "OK";
  /** The request accepted. */
  readonly requestId: number;
  /** The view the request applies to. */
  readonly viewId: number;
  /** The ballot of the REQ accepted: an OK counts only for that very proposal. */
  readonly ballot: Ballot;
}

/** Phase two: install this view. */
export interface NewViewMessage extends Envelope {
  /** Message type. */
  readonly type: "NEWVIEW";
  /** The committed view. */
  readonly view: View;
  /** The ballot of the leader that committed it. */
  readonly ballot: Ballot;
  /**
   * To a member that fell behind: the events of the view before, up to the
   * view's cut, so that it delivers them before it installs this one.
   */
  readonly carried?: EventRun;
}

/** A candidate asks every member for its pending operation. */
export interface NewLeaderMessage extends Envelope {
  /** Message type. */
  readonly type: "NEWLEADER";
  /** Identifies this takeover attempt. */
  readonly requestId: number;
  /** The candidate's view id. */
  readonly viewId: number;
  /** The candidate's ballot. */
  readonly ballot: Ballot;
  /** How many user events of the view the candidate holds: answers send what lies beyond. */
  readonly eventsHave?: number;
}

/** A member's answer to NEWLEADER: its view and its pending proposal, if any. */
export interface PendingMessage extends Envelope {
  /** Message type. */
  readonly type: "PENDING";
  /** The takeover attempt answered. */
  readonly requestId: number;
  /** The ballot of the NEWLEADER answered. */
  readonly ballot: Ballot;
  /** The member's installed view. */
  readonly view: View;
  /** The member's pending proposal for that view, or null for NOTHING. */
  readonly pending: Proposal | null;
  /** How many user events of its view the member holds. */
  readonly eventsHave?: number;
  /** The member restarted into this view: it lost the view's events it held. */
  readonly forgot?: boolean;
  /** Those beyond what the candidate holds (as many as fit one message). */
  readonly carried?: EventRun;
}

/** A request or takeover was refused: the member promised a higher ballot. */
export interface RejectMessage extends Envelope {
  /** Message type. */
  readonly type: "REJECT";
  /** The ballot the member promised. */
  readonly promised: Ballot;
}

/** A UDP heartbeat: the sender is alive, in this view, as this incarnation. */
export interface HeartbeatMessage extends Envelope {
  /** Message type. */
  readonly type: "HEARTBEAT";
  /** The sender's view id. */
  readonly viewId: number;
  /** The ballot the sender leads (or seeks to lead) under, or null. */
  readonly leading: Ballot | null;
  /**
   * Members of the view the sender watches, each with how many ms ago the
   * sender last heard from it: indirect evidence for the receiver.
   */
  readonly heard: readonly (readonly [PeerId, number])[];
  /**
   * From the leader that orders the view's user events: how many are
   * committed, so that a member that missed the news delivers them (absent: none).
   */
  readonly committed?: number;
}

/**
 * Forming anew, phase one: a peer whose newest view can never gather its
 * quorum again (a majority of its members restarted without their state)
 * asks every peer of the hostsfile to promise `ballot` and say what it knows.
 */
export interface FormMessage extends Envelope {
  /** Message type. */
  readonly type: "FORM";
  /** Identifies this attempt. */
  readonly requestId: number;
  /** The attempt's ballot. */
  readonly ballot: Ballot;
}

/** A view accepted to form the group anew, with the ballot it came under. */
export interface FormAcceptance {
  /** The ballot of the FORM_ACCEPT accepted. */
  readonly ballot: Ballot;
  /** The view it proposed. */
  readonly view: View;
}

/** The answer to FORM: the promise, and what this peer knows. */
export interface FormPromiseMessage extends Envelope {
  /** Message type. */
  readonly type: "FORM_PROMISE";
  /** The attempt answered. */
  readonly requestId: number;
  /** The ballot promised. */
  readonly ballot: Ballot;
  /** The newest committed view this peer knows (installed or not), or null. */
  readonly newest: View | null;
  /** This peer's pending proposal for that view, if any: it may have been chosen. */
  readonly pending: Proposal | null;
  /** The view this peer accepted in an earlier attempt to form anew, if any. */
  readonly accepted: FormAcceptance | null;
  /** Whether this peer is in a group now (false while it joins, or joins again). */
  readonly inView: boolean;
}

/** Forming anew, phase two: accept this view. */
export interface FormAcceptMessage extends Envelope {
  /** Message type. */
  readonly type: "FORM_ACCEPT";
  /** The attempt. */
  readonly requestId: number;
  /** The attempt's ballot. */
  readonly ballot: Ballot;
  /** The view proposed. */
  readonly view: View;
}

/** The view of a FORM_ACCEPT was accepted. */
export interface FormOkMessage extends Envelope {
  /** Message type. */
  readonly type: "FORM_OK";
  /** The attempt. */
  readonly requestId: number;
  /** The ballot accepted. */
  readonly ballot: Ballot;
}

/**
 * The sender leaves the group on purpose. To the leader: remove me. From the
 * leader, to the member next in line: take over now.
 */
export interface LeaveMessage extends Envelope {
  /** Message type. */
  readonly type: "LEAVE";
}

/**
 * A peer back from a restart on its data dir asks the hostsfile which epoch
 * each peer is in before it commits anything in its own (as Raft's pre-vote).
 */
export interface ProbeMessage extends Envelope {
  /** Message type. */
  readonly type: "PROBE";
}

/** The answer to PROBE: its envelope says the sender's epoch. */
export interface ProbeAckMessage extends Envelope {
  /** Message type. */
  readonly type: "PROBE_ACK";
}

/** A member asks its leader to commit its new tags. */
export interface TagsMessage extends Envelope {
  /** Message type. */
  readonly type: "TAGS";
  /** The member's tags, in full. */
  readonly tags: Tags;
}

/**
 * A user event: (`origin`, `originRun`, `number`) names it, so that a resent
 * event is delivered once.
 */
export interface UserEvent {
  /** The member that broadcast it. */
  readonly origin: PeerId;
  /** That member's run. */
  readonly originRun: number;
  /** Its number among the events of that run, from 1. */
  readonly number: number;
  /** The event's name (`deploy`). */
  readonly name: string;
  /** Its payload, as text (up to 64 KiB). */
  readonly payload: string;
}

/** Consecutive user events of one view: `events[0]` is number `first` in the view's order. */
export interface EventRun {
  /** The position of the first, from 1. */
  readonly first: number;
  /** The events. */
  readonly events: readonly UserEvent[];
}

/** A member hands its user event to the leader, which orders it. */
export interface EventMessage extends Envelope {
  /** Message type. */
  readonly type: "EVENT";
  /** The sender's view: a leader orders only events handed on in its own view. */
  readonly viewId: number;
  /** The event. */
  readonly event: UserEvent;
}

/** The leader's order of the view's user events, and how far it is committed. */
export interface EventsMessage extends Envelope {
  /** Message type. */
  readonly type: "EVENTS";
  /** The view they belong to. */
  readonly viewId: number;
  /** The ballot the leader leads under. */
  readonly ballot: Ballot;
  /** Events to append (possibly none). */
  readonly run: EventRun;
  /** Events 1 to `committed` of the view are held by a majority: deliver them. */
  readonly committed: number;
}

/** A member holds the view's events 1 to `have`. */
export interface EventsOkMessage extends Envelope {
  /** Message type. */
  readonly type: "EVENTS_OK";
  /** The view. */
  readonly viewId: number;
  /** How many of its events the member holds. */
  readonly have: number;
}

// ---- Queries (issue 19): a question to the members of the view, and each one's answer.

/** The most bytes of a query's payload, or of an answer's: 64 KiB. */
export const MAX_QUERY_PAYLOAD_BYTES = 65_536;

/** The longest error an answer carries, in characters (a longer one is cut). */
export const MAX_QUERY_ERROR_CHARS = 1_024;

/**
 * What a query may be called: 1 to 64 letters, digits, `_`, `.`, `:` or `-`
 * (so that `--on-query NAME=COMMAND` is never ambiguous).
 */
export const QUERY_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * A question to every other member of the view (over the stream): each
 * answers with an {@linkcode AnswerMessage} naming `queryId`.
 */
export interface QueryMessage extends Envelope {
  /** Message type. */
  readonly type: "QUERY";
  /** Chosen by the asker (>= 1): the answers name it. */
  readonly queryId: number;
  /** Which question (see {@linkcode QUERY_NAME}): it picks the answering handler. */
  readonly name: string;
  /** The question's bytes, at most {@linkcode MAX_QUERY_PAYLOAD_BYTES}. */
  readonly payload: Uint8Array;
  /** How long the asker waits (ms): an answer later than that is of no use. */
  readonly timeoutMs: number;
}

/** One member's answer to a {@linkcode QueryMessage}: its bytes, or why it has none. */
export interface AnswerMessage extends Envelope {
  /** Message type. */
  readonly type: "ANSWER";
  /** The query answered. */
  readonly queryId: number;
  /** The answer (at most {@linkcode MAX_QUERY_PAYLOAD_BYTES}), or null when `error` says why there is none. */
  readonly payload: Uint8Array | null;
  /** Why there is no answer (`no handler for query "X"`, a handler that failed), or null. */
  readonly error: string | null;
}

/** Every message of the protocol. */
export type Message =
  | JoinMessage
  | RedirectMessage
  | ReqMessage
  | OkMessage
  | NewViewMessage
  | NewLeaderMessage
  | PendingMessage
  | RejectMessage
  | HeartbeatMessage
  | FormMessage
  | FormPromiseMessage
  | FormAcceptMessage
  | FormOkMessage
  | LeaveMessage
  | ProbeMessage
  | ProbeAckMessage
  | TagsMessage
  | EventMessage
  | EventsMessage
  | EventsOkMessage
  | QueryMessage
  | AnswerMessage;

/** The type names, in wire spelling. */
export type MessageType = Message["type"];
