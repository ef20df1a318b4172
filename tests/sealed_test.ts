// Sealing: the seal/open functions, the replay guard, SealedTransport over the
// in-memory network, and groups of peers with a keyring (admission, forgery,
// replay, rotation).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeWire,
  encodeWire,
  FORGET_AFTER_MS,
  FRESHNESS_MS,
  generateKey,
  type HostAddress,
  Keyring,
  MemoryNetwork,
  type Message,
  openSealed,
  type Packet,
  parseKeyring,
  type Peer,
  type PeerEvent,
  PeerMetrics,
  REPLAY_WINDOW,
  ReplayGuard,
  seal,
  SEAL_OVERHEAD,
  SealedTransport,
  startPeer,
  type Transport,
  type TransportHandlers,
} from "../mod.ts";
import { addressKey, senderName } from "../src/transport/transport.ts";
import { BACKENDS } from "./support/sealing.ts";
import { leakFree } from "./support/leak_free.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TO = "127.0.0.1:7601";

async function until(what: string, done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function header(counter = 1, sentAt = Date.now()) {
  return { runId: crypto.getRandomValues(new Uint8Array(8)), counter, sentAt };
}

// --- seal and open --------------------------------------------------------

test("seal then open gives back the payload and the header, with any key of the keyring", async () => {
  const [a] = await parseKeyring(generateKey()).cryptoKeys();
  const other = await parseKeyring(generateKey()).cryptoKeys();
  const h = header(42);
  const sealed = await seal(a, TO, h, text("NEWVIEW hello"));
  assert.equal(sealed[0], 0x53);
  assert.equal(sealed[1], 1);
  assert.equal(sealed.length, SEAL_OVERHEAD + "NEWVIEW hello".length);
  const opened = await openSealed([...other, a], TO, sealed);
  assert.ok(opened.ok);
  assert.equal(decode(opened.payload), "NEWVIEW hello");
  assert.deepEqual(opened.header, h);
  // The same message sealed twice differs (a fresh nonce each time).
  assert.notDeepEqual(await seal(a, TO, h, text("x")), await seal(a, TO, h, text("x")));
});

test("a wrong key, another destination, or plain text does not open", async () => {
  const [a] = await parseKeyring(generateKey()).cryptoKeys();
  const wrong = await parseKeyring(generateKey()).cryptoKeys();
  const sealed = await seal(a, TO, header(), text("REQ"));
  assert.deepEqual(await openSealed(wrong, TO, sealed), { ok: false, error: "does not open" });
  assert.equal((await openSealed([a], "127.0.0.1:7602", sealed)).ok, false, "bound to its destination");
  assert.deepEqual(await openSealed([a], TO, encodeWireText()), { ok: false, error: "not sealed" });
  assert.equal((await openSealed([a], TO, new Uint8Array(0))).ok, false);
});

function encodeWireText(): Uint8Array {
  return text(`{"v":1,"type":"JOIN","from":2,"inc":1,${"x".repeat(60)}}`);
}

for (const backend of BACKENDS) {
  test(`${backend.name}: every byte of a sealed message flipped in turn (each bit pattern) fails to open`, async () => {
    const b = await backend.make(parseKeyring(generateKey()));
    const sealed = await b.seal(0, TO, header(7), text("HEARTBEAT from 3"));
    assert.equal((await b.open(TO, sealed)).ok, true, "untouched, it opens");
    for (let i = 0; i < sealed.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const tampered = new Uint8Array(sealed);
        tampered[i] ^= mask;
        const opened = await b.open(TO, tampered);
        assert.equal(opened.ok, false, `byte ${i} ^ ${mask} opened`);
      }
    }
    // Cut short or lengthened: no.
    for (const n of [0, 1, 2, 14, SEAL_OVERHEAD - 1, sealed.length - 1]) {
      assert.equal((await b.open(TO, sealed.slice(0, n))).ok, false, `cut to ${n}`);
    }
    assert.equal((await b.open(TO, new Uint8Array([...sealed, 0]))).ok, false);
  });
}

