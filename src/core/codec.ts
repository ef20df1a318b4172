/**
 * The string form of messages: one JSON object, with the protocol version
 * `v`, the `type`, the sender `from` and the sender's incarnation `inc`; one
 * encoding of a view and one of a proposal serve every message that carries
 * one. Decoding never trusts its input:
 * anything malformed comes back as an error string, never as an exception.
 *
 * @module
 */

import type { DurableState } from "./effects.ts";
import {
  type AnswerMessage,
  type Ballot,
  type Epoch,
  type EventRun,
  type FormAcceptance,
  MAX_PROPOSAL_OPERATIONS,
  MAX_QUERY_ERROR_CHARS,
  MAX_QUERY_PAYLOAD_BYTES,
  type Message,
  type Operation,
  type PeerId,
  type Proposal,
  PROTOCOL_VERSION,
  QUERY_NAME,
  type QueryMessage,
  type UserEvent,
  type View,
} from "./messages.ts";
import { type Tags, tagsError } from "./tags.ts";
import { userEventError } from "./events.ts";

/**
 * The longest encoded message accepted, in bytes of UTF-8: 16 MiB, room for a
 * view of hundreds of members with 8 KiB of tags each, or a run of user
 * events (about 1 MiB of them, however their payloads escape in JSON).
 */
export const MAX_MESSAGE_BYTES = 16_777_216;

/** What {@linkcode decodeMessage} returns. */
export type DecodeResult =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly error: string };

type Fields = Record<string, unknown>;

const ballotWire = (b: Ballot): [number, number] => [b.round, b.leader];

const epochWire = (e: Epoch): [number, number, number] => [e.round, e.former, e.run];

/** A view's fields: flat in NEWVIEW, under `view` in PENDING. */
const viewWire = (view: View): Fields => ({
  epoch: epochWire(view.epoch),
  view_id: view.id,
  leader: view.leader,
  members: view.members,
  incs: view.incarnations,
  ...(view.tags ? { tags: view.tags } : {}),
  ...(view.cut ? { cut: [view.cut.of, view.cut.count] } : {}),
});

/** An operation's fields: flat for a proposal's first, one object each in a batch's `more`. */
const operationWire = (op: Operation): Fields => ({
  op: op.kind,
  peer: op.peer,
  peer_inc: op.incarnation,
  ...(op.left ? { left: true } : {}),
  ...(op.tags ? { tags: op.tags } : {}),
});

/**
 * A proposal's fields, the same in REQ, PENDING, FORM_PROMISE and durable
 * state; `more` only for a batch, so a single operation reads as it always did.
 */
const proposalWire = (p: Proposal): Fields => ({
  view_id: p.viewId,
  ...(p.nextViewId !== undefined ? { next_view_id: p.nextViewId } : {}),
  ...operationWire(p.op),
  ...(p.more && p.more.length > 0 ? { more: p.more.map(operationWire) } : {}),
  leader: p.leader,
  ballot: ballotWire(p.ballot),
  ...(p.events ? { events: p.events } : {}),
});

/** A user event: `[origin, origin_run, number, name, payload]`. */
const userEventWire = (e: UserEvent) => [e.origin, e.originRun, e.number, e.name, e.payload];

/** A run of user events: the position of the first, and the events. */
const runWire = (run: EventRun): Fields => ({ first: run.first, events: run.events.map(userEventWire) });

const acceptanceWire = (a: FormAcceptance): Fields => ({
  ballot: ballotWire(a.ballot),
  view: viewWire(a.view),
});

