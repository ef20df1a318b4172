/**
 * The command line under Node: the entry point of `dist/membership.mjs` and of
 * the Node single executable `dist/membership-node` (see `scripts/build_node.mjs`).
 * Under Deno, `mod.ts` is the entry point instead.
 *
 * No top-level await: the single executable runs this as CommonJS.
 *
 * @module
 */

import process from "node:process";
import { runCli } from "./cli.ts";

runCli(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
