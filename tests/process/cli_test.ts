// The command line's error paths: exit code 2 and one line naming the problem.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DENO_PEER, freePorts, writeHostsfile } from "../support/cluster.ts";
import { run } from "../support/node_build.ts";

async function assertUsageError(args: string[], pattern: RegExp): Promise<void> {
  const { code, stdout, stderr } = await run([...DENO_PEER, ...args]);
  assert.equal(code, 2, `exit code for ${args.join(" ")}: ${stderr}`);
  assert.equal(stdout, "");
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line for ${args.join(" ")}: ${stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(stderr, /\s+at /, "no stack trace");
}

test("bad flags exit 2 with one line", async () => {
  const hosts = writeHostsfile([7600]);
  await assertUsageError(["--bogus"], /^membership: Unknown option '--bogus'/);
  await assertUsageError([], /--hostsfile PATH is required/);
  await assertUsageError(
    ["-h", hosts, "--heartbeat", "fast"],
    /--heartbeat wants an integer >= 1, not 'fast'/,
  );
  await assertUsageError(["-h", hosts, "--fail-after", "0"], /--fail-after wants an integer >= 1/);
  await assertUsageError(["-h", hosts, "--id", "1.5"], /--id wants an integer/);
  await assertUsageError(["-h", hosts, "--delay=-1"], /--delay wants a number >= 0/);
  await assertUsageError(["-h", hosts, "-d", "-1"], /Option .-d. argument is ambiguous/);
  await assertUsageError(["-h", hosts, "--format", "xml"], /--format wants text or json/);
  await assertUsageError(["-h", hosts, "--log-level", "loud"], /--log-level wants one of/);
  await assertUsageError(["-h", hosts, "stray"], /Unexpected argument 'stray'/);
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

test("--help and --version print to stdout and exit 0", async () => {
  const help = await run([...DENO_PEER, "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /-h, --hostsfile PATH/);
  assert.match(help.stdout, /--fail-after N/);
  const version = await run([...DENO_PEER, "--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^membership \d+\.\d+\.\d+\n$/);
});
