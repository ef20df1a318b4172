import assert from "node:assert/strict";
import { test } from "node:test";
import type { Ballot, Message, PeerId, PendingMessage, Proposal, View } from "../src/core/messages.ts";
import { Takeover } from "../src/core/takeover.ts";
import { b, viewOf } from "./support/fixtures.ts";

const view5: View = viewOf(5, [1, 2, 3, 4, 5]);

/** PENDING from `from`, as run `incarnation` (its usual `from × 10` unless told). */
function pending(
  from: PeerId,
  p: Proposal | null,
  { view = view5, incarnation = from * 10 }: { view?: View; incarnation?: number } = {},
): PendingMessage {
  const message: Message = {
    type: "PENDING",
    from,
    incarnation,
    requestId: 7,
    ballot: { round: 1, leader: 2 },
    view,
    pending: p,
  };
  return message;
}

const del = (viewId: number, peer: PeerId, ballot: Ballot): Proposal => ({
  viewId,
  op: { kind: "DEL", peer, incarnation: peer * 10 },
  leader: 1,
  ballot,
});

test("a takeover holds its ballot, request id and send time", () => {
  const t = new Takeover(b(2, 2), 7, 600);
  assert.deepEqual(t.ballot, b(2, 2));
  assert.equal(t.requestId, 7);
  assert.equal(t.sentAt, 600);
  assert.equal(t.replies.size, 0);
});

test("answeredBy: the candidate counts itself, and needs a majority of the view", () => {
  const t = new Takeover(b(1, 2), 7, 0);
  assert.equal(t.answeredBy(view5, 2), false);
  t.replies.set(3, pending(3, null));
  assert.equal(t.answeredBy(view5, 2), false);
  t.replies.set(4, pending(4, null));
  assert.equal(t.answeredBy(view5, 2), true);
});

test("answeredBy counts only replies from the run the view holds", () => {
  const t = new Takeover(b(1, 2), 7, 0);
  t.replies.set(3, pending(3, null));
  t.replies.set(4, pending(4, null, { incarnation: 41 })); // restarted: not the acceptor the view holds
  assert.equal(t.answeredBy(view5, 2), false);
  t.replies.set(5, pending(5, null));
  assert.equal(t.answeredBy(view5, 2), true);
  // A reply from a peer outside the view counts for nothing.
  const small = viewOf(5, [1, 2, 3]);
  const u = new Takeover(b(1, 2), 7, 0);
  u.replies.set(4, pending(4, null));
  assert.equal(u.answeredBy(small, 2), false);
});

test("recovered: the highest-ballot proposal for the view, among its own and the replies", () => {
  const t = new Takeover(b(3, 2), 7, 0);
  assert.equal(t.recovered(null, 5), null);
  const low = del(5, 5, b(0, 1));
  const high = del(5, 4, b(2, 3));
  const mid = del(5, 3, b(1, 4));
  t.replies.set(3, pending(3, low));
  t.replies.set(4, pending(4, high));
  t.replies.set(5, pending(5, null));
  assert.equal(t.recovered(null, 5), high);
  assert.equal(t.recovered(mid, 5), high);
  // Its own proposal wins when it is the highest.
  const own = del(5, 3, b(2, 4));
  assert.equal(t.recovered(own, 5), own);
});

test("recovered ignores proposals for other views, its own included", () => {
  const t = new Takeover(b(3, 2), 7, 0);
  const stale = del(4, 5, b(2, 3));
  const current = del(5, 5, b(0, 1));
  t.replies.set(3, pending(3, stale));
  assert.equal(t.recovered(del(6, 4, b(2, 9)), 5), null);
  t.replies.set(4, pending(4, current));
  assert.equal(t.recovered(stale, 5), current);
});

test("recovered: of equal ballots, the one found first stays", () => {
  const t = new Takeover(b(3, 2), 7, 0);
  const own = del(5, 5, b(1, 1));
  const same = { ...own };
  t.replies.set(3, pending(3, same));
  assert.equal(t.recovered(own, 5), own);
  assert.equal(t.recovered(null, 5), same);
});

test("newestView: the newest view among its own and the replies'", () => {
  const t = new Takeover(b(1, 2), 7, 0);
  assert.equal(t.newestView(view5), view5);
  const view6 = viewOf(6, [1, 2, 3, 4]);
  const view4 = viewOf(4, [1, 2, 3, 4]);
  t.replies.set(3, pending(3, null, { view: view4 }));
  assert.equal(t.newestView(view5), view5);
  t.replies.set(4, pending(4, null, { view: view6 }));
  assert.equal(t.newestView(view5), view6);
});
