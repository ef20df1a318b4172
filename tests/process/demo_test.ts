// `make demo HOLD=1`: the demo runs as usual, then keeps the survivors and
// peer 1's status page up until Ctrl-C, then stops and draws the timeline.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DENO, ROOT } from "../support/cluster.ts";
import { run } from "../support/node_build.ts";

test("make demo HOLD=1 keeps the status page up until Ctrl-C, then stops and draws the timeline", async () => {
  // What make runs (make itself is not signalled here: Ctrl-C reaches the whole process group,
  // a kill() only make, which would leave the demo holding).
  const dry = await run(["make", "--no-print-directory", "-n", "demo", "HOLD=1"]);
  assert.match(dry.stdout, /run --allow-all examples\/demo\.ts --hold$/m);
  const child = new Deno.Command(DENO, {
    args: ["run", "--allow-all", "examples/demo.ts", "--hold"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const stderr = new Response(child.stderr).text();
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  const until = async (pattern: RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(out)) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${pattern}:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  try {
    await until(/holding: 4 peers keep running; (http:\S+)\/ is up until Ctrl-C/, 60_000);
    const url = /holding: .*?(http:\/\/[\d.:]+)\//.exec(out)![1];
    // Well past the ~5 s the page used to live: it still answers.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const status = await (await fetch(`${url}/v1/status`)).json();
    assert.equal(status.id, 1);
    assert.equal(status.members.length, 4);
    child.kill("SIGINT");
    const { code } = await child.status;
    await reading;
    assert.equal(code, 0, `${out}\n${await stderr}`);
    assert.match(out, /Ctrl-C: stopping the peers/);
    assert.match(out, /the run as a picture: .*timeline\.svg/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
  }
});
