// `--status`: the routes of createStatusApp served by serveStatus, over
// three in-process peers with metrics: the JSON status, the Prometheus
// exposition, the live event stream and the page; nothing left running.
import assert from "node:assert/strict";
import {
  AddressInUseError,
  createStatusApp,
  type HostAddress,
  type JsonEvent,
  MemoryNetwork,
  type Peer,
  PeerMetrics,
  serveStatus,
  startPeer,
  type StatusServer,
} from "../mod.ts";
import { leakFree } from "./support/leak_free.ts";

const loopback = (ports: number[]): HostAddress[] => ports.map((port) => ({ hostname: "127.0.0.1", port }));

interface Group {
  net: MemoryNetwork;
  hosts: HostAddress[];
  peers: Peer[];
  metrics: PeerMetrics[];
  stop(): Promise<void>;
}

/** Three peers over the in-memory network, each with its metrics, in view 3. */
async function startGroup(ports: number[]): Promise<Group> {
  const net = new MemoryNetwork();
  const hosts = loopback(ports);
  const metrics = hosts.map(() => new PeerMetrics());
  const peers: Peer[] = [];
  const stop = async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await net.close();
  };
  try {
    for (let id = 1; id <= hosts.length; id++) {
      const options = { hosts, id, heartbeatMs: 20, failAfter: 3, metrics: metrics[id - 1] };
      peers.push(await startPeer({ ...options, transport: net.transport() }));
    }
    const signal = AbortSignal.timeout(10_000);
    await Promise.all(peers.map((p) => p.waitForView((v) => v.members.length === 3, signal)));
  } catch (e) {
    await stop();
    throw e;
  }
  return { net, hosts, peers, metrics, stop };
}

/** Crashes peer `id`: the others stop hearing it at once. */
async function crash(group: Group, id: number): Promise<void> {
  group.net.crash(`127.0.0.1:${group.hosts[id - 1].port}`);
  await group.peers[id - 1].stop();
}

async function serve(peer: Peer, metrics: PeerMetrics): Promise<{ server: StatusServer; url: string }> {
  const server = await serveStatus(createStatusApp(peer, metrics), { hostname: "127.0.0.1", port: 0 });
  return { server, url: `http://127.0.0.1:${server.port}` };
}

/** A sample line of the exposition: `name{labels} value`. */
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})?) (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|[+-]Inf)$/;

/** The exposition as `name{labels}` to value; fails on any line that is neither a comment nor a sample. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || /^# (HELP|TYPE) membership_[a-z_]+ /.test(line)) continue;
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a valid sample line: ${JSON.stringify(line)}`);
    samples.set(m[1], Number(m[2]));
  }
  return samples;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/** One server-sent event: its name ("message" if unnamed) and its data, parsed. */
type Sse = { name: string; event: JsonEvent };

/** Reads server-sent events from `body`: each call resolves with the next one, or null at the end. */
function sseReader(body: ReadableStream<Uint8Array>): () => Promise<Sse | null> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return async () => {
    while (true) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = frame.split("\n");
        const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
        if (data.length === 0) continue; // a comment (keep-alive)
        const name = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "message";
        return { name, event: JSON.parse(data.join("\n")) };
      }
      const { done, value } = await reader.read();
      if (done) return null;
      buffer += value;
    }
  };
}

