// deno-lint-ignore-file no-import-prefix
/**
 * The npm packages the library uses, each pinned here once as `npm:NAME@VERSION`
 * (the versions of package.json). An inline `npm:` specifier needs no import map,
 * so `mod.ts` imports from any directory, outside this repository too (a bare
 * `hono` resolves only where this deno.json or package.json is the config). The
 * Node build resolves them from node_modules and fails if a version here is not
 * the one installed (scripts/build_node.mjs). The status server and the metrics
 * load theirs only when used.
 *
 * @module
 */

export {
  configure,
  defaultTextFormatter,
  getLogger,
  getThrottlingFilter,
  type LogRecord,
} from "npm:@logtape/logtape@2.4.2";
export type { Registry } from "npm:prom-client@15.1.3";

/** prom-client, for `--status`'s /metrics. */
export const loadPromClient = () => import("npm:prom-client@15.1.3");
/** Hono, for the status server's routes. */
export const loadHono = () => import("npm:hono@4.13.19");
/** Hono's server for Node (under Deno, `Deno.serve` serves instead). */
export const loadNodeServer = () => import("npm:@hono/node-server@2.1.9");
