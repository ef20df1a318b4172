import assert from "node:assert/strict";
import { test } from "node:test";
import { HostsfileError, idForHostname, parseHostsfile } from "../mod.ts";

test("hosts, ports, comments and blank lines", () => {
  const hosts = parseHostsfile("# lab\n\npeer1\n  peer2:7700 \n\r\n10.0.0.3\n[::1]:7605\n");
  assert.deepEqual(hosts, [
    { hostname: "peer1", port: 7600 },
    { hostname: "peer2", port: 7700 },
    { hostname: "10.0.0.3", port: 7600 },
    { hostname: "::1", port: 7605 },
  ]);
});

test("a comment may follow the host on its line", () => {
  const hosts = parseHostsfile("127.0.0.1:7601  # lab 1\npeer2\t# the second\n[::1]:7603 #v6\n  # alone\n");
  assert.deepEqual(hosts, [
    { hostname: "127.0.0.1", port: 7601 },
    { hostname: "peer2", port: 7600 },
    { hostname: "::1", port: 7603 },
  ]);
});

test("an IPv6 address without brackets gets a hint to write [::1]:7602", () => {
  for (const line of ["::1:7602", "::1", "2001:db8::5:7601", "fe80::1"]) {
    assert.throws(
      () => parseHostsfile(`127.0.0.1:7601\n${line}\n`),
      (e) =>
        e instanceof HostsfileError &&
        e.message === `line 2: '${line}' is not host or host:port; write an IPv6 address in brackets, ` +
            "as [::1] or [::1]:7602",
      line,
    );
  }
});

test("malformed hostsfiles name the line", () => {
  for (
    const [text, pattern] of [
      ["", /no peers/],
      ["# only a comment\n", /no peers/],
      ["a\nb:0\n", /line 2: port '0'/],
      ["a:99999\n", /line 1: port/],
      ["a:x\n", /line 1: port 'x'/],
      ["a b\n", /line 1: .* spaces/],
      ["a b # two words\n", /line 1: 'a b' holds spaces/],
      ["a:1:2\n", /line 1/],
      ["a\na\n", /listed twice/],
      ["Peer1\npeer1\n", /written another way/],
      ["h@st\n", /line 1/],
    ] as const
  ) {
    assert.throws(() => parseHostsfile(text), (e) => e instanceof HostsfileError && pattern.test(e.message));
  }
});

test("the own ID comes from the hostname, or the error says to pass --id", () => {
  const hosts = parseHostsfile("peer1\npeer2.lab.example\npeer3:7601\n");
  assert.deepEqual(idForHostname(hosts, "peer2"), { id: 2 });
  assert.deepEqual(idForHostname(hosts, "PEER1.lab.example"), { id: 1 });
  assert.deepEqual(idForHostname(hosts, "peer3"), { id: 3 });
  const none = idForHostname(hosts, "elsewhere");
  assert.ok("error" in none && /--id/.test(none.error));
  const loop = parseHostsfile("127.0.0.1:1\n127.0.0.1:2\n");
  const many = idForHostname(loop, "127.0.0.1");
  assert.ok("error" in many && /matches peers 1, 2.*--id/.test(many.error));
  assert.ok("error" in idForHostname(loop, "127"), "addresses match only in full");
});