leakFree("GET /v1/status: the peer's role, leader, view and members with host:port addresses", async () => {
  const group = await startGroup([7641, 7642, 7643]);
  const leader = await serve(group.peers[0], group.metrics[0]);
  const member = await serve(group.peers[1], group.metrics[1]);
  try {
    const res = await fetch(`${leader.url}/v1/status`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const status = await res.json();
    assert.equal(status.id, 1);
    assert.equal(status.role, "leader");
    assert.equal(status.leader, 1);
    assert.equal(status.view.id, 3);
    assert.deepEqual(status.view.members, [1, 2, 3]);
    assert.deepEqual(
      status.members.map((m: { id: number; address: string; state: string }) => [m.id, m.address, m.state]),
      [[1, "127.0.0.1:7641", "alive"], [2, "127.0.0.1:7642", "alive"], [3, "127.0.0.1:7643", "alive"]],
    );
    for (const m of status.members) {
      assert.equal(typeof m.incarnation, "number");
      // The one JSON shape of members: what `members --format json` prints, whole milliseconds.
      assert.deepEqual(Object.keys(m), [
        "id",
        "address",
        "state",
        "role",
        "incarnation",
        "last_heard_ms",
        "tags",
      ]);
      assert.equal(m.role, m.id === 1 ? "leader" : "member");
      assert.ok(Number.isInteger(m.last_heard_ms), `whole ms: ${m.last_heard_ms}`);
      assert.ok(
        m.last_heard_ms >= 0 && m.last_heard_ms < 1_000,
        `member ${m.id} heard ${m.last_heard_ms} ms ago`,
      );
    }
    const other = await (await fetch(`${member.url}/v1/status`)).json();
    assert.equal(other.id, 2);
    assert.equal(other.role, "member");
    assert.equal(other.leader, 1);

    const page = await fetch(`${leader.url}/`);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    const html = await page.text();
    assert.match(html, /<title>membership status<\/title>/);
    assert.match(html, /new EventSource\("events"\)/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "the page loads nothing from elsewhere");

    const missing = await fetch(`${leader.url}/nothing-here`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await leader.server.close();
    await member.server.close();
    await group.stop();
  }
});

leakFree(
  "GET /metrics: valid exposition; view 3, 3 members, messages by type, a detection time",
  async () => {
    const group = await startGroup([7651, 7652, 7653]);
    const { server, url } = await serve(group.peers[0], group.metrics[0]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100)); // a few heartbeats
      const m = await scrape(url);
      assert.equal(m.get("membership_view_id"), 3);
      assert.equal(m.get("membership_members"), 3);
      assert.equal(m.get("membership_views_installed_total"), 3); // views 1, 2 and 3
      for (const type of ["HEARTBEAT", "REQ", "NEWVIEW"]) {
        const sent = m.get(`membership_messages_sent_total{type="${type}"}`) ?? 0;
        assert.ok(sent > 0, `the leader sent ${type}: ${sent}`);
      }
      for (const type of ["HEARTBEAT", "JOIN", "OK"]) {
        assert.ok((m.get(`membership_messages_received_total{type="${type}"}`) ?? 0) > 0, `received ${type}`);
      }
      // Every label value is there from the start, at 0.
      assert.equal(m.get('membership_messages_received_total{type="NEWLEADER"}'), 0);
      assert.equal(m.get('membership_messages_dropped_total{reason="malformed"}'), 0);
      assert.equal(m.get("membership_unreachable_reports_total"), 0);
      assert.equal(m.get("membership_takeovers_total"), 0);
      assert.equal(m.get("membership_detection_seconds_count"), 0);

      await crash(group, 3);
      await group.peers[0].waitForView((v) => v.id === 4, AbortSignal.timeout(5_000));
      const after = await scrape(url);
      assert.equal(after.get("membership_view_id"), 4);
      assert.equal(after.get("membership_members"), 2);
      assert.equal(after.get("membership_unreachable_reports_total"), 1);
      assert.equal(after.get("membership_detection_seconds_count"), 1);
      // 3 intervals of 20 ms without a heartbeat, caught by a tick: at least 60 ms, well under a second.
      const seconds = after.get("membership_detection_seconds_sum")!;
      assert.ok(seconds >= 0.06 && seconds < 1, `detected in ${seconds} s`);
      assert.equal(after.get('membership_detection_seconds_bucket{le="+Inf"}'), 1);
    } finally {
      await server.close();
      await group.stop();
    }
  },
);