// --- the replay guard -----------------------------------------------------

test("the replay guard: each counter once, reordering within the window, nothing below it", () => {
  const guard = new ReplayGuard();
  const now = Date.now();
  const runId = new Uint8Array(8).fill(1);
  const at = (counter: number, sentAt = now) => guard.check({ runId, counter, sentAt }, now);
  // Reordered: 10, 5, 7, 6, 9, 8 then all again.
  for (const c of [10, 5, 7, 6, 9, 8]) assert.equal(at(c), null, `counter ${c}`);
  for (const c of [10, 5, 7, 6, 9, 8]) assert.equal(at(c), "replayed", `counter ${c} again`);
  // A jump ahead within the window keeps the old marks and clears the slots skipped.
  assert.equal(at(10 + REPLAY_WINDOW - 1), null);
  assert.equal(at(11), null, "an unseen counter still within the window");
  assert.equal(at(11), "replayed");
  assert.equal(at(9), "replayed", "below the window");
  assert.equal(at(10 + REPLAY_WINDOW - 2), null, "a slot skipped over was cleared");
  // A far jump: everything older is below the window.
  assert.equal(at(100_000), null);
  assert.equal(at(100_000 - REPLAY_WINDOW), "replayed");
  assert.equal(at(100_000 - REPLAY_WINDOW + 1), null);
  // Another run is separate.
  assert.equal(guard.check({ runId: new Uint8Array(8).fill(2), counter: 10, sentAt: now }, now), null);
});

test("the replay guard: stale both ways past the freshness window, and forgets idle runs", () => {
  const guard = new ReplayGuard();
  const now = 1_000_000_000;
  const runId = new Uint8Array(8);
  assert.equal(guard.check({ runId, counter: 1, sentAt: now - FRESHNESS_MS - 1 }, now), "stale");
  assert.equal(guard.check({ runId, counter: 1, sentAt: now + FRESHNESS_MS + 1 }, now), "stale");
  assert.equal(guard.check({ runId, counter: 1, sentAt: now - FRESHNESS_MS }, now), null);
  assert.equal(guard.size, 1);
  // Its state outlives anything of it that could still be fresh, then goes.
  assert.equal(
    guard.check({ runId: new Uint8Array(8).fill(9), counter: 1, sentAt: now + 1000 }, now + 1000),
    null,
  );
  const later = now + FORGET_AFTER_MS + 1;
  guard.check({ runId: new Uint8Array(8).fill(3), counter: 1, sentAt: later }, later);
  assert.equal(guard.size, 2, "the first run is forgotten");
  assert.equal(guard.check({ runId, counter: 1, sentAt: now }, later), "stale", "and its messages are stale");
});

// --- SealedTransport over the in-memory network ---------------------------

interface Received {
  readonly via: "stream" | "datagram";
  readonly text: string;
  readonly from: string;
}

/** A transport that remembers every byte sent through it (what a wiretap records). */
function tapped(
  inner: Transport,
): Transport & { sent: { via: "stream" | "datagram"; to: HostAddress; bytes: Uint8Array }[] } {
  const sent: { via: "stream" | "datagram"; to: HostAddress; bytes: Uint8Array }[] = [];
  return {
    sent,
    listen: (local, handlers) => inner.listen(local, handlers),
    sendStream: (to, bytes) => (sent.push({ via: "stream", to, bytes }), inner.sendStream(to, bytes)),
    sendDatagram: (to, bytes) => (sent.push({ via: "datagram", to, bytes }), inner.sendDatagram(to, bytes)),
    reset: (to) => inner.reset(to),
    flush: () => inner.flush(),
    close: () => inner.close(),
  };
}

const A: HostAddress = { hostname: "127.0.0.1", port: 7601 };
const B: HostAddress = { hostname: "127.0.0.1", port: 7602 };

