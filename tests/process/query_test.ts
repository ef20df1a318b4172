// Queries end to end: `membership query URL NAME` through a peer's --status, peers answering
// ping and --on-query commands, on Deno and Node, with and without a keyring; the control API
// refusing a non-loopback POST without the token; every bad input exits 2 with one line.
import assert from "node:assert/strict";
import { test } from "node:test";
import { generateKey } from "../../mod.ts";
import {
  DENO_PEER,
  DENO_PEER_RW,
  freePorts,
  PeerProcess,
  startGroup,
  withGroup,
  writeHostsfile,
} from "../support/cluster.ts";
import { buildNode, NODE_PEER, nodeSkip, run } from "../support/node_build.ts";

const noNode = await nodeSkip("the Node peers of the query tests");
/** Even IDs on Node (when there is one), odd on Deno. */
const mixed = (id: number) => (!noNode && id % 2 === 0 ? NODE_PEER : DENO_PEER);
/** A Deno peer that may run commands (--on-query). */
const DENO_PEER_RUN = [DENO_PEER[0], DENO_PEER[1], "--allow-run=sh", ...DENO_PEER.slice(2)];

function tempFile(text: string): string {
  const path = Deno.makeTempFileSync({ prefix: "query-test-" });
  Deno.writeTextFileSync(path, text);
  return path;
}

async function assertUsageError(args: string[], pattern: RegExp, command = DENO_PEER): Promise<void> {
  const { code, stdout, stderr } = await run([...command, ...args]);
  assert.equal(code, 2, `exit code for ${args.join(" ").slice(0, 80)}: ${stderr}`);
  assert.equal(stdout, "");
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line for ${args.join(" ").slice(0, 80)}: ${stderr}`);
  assert.match(lines[0], pattern);
}

const allJoined = (n: number) => (p: PeerProcess) => p.lastView()?.members.length === n;

test("query URL ping to 5 peers, 2 killed a moment before: 3 answers, and the 2 named, within the timeout", async () => {
  const [statusPort] = freePorts(1);
  const url = `http://127.0.0.1:${statusPort}`;
  await withGroup(
    // A failure timeout of 4 s: the query is asked of the view that still holds the killed peers.
    () =>
      startGroup(5, {
        flags: (id) => ["--fail-after", "20", ...(id === 1 ? ["--status", `127.0.0.1:${statusPort}`] : [])],
      }),
    async (peers) => {
      await Promise.all(peers.map((p) => p.waitFor("view of 5", allJoined(5), 30_000)));
      await Promise.all([peers[3].stop(), peers[4].stop()]);
      const started = Date.now();
      const out = await run([...DENO_PEER, "query", url, "ping", "--timeout", "2000"]);
      const took = Date.now() - started;
      assert.equal(out.code, 0, out.stderr);
      const lines = out.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^PEER +ANSWER +MS$/);
      assert.deepEqual(lines.slice(1, 4).map((l) => l.replace(/ +\d+$/, "")), [
        "1     pong from peer 1",
        "2     pong from peer 2",
        "3     pong from peer 3",
      ]);
      assert.equal(lines[4], "3 of 5 answered; 4 and 5 did not");
      assert.equal(lines.length, 5);
      assert.ok(took < 2_000 + 4_000, `the query ended with its timeout (${took} ms, deno's start included)`);
      const json = await run([...DENO_PEER, "query", url, "ping", "--timeout", "1000", "--format", "json"]);
      assert.equal(json.code, 0, json.stderr);
      const result = JSON.parse(json.stdout);
      assert.deepEqual([result.asked, result.answered, result.missing], [[1, 2, 3, 4, 5], [1, 2, 3], [4, 5]]);
      assert.ok(result.elapsed_ms >= 1_000 && result.elapsed_ms < 1_500, `${result.elapsed_ms} ms`);
    },
  );
});