leakFree(
  "membership_takeovers_total counts the new leader's takeover; a left member is counted",
  async () => {
    const group = await startGroup([7661, 7662, 7663]);
    const { server, url } = await serve(group.peers[1], group.metrics[1]);
    try {
      await crash(group, 1);
      await group.peers[1].waitForView(
        (v) => v.leader === 2 && v.members.length === 2,
        AbortSignal.timeout(5_000),
      );
      const m = await scrape(url);
      assert.equal(m.get("membership_takeovers_total"), 1);
      assert.equal(m.get("membership_unreachable_reports_total"), 1);
      assert.equal(m.get("membership_detection_seconds_count"), 1);
      await group.peers[2].leave(2_000);
      await group.peers[1].waitForView((v) => v.members.length === 1, AbortSignal.timeout(5_000));
      assert.equal((await scrape(url)).get("membership_left_reports_total"), 1);
    } finally {
      await server.close();
      await group.stop();
    }
  },
);

leakFree("GET /events: the installed view, then each event as it happens; the client can go", async () => {
  const group = await startGroup([7671, 7672, 7673]);
  const { server, url } = await serve(group.peers[0], group.metrics[0]);
  const abort = new AbortController();
  try {
    const res = await fetch(`${url}/events`, { signal: abort.signal });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const next = sseReader(res.body!);
    const first = await next();
    assert.equal(first?.name, "current", "first the view installed so far");
    // The one JSON shape of events: what --format json prints.
    assert.ok(first.event.event === "view" && first.event.view === 3, JSON.stringify(first));
    assert.deepEqual(Object.keys(first.event), ["event", "peer", "view", "leader", "members", "epoch", "at"]);
    await crash(group, 3);
    const seen: JsonEvent[] = [];
    while (true) {
      const sse = await next();
      assert.ok(sse, "the stream ended early");
      assert.equal(sse.name, "message");
      seen.push(sse.event);
      if (sse.event.event === "view") break;
    }
    assert.deepEqual(seen.map((e) => e.event), ["unreachable", "view"]);
    assert.ok(seen[0].event === "unreachable" && seen[0].member === 3 && seen[0].is_leader === false);
    assert.ok(seen[1].event === "view" && seen[1].view === 4);
    abort.abort(); // the client goes: the server lets go of its listener and timer
    await assert.rejects(next());
  } finally {
    await server.close();
    await group.stop();
  }
});

leakFree("GET /events ends when the peer stops, and close() ends an open stream", async () => {
  const group = await startGroup([7681, 7682, 7683]);
  const first = await serve(group.peers[0], group.metrics[0]);
  const second = await serve(group.peers[1], group.metrics[1]);
  try {
    const a = sseReader((await fetch(`${first.url}/events`)).body!);
    assert.equal((await a())?.name, "current");
    await group.peers[0].stop();
    assert.equal(await a(), null, "the stream ends with the peer");

    const b = sseReader((await fetch(`${second.url}/events`)).body!);
    assert.equal((await b())?.name, "current");
    await second.server.close(); // must not wait for the client
    assert.equal(await b(), null);
  } finally {
    await first.server.close();
    await second.server.close();
    await group.stop();
  }
});

leakFree("serveStatus: port 0 picks a free port; a port in use rejects with AddressInUseError", async () => {
  const group = await startGroup([7691, 7692, 7693]);
  const app = createStatusApp(group.peers[0], group.metrics[0]);
  const one = await serveStatus(app, { hostname: "127.0.0.1", port: 0 });
  try {
    assert.ok(one.port > 0);
    await assert.rejects(serveStatus(app, { hostname: "127.0.0.1", port: one.port }), AddressInUseError);
  } finally {
    await one.close();
    await group.stop();
  }
});

Deno.test("PeerMetrics counts drops by reason and takeovers from diagnostic keys", async () => {
  const metrics = new PeerMetrics();
  for (const key of ["malformed", "malformed", "old-incarnation", "leading", "transport", "view"]) {
    metrics.observeLog(key);
  }
  const m = parseExposition(await metrics.exposition());
  assert.equal(m.get('membership_messages_dropped_total{reason="malformed"}'), 2);
  assert.equal(m.get('membership_messages_dropped_total{reason="old-incarnation"}'), 1);
  assert.equal(m.get('membership_messages_dropped_total{reason="transport"}'), undefined);
  assert.equal(m.get("membership_takeovers_total"), 1);
  // A registry of its own: no process metrics, nothing but membership_*.
  assert.deepEqual([...m.keys()].filter((k) => !k.startsWith("membership_")), []);
});