async function pair(
  keysA: Keyring,
  keysB: Keyring,
  options: { nowB?: () => number; net?: MemoryNetwork; hosts?: HostAddress[] } = {},
) {
  const net = options.net ?? new MemoryNetwork({ faults: { minDelayMs: 0, maxDelayMs: 2 } });
  const wire = tapped(net.transport());
  const a = new SealedTransport(wire, keysA);
  const hosts = options.hosts;
  const b = new SealedTransport(net.transport(), keysB, {
    now: options.nowB,
    nameSender: hosts && ((from) => senderName(from, hosts)),
  });
  const received: Received[] = [];
  const diagnostics: string[] = [];
  const handlers = (into: Received[]): TransportHandlers => ({
    onStream: (p: Packet) => into.push({ via: "stream", text: decode(p.bytes), from: `${p.from.port}` }),
    onDatagram: (p: Packet) => into.push({ via: "datagram", text: decode(p.bytes), from: `${p.from.port}` }),
    onDiagnostic: (t) => diagnostics.push(t),
  });
  await a.listen(A, handlers([]));
  await b.listen(B, handlers(received));
  const close = async () => {
    await a.close();
    await b.close();
    await net.close();
  };
  return { net, wire, a, b, received, diagnostics, close };
}

leakFree(
  "sealed stream messages arrive in order and datagrams arrive, opened; close leaves nothing",
  async () => {
    const keyring = parseKeyring(generateKey());
    const { a, wire, received, close } = await pair(keyring, keyring);
    for (let i = 0; i < 200; i++) a.sendStream(B, text(`stream ${i}`));
    for (let i = 0; i < 20; i++) a.sendDatagram(B, text(`datagram ${i}`));
    await a.flush();
    await until("every message", () => received.length === 220);
    const streamed = received.filter((r) => r.via === "stream").map((r) => r.text);
    assert.deepEqual(streamed, Array.from({ length: 200 }, (_, i) => `stream ${i}`));
    assert.equal(received.filter((r) => r.via === "datagram").length, 20);
    // On the wire: the stream carries base64 (no newline can cut a line); no plain text anywhere.
    for (const s of wire.sent) {
      assert.ok(!decode(s.bytes).includes("stream"), "plain text on the wire");
      if (s.via === "stream") assert.match(decode(s.bytes), /^[A-Za-z0-9+/]+=*$/);
      else assert.equal(s.bytes[0], 0x53);
    }
    await close();
  },
);

leakFree(
  "a message sealed with a wrong key is dropped, with a diagnostic naming the sender and 'wrong key?'",
  async () => {
    const { a, received, diagnostics, close } = await pair(
      parseKeyring(generateKey()),
      parseKeyring(generateKey()),
    );
    a.sendStream(B, text("NEWVIEW"));
    a.sendDatagram(B, text("HEARTBEAT"));
    await until("two diagnostics", () => diagnostics.length === 2);
    assert.deepEqual(received, []);
    for (const d of diagnostics) {
      assert.match(d, /127\.0\.0\.1:7601/);
      assert.match(d, /wrong key\?/);
    }
    await close();
  },
);

leakFree(
  "with the hostsfile, a dropped datagram names its sender as a peer; an unknown port names only its host",
  async () => {
    const { a, diagnostics, close } = await pair(parseKeyring(generateKey()), parseKeyring(generateKey()), {
      hosts: [A, B],
    });
    a.sendDatagram(B, text("HEARTBEAT"));
    await until("one diagnostic", () => diagnostics.length === 1);
    assert.match(diagnostics[0], /from peer 1 \(127\.0\.0\.1:7601\): .*wrong key\?/);
    await close();
    // Two peers on one host: a stream's source port (ephemeral on real sockets) tells only the host.
    const other = { hostname: A.hostname, port: 40378 };
    assert.equal(senderName(other, [A, B]), "127.0.0.1:40378 (the host of peers 1, 2)");
    assert.equal(senderName(other, [A, B], 2), "127.0.0.1:40378 (peer 1's host)");
    assert.equal(senderName({ hostname: "10.9.9.9", port: 1 }, [A, B]), "10.9.9.9:1");
  },
);

