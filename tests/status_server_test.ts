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