test("--on-query NAME=COMMAND in a keyed Deno/Node group: answers, no handler, a failing command, 64 KiB", async () => {
  if (!noNode) await buildNode();
  const keys = tempFile(`${generateKey()}\n`);
  const [statusPort] = freePorts(1);
  // Peer 2 serves --status: on Node when there is one (its remote address is ::ffff:127.0.0.1 there).
  const url = `127.0.0.1:${statusPort}`;
  const flags = (id: number) => [
    "--key-file",
    keys,
    "--on-query",
    "upper=tr a-z A-Z",
    '--on-query=who=echo "$MEMBERSHIP_QUERY asked by $MEMBERSHIP_QUERY_FROM"',
    ...(id === 3 ? [] : ["--on-query", "fail=echo broken >&2; exit 3"]),
    ...(id === 2 ? ["--status", url] : []),
  ];
  try {
    await withGroup(
      () => startGroup(3, { command: (id) => (mixed(id) === DENO_PEER ? DENO_PEER_RUN : NODE_PEER), flags }),
      async (peers) => {
        await Promise.all(peers.map((p) => p.waitFor("view of 3", allJoined(3), 30_000)));
        const query = async (...args: string[]) => {
          const out = await run([
            ...DENO_PEER,
            "query",
            url,
            ...args,
            "--timeout",
            "5000",
            "--format",
            "json",
          ]);
          assert.equal(out.code, 0, out.stderr);
          const r = JSON.parse(out.stdout);
          return new Map<number, { payload: string; error: string | null }>(
            r.answers.map((a: { from: number }) => [a.from, a]),
          );
        };
        const upper = await query("upper", "hello, group");
        for (const id of [1, 2, 3]) assert.equal(upper.get(id)?.payload, "HELLO, GROUP", `peer ${id}`);
        const who = await query("who");
        for (const id of [1, 2, 3]) assert.equal(who.get(id)?.payload, "who asked by 2\n");
        const fail = await query("fail");
        assert.equal(fail.get(1)?.error, "handler failed: exit 3: broken");
        assert.equal(fail.get(3)?.error, 'no handler for query "fail"');
        const text = await run([...DENO_PEER, "query", url, "nosuch"]);
        assert.equal(text.code, 0, text.stderr);
        assert.match(text.stdout, /^1 +error: no handler for query "nosuch" +\d+$/m);
        assert.match(text.stdout, /\n3 of 3 answered \(3 with an error\)\n$/);
        // 64 KiB each way, sealed (base64 on the wire, then sealed and base64 again on the stream).
        const big = await query("upper", "a".repeat(65_536));
        for (const id of [1, 2, 3]) assert.equal(big.get(id)?.payload, "A".repeat(65_536), `peer ${id}`);
        await assertUsageError(
          ["query", url, "upper", "a".repeat(65_537)],
          /^membership: query: .*refused \(HTTP 413\): 'payload' is over 65536 bytes$/,
        );
        for (const p of peers) assert.doesNotMatch(p.stderr, /wrong key\?|dropped/, p.describe());
      },
    );
  } finally {
    Deno.removeSync(keys);
  }
});