leakFree("plain text sent to a sealed transport is dropped as 'wrong key?'", async () => {
  const keyring = parseKeyring(generateKey());
  const { net, received, diagnostics, close } = await pair(keyring, keyring);
  const plain = net.transport();
  await plain.listen({ hostname: "127.0.0.1", port: 7666 }, {
    onStream() {},
    onDatagram() {},
    onDiagnostic() {},
  });
  plain.sendStream(B, encodeWireText());
  plain.sendDatagram(B, encodeWireText());
  await until("two diagnostics", () => diagnostics.length === 2);
  assert.deepEqual(received, []);
  assert.match(diagnostics.join("\n"), /127\.0\.0\.1:7666.*wrong key\?/);
  await plain.close();
  await close();
});

leakFree(
  "the transport's synchronous sealing and WebCrypto's seal/openSealed are one format, both ways",
  async () => {
    const keyring = parseKeyring(generateKey());
    const keys = await keyring.cryptoKeys();
    const { wire, a, received, close } = await pair(keyring, keyring);
    // The transport seals; WebCrypto opens what went on the wire, bound to B's address.
    a.sendDatagram(B, text("HEARTBEAT from a"));
    await a.flush();
    const sent = wire.sent.find((s) => s.via === "datagram")!;
    const opened = await openSealed(keys, addressKey(B), sent.bytes);
    assert.ok(opened.ok && decode(opened.payload) === "HEARTBEAT from a", "WebCrypto opens it");
    // WebCrypto seals; the transport opens it.
    wire.sendDatagram(B, await seal(keys[0], addressKey(B), header(), text("HEARTBEAT from WebCrypto")));
    await until("both", () => received.length === 2);
    assert.deepEqual(received.map((r) => r.text).sort(), ["HEARTBEAT from WebCrypto", "HEARTBEAT from a"]);
    await close();
  },
);

leakFree("a replay within a run (the same sealed bytes again) is dropped as replayed", async () => {
  const keyring = parseKeyring(generateKey());
  const { net, wire, a, received, diagnostics, close } = await pair(keyring, keyring);
  a.sendStream(B, text("REQ 1"));
  a.sendDatagram(B, text("HEARTBEAT 1"));
  await a.flush();
  await until("both", () => received.length === 2);
  // An attacker on the network sends the recording again, from the sender's address and another one.
  const attacker = net.transport();
  await attacker.listen({ hostname: "127.0.0.1", port: 7666 }, {
    onStream() {},
    onDatagram() {},
    onDiagnostic() {},
  });
  for (const s of [...wire.sent]) {
    if (s.via === "stream") (wire.sendStream(B, s.bytes), attacker.sendStream(B, s.bytes));
    else (wire.sendDatagram(B, s.bytes), attacker.sendDatagram(B, s.bytes));
  }
  await until("four diagnostics", () => diagnostics.length === 4);
  assert.equal(received.length, 2);
  for (const d of diagnostics) assert.match(d, /replayed/);
  await attacker.close();
  await close();
});

leakFree(
  "a replay from an earlier run (sent 60 s ago) is dropped as stale, even by a peer that forgot it",
  async () => {
    const keyring = parseKeyring(generateKey());
    const first = await pair(keyring, keyring);
    first.a.sendStream(B, text("NEWVIEW old"));
    first.a.sendDatagram(B, text("HEARTBEAT old"));
    await first.a.flush();
    await until("both", () => first.received.length === 2);
    const recording = first.wire.sent.map((s) => ({ ...s }));
    await first.close();
    // A minute later, a new run of the receiver (no replay state at all): the recording is stale.
    const later = await pair(keyring, keyring, { nowB: () => Date.now() + 60_000 });
    for (const s of recording) {
      if (s.via === "stream") later.wire.sendStream(B, s.bytes);
      else later.wire.sendDatagram(B, s.bytes);
    }
    await until("two diagnostics", () => later.diagnostics.length === 2);
    assert.deepEqual(later.received, []);
    for (const d of later.diagnostics) assert.match(d, /stale.*127\.0\.0\.1:7601|127\.0\.0\.1:7601.*stale/);
    await later.close();
  },
);

