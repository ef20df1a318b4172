// The command line's error paths: exit code 2 and one line naming the problem.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { decodeDurableState, FileStorage, parseHostsfile } from "../../mod.ts";
import { DENO_PEER, freePorts, PeerProcess, ROOT, writeHostsfile } from "../support/cluster.ts";
import { run } from "../support/node_build.ts";

/** A peer that may write its data dir. */
const DENO_PEER_RW = [DENO_PEER[0], DENO_PEER[1], "--allow-write", ...DENO_PEER.slice(2)];

async function assertUsageError(args: string[], pattern: RegExp, command = DENO_PEER): Promise<void> {
  const { code, stdout, stderr } = await run([...command, ...args]);
  assert.equal(code, 2, `exit code for ${args.join(" ")}: ${stderr}`);
  assert.equal(stdout, "");
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line for ${args.join(" ")}: ${stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(stderr, /\s+at /, "no stack trace");
}

test("bad flags exit 2 with one line", async () => {
  const hosts = writeHostsfile([7600]);
  await assertUsageError(["--bogus"], /^membership: unknown option '--bogus' \(see --help\)$/);
  await assertUsageError([], /--hostsfile PATH is required/);
  await assertUsageError(
    ["-h", hosts, "--heartbeat", "fast"],
    /--heartbeat wants an integer >= 1, not 'fast'/,
  );
  await assertUsageError(["-h", hosts, "--fail-after", "0"], /--fail-after wants an integer >= 1/);
  await assertUsageError(["-h", hosts, "--id", "1.5"], /--id wants an integer/);
  await assertUsageError(["-h", hosts, "--delay=-1"], /--delay wants a number >= 0/);
  // Negative numbers get the line zero gets, not parseArgs' "argument is ambiguous".
  await assertUsageError(["-h", hosts, "-d", "-1"], /^membership: --delay wants a number >= 0, not '-1'$/);
  await assertUsageError(
    ["-h", hosts, "--heartbeat", "-5"],
    /^membership: --heartbeat wants an integer >= 1, not '-5'$/,
  );
  await assertUsageError(
    ["-h", hosts, "--heartbeat", "0"],
    /^membership: --heartbeat wants an integer >= 1, not '0'$/,
  );
  await assertUsageError(
    ["-h", hosts, "-c", "-1"],
    /^membership: --crash-delay wants a number >= 0, not '-1'$/,
  );
  await assertUsageError(
    ["-h", hosts, "--fail-after", "-2"],
    /^membership: --fail-after wants an integer >= 1, not '-2'$/,
  );
  await assertUsageError(["-h", hosts, "--id", "-3"], /^membership: --id wants an integer >= 1, not '-3'$/);
  await assertUsageError(["-h", hosts, "--format", "xml"], /--format wants text or json/);
  await assertUsageError(["-h", hosts, "--log-level", "loud"], /--log-level wants one of/);
  await assertUsageError(["-h", hosts, "stray"], /^membership: unexpected argument 'stray' \(see --help\)$/);
  Deno.removeSync(hosts);
});

test("an unreadable or malformed hostsfile exits 2 naming it", async () => {
  await assertUsageError(
    ["-h", "/nonexistent/hosts"],
    /cannot read hostsfile '\/nonexistent\/hosts' \(ENOENT\)/,
  );
  const bad = Deno.makeTempFileSync();
  Deno.writeTextFileSync(bad, "127.0.0.1:7601\n127.0.0.1:notaport\n");
  await assertUsageError(["-h", bad, "--id", "1"], /hostsfile '.*': line 2: port 'notaport'/);
  Deno.writeTextFileSync(bad, "# nothing\n");
  await assertUsageError(["-h", bad, "--id", "1"], /no peers listed/);
  Deno.removeSync(bad);
});

test("an ID that cannot be found exits 2 and says to pass --id", async () => {
  const hosts = writeHostsfile([7601, 7602]);
  await assertUsageError(["-h", hosts], /hostname '.*' is not in the hostsfile; pass --id N/);
  await assertUsageError(["-h", hosts, "--id", "3"], /--id 3 is past the 2 peer\(s\)/);
  Deno.removeSync(hosts);
});

test("a port in use exits 2 naming the port", async () => {
  const [port] = freePorts(1);
  const hosts = writeHostsfile([port]);
  const taken = Deno.listen({ hostname: "0.0.0.0", port });
  try {
    await assertUsageError(["-h", hosts, "--id", "1"], new RegExp(`port ${port} is in use`));
  } finally {
    taken.close();
    Deno.removeSync(hosts);
  }
});

test("a permission deno was not given exits 2 with one line naming the flag", async () => {
  const [port] = freePorts(1);
  const hosts = writeHostsfile([port]);
  const without = (flag: string) => DENO_PEER.filter((f) => f !== flag);
  try {
    // No --allow-sys: the hostname cannot be read to find the ID (--id needs no hostname).
    await assertUsageError(
      ["-h", hosts],
      /^membership: cannot find this peer's ID by its hostname: .*sys access.*; run deno with --allow-sys .*, or pass --id N$/,
      without("--allow-sys"),
    );
    // No --allow-net: the port cannot be bound.
    await assertUsageError(
      ["-h", hosts, "--id", "1"],
      new RegExp(`^membership: cannot bind port ${port}: .*net access.*; run deno with --allow-net`),
      without("--allow-net"),
    );
    // No --allow-read: the hostsfile cannot be read.
    await assertUsageError(
      ["-h", hosts, "--id", "1"],
      /^membership: cannot read hostsfile '.*': .*read access.*; run deno with --allow-read/,
      without("--allow-read"),
    );
  } finally {
    Deno.removeSync(hosts);
  }
});

test("./membership runs the CLI with the set-up's deno, or says to run make first", async () => {
  const version = await run([`${ROOT}membership`, "--version"]);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^membership \d+\.\d+\.\d+\n$/);
  await assertUsageError(
    ["-h", "hosts.txt", "--heartbeat", "-5"],
    /^membership: --heartbeat wants an integer >= 1/,
    [
      `${ROOT}membership`,
    ],
  );
  // A clone without node_modules: the launcher alone.
  const bare = Deno.makeTempDirSync({ prefix: "bare-clone-" });
  try {
    Deno.copyFileSync(`${ROOT}membership`, join(bare, "membership"));
    Deno.chmodSync(join(bare, "membership"), 0o755);
    const out = await run([join(bare, "membership"), "--version"]);
    assert.equal(out.code, 2);
    assert.match(
      out.stderr,
      /node_modules\/\.bin\/deno is missing: run `make` \(or `npm ci`\) in .* first\n$/,
    );
  } finally {
    Deno.removeSync(bare, { recursive: true });
  }
});