function wireFields(message: Message): Fields {
  switch (message.type) {
    case "JOIN":
      return {
        ...(message.knownViewId > 0 ? { view_id: message.knownViewId } : {}),
        ...(message.probation ? { probation: true } : {}),
        ...(message.tags ? { tags: message.tags } : {}),
        ...(message.restarted ? { restarted: true } : {}),
      };
    case "LEAVE":
    case "PROBE":
    case "PROBE_ACK":
      return {};
    case "QUERY":
    case "ANSWER":
      return queryWire(message);
    case "REDIRECT":
      return { leader: message.leader, view_id: message.viewId };
    case "REQ":
      return {
        request_id: message.requestId,
        ...proposalWire(message.proposal),
        ...(message.carried ? { carried: runWire(message.carried) } : {}),
        ...(message.held !== undefined ? { held: message.held } : {}),
      };
    case "OK":
      return { request_id: message.requestId, view_id: message.viewId, ballot: ballotWire(message.ballot) };
    case "NEWVIEW":
      return {
        ...viewWire(message.view),
        ballot: ballotWire(message.ballot),
        ...(message.carried ? { carried: runWire(message.carried) } : {}),
      };
    case "NEWLEADER":
      // `op: PENDING` is the contract's spelling of the question NEWLEADER asks.
      return {
        request_id: message.requestId,
        view_id: message.viewId,
        op: "PENDING",
        ballot: ballotWire(message.ballot),
        ...(message.eventsHave ? { events_have: message.eventsHave } : {}),
      };
    case "PENDING":
      // `promised`: the NEWLEADER ballot answered (`ballot` is the pending proposal's own).
      return {
        request_id: message.requestId,
        promised: ballotWire(message.ballot),
        view: viewWire(message.view),
        ...(message.pending ? proposalWire(message.pending) : { op: "NOTHING" }),
        ...(message.eventsHave ? { events_have: message.eventsHave } : {}),
        ...(message.forgot ? { forgot: true } : {}),
        ...(message.carried ? { carried: runWire(message.carried) } : {}),
      };
    case "REJECT":
      return { promised: ballotWire(message.promised) };
    case "HEARTBEAT":
      return {
        view_id: message.viewId,
        ...(message.leading ? { leading: ballotWire(message.leading) } : {}),
        ...(message.heard.length > 0 ? { heard: message.heard.flat() } : {}),
        ...(message.committed ? { committed: message.committed } : {}),
      };
    case "FORM":
    case "FORM_OK":
      return { request_id: message.requestId, ballot: ballotWire(message.ballot) };
    case "FORM_PROMISE":
      return {
        request_id: message.requestId,
        ballot: ballotWire(message.ballot),
        newest: message.newest ? viewWire(message.newest) : null,
        pending: message.pending ? proposalWire(message.pending) : null,
        accepted: message.accepted ? acceptanceWire(message.accepted) : null,
        ...(message.inView ? {} : { in_view: false }),
      };
    case "FORM_ACCEPT":
      return {
        request_id: message.requestId,
        ballot: ballotWire(message.ballot),
        view: viewWire(message.view),
      };
    case "TAGS":
      return { tags: message.tags };
    case "EVENT":
      return { view_id: message.viewId, event: userEventWire(message.event) };
    case "EVENTS":
      return {
        view_id: message.viewId,
        ballot: ballotWire(message.ballot),
        ...runWire(message.run),
        committed: message.committed,
      };
    case "EVENTS_OK":
      return { view_id: message.viewId, have: message.have };
  }
}

/**
 * Encodes a message as one line of text (no trailing newline).
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./codec.ts";
 * const line = encodeMessage({ type: "JOIN", from: 2, incarnation: 7 });
 * // line === '{"v":2,"type":"JOIN","from":2,"inc":7}'
 * ```
 */
export function encodeMessage(message: Message): string {
  return JSON.stringify({
    v: PROTOCOL_VERSION,
    type: message.type,
    from: message.from,
    inc: message.incarnation,
    ...(message.epoch ? { epoch: epochWire(message.epoch) } : {}),
    ...wireFields(message),
  });
}

/** Thrown inside the decoder only; it never escapes {@linkcode decodeMessage}. */
class WireError extends Error {}

function int(f: Fields, key: string, min = 0): number {
  const x = f[key];
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < min) {
    throw new WireError(`field '${key}' must be an integer >= ${min}`);
  }
  return x;
}