leakFree("reordered datagrams are each accepted once", async () => {
  const keyring = parseKeyring(generateKey());
  const net = new MemoryNetwork({ faults: { minDelayMs: 0, maxDelayMs: 30 } }); // overtaking
  const { a, wire, received, diagnostics, close } = await pair(keyring, keyring, { net });
  for (let i = 0; i < 300; i++) a.sendDatagram(B, text(`hb ${i}`));
  await until("all", () => received.length === 300);
  const order = received.map((r) => Number(r.text.split(" ")[1]));
  assert.notDeepEqual(order, [...order].sort((x, y) => x - y), "the network reordered them");
  assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: 300 }, (_, i) => i));
  for (const s of [...wire.sent].reverse()) wire.sendDatagram(B, s.bytes);
  await until("300 drops", () => diagnostics.length === 300);
  assert.equal(received.length, 300);
  await close();
});

leakFree("setKeyring: the new first key seals, every key opens", async () => {
  const keyA = generateKey(), keyB = generateKey();
  const { a, b, received, diagnostics, close } = await pair(parseKeyring(keyA), parseKeyring(keyA));
  b.setKeyring(parseKeyring(`${keyA}\n${keyB}`));
  a.setKeyring(parseKeyring(`${keyB}\n${keyA}`));
  a.sendStream(B, text("sealed with B"));
  await until("it", () => received.length === 1);
  b.setKeyring(parseKeyring(keyA));
  a.sendStream(B, text("B no longer opens"));
  await until("a drop", () => diagnostics.length === 1);
  assert.equal(received.length, 1);
  await close();
});

// --- peers with a keyring -------------------------------------------------

const HOSTS: HostAddress[] = [1, 2, 3, 4].map((i) => ({ hostname: "127.0.0.1", port: 7700 + i }));

async function group(
  keyrings: (Keyring | undefined)[],
  net: MemoryNetwork,
  hosts = HOSTS.slice(0, keyrings.length),
) {
  const events: PeerEvent[] = [];
  const peers: Peer[] = [];
  for (const [i, keyring] of keyrings.entries()) {
    peers.push(
      await startPeer({
        hosts,
        id: i + 1,
        heartbeatMs: 40,
        incarnation: 1000 + i + 1, // as the forgery test's recording
        transport: net.transport(),
        keyring,
        onEvent: (e) => events.push(e),
      }),
    );
  }
  return { peers, events };
}

function views(peers: Peer[]): string[] {
  return peers.map((p) => (p.view ? `${p.view.id}:${p.view.members}` : "none"));
}

test("a group of three with a keyring forms; a peer with a wrong key is never admitted", async () => {
  const net = new MemoryNetwork();
  const keyring = parseKeyring(generateKey());
  const { peers, events } = await group([keyring, keyring, keyring, parseKeyring(generateKey())], net, HOSTS);
  try {
    await Promise.all(peers.slice(0, 3).map((p) => p.waitForView((v) => v.members.length === 3)));
    await sleep(600); // many join attempts by the fourth
    assert.equal(peers[3].role, "joining");
    assert.equal(peers[3].view, null);
    assert.deepEqual(new Set(views(peers.slice(0, 3))).size, 1);
    assert.ok(!events.some((e) => e.type === "view" && e.view.members.includes(4)));
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    await net.close();
  }
});