test("./membership with --on-query grants sh; a query answered by a peer started that way", async () => {
  const [peerPort, statusPort] = freePorts(2);
  const hosts = writeHostsfile([peerPort]);
  const peer = new PeerProcess(1, [
    "./membership",
    ...["-h", hosts, "--id", "1", "--status", `127.0.0.1:${statusPort}`, "--on-query", "sum=wc -c"],
  ]);
  try {
    await peer.waitFor("view 1", (p) => p.lastView()?.view === 1);
    const out = await run([...DENO_PEER, "query", `127.0.0.1:${statusPort}`, "sum", "12345"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^1 +5 +\d+$/m);
    assert.match(out.stdout, /^1 of 1 answered$/m);
  } finally {
    peer.kill("SIGTERM");
    await peer.exited();
    Deno.removeSync(hosts);
  }
});

/** A non-loopback IPv4 address of this host, or null (a container with loopback only). */
function outsideAddress(): string | null {
  return Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    ?.address ?? null;
}

const outside = outsideAddress();

test("a POST from a non-loopback address: 403 without --status-token; with it, only with the token", {
  skip: outside === null && "this host has no non-loopback IPv4 address to send from",
}, async () => {
  const [peerPort, statusPort, tokenPort] = freePorts(3);
  const hosts = writeHostsfile([peerPort]);
  const token = tempFile("  correct-horse-battery-staple\n");
  const wrong = tempFile("nope\n");
  const open = new PeerProcess(1, [
    ...DENO_PEER,
    "-h",
    hosts,
    "--id",
    "1",
    "--status",
    `0.0.0.0:${statusPort}`,
  ]);
  try {
    await open.waitFor("view 1", (p) => p.lastView()?.view === 1);
    assert.match(open.stderr, /POST from loopback only/);
    // A real connection to this host's own non-loopback address: the server sees that address.
    const body = JSON.stringify({ name: "ping" });
    const res = await fetch(`http://${outside}:${statusPort}/v1/query`, { method: "POST", body });
    assert.equal(res.status, 403);
    const text = await res.text();
    assert.match(
      text,
      /^\{"error":"POST is accepted from loopback only \(this request came from [^"]+\); see --status-token"\}$/,
    );
    await assertUsageError(
      ["query", `${outside}:${statusPort}`, "ping"],
      /^membership: query: .*refused \(HTTP 403\): POST is accepted from loopback only/,
    );
    const local = await run([...DENO_PEER, "query", `127.0.0.1:${statusPort}`, "ping"]);
    assert.equal(local.code, 0, local.stderr);
    open.kill("SIGTERM");
    await open.exited();

    const guarded = new PeerProcess(1, [
      ...DENO_PEER,
      ...["-h", hosts, "--id", "1", "--status", `0.0.0.0:${tokenPort}`, "--status-token", token],
    ]);
    try {
      await guarded.waitFor("view 1", (p) => p.lastView()?.view === 1);
      const at = `${outside}:${tokenPort}`;
      await assertUsageError(["query", at, "ping"], /refused \(HTTP 403\): POST needs Authorization: Bearer/);
      await assertUsageError(
        ["query", at, "ping", "--status-token", wrong],
        /refused \(HTTP 403\): wrong bearer token$/,
      );
      const ok = await run([...DENO_PEER, "query", at, "ping", "--status-token", token]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^1 +pong from peer 1 +\d+\n1 of 1 answered\n$/m);
    } finally {
      guarded.kill("SIGTERM");
      await guarded.exited();
    }
  } finally {
    open.kill("SIGKILL");
    await open.exited();
    for (const f of [hosts, token, wrong]) Deno.removeSync(f);
  }
});

test("bad input exits 2 with one line: --on-query without '=' or --allow-run, query without a name, tokens", async () => {
  const hosts = writeHostsfile(freePorts(1));
  const empty = tempFile("\n");
  const [closed] = freePorts(1);
  try {
    const peer = ["-h", hosts, "--id", "1"];
    await assertUsageError(
      [...peer, "--on-query", "uptime"],
      /^membership: --on-query wants NAME=COMMAND, not 'uptime' \(no '='\)$/,
    );
    await assertUsageError(
      [...peer, "--on-query", "up time=x"],
      /^membership: --on-query: the name 'up time' is not 1 to 64/,
    );
    await assertUsageError(
      [...peer, "--on-query", "up="],
      /^membership: --on-query up= wants a command after the '='$/,
    );
    await assertUsageError([...peer, "--on-query", "ping=echo"], /^membership: --on-query: ping is built in/);
    await assertUsageError(
      [...peer, "--on-query", "uptime=uptime"],
      /^membership: --on-query uptime=… runs commands: run deno with --allow-run \(or --allow-run=sh\)$/,
    );
    await assertUsageError(
      [...peer, "--on-query", "uptime=uptime"],
      /^membership: --on-query uptime=… runs commands: run deno with --allow-env$/,
      DENO_PEER_RUN.filter((f) => f !== "--allow-env"),
    );
    await assertUsageError(
      [...peer, "--status-token", empty],
      /^membership: --status-token guards --status: give --status/,
    );
    await assertUsageError(
      [...peer, "--status", `127.0.0.1:${closed}`, "--status-token", empty],
      /^membership: status token file '.*' is empty$/,
    );
    await assertUsageError(
      [...peer, "--status", `127.0.0.1:${closed}`, "--status-token", `${empty}.missing`],
      /^membership: cannot read status token file '.*\.missing' \(ENOENT\)$/,
    );
    await assertUsageError(["query", "127.0.0.1:8080"], /^membership: query wants URL NAME \[PAYLOAD\]/);
    await assertUsageError(
      ["query", "127.0.0.1:8080", "ping", "--timeout", "0"],
      /^membership: query: --timeout wants an integer >= 1, not '0'$/,
    );
    await assertUsageError(
      ["query", "127.0.0.1:8080", "ping", "--format", "xml"],
      /^membership: query: --format wants text or json/,
    );
    await assertUsageError(
      ["query", `127.0.0.1:${closed}`, "ping"],
      /^membership: query: cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/query: /,
    );
  } finally {
    Deno.removeSync(hosts);
    Deno.removeSync(empty);
  }
});