function bool(f: Fields, key: string): boolean {
  const x = f[key];
  if (typeof x !== "boolean") throw new WireError(`field '${key}' must be true or false`);
  return x;
}

function peer(f: Fields, key: string): PeerId {
  return int(f, key, 1);
}

function ballot(f: Fields, key: string): Ballot {
  const x = f[key];
  if (
    !Array.isArray(x) || x.length !== 2 ||
    !x.every((n) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0)
  ) {
    throw new WireError(`field '${key}' must be a [round, leader] pair`);
  }
  return { round: x[0], leader: x[1] };
}

function epoch(f: Fields, key: string): Epoch {
  const x = f[key];
  if (
    !Array.isArray(x) || x.length !== 3 ||
    !x.every((n) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0) || x[1] < 1
  ) {
    throw new WireError(`field '${key}' must be a [round, former, run] triple`);
  }
  return { round: x[0], former: x[1], run: x[2] };
}

function intList(f: Fields, key: string, min: number): number[] {
  const x = f[key];
  if (
    !Array.isArray(x) ||
    !x.every((n) => typeof n === "number" && Number.isSafeInteger(n) && n >= min)
  ) {
    throw new WireError(`field '${key}' must be a list of integers >= ${min}`);
  }
  return x;
}

/** Most members one heartbeat vouches for (all of a small group; subjects and leader beyond). */
const MAX_HEARD = 16;

/** A heartbeat's `heard`: flat `[peer, ms, peer, ms, ...]`, each peer once. */
function heardList(f: Fields): [PeerId, number][] {
  const flat = intList(f, "heard", 0);
  if (flat.length % 2 !== 0 || flat.length > 2 * MAX_HEARD) {
    throw new WireError(`field 'heard' must hold at most ${MAX_HEARD} [peer, ms] pairs`);
  }
  const pairs: [PeerId, number][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i] < 1 || pairs.some(([p]) => p === flat[i])) {
      throw new WireError("field 'heard' must name each peer (>= 1) once");
    }
    pairs.push([flat[i], flat[i + 1]]);
  }
  return pairs;
}

function object(f: Fields, key: string): Fields {
  const x = f[key];
  if (typeof x !== "object" || x === null || Array.isArray(x)) {
    throw new WireError(`field '${key}' must be an object`);
  }
  return x as Fields;
}

function tags(f: Fields, key = "tags"): Tags {
  const x = f[key];
  const error = tagsError(x);
  if (error) throw new WireError(`field '${key}': ${error}`);
  return x as Tags;
}

function userEvent(x: unknown): UserEvent {
  if (
    !Array.isArray(x) || x.length !== 5 || !x.slice(0, 3).every((n) => Number.isSafeInteger(n) && n >= 0) ||
    x[0] < 1 || x[2] < 1
  ) {
    throw new WireError("a user event must be [origin, origin_run, number, name, payload]");
  }
  const error = userEventError(x[3], x[4]);
  if (error) throw new WireError(error);
  return { origin: x[0], originRun: x[1], number: x[2], name: x[3], payload: x[4] };
}

function eventRun(f: Fields): EventRun {
  const events = f.events;
  if (!Array.isArray(events)) throw new WireError("field 'events' must be a list");
  return { first: int(f, "first", 1), events: events.map(userEvent) };
}

function view(f: Fields): View {
  const members = intList(f, "members", 1);
  const incarnations = intList(f, "incs", 0);
  const leader = peer(f, "leader");
  if (members.length === 0 || members.some((m, i) => i > 0 && m <= members[i - 1])) {
    throw new WireError("field 'members' must be ascending and not empty");
  }
  if (incarnations.length !== members.length) {
    throw new WireError("fields 'members' and 'incs' differ in length");
  }
  if (!members.includes(leader)) throw new WireError("the leader is not a member");
  const id = int(f, "view_id", 1);
  const v: View = { epoch: epoch(f, "epoch"), id, leader, members, incarnations };
  return { ...v, ...viewTags(f, members.length), ...viewCut(f, id) };
}