test("forged plain-text messages of every type sent to a keyed group change nothing", async () => {
  // Record what a keyless group with the same hosts says (every kind of message it sends),
  // including a takeover, then make a NEWVIEW that would throw members out.
  const shadowNet = new MemoryNetwork();
  const recorded: Uint8Array[] = [];
  const recordingTransport = () => {
    const t = shadowNet.transport();
    return {
      ...t,
      sendStream: (to: HostAddress, b: Uint8Array) => (recorded.push(b), t.sendStream(to, b)),
      sendDatagram: (to: HostAddress, b: Uint8Array) => (recorded.push(b), t.sendDatagram(to, b)),
    };
  };
  const shadow: Peer[] = [];
  for (const id of [1, 2, 3]) {
    shadow.push(
      await startPeer({
        hosts: HOSTS.slice(0, 3),
        id,
        heartbeatMs: 40,
        incarnation: 1000 + id, // the keyed group's: the forgeries are as good as a member's
        transport: recordingTransport(),
      }),
    );
  }
  await Promise.all(shadow.map((p) => p.waitForView((v) => v.members.length === 3)));
  await sleep(200); // heartbeats
  await shadow[0].leave(); // LEAVE, NEWLEADER, PENDING, …
  await shadow[1].waitForView((v) => !v.members.includes(1));
  await Promise.all(shadow.map((p) => p.stop()));
  await shadowNet.close();
  const messages = recorded.map((b) => decodeWire(b)).filter((d) => d.ok).map((d) => d.message as Message);
  const types = new Set(messages.map((m) => m.type));
  const newview = messages.find((m) => m.type === "NEWVIEW")!;
  const forgedView = {
    ...newview,
    view: { ...(newview as Extract<Message, { type: "NEWVIEW" }>).view, id: 99, members: [2], leader: 2 },
    ballot: { round: 99, leader: 2 },
  } as Message;
  const forged = [...recorded, encodeWire(forgedView)];

  const net = new MemoryNetwork();
  const keyring = parseKeyring(generateKey());
  const { peers, events } = await group([keyring, keyring, keyring], net);
  const attacker = net.transport();
  const attackerDiagnostics: string[] = [];
  await attacker.listen(HOSTS[3], {
    onStream() {},
    onDatagram() {},
    onDiagnostic: (t) => attackerDiagnostics.push(t),
  });
  try {
    await Promise.all(peers.map((p) => p.waitForView((v) => v.members.length === 3)));
    const before = views(peers);
    const eventsBefore = events.length;
    for (const bytes of forged) {
      for (const to of HOSTS.slice(0, 3)) {
        attacker.sendStream(to, bytes);
        attacker.sendDatagram(to, bytes);
      }
    }
    await sleep(500);
    assert.deepEqual(views(peers), before);
    assert.equal(events.length, eventsBefore, JSON.stringify(events.slice(eventsBefore)));
    for (const t of ["JOIN", "REQ", "OK", "NEWVIEW", "HEARTBEAT", "LEAVE", "NEWLEADER", "PENDING"]) {
      assert.ok(types.has(t as Message["type"]), `no ${t} recorded: ${[...types]}`);
    }
  } finally {
    await attacker.close();
    await Promise.all(peers.map((p) => p.stop()));
    await net.close();
  }
});

