/**
 * The messages peers exchange. Control messages travel one a line over TCP,
 * heartbeats one a datagram over UDP (see `codec.ts` for the string form).
 *
 * @module
 */

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
}

/** A view operation: add a joiner (with its incarnation) or delete a member. */
export interface Operation {
  /** `ADD` a joiner or `DEL` a member. */
  readonly kind: "ADD" | "DEL";
  /** The peer added or deleted. */
  readonly peer: PeerId;
  /** The incarnation added (the joiner's run) or removed (the member's run in the view). */
  readonly incarnation: number;
  /** For `DEL`: the member asked to leave (it is reported as left, not unreachable). */
  readonly left?: boolean;
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
  | ProbeAckMessage;

/** The type names, in wire spelling. */
export type MessageType = Message["type"];
