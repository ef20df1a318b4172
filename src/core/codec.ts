/**
 * The string form of messages: one JSON object, with the protocol version
 * `v`, the `type`, the sender `from` and the sender's incarnation `inc`; one
 * encoding of a view and one of a proposal serve every message that carries
 * one. Decoding never trusts its input:
 * anything malformed comes back as an error string, never as an exception.
 *
 * @module
 */

import {
  type Ballot,
  type Message,
  type PeerId,
  type Proposal,
  PROTOCOL_VERSION,
  type View,
} from "./messages.ts";

/** The longest encoded message accepted, in bytes of UTF-8. */
export const MAX_MESSAGE_BYTES = 16_384;

/** What {@linkcode decodeMessage} returns. */
export type DecodeResult =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly error: string };

type Fields = Record<string, unknown>;

const ballotWire = (b: Ballot): [number, number] => [b.round, b.leader];

/** A view's fields: flat in NEWVIEW, under `view` in PENDING. */
const viewWire = (view: View): Fields => ({
  view_id: view.id,
  leader: view.leader,
  members: view.members,
  incs: view.incarnations,
});

/** A proposal's fields, the same in REQ and PENDING. */
const proposalWire = (p: Proposal): Fields => ({
  view_id: p.viewId,
  op: p.op.kind,
  peer: p.op.peer,
  peer_inc: p.op.incarnation,
  leader: p.leader,
  ballot: ballotWire(p.ballot),
});

function wireFields(message: Message): Fields {
  switch (message.type) {
    case "JOIN":
      return {};
    case "REDIRECT":
      return { leader: message.leader };
    case "REQ":
      return { request_id: message.requestId, ...proposalWire(message.proposal) };
    case "OK":
      return { request_id: message.requestId, view_id: message.viewId };
    case "NEWVIEW":
      return { ...viewWire(message.view), ballot: ballotWire(message.ballot) };
    case "NEWLEADER":
      // `op: PENDING` is the contract's spelling of the question NEWLEADER asks.
      return {
        request_id: message.requestId,
        view_id: message.viewId,
        op: "PENDING",
        ballot: ballotWire(message.ballot),
      };
    case "PENDING":
      return {
        request_id: message.requestId,
        view: viewWire(message.view),
        ...(message.pending ? proposalWire(message.pending) : { op: "NOTHING" }),
      };
    case "REJECT":
      return { promised: ballotWire(message.promised) };
    case "HEARTBEAT":
      return {
        view_id: message.viewId,
        ...(message.leading ? { leading: ballotWire(message.leading) } : {}),
      };
  }
}

/**
 * Encodes a message as one line of text (no trailing newline).
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./codec.ts";
 * const line = encodeMessage({ type: "JOIN", from: 2, incarnation: 7 });
 * // line === '{"v":1,"type":"JOIN","from":2,"inc":7}'
 * ```
 */
export function encodeMessage(message: Message): string {
  return JSON.stringify({
    v: PROTOCOL_VERSION,
    type: message.type,
    from: message.from,
    inc: message.incarnation,
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

function object(f: Fields, key: string): Fields {
  const x = f[key];
  if (typeof x !== "object" || x === null || Array.isArray(x)) {
    throw new WireError(`field '${key}' must be an object`);
  }
  return x as Fields;
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
  return { id: int(f, "view_id", 1), leader, members, incarnations };
}

function proposal(f: Fields): Proposal {
  const kind = f.op;
  if (kind !== "ADD" && kind !== "DEL") throw new WireError("field 'op' must be ADD or DEL");
  return {
    viewId: int(f, "view_id", 1),
    op: { kind, peer: peer(f, "peer"), incarnation: int(f, "peer_inc") },
    leader: peer(f, "leader"),
    ballot: ballot(f, "ballot"),
  };
}

function decodeFields(f: Fields): Message {
  if (f.v !== PROTOCOL_VERSION) throw new WireError(`unsupported protocol version ${f.v}`);
  const envelope = { from: peer(f, "from"), incarnation: int(f, "inc") };
  switch (f.type) {
    case "JOIN":
      return { type: "JOIN", ...envelope };
    case "REDIRECT":
      return { type: "REDIRECT", ...envelope, leader: peer(f, "leader") };
    case "REQ":
      return { type: "REQ", ...envelope, requestId: int(f, "request_id", 1), proposal: proposal(f) };
    case "OK":
      return { type: "OK", ...envelope, requestId: int(f, "request_id", 1), viewId: int(f, "view_id", 1) };
    case "NEWVIEW":
      return { type: "NEWVIEW", ...envelope, view: view(f), ballot: ballot(f, "ballot") };
    case "NEWLEADER":
      if (f.op !== "PENDING") throw new WireError("NEWLEADER must ask for op PENDING");
      return {
        type: "NEWLEADER",
        ...envelope,
        requestId: int(f, "request_id", 1),
        viewId: int(f, "view_id", 1),
        ballot: ballot(f, "ballot"),
      };
    case "PENDING": {
      const v = view(object(f, "view"));
      const pending = f.op === "NOTHING" ? null : proposal(f);
      if (pending && pending.viewId !== v.id) {
        throw new WireError("the pending proposal is not for that view");
      }
      return { type: "PENDING", ...envelope, requestId: int(f, "request_id", 1), view: v, pending };
    }
    case "REJECT":
      return { type: "REJECT", ...envelope, promised: ballot(f, "promised") };
    case "HEARTBEAT":
      return {
        type: "HEARTBEAT",
        ...envelope,
        viewId: int(f, "view_id"),
        leading: f.leading === undefined ? null : ballot(f, "leading"),
      };
    default:
      throw new WireError(`unknown message type ${JSON.stringify(f.type)}`);
  }
}

/**
 * Decodes one line of text into a message, or says why it cannot.
 *
 * @example
 * ```ts
 * import { decodeMessage } from "./codec.ts";
 * const result = decodeMessage('{"v":1,"type":"JOIN","from":2,"inc":7}');
 * if (result.ok) console.log(result.message.type); // "JOIN"
 * ```
 */
export function decodeMessage(text: string): DecodeResult {
  if (text.length > MAX_MESSAGE_BYTES) {
    return { ok: false, error: `message longer than ${MAX_MESSAGE_BYTES} bytes` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, error: "not a JSON object" };
  }
  try {
    return { ok: true, message: decodeFields(parsed as Fields) };
  } catch (e) {
    if (e instanceof WireError) return { ok: false, error: e.message };
    throw e;
  }
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