test("a recording of a keyed group's traffic, replayed after a member crashed, changes nothing", async () => {
  const net = new MemoryNetwork();
  const keyring = parseKeyring(generateKey());
  const hosts = HOSTS.slice(0, 3);
  const events: PeerEvent[] = [];
  const taps: ReturnType<typeof tapped>[] = [];
  const peers: Peer[] = [];
  for (const id of [1, 2, 3]) {
    const tap = tapped(net.transport()); // under the sealing: it records the sealed bytes
    taps.push(tap);
    peers.push(
      await startPeer({
        hosts,
        id,
        heartbeatMs: 40,
        transport: tap,
        keyring,
        onEvent: (e) => events.push(e),
      }),
    );
  }
  const attacker = net.transport();
  await attacker.listen(HOSTS[3], { onStream() {}, onDatagram() {}, onDiagnostic() {} });
  try {
    await Promise.all(peers.map((p) => p.waitForView((v) => v.members.length === 3)));
    await sleep(200);
    // Peer 3 crashes; the others remove it.
    net.crash(addressKey(hosts[2]));
    await Promise.all(peers.slice(0, 2).map((p) => p.waitForView((v) => v.members.length === 2)));
    await sleep(200);
    const before = views(peers.slice(0, 2));
    const eventsBefore = events.length;
    // Everything recorded, peer 3's JOIN and heartbeats included, sent again, as it was (same source
    // address, through the taps) and from another address.
    for (const tap of taps.slice(0, 2)) {
      for (const s of [...tap.sent]) {
        if (s.via === "stream") (tap.sendStream(s.to, s.bytes), attacker.sendStream(s.to, s.bytes));
        else (tap.sendDatagram(s.to, s.bytes), attacker.sendDatagram(s.to, s.bytes));
      }
    }
    for (const s of taps[2].sent) {
      if (s.via === "stream") attacker.sendStream(s.to, s.bytes);
      else attacker.sendDatagram(s.to, s.bytes);
    }
    await sleep(400);
    assert.deepEqual(views(peers.slice(0, 2)), before);
    assert.deepEqual(events.slice(eventsBefore), []);
  } finally {
    await attacker.close();
    await Promise.all(peers.map((p) => p.stop()));
    await net.close();
  }
});

test("rotation: add B everywhere, make it first everywhere, drop A; one view, nothing unreachable", async () => {
  const net = new MemoryNetwork();
  const keyA = generateKey(), keyB = generateKey();
  const { peers, events } = await group([1, 2, 3].map(() => parseKeyring(keyA)), net);
  try {
    await Promise.all(peers.map((p) => p.waitForView((v) => v.members.length === 3)));
    const before = views(peers);
    const eventsBefore = events.length;
    for (const step of [`${keyA}\n${keyB}`, `${keyB}\n${keyA}`, keyB]) {
      for (const p of peers) {
        p.setKeyring(parseKeyring(step));
        await sleep(30); // peers reload one after another, as SIGHUPs arrive
      }
      await sleep(300);
    }
    await sleep(300);
    assert.deepEqual(views(peers), before);
    assert.deepEqual(events.slice(eventsBefore), []);
    // And the group still works under B only: a member that stops is removed.
    await peers[2].stop();
    await Promise.all(peers.slice(0, 2).map((p) => p.waitForView((v) => v.members.length === 2)));
    assert.ok(events.some((e) => e.type === "unreachable" && e.member === 3));
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    await net.close();
  }
});

test('a message that does not open counts in membership_messages_dropped_total{reason="sealed"}', async () => {
  const net = new MemoryNetwork();
  const metrics = new PeerMetrics();
  const peer = await startPeer({
    hosts: HOSTS.slice(0, 1),
    id: 1,
    transport: net.transport(),
    keyring: parseKeyring(generateKey()),
    metrics,
  });
  const attacker = net.transport();
  await attacker.listen(HOSTS[3], { onStream() {}, onDatagram() {}, onDiagnostic() {} });
  try {
    attacker.sendDatagram(HOSTS[0], encodeWireText());
    attacker.sendStream(HOSTS[0], encodeWireText());
    const text = async () => await metrics.exposition();
    const end = Date.now() + 5_000;
    while (!/reason="sealed"} 2/.test(await text())) {
      if (Date.now() > end) assert.fail(await text());
      await sleep(5);
    }
  } finally {
    await attacker.close();
    await peer.stop();
    await net.close();
  }
});

test("setKeyring on a peer started without a keyring throws", async () => {
  const net = new MemoryNetwork();
  const peer = await startPeer({ hosts: HOSTS.slice(0, 1), id: 1, transport: net.transport() });
  try {
    assert.throws(() => peer.setKeyring(new Keyring([new Uint8Array(32)])), /without a keyring/);
  } finally {
    await peer.stop();
    await net.close();
  }
});