function viewTags(f: Fields, count: number): { tags?: Tags[] } {
  if (f.tags === undefined) return {};
  const x = f.tags;
  if (!Array.isArray(x) || x.length !== count) {
    throw new WireError("field 'tags' must list one object a member");
  }
  return { tags: x.map((t, i) => tags({ [i]: t }, String(i))) };
}

function viewCut(f: Fields, id: number): { cut?: View["cut"] } {
  if (f.cut === undefined) return {};
  const x = f.cut;
  if (
    !Array.isArray(x) || x.length !== 2 || !x.every((n) => Number.isSafeInteger(n) && n >= 1) || x[0] >= id
  ) {
    throw new WireError("field 'cut' must be [view_id, count], of an earlier view");
  }
  return { cut: { of: x[0], count: x[1] } };
}

function operation(f: Fields): Operation {
  const kind = f.op;
  if (kind !== "ADD" && kind !== "DEL" && kind !== "TAG") {
    throw new WireError("field 'op' must be ADD, DEL or TAG");
  }
  if (f.left !== undefined && (f.left !== true || kind !== "DEL")) {
    throw new WireError("field 'left' is for a DEL");
  }
  if (f.tags !== undefined && kind === "DEL") throw new WireError("field 'tags' is for an ADD or a TAG");
  if (f.tags === undefined && kind === "TAG") throw new WireError("a TAG needs field 'tags'");
  const op: Operation = { kind, peer: peer(f, "peer"), incarnation: int(f, "peer_inc") };
  return { ...op, ...(f.left ? { left: true } : {}), ...(f.tags !== undefined ? { tags: tags(f) } : {}) };
}

/** A batch's other operations: a list of 1 to MAX_PROPOSAL_OPERATIONS - 1, each on its own peer. */
function moreOperations(f: Fields, first: Operation): Operation[] {
  const x = f.more;
  if (!Array.isArray(x) || x.length === 0 || x.length >= MAX_PROPOSAL_OPERATIONS) {
    throw new WireError(`field 'more' must list 1 to ${MAX_PROPOSAL_OPERATIONS - 1} operations`);
  }
  const peers = new Set([first.peer]);
  return x.map((entry) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new WireError("field 'more' must list operation objects");
    }
    const op = operation(entry as Fields);
    if (peers.has(op.peer)) throw new WireError(`peer ${op.peer} has two operations in one proposal`);
    peers.add(op.peer);
    return op;
  });
}

function proposal(f: Fields): Proposal {
  const op = operation(f);
  const more = f.more === undefined ? null : moreOperations(f, op);
  const viewId = int(f, "view_id", 1);
  // Only a jump is written out: without it the view made is `view_id + 1`.
  const jump = f.next_view_id === undefined ? {} : { nextViewId: int(f, "next_view_id", viewId + 2) };
  return {
    viewId,
    ...jump,
    op,
    ...(more ? { more } : {}),
    leader: peer(f, "leader"),
    ballot: ballot(f, "ballot"),
    ...(f.events === undefined ? {} : { events: int(f, "events", 1) }),
  };
}

function acceptance(f: Fields): FormAcceptance {
  return { ballot: ballot(f, "ballot"), view: view(object(f, "view")) };
}

/** A field that holds an object or null. */
function nullable<T>(f: Fields, key: string, decode: (x: Fields) => T): T | null {
  return f[key] === null ? null : decode(object(f, key));
}