// ---- The control API: POST /v1/query, and who may POST.

/** A POST of `body` to `path` handed to the app as serveStatus hands it, from `remoteAddress`. */
function post(
  app: ReturnType<typeof createStatusApp>,
  body: unknown,
  env: { remoteAddress?: string },
  headers: Record<string, string> = {},
): Promise<Response> {
  const request = new Request("http://peer/v1/query", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return Promise.resolve(app.fetch(request, env));
}

leakFree(
  "POST /v1/query over HTTP from loopback: every member answers ping; a crashed one is missing",
  async () => {
    const group = await startGroup([7661, 7662, 7663]);
    const { server, url } = await serve(group.peers[0], group.metrics[0]);
    try {
      const res = await fetch(`${url}/v1/query`, {
        method: "POST",
        body: JSON.stringify({ name: "ping", timeoutMs: 5_000 }),
      });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.deepEqual(body.asked, [1, 2, 3]);
      assert.deepEqual(body.answered, [1, 2, 3]);
      assert.deepEqual(body.missing, []);
      assert.deepEqual(
        body.answers.map((a: { from: number; payload: string }) => a.payload).sort(),
        ["pong from peer 1", "pong from peer 2", "pong from peer 3"],
      );
      await crash(group, 3);
      const after = await (await fetch(`${url}/v1/query`, {
        method: "POST",
        body: JSON.stringify({ name: "ping", timeoutMs: 300 }),
      })).json();
      assert.deepEqual([after.answered, after.missing], [[1, 2], [3]]);
      assert.ok(after.elapsed_ms >= 290, `waited for the timeout: ${after.elapsed_ms} ms`);
    } finally {
      await server.close();
      await group.stop();
    }
  },
);

leakFree("POST /v1/query: an unknown query is answered with errors; bad bodies get 400 or 413", async () => {
  const group = await startGroup([7664, 7665, 7666]);
  const app = createStatusApp(group.peers[0], group.metrics[0]);
  const local = { remoteAddress: "127.0.0.1" };
  try {
    const unknown = await (await post(app, { name: "uptime", payload: "x", timeoutMs: 5_000 }, local)).json();
    assert.deepEqual(unknown.answered, [1, 2, 3], "every member answered, with an error");
    for (const a of unknown.answers) assert.equal(a.error, 'no handler for query "uptime"');
    const bad: [unknown, number, RegExp][] = [
      ["{nope", 400, /not JSON/],
      [[], 400, /not a JSON object/],
      [{ name: "two words" }, 400, /'name' must be/],
      [{ name: "ping", payload: 7 }, 400, /'payload' must be a string/],
      [{ name: "ping", timeoutMs: 0 }, 400, /'timeoutMs' must be an integer/],
      [{ name: "ping", payload: "x".repeat(65_537) }, 413, /'payload' is over 65536 bytes/],
      [{ name: "ping", payload: "x".repeat(140_000) }, 413, /the body is over 131072 bytes/],
    ];
    for (const [body, status, error] of bad) {
      const res = await post(app, body, local);
      assert.equal(res.status, status, JSON.stringify(body).slice(0, 40));
      assert.match((await res.json()).error, error);
    }
  } finally {
    await group.stop();
  }
});

leakFree(
  "POST without --status-token: refused with 403 from anything but loopback (GET is not)",
  async () => {
    const group = await startGroup([7667, 7668, 7669]);
    const app = createStatusApp(group.peers[0], group.metrics[0]);
    try {
      // The remote address as serveStatus passes it (Deno.serve's remoteAddr, Node's socket).
      for (const remoteAddress of ["192.0.2.7", "10.0.0.1", "::ffff:192.0.2.7", "2001:db8::1", undefined]) {
        const res = await post(app, { name: "ping" }, { remoteAddress });
        assert.equal(res.status, 403, String(remoteAddress));
        const text = await res.text();
        assert.doesNotMatch(text, /\n/, "one line");
        assert.match(JSON.parse(text).error, /^POST is accepted from loopback only/);
      }
      for (const remoteAddress of ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"]) {
        const res = await post(app, { name: "ping", timeoutMs: 5_000 }, { remoteAddress });
        assert.equal(res.status, 200, remoteAddress);
        await res.body?.cancel();
      }
      const get = await app.fetch(new Request("http://peer/v1/status"), { remoteAddress: "192.0.2.7" });
      assert.equal(get.status, 200, "reading stays open");
      await get.body?.cancel();
      // Any other method than GET and HEAD is the control API too, even on a route that does not exist.
      const put = await app.fetch(new Request("http://peer/v1/query", { method: "PUT" }), {
        remoteAddress: "192.0.2.7",
      });
      assert.equal(put.status, 403);
      await put.body?.cancel();
    } finally {
      await group.stop();
    }
  },
);

leakFree("POST with --status-token: only with Authorization: Bearer TOKEN, from anywhere", async () => {
  const group = await startGroup([7670, 7671, 7672]);
  const app = createStatusApp(group.peers[0], group.metrics[0], { token: "s3cret-token" });
  const { server, url } = await serve(group.peers[0], group.metrics[0]); // no token: loopback only
  const withToken = await serveStatus(
    createStatusApp(group.peers[0], group.metrics[0], { token: "s3cret-token" }),
    { hostname: "127.0.0.1", port: 0 },
  );
  try {
    const refused: [Record<string, string>, RegExp][] = [
      [{}, /needs Authorization: Bearer/],
      [{ authorization: "Basic czNjcmV0LXRva2Vu" }, /needs Authorization: Bearer/],
      [{ authorization: "Bearer s3cret-tokem" }, /^wrong bearer token$/],
      [{ authorization: "Bearer s3cret-token-and-more" }, /^wrong bearer token$/],
    ];
    for (const remoteAddress of ["127.0.0.1", "192.0.2.7"]) {
      for (const [headers, error] of refused) {
        const res = await post(app, { name: "ping" }, { remoteAddress }, headers);
        assert.equal(res.status, 403, `${remoteAddress} ${JSON.stringify(headers)}`);
        assert.match((await res.json()).error, error);
      }
      const ok = await post(app, { name: "ping", timeoutMs: 5_000 }, { remoteAddress }, {
        authorization: "Bearer s3cret-token",
      });
      assert.equal(ok.status, 200);
      assert.deepEqual((await ok.json()).answered, [1, 2, 3]);
    }
    // Over real HTTP on loopback: the token is needed there too once it is set.
    const body = JSON.stringify({ name: "ping", timeoutMs: 5_000 });
    const bare = await fetch(`http://127.0.0.1:${withToken.port}/v1/query`, { method: "POST", body });
    assert.equal(bare.status, 403);
    await bare.body?.cancel();
    const authed = await fetch(`http://127.0.0.1:${withToken.port}/v1/query`, {
      method: "POST",
      body,
      headers: { authorization: "Bearer s3cret-token" },
    });
    assert.equal(authed.status, 200);
    await authed.body?.cancel();
    const open = await fetch(`${url}/v1/query`, { method: "POST", body });
    assert.equal(open.status, 200, "no token: loopback suffices");
    await open.body?.cancel();
  } finally {
    await withToken.close();
    await server.close();
    await group.stop();
  }
});

leakFree("POST /v1/query at a peer that is in no group yet: 503 with the reason", async () => {
  const net = new MemoryNetwork();
  const hosts = loopback([7673, 7674]);
  const metrics = new PeerMetrics();
  const peer = await startPeer({ hosts, id: 2, heartbeatMs: 20, transport: net.transport(), metrics });
  try {
    const res = await post(createStatusApp(peer, metrics), { name: "ping" }, { remoteAddress: "::1" });
    assert.equal(res.status, 503);
    assert.match((await res.json()).error, /peer 2 is not in a group yet/);
  } finally {
    await peer.stop();
    await net.close();
  }
});