test("a Deno peer restarted on its data dir answers queries again", async () => {
  // (The run a query asks is the one its view holds: a restart on --data-dir is the same run.)
  const dir = Deno.makeTempDirSync();
  const [a, b, statusPort] = freePorts(3);
  const hosts = writeHostsfile([a, b]);
  const start = (id: number) =>
    new PeerProcess(id, [
      ...DENO_PEER_RW,
      ...["-h", hosts, "--id", String(id), "--data-dir", `${dir}/${id}`],
      ...(id === 1 ? ["--status", `127.0.0.1:${statusPort}`] : []),
    ]);
  const peers = [start(1), start(2)];
  try {
    await Promise.all(peers.map((p) => p.waitFor("view of 2", allJoined(2), 30_000)));
    await peers[1].stop();
    peers[1] = start(2);
    await new Promise((r) => setTimeout(r, 1_000));
    const out = await run([...DENO_PEER, "query", `127.0.0.1:${statusPort}`, "ping", "--timeout", "3000"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stdout,
      /^2 of 2 answered$/m,
      `${out.stdout}${peers.map((p) => p.describe()).join("\n")}`,
    );
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(hosts);
  }
});

test("bad QUERY and ANSWER lines over TCP are dropped; a QUERY from outside the view runs no command", async () => {
  const [a, b, c, statusPort] = freePorts(4);
  const hosts = writeHostsfile([a, b, c]); // peer 3 never runs: the view is [1,2]
  const dir = Deno.makeTempDirSync();
  const marker = `${dir}/ran`;
  const peer = new PeerProcess(1, [
    ...DENO_PEER_RUN,
    ...["-h", hosts, "--id", "1", "--log-level", "info", "--status", `127.0.0.1:${statusPort}`],
    ...["--on-query", `touch=touch ${marker}`],
  ]);
  const other = new PeerProcess(2, [...DENO_PEER, "-h", hosts, "--id", "2"]);
  try {
    await peer.waitFor("view [1,2]", allJoined(2), 30_000);
    // The group's epoch, so that the forged QUERY passes the epoch rule and meets the membership check.
    const { round, former, run: formerRun } =
      (await (await fetch(`http://127.0.0.1:${statusPort}/v1/status`)).json()).view.epoch;
    const query = (extra: Record<string, unknown>) =>
      JSON.stringify({
        v: 2,
        type: "QUERY",
        from: 3,
        inc: 7,
        epoch: [round, former, formerRun],
        query_id: 1,
        name: "touch",
        payload: "",
        timeout_ms: 1000,
        ...extra,
      });
    const lines = [
      query({ payload: "not base64!" }),
      query({ name: "two words" }),
      query({ payload: btoa("x".repeat(65_537)) }),
      '{"v":2,"type":"ANSWER","from":3,"inc":7,"query_id":1}',
      '{"v":2,"type":"ANSWER","from":3,"inc":7,"query_id":1,"payload":"","error":"x"}',
      query({}), // well formed, but peer 3 is no member of the view
    ];
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: a });
    await conn.write(new TextEncoder().encode(lines.map((l) => `${l}\n`).join("")));
    conn.close();
    await peer.waitFor("the drops", (p) => (p.stderr.match(/dropped a message from/g) ?? []).length >= 5);
    await peer.waitFor(
      "the outsider's QUERY",
      (p) => /dropped QUERY touch from peer 3: not a member/.test(p.stderr),
    );
    assert.match(peer.stderr, /'payload' must be base64/);
    assert.match(peer.stderr, /'payload' holds more than 65536 bytes/);
    assert.match(peer.stderr, /either 'payload' or 'error'/);
    assert.throws(() => Deno.statSync(marker), Deno.errors.NotFound, "no command ran");
    // Still running, and its own query runs its command.
    const out = await run([...DENO_PEER, "query", `127.0.0.1:${statusPort}`, "touch"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^2 of 2 answered \(1 with an error\)$/m);
    Deno.statSync(marker);
  } finally {
    await Promise.all([peer.stop(), other.stop()]);
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(hosts);
  }
});
