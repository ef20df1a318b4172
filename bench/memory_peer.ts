// The CLI peer (mod.ts) with one addition for bench/peer_memory.ts: on SIGUSR2 it writes
// Deno.memoryUsage() as one JSON line on stderr ("memory {...}"), so the bench can tell the V8 heap
// from external memory and the rest of the resident set.
import process from "node:process";
import { runCli } from "../src/runtime/cli.ts";

Deno.addSignalListener("SIGUSR2", () => {
  process.stderr.write(`memory ${JSON.stringify(Deno.memoryUsage())}\n`);
});
const code = await runCli(process.argv.slice(2));
process.exit(code);
