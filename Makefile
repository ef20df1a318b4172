# Everything starts here: `make demo` and `make test` install what they need
# on first use (Deno itself comes from the npm registry).

DENO := node_modules/.bin/deno
PEER := $(DENO) run --unstable-net --allow-net --allow-read --allow-write --allow-env --allow-sys

.PHONY: demo test test-fast test-slow check sim sim-scale soak bench bench-scale bench-loss bench-flaky bench-events bench-heartbeat bench-memory build compile compile-all sea chromium nftables serf clean

# `npm ci`: exactly the locked versions (the lockfile records every platform's deno
# package), and the lockfile is left as committed.
$(DENO): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## A local group of 5 peers on loopback (peer 1 serves --status); writes .tmp/demo/timeline.svg; stops by itself, or on Ctrl-C.
## make demo HOLD=1 keeps the survivors and the status page up until Ctrl-C.
# --allow-all: the demo starts the peers as child processes (each with its own narrow flags), and
# --allow-run to start them already grants everything; a longer list would only look narrower.
demo: $(DENO)
	$(DENO) run --allow-all examples/demo.ts $(if $(HOLD),--hold)

# The runner reads tests/ and the JUnit reports, writes .tmp/ and starts deno; each group of tests
# runs with only the permissions it needs (the table in tests/run_all.ts).
RUN_TESTS = $(DENO) run --allow-run=$(realpath $(DENO)) --allow-read --allow-write=.tmp \
	--allow-env=TMPDIR,TMP,TEMP tests/run_all.ts

## Everything CI runs: test-fast then test-slow (even if test-fast failed); ends with "N passed, N failed".
test: $(DENO) chromium nftables
	$(RUN_TESTS)

## The fast tier: static checks, unit tests and the simulator (tests/ but tests/process/).
test-fast: $(DENO)
	$(RUN_TESTS) --tier fast

## The slow tier: tests/process/, the tests that start processes or build artefacts.
test-slow: $(DENO) chromium nftables
	$(RUN_TESTS) --tier slow

## Debian's chromium, for the status page's browser test: installed when missing if we are root;
## otherwise nothing happens and that test is skipped, saying why.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation) || \
		echo "chromium: not installed (needs root and apt-get); the browser test will be skipped"; }

## nftables, for the packet-loss and bad-link tests in network namespaces: installed when missing if we
## are root; otherwise nothing happens and those tests are skipped, saying why.
nftables:
	@command -v nft >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nftables) || \
		echo "nftables: not installed (needs root and apt-get); the loss and bad-link tests will be skipped"; }

## serf, for the benches' serf rows: installed when missing if we are root; otherwise nothing happens
## and those benches leave serf out, saying why.
serf:
	@command -v serf >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends serf) || \
		echo "serf: not installed (needs root and apt-get); the benches will leave serf out"; }

## Static checks only, and what `deno publish` would upload to JSR (offline: a dry run contacts no
## registry; --allow-dirty so that it runs before a commit).
check: $(DENO)
	$(DENO) fmt --check && $(DENO) lint && $(DENO) check mod.ts && $(DENO) doc --lint mod.ts && \
		$(DENO) publish --dry-run --allow-dirty --quiet

## The deterministic simulator: make sim ARGS="--seed 7 --peers 5".
sim: $(DENO)
	$(DENO) run --allow-read --allow-env tests/sim/main.ts $(ARGS)

## The simulator's scale scenario, one line per size (default 16 to 1,000 peers, about 2 minutes), also in
## bench/results-sim-scale.md: make sim-scale SIZES=16,32,64,128
# Beyond 8 peers each peer's traffic stays flat (observers), so a run's cost grows about as N.
SIZES ?= 16,32,64,128,256,1000
sim-scale: $(DENO)
	$(DENO) run --allow-read --allow-env --allow-write=bench tests/sim/main.ts --scale $(SIZES) --crash both \
		--out bench/results-sim-scale.md $(ARGS)

## A longer soak of the simulator than make test runs: 100,000 seeds, 3 to 9 peers (about 25 min).
soak: $(DENO)
	$(DENO) run --allow-read --allow-env tests/sim/main.ts --seeds 100000 --from 1000000 $(ARGS)

## Failure-detection and join latency benchmark; writes bench/results.md.
# --allow-all: like the demo, the bench starts peer processes (--allow-run grants everything anyway);
# it also reads /proc, runs nproc and getconf, and starts peers in its own process.
bench: $(DENO)
	$(DENO) run --allow-all bench/bench.ts

## Scale benchmark: 16/32/64 peer processes, baselines, serf, 256 peers in one process; writes its
## section of bench/results.md. make bench-scale ARGS="--sizes 16 --idle 5 --only peers,baselines"
# --allow-all for the same reasons as bench (it starts peers, serf agents and reads /proc).
bench-scale: $(DENO)
	$(DENO) run --allow-all bench/scale.ts $(ARGS)

## Packet loss (nftables in a network namespace, root): 5 peers at 10 % (120 s), 25 % and 40 % (60 s);
## writes bench/results-loss.md. ARGS="--quick" for a short run (bench/results-loss-quick.md).
bench-loss: $(DENO) nftables
	$(DENO) run --allow-all bench/loss.ts $(ARGS)

## A flaky host (nftables drops 60, 80, 90 % of what it sends, 60 s each), ours (a member, the leader) and
## serf side by side in the same namespaces; writes bench/results-flaky.md. ARGS="--quick" for a short run.
bench-flaky: $(DENO) nftables
	$(DENO) run --allow-all bench/flaky.ts $(ARGS)

## User events: latency and events/s through 5 and 16 peer processes and as many serf agents, same run
## (about 4 min); writes bench/results-events.md and its section of bench/results.md.
## make bench-events ARGS="--sizes 5 --latency 50 --burst 500 --out /tmp/events.md"
bench-events: $(DENO) serf
	$(DENO) run --allow-all bench/events.ts $(ARGS)

## What one heartbeat costs from datagram to core and back, plain and with a keyring (deno bench).
bench-heartbeat: $(DENO)
	$(DENO) bench --allow-net bench/heartbeat_bench.ts

## VmRSS, V8 heap, external memory and idle CPU per peer process at 8, 16 and 32 peers.
bench-memory: $(DENO)
	$(DENO) run --allow-all bench/peer_memory.ts $(ARGS)

## The Node build: dist/membership.mjs (the CLI: node dist/membership.mjs -h hosts --id 2)
## and dist/mod.mjs (the library for Node programs).
build: $(DENO)
	node scripts/build_node.mjs

## A Node single executable application: dist/membership-node (Node 20+, no Node needed to run it).
sea: $(DENO)
	node scripts/build_node.mjs --sea

COMPILE := $(DENO) run --allow-run --allow-read --allow-write --allow-env scripts/compile.ts

## deno compile: dist/membership for this machine (set DENORT_BIN=/path/to/denort offline).
compile: $(DENO)
	$(COMPILE) $(ARGS)

## deno compile for Linux and macOS, x86_64 and aarch64: dist/membership-TRIPLE.
compile-all: $(DENO)
	$(COMPILE) --all $(ARGS)

clean:
	rm -rf dist .tmp