function decodeFields(f: Fields): Message {
  if (f.v !== PROTOCOL_VERSION) {
    throw new WireError(
      `protocol version ${
        JSON.stringify(f.v)
      }, not ${PROTOCOL_VERSION}: a peer of another version (upgrade every peer)`,
    );
  }
  const envelope = {
    from: peer(f, "from"),
    incarnation: int(f, "inc"),
    ...(f.epoch === undefined ? {} : { epoch: epoch(f, "epoch") }),
  };
  switch (f.type) {
    case "JOIN":
      return {
        type: "JOIN",
        ...envelope,
        knownViewId: f.view_id === undefined ? 0 : int(f, "view_id", 1),
        ...(f.probation === undefined ? {} : bool(f, "probation") ? { probation: true } : {}),
        ...(f.tags === undefined ? {} : { tags: tags(f) }),
        ...(f.restarted === undefined ? {} : bool(f, "restarted") ? { restarted: true } : {}),
      };
    case "LEAVE":
    case "PROBE":
    case "PROBE_ACK":
      return { type: f.type, ...envelope };
    case "QUERY":
    case "ANSWER":
      return decodeQuery(f.type, f, envelope);
    case "REDIRECT":
      return { type: "REDIRECT", ...envelope, leader: peer(f, "leader"), viewId: int(f, "view_id", 1) };
    case "REQ":
      return {
        type: "REQ",
        ...envelope,
        requestId: int(f, "request_id", 1),
        proposal: proposal(f),
        ...(f.carried === undefined ? {} : { carried: eventRun(object(f, "carried")) }),
        ...(f.held === undefined ? {} : { held: int(f, "held") }),
      };
    case "OK":
      return {
        type: "OK",
        ...envelope,
        requestId: int(f, "request_id", 1),
        viewId: int(f, "view_id", 1),
        ballot: ballot(f, "ballot"),
      };
    case "NEWVIEW": // (its `epoch` is the view's, and so the envelope's)
      return {
        type: "NEWVIEW",
        ...envelope,
        view: view(f),
        ballot: ballot(f, "ballot"),
        ...(f.carried === undefined ? {} : { carried: eventRun(object(f, "carried")) }),
      };
    case "NEWLEADER":
      if (f.op !== "PENDING") throw new WireError("NEWLEADER must ask for op PENDING");
      return {
        type: "NEWLEADER",
        ...envelope,
        requestId: int(f, "request_id", 1),
        viewId: int(f, "view_id", 1),
        ballot: ballot(f, "ballot"),
        ...(f.events_have === undefined ? {} : { eventsHave: int(f, "events_have", 1) }),
      };
    case "PENDING": {
      const v = view(object(f, "view"));
      const pending = f.op === "NOTHING" ? null : proposal(f);
      if (pending && pending.viewId !== v.id) {
        throw new WireError("the pending proposal is not for that view");
      }
      return {
        type: "PENDING",
        ...envelope,
        requestId: int(f, "request_id", 1),
        ballot: ballot(f, "promised"),
        view: v,
        pending,
        ...(f.events_have === undefined ? {} : { eventsHave: int(f, "events_have", 1) }),
        ...(f.forgot === undefined ? {} : bool(f, "forgot") ? { forgot: true } : {}),
        ...(f.carried === undefined ? {} : { carried: eventRun(object(f, "carried")) }),
      };
    }
    case "REJECT":
      return { type: "REJECT", ...envelope, promised: ballot(f, "promised") };
    case "HEARTBEAT":
      return {
        type: "HEARTBEAT",
        ...envelope,
        viewId: int(f, "view_id"),
        leading: f.leading === undefined ? null : ballot(f, "leading"),
        heard: f.heard === undefined ? [] : heardList(f),
        ...(f.committed === undefined ? {} : { committed: int(f, "committed", 1) }),
      };
    case "FORM":
    case "FORM_OK":
      return { type: f.type, ...envelope, requestId: int(f, "request_id", 1), ballot: ballot(f, "ballot") };
    case "FORM_PROMISE":
      return {
        type: "FORM_PROMISE",
        ...envelope,
        requestId: int(f, "request_id", 1),
        ballot: ballot(f, "ballot"),
        newest: nullable(f, "newest", view),
        pending: nullable(f, "pending", proposal),
        accepted: nullable(f, "accepted", acceptance),
        inView: f.in_view === undefined ? true : bool(f, "in_view"),
      };
    case "FORM_ACCEPT":
      return {
        type: "FORM_ACCEPT",
        ...envelope,
        requestId: int(f, "request_id", 1),
        ballot: ballot(f, "ballot"),
        view: view(object(f, "view")),
      };
    case "TAGS":
      return { type: "TAGS", ...envelope, tags: tags(f) };
    case "EVENT":
      return { type: "EVENT", ...envelope, viewId: int(f, "view_id", 1), event: userEvent(f.event) };
    case "EVENTS":
      return {
        type: "EVENTS",
        ...envelope,
        viewId: int(f, "view_id", 1),
        ballot: ballot(f, "ballot"),
        run: eventRun(f),
        committed: int(f, "committed"),
      };
    case "EVENTS_OK":
      return { type: "EVENTS_OK", ...envelope, viewId: int(f, "view_id", 1), have: int(f, "have") };

    default:
      throw new WireError(`unknown message type ${JSON.stringify(f.type)}`);
  }
}

