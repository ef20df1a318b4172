// --key-file end to end: bad key files exit 2 with one line; SIGHUP rotates the keys of a
// running group with no view change and no unreachable line; forged plain text changes nothing;
// a keyless peer on a non-loopback address warns.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeMessage, generateKey } from "../../mod.ts";
import {
  DENO_PEER,
  freePorts,
  PeerProcess,
  sleep,
  spawnPeer,
  startGroup,
  testCase4,
  UNREACHABLE_LINE,
  withGroup,
  writeHostsfile,
} from "../support/cluster.ts";
import { buildNode, NODE_PEER, nodeSkip } from "../support/node_build.ts";

const noNode = await nodeSkip("the Node peers of the mixed groups");
/** Even IDs on Node (when there is one), odd on Deno: sealing must agree across runtimes. */
const mixed = (id: number) => (!noNode && id % 2 === 0 ? NODE_PEER : DENO_PEER);

const decoder = new TextDecoder();

async function run(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = await new Deno.Command(DENO_PEER[0], { args: [...DENO_PEER.slice(1), ...args], stdin: "null" })
    .output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function keyFile(text: string): string {
  const path = Deno.makeTempFileSync({ prefix: "keys-", suffix: ".txt" });
  Deno.writeTextFileSync(path, text);
  return path;
}

test("a bad key file: exit 2 and one line naming the file (and the line)", async () => {
  const hostsfile = writeHostsfile(freePorts(1));
  const dir = Deno.makeTempDirSync();
  const short = btoa("x".repeat(16));
  const cases: [string, string, RegExp][] = [
    ["missing", `${dir}/nope.txt`, /cannot read key file '.*nope\.txt' \(ENOENT\)/],
    ["a directory", dir, /cannot read key file '.*' \(EISDIR\)/],
    ["empty", keyFile(""), /key file '.*': no key in it/],
    ["only comments", keyFile("# keys\n\n"), /key file '.*': no key in it/],
    ["not base64", keyFile(`${generateKey()}\nhello world\n`), /key file '.*': line 2: not a base64 key/],
    ["not 32 bytes", keyFile(`# k\n${short}\n`), /key file '.*': line 2: the key is 16 bytes, not 32/],
  ];
  try {
    for (const [what, path, pattern] of cases) {
      const out = await run(["-h", hostsfile, "--id", "1", "--key-file", path]);
      assert.equal(out.code, 2, `${what}: ${out.stderr}`);
      assert.match(out.stderr, /^membership: [^\n]+\n$/, `${what}: one line`);
      assert.match(out.stderr, pattern, what);
      assert.ok(out.stderr.includes(path), `${what}: names the file`);
    }
    const empty = await run(["-h", hostsfile, "--id", "1", "--key-file="]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /^membership: --key-file wants a file/);
  } finally {
    for (const [, path] of cases.slice(2)) Deno.removeSync(path);
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(hostsfile);
  }
});

test("SIGHUP rotation in a running Deno/Node group: one view throughout, no unreachable line; a bad file keeps the keys", async () => {
  if (!noNode) await buildNode();
  const keyA = generateKey(), keyB = generateKey();
  const keys = keyFile(`# the group's keys\n${keyA}\n`);
  try {
    await withGroup(
      () => startGroup(3, { command: mixed, flags: () => ["--key-file", keys, "--heartbeat", "100"] }),
      async (peers) => {
        await Promise.all(peers.map((p) => p.waitFor("view 3", (q) => q.lastView()?.members.length === 3)));
        const lines = peers.map((p) => p.lines.length);
        const hup = async (text: string) => {
          Deno.writeTextFileSync(keys, text);
          for (const p of peers) {
            const reloads = p.stderr.split("reloaded").length;
            p.kill("SIGHUP");
            await p.waitFor(
              "the reload",
              (q) => q.stderr.split(/reloaded|keeping the keyring/).length > reloads,
            );
          }
          await sleep(700); // several heartbeats under the new keys
        };
        await hup(`${keyA}\n${keyB}\n`); // add B everywhere
        await hup(`${keyB}\n${keyA}\n`); // B seals everywhere
        await hup(`${keyB}\n`); // drop A
        await hup("not a key\n"); // a mistake: the keys in use stay
        await sleep(1000);
        for (const [i, p] of peers.entries()) {
          assert.deepEqual(p.lines.slice(lines[i]), [], `peer ${p.id} printed nothing during the rotation`);
          assert.ok(!p.lines.some((l) => UNREACHABLE_LINE.test(l)));
          assert.match(p.stderr, /key file '.*' reloaded: 1 key\(s\)/);
          assert.match(p.stderr, /line 1: not a base64 key.*keeping the keyring in use/);
          assert.doesNotMatch(p.stderr, /wrong key\?/, `peer ${p.id} dropped a message:\n${p.stderr}`);
        }
        // Still a working group under B alone: a crashed member is removed.
        await peers[2].stop();
        await Promise.all(
          peers.slice(0, 2).map((p) => p.waitFor("view 2", (q) => q.lastView()?.members.length === 2)),
        );
      },
    );
  } finally {
    Deno.removeSync(keys);
  }
});

test("a forged plain-text NEWVIEW over TCP and UDP to a keyed peer changes nothing; a wrong-key peer is not admitted", async () => {
  const keys = keyFile(`${generateKey()}\n`);
  const wrong = keyFile(`${generateKey()}\n`);
  const ports = freePorts(4);
  const hostsfile = writeHostsfile(ports);
  const outsider = spawnPeer(4, hostsfile, ["--key-file", wrong, "--heartbeat", "100"]);
  try {
    await withGroup(
      () => startGroup(3, { hostsfile, flags: () => ["--key-file", keys, "--heartbeat", "100"] }),
      async (peers) => {
        await Promise.all(peers.map((p) => p.waitFor("view 3", (q) => q.lastView()?.members.length === 3)));
        const view = peers[0].lastView()!;
        const forged = encodeMessage({
          type: "NEWVIEW",
          from: view.leader,
          incarnation: 1,
          view: {
            epoch: { round: 1, former: 1, run: 1 },
            id: view.view + 1,
            leader: view.leader,
            members: [view.leader],
            incarnations: [1],
          },
          ballot: { round: 99, leader: view.leader },
        });
        for (const port of ports.slice(0, 3)) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          await conn.write(new TextEncoder().encode(`${forged}\n`));
          conn.close();
          const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
          await udp.send(new TextEncoder().encode(forged), { hostname: "127.0.0.1", port, transport: "udp" });
          udp.close();
        }
        await sleep(1500);
        for (const p of peers) {
          assert.deepEqual(p.lastView(), { ...view, peer: p.id });
          assert.match(
            p.stderr,
            /dropped a message from 127\.0\.0\.1:\d+ \((peer \d+'s host|the host of peers [\d, ]+)\): .*wrong key\?/,
          );
        }
        assert.equal(outsider.views().length, 0, outsider.describe());
        assert.ok(!peers.some((p) => p.views().some((v) => v.members.includes(4))));
      },
    );
  } finally {
    await outsider.stop();
    for (const f of [keys, wrong]) Deno.removeSync(f);
  }
});

test("a keyless peer whose hosts entry is not loopback warns once; with a key file it does not", async () => {
  const [port] = freePorts(1);
  const hostsfile = writeHostsfile([port], "192.0.2.1"); // binds all interfaces
  const keys = keyFile(`${generateKey()}\n`);
  try {
    for (const flags of [[], ["--key-file", keys]]) {
      const p = new PeerProcess(1, [...DENO_PEER, "-h", hostsfile, "--id", "1", ...flags]);
      try {
        await p.waitFor("view 1", (q) => q.lastView()?.view === 1);
        await sleep(300);
        const warnings = p.stderr.split("anyone who can reach port").length - 1;
        assert.equal(warnings, flags.length === 0 ? 1 : 0, p.describe());
      } finally {
        await p.stop();
      }
    }
  } finally {
    Deno.removeSync(hostsfile);
    Deno.removeSync(keys);
  }
});

test("test case 4 in a mixed Deno/Node group with a keyring", { skip: noNode }, async () => {
  await buildNode();
  const keys = keyFile(`${generateKey()}\n`);
  try {
    await testCase4({ command: mixed, flags: ["--key-file", keys] }, (peers) => {
      for (const p of peers.slice(1, 4)) {
        assert.doesNotMatch(p.stderr, /wrong key\?|replayed|stale/, p.describe());
      }
    });
  } finally {
    Deno.removeSync(keys);
  }
});
