// Property-based tests (fast-check): whatever bytes arrive, the sealing layer
// and the codec give a clean rejection or the exact message, never an exception.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  decodeWire,
  encodeWire,
  generateKey,
  type HostAddress,
  MemoryNetwork,
  type Message,
  parseKeyring,
  type Peer,
  startPeer,
} from "../mod.ts";
import { BACKENDS } from "./support/sealing.ts";

const TO = "10.0.0.1:7601";
const keyring = parseKeyring(`${generateKey()}\n${generateKey()}`);
const runId = fc.uint8Array({ minLength: 8, maxLength: 8 });
const header = fc.record({
  runId,
  counter: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  sentAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
});

// Each property runs on both ways to seal and open: WebCrypto's, and the transport's own (node:crypto).
for (const backend of BACKENDS) {
  const b = await backend.make(keyring);
  test(`${backend.name}: open: any bytes (sealed-looking or not) are a clean rejection`, async () => {
    const anyBytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ minLength: 40, maxLength: 300 }).map((b) => new Uint8Array([0x53, 1, ...b])),
    );
    await fc.assert(
      fc.asyncProperty(anyBytes, async (bytes) => {
        const opened = await b.open(TO, bytes);
        assert.equal(opened.ok, false);
        assert.equal(typeof (opened as { error: string }).error, "string");
      }),
      { numRuns: 500 },
    );
  });

  test(`${backend.name}: open: a sealed message opens to the exact payload and header, with either key`, async () => {
    await fc.assert(
      fc.asyncProperty(header, fc.uint8Array({ maxLength: 2000 }), fc.nat(1), async (h, payload, k) => {
        const opened = await b.open(TO, await b.seal(k, TO, h, payload));
        assert.ok(opened.ok);
        assert.deepEqual(opened.payload, payload);
        assert.deepEqual(opened.header, { runId: h.runId, counter: h.counter, sentAt: h.sentAt });
      }),
      { numRuns: 200 },
    );
  });

  test(`${backend.name}: open: a sealed message changed in any way (bytes changed, cut, extended) is a clean rejection`, async () => {
    const change = fc.oneof(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 5 })
        .map((flips) => (b: Uint8Array) => {
          const out = new Uint8Array(b);
          for (const [at, mask] of flips) out[at % out.length] ^= mask;
          return out;
        }),
      fc.nat().map((n) => (b: Uint8Array) => b.slice(0, n % b.length)),
      fc.uint8Array({ minLength: 1, maxLength: 20 }).map((extra) => (b: Uint8Array) =>
        new Uint8Array([...b, ...extra])
      ),
    );
    await fc.assert(
      fc.asyncProperty(header, fc.uint8Array({ maxLength: 200 }), change, async (h, payload, f) => {
        const sealed = await b.seal(0, TO, h, payload);
        const changed = f(sealed);
        const opened = await b.open(TO, changed);
        const same = changed.length === sealed.length && changed.every((x, i) => x === sealed[i]);
        if (same) assert.ok(opened.ok && opened.payload.length === payload.length);
        else assert.equal(opened.ok, false);
      }),
      { numRuns: 300 },
    );
  });
}

/** Real messages of a group that forms, heartbeats, and has its leader leave. */
async function corpus(): Promise<Message[]> {
  const net = new MemoryNetwork();
  const hosts: HostAddress[] = [1, 2, 3].map((i) => ({ hostname: "127.0.0.1", port: 7800 + i }));
  const recorded: Uint8Array[] = [];
  const peers: Peer[] = [];
  for (const id of [1, 2, 3]) {
    const t = net.transport();
    peers.push(
      await startPeer({
        hosts,
        id,
        heartbeatMs: 40,
        transport: {
          ...t,
          sendStream: (to, b) => (recorded.push(b), t.sendStream(to, b)),
          sendDatagram: (to, b) => (recorded.push(b), t.sendDatagram(to, b)),
        },
      }),
    );
  }
  await Promise.all(peers.map((p) => p.waitForView((v) => v.members.length === 3)));
  await new Promise((r) => setTimeout(r, 150));
  await peers[0].leave();
  await peers[1].waitForView((v) => !v.members.includes(1));
  await Promise.all(peers.map((p) => p.stop()));
  await net.close();
  return recorded.map((b) => {
    const d = decodeWire(b);
    assert.ok(d.ok, new TextDecoder().decode(b));
    return d.message;
  });
}

const messages = await corpus();

/** A decode result is either an error string or a message that round-trips exactly. */
function clean(bytes: Uint8Array): void {
  const d = decodeWire(bytes);
  if (!d.ok) return assert.equal(typeof d.error, "string");
  assert.deepEqual(decodeWire(encodeWire(d.message)), { ok: true, message: d.message });
}

test("decodeWire: any bytes are a clean rejection or a message that round-trips", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => clean(b)), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => clean(new TextEncoder().encode(s))),
    {
      numRuns: 1000,
    },
  );
});

test("decodeWire: every real message comes back exactly; any change to its fields is clean", () => {
  const types = new Set(messages.map((m) => m.type));
  assert.ok(types.size >= 6, `${[...types]}`);
  for (const m of messages) assert.deepEqual(decodeWire(encodeWire(m)), { ok: true, message: m });
  const fieldChange = fc.tuple(
    fc.constantFrom(...messages),
    fc.oneof(
      fc.constantFrom("v", "type", "from", "inc", "view_id", "members", "ballot", "op", "peer"),
      fc.string(),
    ),
    fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
  );
  fc.assert(
    fc.property(fieldChange, ([m, key, value]) => {
      const fields = JSON.parse(new TextDecoder().decode(encodeWire(m)));
      if (value === undefined) delete fields[key];
      else fields[key] = value;
      clean(new TextEncoder().encode(JSON.stringify(fields)));
    }),
    { numRuns: 3000 },
  );
  // And byte-level damage to real messages.
  fc.assert(
    fc.property(fc.constantFrom(...messages), fc.nat(), fc.integer({ min: 1, max: 255 }), (m, at, mask) => {
      const bytes = new Uint8Array(encodeWire(m));
      bytes[at % bytes.length] ^= mask;
      clean(bytes);
    }),
    { numRuns: 3000 },
  );
});

// Found by the property above: decodeFields interpolated `v` into its error text, and an object
// without a usable toString made that throw (over Deno's UDP socket the exception ended the
// receive loop). The error text now quotes it with JSON.stringify.
const CODEC_V_BUG = '{"v":{"toString":0}}';

test(`decodeWire: ${CODEC_V_BUG} is a clean rejection`, () => {
  const d = decodeWire(new TextEncoder().encode(CODEC_V_BUG));
  assert.equal(d.ok, false);
});