// ---- Queries (QUERY, ANSWER): their fields, kept apart from the view protocol's.

/** The fields of a QUERY or an ANSWER; payloads as base64, so that any bytes go and their size is bounded. */
function queryWire(message: QueryMessage | AnswerMessage): Fields {
  if (message.type === "QUERY") {
    return {
      query_id: message.queryId,
      name: message.name,
      payload: toBase64(message.payload),
      timeout_ms: message.timeoutMs,
    };
  }
  return message.payload !== null
    ? { query_id: message.queryId, payload: toBase64(message.payload) }
    : { query_id: message.queryId, error: message.error ?? "" };
}

type EnvelopeFields = { from: PeerId; incarnation: number; epoch?: Epoch };

function decodeQuery(
  type: "QUERY" | "ANSWER",
  f: Fields,
  envelope: EnvelopeFields,
): QueryMessage | AnswerMessage {
  const queryId = int(f, "query_id", 1);
  if (type === "QUERY") {
    const name = f.name;
    if (typeof name !== "string" || !QUERY_NAME.test(name)) {
      throw new WireError("field 'name' must be 1 to 64 letters, digits, '_', '.', ':' or '-'");
    }
    return { type, ...envelope, queryId, name, payload: payload(f), timeoutMs: int(f, "timeout_ms", 1) };
  }
  if ((f.payload === undefined) === (f.error === undefined)) {
    throw new WireError("an ANSWER carries either 'payload' or 'error'");
  }
  if (f.error !== undefined) {
    if (typeof f.error !== "string" || f.error.length > MAX_QUERY_ERROR_CHARS) {
      throw new WireError(`field 'error' must be a string of at most ${MAX_QUERY_ERROR_CHARS} characters`);
    }
    return { type, ...envelope, queryId, payload: null, error: f.error };
  }
  return { type, ...envelope, queryId, payload: payload(f), error: null };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A `payload` field: base64 of at most MAX_QUERY_PAYLOAD_BYTES bytes. */
function payload(f: Fields): Uint8Array {
  const x = f.payload;
  if (typeof x !== "string" || !BASE64.test(x)) throw new WireError("field 'payload' must be base64");
  const bytes = Uint8Array.from(atob(x), (c) => c.charCodeAt(0)); // (the message is at most 128 KiB)
  if (bytes.length > MAX_QUERY_PAYLOAD_BYTES) {
    throw new WireError(`field 'payload' holds more than ${MAX_QUERY_PAYLOAD_BYTES} bytes`);
  }
  return bytes;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return btoa(binary);
}

/**
 * Decodes one line of text into a message, or says why it cannot.
 *
 * @example
 * ```ts
 * import { decodeMessage } from "./codec.ts";
 * const result = decodeMessage('{"v":2,"type":"JOIN","from":2,"inc":7}');
 * if (result.ok) console.log(result.message.type); // "JOIN"
 * ```
 */
export function decodeMessage(text: string): DecodeResult {
  if (text.length > MAX_MESSAGE_BYTES) {
    return { ok: false, error: `message longer than ${MAX_MESSAGE_BYTES} bytes` };
  }
  const f = parseObject(text);
  if (typeof f === "string") return { ok: false, error: f };
  try {
    return { ok: true, message: decodeFields(f) };
  } catch (e) {
    if (e instanceof WireError) return { ok: false, error: e.message };
    throw e;
  }
}

/** The JSON object in `text`, or why there is none. */
function parseObject(text: string): Fields | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "not a JSON object";
  return parsed as Fields;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes a message as the bytes that go on the wire (UTF-8, no framing).
 *
 * @example
 * ```ts
 * import { decodeWire, encodeWire } from "./codec.ts";
 * const bytes = encodeWire({ type: "JOIN", from: 2, incarnation: 7 });
 * decodeWire(bytes); // { ok: true, message: { type: "JOIN", from: 2, incarnation: 7 } }
 * ```
 */
export function encodeWire(message: Message): Uint8Array {
  return encoder.encode(encodeMessage(message));
}

/**
 * Decodes the bytes of one message, or says why it cannot: too long, not
 * UTF-8, or anything {@linkcode decodeMessage} rejects.
 *
 * @example
 * ```ts
 * import { decodeWire } from "./codec.ts";
 * decodeWire(new Uint8Array([0xff])); // { ok: false, error: "not UTF-8" }
 * ```
 */
export function decodeWire(bytes: Uint8Array): DecodeResult {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    return { ok: false, error: `message longer than ${MAX_MESSAGE_BYTES} bytes` };
  }
  let text: string;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    return { ok: false, error: "not UTF-8" };
  }
  return decodeMessage(text);
}

