/**
 * The command line under Node: the entry point of `dist/membership.mjs` and of
 * the Node single executable `dist/membership-node` (see `scripts/build_node.mjs`).
 * Under Deno, `mod.ts` is the entry point instead.
 *
 * @module
 */

import process from "node:process";
import { runCli } from "./cli.ts";

process.exitCode = await runCli(process.argv.slice(2));