test("--help and --version print to stdout and exit 0", async () => {
  const help = await run([...DENO_PEER, "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /-h, --hostsfile PATH/);
  assert.match(help.stdout, /--fail-after N/);
  assert.match(help.stdout, /--data-dir DIR/);
  assert.match(help.stdout, /debug, info, warning, error, fatal/);
  assert.match(help.stdout, /docs\/protocol\.md/);
  assert.doesNotMatch(help.stdout, /PROTOCOL\.md/);
  const version = await run([...DENO_PEER, "--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^membership \d+\.\d+\.\d+\n$/);
});

test("a data dir that cannot be used or trusted exits 2 with one line naming it", async () => {
  const hosts = writeHostsfile(freePorts(2));
  const tmp = Deno.makeTempDirSync({ prefix: "data-dir-" });
  try {
    await assertUsageError(
      ["-h", hosts, "--id", "1", "--data-dir", ""],
      /--data-dir wants a directory, not ''/,
    );
    // Written by peer 2 of this hostsfile, started as peer 1.
    const other = join(tmp, "other");
    const storage = new FileStorage(other, { peer: 2, hosts: parseHostsfile(Deno.readTextFileSync(hosts)) });
    await storage.load();
    await storage.save({
      incarnation: 5,
      promised: { round: 0, leader: 1 },
      accepted: null,
      installed: {
        epoch: { round: 1, former: 1, run: 1 },
        id: 2,
        leader: 1,
        members: [1, 2],
        incarnations: [4, 5],
      },
      member: true,
      formAccepted: null,
    });
    const file = join(other, "state.json").replaceAll(".", "\\.");
    await assertUsageError(
      ["-h", hosts, "--id", "1", "--data-dir", other],
      new RegExp(`^membership: data dir state ${file} was written by peer 2, not peer 1$`),
      DENO_PEER_RW,
    );
    Deno.writeTextFileSync(join(other, "state.json"), "garbage\n");
    await assertUsageError(
      ["-h", hosts, "--id", "2", "--data-dir", other],
      new RegExp(`^membership: data dir state ${file}: not JSON$`),
      DENO_PEER_RW,
    );
    // The plain run flags do not allow writing: said at start, not at the first write.
    await assertUsageError(
      ["-h", hosts, "--id", "1", "--data-dir", join(tmp, "fresh")],
      /^membership: data dir .*fresh: .*--allow-write/,
    );
  } finally {
    Deno.removeSync(tmp, { recursive: true });
    Deno.removeSync(hosts);
  }
});

test("a fresh data dir is created and holds the peer's state after it ran", async () => {
  const hosts = writeHostsfile(freePorts(1));
  const tmp = Deno.makeTempDirSync({ prefix: "data-dir-" });
  const dir = join(tmp, "a", "peer-1");
  const peer = new PeerProcess(1, [...DENO_PEER_RW, "-h", hosts, "--id", "1", "--data-dir", dir]);
  try {
    await peer.waitFor("its view", (p) => p.views().length > 0);
    peer.kill("SIGTERM");
    const status = await peer.exited();
    assert.equal(status.code, 0, peer.describe());
    const file = JSON.parse(Deno.readTextFileSync(join(dir, "state.json")));
    assert.equal(file.format, 1);
    assert.equal(file.peer, 1);
    const decoded = decodeDurableState(JSON.stringify(file.state));
    assert.ok(decoded.ok, `state.json decodes: ${JSON.stringify(decoded)}`);
    assert.deepEqual(decoded.state.installed?.members, [1], "the view it installed");
  } catch (e) {
    console.log(peer.describe());
    throw e;
  } finally {
    await peer.stop();
    Deno.removeSync(tmp, { recursive: true });
    Deno.removeSync(hosts);
  }
});

test("--status serves the peer's status, metrics and page; a bad or busy address exits 2", async () => {
  const [peerPort, statusPort] = freePorts(2);
  const hosts = writeHostsfile([peerPort]);
  for (const bad of ["nope", "127.0.0.1", "127.0.0.1:x"]) {
    const r = await run([...DENO_PEER, "-h", hosts, "--id", "1", "--status", bad]);
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, /--status wants HOST:PORT/);
  }
  // An address not on this host, or a name that does not resolve: one line, exit 2, no stack trace.
  for (const bad of ["8.8.8.8:80", "nosuch.invalid:8080"]) {
    const r = await run([...DENO_PEER, "-h", hosts, "--id", "1", "--status", bad]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(`^membership: --status ${bad.replace(".", "\\.")}: cannot serve \\(.+\\)\n$`),
    );
  }
  const peer = new PeerProcess(1, [
    ...DENO_PEER,
    "-h",
    hosts,
    "--id",
    "1",
    "--status",
    `127.0.0.1:${statusPort}`,
  ]);
  try {
    await peer.waitFor("view 1", (p) => p.lastView()?.view === 1);
    const status = await (await fetch(`http://127.0.0.1:${statusPort}/v1/status`)).json();
    assert.equal(status.id, 1);
    assert.equal(status.role, "leader");
    assert.deepEqual(status.members.map((m: { address: string }) => m.address), [`127.0.0.1:${peerPort}`]);
    const metrics = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
    assert.match(metrics, /^membership_view_id 1$/m);
    const page = await (await fetch(`http://127.0.0.1:${statusPort}/`)).text();
    assert.match(page, /<html/);
    // The status port is taken now: a second peer on it exits 2 naming it.
    const [otherPort] = freePorts(1);
    const other = await run([
      ...DENO_PEER,
      "-h",
      writeHostsfile([otherPort]),
      "--id",
      "1",
      "--status",
      `127.0.0.1:${statusPort}`,
    ]);
    assert.equal(other.code, 2);
    assert.match(
      other.stderr,
      /^membership: --status 127\.0\.0\.1:\d+: cannot serve \(port \d+ is in use\)\n$/,
    );
  } finally {
    peer.kill("SIGTERM");
    assert.equal((await peer.status).code, 0);
  }
});

test("members URL prints a peer's group as a table (or JSON); a closed port or a non-status URL exits 2", async () => {
  const [peerPort, statusPort, closedPort] = freePorts(3);
  const hosts = writeHostsfile([peerPort]);
  const peer = new PeerProcess(1, [
    ...DENO_PEER,
    "-h",
    hosts,
    "--id",
    "1",
    "--status",
    `127.0.0.1:${statusPort}`,
  ]);
  try {
    await peer.waitFor("view 1", (p) => p.lastView()?.view === 1);
    const table = await run([...DENO_PEER, "members", `http://127.0.0.1:${statusPort}`]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^ID +ADDRESS +STATE +ROLE +INCARNATION +LAST HEARD +TAGS$/);
    assert.equal(lines.length, 3, table.stdout);
    assert.match(lines[1], new RegExp(`^1 +127\\.0\\.0\\.1:${peerPort} +alive +leader +\\d+ +\\d+ms +-$`));
    assert.match(lines[2], /^view 1, epoch 1\/1\/\d+$/);
    const json = await run([...DENO_PEER, "members", `127.0.0.1:${statusPort}`, "--format", "json"]);
    assert.equal(json.code, 0, json.stderr);
    const rows = JSON.parse(json.stdout);
    assert.deepEqual(rows.map((r: { id: number; role: string }) => [r.id, r.role]), [[1, "leader"]]);
    // Its /metrics is not a status endpoint.
    await assertUsageError(
      ["members", `http://127.0.0.1:${statusPort}/metrics`],
      /^membership: members: .*metrics\/v1\/status answered HTTP 404: not a membership status endpoint$/,
    );
  } finally {
    peer.kill("SIGTERM");
    await peer.exited();
    Deno.removeSync(hosts);
  }
  await assertUsageError(
    ["members", `http://127.0.0.1:${closedPort}`],
    new RegExp(
      `^membership: members: cannot reach http://127\\.0\\.0\\.1:${closedPort}/v1/status: connection refused$`,
    ),
  );
  await assertUsageError(["members"], /^membership: members wants one URL/);
});

test("timeline FILE... writes an SVG (stdout or -o); a bad file exits 2 naming it", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "timeline-" });
  try {
    const line = (peer: number, view: number, members: number[], ms: number) =>
      JSON.stringify({
        event: "view",
        peer,
        view,
        leader: 1,
        members,
        at: new Date(1e12 + ms).toISOString(),
      });
    Deno.writeTextFileSync(
      join(tmp, "peer1.jsonl"),
      [line(1, 1, [1], 0), line(1, 2, [1, 2], 200)].join("\n"),
    );
    Deno.writeTextFileSync(
      join(tmp, "peer2.jsonl"),
      line(2, 2, [1, 2], 210) + "\n" +
        JSON.stringify({
          event: "unreachable",
          peer: 2,
          view: 2,
          leader: 1,
          member: 1,
          is_leader: true,
          message: "leader 1 unreachable",
          at: new Date(1e12 + 1500).toISOString(),
        }) + "\n",
    );
    const files = [join(tmp, "peer1.jsonl"), join(tmp, "peer2.jsonl")];
    const out = await run([...DENO_PEER, "timeline", ...files]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(out.stdout, /<\/svg>\n$/);
    assert.equal(out.stdout.split('<g class="lane"').length - 1, 2);
    const svgPath = join(tmp, "out.svg");
    const written = await run([
      DENO_PEER[0],
      "run",
      "--allow-read",
      "--allow-write",
      `${ROOT}mod.ts`,
      "timeline",
      "-o",
      svgPath,
      ...files,
    ]);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(written.stdout, "");
    assert.equal(Deno.readTextFileSync(svgPath), out.stdout);

    Deno.writeTextFileSync(join(tmp, "bad.jsonl"), "{peer_id: 1, view_id: 1, leader: 1, memb_list: [1]}\n");
    await assertUsageError(
      ["timeline", files[0], join(tmp, "bad.jsonl")],
      /^membership: timeline: '.*bad\.jsonl' line 1 is not JSON/,
    );
    await assertUsageError(
      ["timeline", join(tmp, "missing.jsonl")],
      /^membership: timeline: cannot read '.*missing\.jsonl' \(ENOENT\)$/,
    );
    await assertUsageError(["timeline"], /^membership: timeline wants one or more files/);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

test("--status on an address not this host's, or a name that does not resolve, exits 2 with one line", async () => {
  const hosts = writeHostsfile(freePorts(1));
  // 192.0.2.1 (TEST-NET-1) is no interface of this host: EADDRNOTAVAIL, as 8.8.8.8 would be.
  for (const address of ["192.0.2.1:8080", "nosuch.invalid:8080"]) {
    await assertUsageError(
      ["-h", hosts, "--id", "1", "--status", address],
      new RegExp(`^membership: --status ${address.replaceAll(".", "\\.")}: cannot serve \\(.+\\)$`),
    );
  }
});

test("a non-loopback --status says once that it serves plain HTTP to anyone", async () => {
  const [peerPort, statusPort] = freePorts(2);
  const peer = new PeerProcess(1, [
    ...DENO_PEER,
    ...["-h", writeHostsfile([peerPort]), "--id", "1", "--status", `0.0.0.0:${statusPort}`],
  ]);
  try {
    await peer.waitFor("view 1", (p) => p.lastView()?.view === 1);
    assert.match(peer.stderr, /--status 0\.0\.0\.0:\d+ serves plain HTTP without authentication/);
  } finally {
    peer.kill("SIGTERM");
    assert.equal((await peer.status).code, 0);
  }
});

test("hostsfile names: its own that does not resolve exits 2; another's warns; one address twice exits 2", async () => {
  const [a, b] = freePorts(2);
  const unresolvable = Deno.makeTempFileSync({ suffix: ".txt" });
  Deno.writeTextFileSync(unresolvable, `127.0.0.1:${a}\nnosuch.invalid:${b}\n`);
  await assertUsageError(
    ["-h", unresolvable, "--id", "2"],
    /^membership: hostsfile '.*': peer 2's host 'nosuch\.invalid' does not resolve$/,
  );
  // Peer 1 probes peer 2 before founding: the name that does not resolve is a warning at the
  // default level, once, and the peer runs on.
  const peer = new PeerProcess(1, [...DENO_PEER, "-h", unresolvable, "--id", "1"]);
  try {
    await peer.waitFor(
      "the warning",
      (p) => /\[WRN\].*host 'nosuch\.invalid' does not resolve: check the hostsfile/.test(p.stderr),
    );
  } finally {
    peer.kill("SIGTERM");
    assert.equal((await peer.status).code, 0);
  }
  const twice = Deno.makeTempFileSync({ suffix: ".txt" });
  Deno.writeTextFileSync(twice, `localhost:${a}\n127.0.0.1:${a}\n`);
  await assertUsageError(
    ["-h", twice, "--id", "2"],
    new RegExp(
      `^membership: hostsfile '.*': localhost:${a} and 127\\.0\\.0\\.1:${a} are both .*one peer listed twice$`,
    ),
  );
});

test("a lone peer 1 stopped before its group formed prints no 'left' for a view it never printed", async () => {
  const hosts = writeHostsfile(freePorts(2));
  // --fail-after 50: peer 1 probes for a group for 10 s before it reports view 1.
  const peer = new PeerProcess(1, [...DENO_PEER, "-h", hosts, "--id", "1", "--fail-after", "50"]);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  peer.kill("SIGTERM");
  assert.equal((await peer.exited()).code, 0);
  assert.deepEqual(peer.lines, [], "nothing on stdout");
});

test("wrong keys: the diagnostic names the peer, not a TCP port; a keyless peer is told about keys", async () => {
  const ports = freePorts(2);
  const hosts = writeHostsfile(ports);
  const keyFile = (key: string) => {
    const path = Deno.makeTempFileSync({ suffix: ".keys" });
    Deno.writeTextFileSync(path, key + "\n");
    return path;
  };
  const key1 = keyFile(btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))));
  const key2 = keyFile(btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))));
  for (const second of [["--key-file", key2], []]) {
    const p1 = new PeerProcess(1, [...DENO_PEER, "-h", hosts, "--id", "1", "--key-file", key1]);
    const p2 = new PeerProcess(2, [...DENO_PEER, "-h", hosts, "--id", "2", ...second]);
    try {
      const expected = second.length > 0
        ? /dropped a message from (peer 1 \(127\.0\.0\.1:\d+\)|127\.0\.0\.1:\d+ \(peer 1's host\)): .*wrong key\?/
        : /dropped a message from (peer 1 \(127\.0\.0\.1:\d+\)|127\.0\.0\.1:\d+ \(peer 1's host\)): not JSON \(it looks sealed: .*--key-file/;
      await p2.waitFor("the diagnostic", (p) => expected.test(p.stderr));
    } finally {
      for (const p of [p1, p2]) p.kill("SIGTERM");
      await Promise.all([p1.status, p2.status]);
    }
  }
});

test("SIGINT to both peers of a view of two: each exits within a failure timeout and a bit", async () => {
  const hosts = writeHostsfile(freePorts(2));
  const peers = [1, 2].map((id) => new PeerProcess(id, [...DENO_PEER, "-h", hosts, "--id", String(id)]));
  try {
    await Promise.all(peers.map((p) => p.waitFor("view 2", (q) => q.lastView()?.view === 2)));
    const start = performance.now();
    for (const p of peers) p.kill("SIGINT");
    const took = await Promise.all(peers.map(async (p) => {
      assert.equal((await p.status).code, 0);
      return performance.now() - start;
    }));
    console.log(`exited after ${took.map((ms) => `${Math.round(ms)} ms`).join(", ")}`);
    // leave() waits at most one failure timeout (200 ms × 5) for the view without it.
    for (const ms of took) assert.ok(ms < 3_000, `exited after ${ms} ms`);
  } finally {
    for (const p of peers) p.kill("SIGKILL");
  }
});