/** What {@linkcode decodeDurableState} returns. */
export type DurableDecodeResult =
  | { readonly ok: true; readonly state: DurableState }
  | { readonly ok: false; readonly error: string };

/**
 * A peer's durable state as JSON text, with the same encodings of views,
 * proposals and ballots as the wire.
 *
 * @example
 * ```ts
 * import { decodeDurableState, encodeDurableState } from "./codec.ts";
 * const state = {
 *   incarnation: 7, promised: { round: 0, leader: 1 }, accepted: null,
 *   installed: null, member: false, formAccepted: null,
 * };
 * decodeDurableState(encodeDurableState(state)); // { ok: true, state }
 * ```
 */
export function encodeDurableState(state: DurableState): string {
  return JSON.stringify({
    inc: state.incarnation,
    promised: ballotWire(state.promised),
    accepted: state.accepted ? proposalWire(state.accepted) : null,
    installed: state.installed ? viewWire(state.installed) : null,
    member: state.member,
    form_accepted: state.formAccepted ? acceptanceWire(state.formAccepted) : null,
    ...(state.restarts ? { restarts: state.restarts } : {}),
  });
}

/**
 * Decodes durable state written by {@linkcode encodeDurableState}, or says why it cannot.
 *
 * @example
 * ```ts
 * import { decodeDurableState } from "./codec.ts";
 * decodeDurableState("{}"); // { ok: false, error: "field 'inc' must be an integer >= 0" }
 * ```
 */
export function decodeDurableState(text: string): DurableDecodeResult {
  const f = parseObject(text);
  if (typeof f === "string") return { ok: false, error: f };
  try {
    return {
      ok: true,
      state: {
        incarnation: int(f, "inc"),
        promised: ballot(f, "promised"),
        accepted: nullable(f, "accepted", proposal),
        installed: nullable(f, "installed", view),
        member: bool(f, "member"),
        formAccepted: nullable(f, "form_accepted", acceptance),
        ...(f.restarts === undefined ? {} : { restarts: int(f, "restarts", 1) }),
      },
    };
  } catch (e) {
    if (e instanceof WireError) return { ok: false, error: e.message };
    throw e;
  }
}
