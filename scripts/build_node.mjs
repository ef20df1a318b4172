// The Node build (`make build`, `make sea`): esbuild bundles the TypeScript
// sources for Node 20.
//
//   node scripts/build_node.mjs          dist/membership.mjs (the CLI) and dist/mod.mjs (the library)
//   node scripts/build_node.mjs --types  the same, and dist/types/ (the .d.ts files of mod.ts, made
//                                        by tsc from the sources; `npm pack` runs this, see package.json)
//   node scripts/build_node.mjs --sea    dist/membership-node, a Node single executable
//                                        application (SEA) made of this very node binary and
//                                        dist/membership.cjs, a CommonJS bundle of the CLI
//
// esbuild reads the `.ts` sources itself; the npm dependencies (`@logtape/logtape`,
// `hono`, `@hono/node-server`, `prom-client`) are bundled in, so `dist/` needs no
// node_modules at run time. The sources import them as `npm:NAME@VERSION` (so that
// `mod.ts` imports from any directory under Deno); the `npm:` plugin below resolves
// them from node_modules, and fails the build if the pinned version is not the one
// package.json installs.

import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";

const root = new URL("../", import.meta.url);
const { version } = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const sea = process.argv.includes("--sea");
const types = process.argv.includes("--types");

/** `npm:NAME@VERSION` (and `npm:NAME@VERSION/sub`) as NAME from node_modules, at VERSION exactly. */
const npmSpecifiers = {
  name: "npm-specifiers",
  setup(build) {
    build.onResolve({ filter: /^npm:/ }, async (args) => {
      const m = /^npm:((?:@[^/@]+\/)?[^/@]+)@([^/]+)(\/.*)?$/.exec(args.path);
      if (m === null) return { errors: [{ text: `${args.path}: expected npm:NAME@VERSION` }] };
      const [, name, pinned, sub = ""] = m;
      const installed = JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, root), "utf8"));
      if (installed.version !== pinned) {
        return {
          errors: [{
            text: `${args.path}: node_modules has ${name}@${installed.version} (see package.json)`,
          }],
        };
      }
      return await build.resolve(name + sub, { kind: args.kind, resolveDir: args.resolveDir });
    });
  },
};

const common = {
  absWorkingDir: root.pathname,
  bundle: true,
  platform: "node",
  target: "node20",
  logLevel: "warning",
  legalComments: "none",
  plugins: [npmSpecifiers],
  banner: { js: `// membership ${version}, built for Node 20+ by scripts/build_node.mjs` },
};

// prom-client is CommonJS and calls require("util") and the like: an ESM bundle has no
// `require`, so it gets Node's own (a CommonJS bundle has one already).
const esm = {
  ...common,
  format: "esm",
  banner: {
    js: `${common.banner.js}\nimport { createRequire as __createRequire } from "node:module";\n` +
      "const require = __createRequire(import.meta.url);",
  },
};

const builds = sea ? [] : [
  // The CLI: `node dist/membership.mjs -h hosts --id 2` takes the flags of `mod.ts`.
  // It is also the package's `bin`, hence the #! line.
  {
    ...esm,
    entryPoints: ["src/runtime/node_main.ts"],
    outfile: "dist/membership.mjs",
    banner: { js: `#!/usr/bin/env node\n${esm.banner.js}` },
  },
  // The library for Node programs. `import.meta.main` is undefined on Node 20, so
  // importing it never starts the CLI.
  { ...esm, entryPoints: ["mod.ts"], outfile: "dist/mod.mjs" },
];

if (sea) {
  // A Node 20 single executable runs one CommonJS script: the same entry, as CommonJS
  // (it has no top-level await for that reason).
  builds.push({
    ...common,
    format: "cjs",
    entryPoints: ["src/runtime/node_main.ts"],
    outfile: "dist/membership.cjs",
  });
}

try {
  await Promise.all(builds.map((options) => build(options)));
  for (const { outfile } of builds) console.log(`built ${outfile}`);
  if (sea) buildSea();
  if (types) buildTypes();
} catch (e) {
  // esbuild has already printed its diagnostics; the rest say what failed in one line.
  console.error(`build_node: ${e.message.split("\n")[0]}`);
  process.exit(1);
}

/**
 * dist/types/: tsc writes the declarations of mod.ts and the modules it exports
 * (scripts/tsconfig.types.json), without type-checking them against Node's types:
 * the sources are checked by `deno check`, and a few use the `Deno` namespace.
 */
function buildTypes() {
  rmSync(new URL("dist/types", root), { recursive: true, force: true });
  run(new URL("node_modules/.bin/tsc", root).pathname, ["-p", "scripts/tsconfig.types.json"]);
  console.log("built dist/types/mod.d.ts");
}

/** Runs `file` in the repository root; its output is shown only if it fails. */
function run(file, args) {
  try {
    execFileSync(file, args, { cwd: root.pathname, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    process.stderr.write(`${e.stdout ?? ""}${e.stderr ?? ""}`);
    throw new Error(`${file} ${args.join(" ")} failed (exit ${e.status ?? e.code})`);
  }
}

/**
 * Node 20's recipe (https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html):
 * a blob of the script, a copy of the node binary that runs this build, and
 * postject to put the blob in the copy and flip the fuse. All offline.
 */
function buildSea() {
  const [major] = process.versions.node.split(".").map(Number);
  if (major < 20) {
    throw new Error(`sea: Node ${process.versions.node} has no single executables; use Node 20+`);
  }
  const config = "dist/sea-config.json";
  const blob = "dist/membership.blob";
  const exe = "dist/membership-node";
  writeFileSync(
    new URL(config, root),
    JSON.stringify({ main: "dist/membership.cjs", output: blob, disableExperimentalSEAWarning: true }) + "\n",
  );
  run(process.execPath, ["--experimental-sea-config", config]);
  rmSync(new URL(exe, root), { force: true });
  copyFileSync(process.execPath, new URL(exe, root));
  const macos = process.platform === "darwin";
  if (macos) run("codesign", ["--remove-signature", exe]);
  run(new URL("node_modules/.bin/postject", root).pathname, [
    exe,
    "NODE_SEA_BLOB",
    blob,
    "--sentinel-fuse",
    "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
    ...(macos ? ["--macho-segment-name", "NODE_SEA"] : []),
  ]);
  if (macos) run("codesign", ["--sign", "-", exe]);
  rmSync(new URL(blob, root), { force: true });
  rmSync(new URL(config, root), { force: true });
  console.log(`built ${exe} (Node ${process.versions.node} single executable)`);
}
