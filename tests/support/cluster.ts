/**
 * Test support: real peer processes on loopback, their output, and the
 * checks every end-to-end test makes on it.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The repository root. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** The deno binary that runs the tests. */
export const DENO = Deno.execPath();

/** The command that runs one peer with Deno. */
export const DENO_PEER = [
  DENO,
  "run",
  "--unstable-net",
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "--allow-sys",
  `${ROOT}mod.ts`,
];

/**
 * {@linkcode DENO_PEER} that may also write: what a peer with `--data-dir`
 * needs. (DENO_PEER itself stays the contract's command line, which has no
 * `--allow-write`.)
 */
export const DENO_PEER_RW = [DENO, "run", "--allow-write", ...DENO_PEER.slice(2)];

/** One view line as PROTOCOL.md prints it. */
export const VIEW_LINE = /^\{peer_id: (\d+), view_id: (\d+), leader: (\d+), memb_list: \[([\d,]*)\]\}$/;

/** One unreachable line as PROTOCOL.md prints it. */
export const UNREACHABLE_LINE =
  /^\{peer_id: (\d+), view_id: (\d+), leader: (\d+), message:"(peer|leader) (\d+) unreachable"\}$/;

/** One line for a member that left on purpose, as PROTOCOL.md prints it. */
export const LEFT_LINE =
  /^\{peer_id: (\d+), view_id: (\d+), leader: (\d+), message:"(peer|leader) (\d+) left"\}$/;

/** Whether this machine has an IPv6 loopback to bind (some containers have none). */
export const IPV6_LOOPBACK: boolean = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();

/** `n` ports that are free for TCP and UDP on 127.0.0.1 right now. */
export function freePorts(n: number): number[] {
  const ports: number[] = [];
  const held: Deno.Listener[] = [];
  try {
    while (ports.length < n) {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      held.push(l);
      const port = (l.addr as Deno.NetAddr).port;
      try {
        Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" }).close();
        ports.push(port);
      } catch (e) {
        if (!(e instanceof Deno.errors.AddrInUse)) throw e; // else the UDP side is taken: try another
      }
    }
  } finally {
    for (const l of held) l.close();
  }
  return ports;
}

/** Writes a hostsfile of `127.0.0.1:PORT` lines; returns its path. */
export function writeHostsfile(ports: number[], hostname = "127.0.0.1"): string {
  const path = Deno.makeTempFileSync({ prefix: "hosts-", suffix: ".txt" });
  Deno.writeTextFileSync(path, ports.map((p) => `${hostname}:${p}`).join("\n") + "\n");
  return path;
}

/** A parsed view line. */
export interface ViewLine {
  /** Printing peer. */
  peer: number;
  /** View id. */
  view: number;
  /** Leader. */
  leader: number;
  /** Members. */
  members: number[];
}

/** Parses a view line, or null if it is not one. */
export function parseViewLine(line: string): ViewLine | null {
  const m = VIEW_LINE.exec(line);
  if (!m) return null;
  return {
    peer: +m[1],
    view: +m[2],
    leader: +m[3],
    members: m[4] === "" ? [] : m[4].split(",").map(Number),
  };
}

/** A peer process and everything it printed. */
export class PeerProcess {
  /** The peer's ID. */
  readonly id: number;
  /** Lines on stdout so far. */
  readonly lines: string[] = [];
  /** Text on stderr so far. */
  stderr = "";
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** When the process was spawned (ms since the epoch). */
  readonly startedAt: number = Date.now();
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  #waiters = new Set<() => void>();

  /** Starts `command` as peer `id`. */
  constructor(id: number, command: string[]) {
    this.id = id;
    this.#child = new Deno.Command(command[0], {
      args: command.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      cwd: ROOT,
    }).spawn();
    this.status = this.#child.status;
    this.#reading = Promise.all([
      this.#read(this.#child.stdout, (text) => {
        this.lines.push(...text.split("\n").filter((l) => l !== ""));
      }),
      this.#read(this.#child.stderr, (text) => (this.stderr += text)),
    ]).then(() => {});
  }

  async #read(stream: ReadableStream<Uint8Array>, sink: (text: string) => void): Promise<void> {
    let partial = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const text = partial + chunk;
      const cut = text.lastIndexOf("\n") + 1;
      partial = text.slice(cut);
      if (cut > 0) sink(text.slice(0, cut));
      for (const w of this.#waiters) w();
    }
    if (partial) sink(partial);
    for (const w of this.#waiters) w();
  }

  /** The process ID. */
  get pid(): number {
    return this.#child.pid;
  }

  /** The view lines printed so far. */
  views(): ViewLine[] {
    return this.lines.flatMap((l) => parseViewLine(l) ?? []);
  }

  /** The last view printed, if any. */
  lastView(): ViewLine | undefined {
    return this.views().at(-1);
  }

  /** Waits until `predicate` holds over the output; fails after `timeoutMs`. */
  async waitFor(what: string, predicate: (p: PeerProcess) => boolean, timeoutMs = 15_000): Promise<void> {
    if (predicate(this)) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake = () => {};
    const waiter = () => wake();
    this.#waiters.add(waiter);
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`peer ${this.id}: timed out waiting for ${what}\n${this.describe()}`)),
          timeoutMs,
        );
        wake = () => predicate(this) && resolve();
        this.status.then(() => setTimeout(wake, 0));
      });
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(waiter);
    }
  }

  /** Sends a signal if the process still runs. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
  }

  /** Kills the process and waits until it and its pipes are done. */
  async stop(): Promise<Deno.CommandStatus> {
    this.kill("SIGKILL");
    const status = await this.status;
    await this.#reading;
    return status;
  }

  /** Waits for the process to exit by itself and its pipes to close. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.status;
    await this.#reading;
    return status;
  }

  /** Everything printed, for failure messages. */
  describe(): string {
    return `--- peer ${this.id} stdout:\n${this.lines.join("\n")}\n--- stderr:\n${this.stderr}`;
  }
}

/**
 * Checks the guarantees that hold over any run's output: every line has the
 * exact format, each peer's view ids strictly increase, and no two peers
 * print different members or leaders for the same view id.
 */
export function assertConsistent(peers: PeerProcess[]): void {
  const byViewId = new Map<number, string>();
  for (const p of peers) {
    let last = 0;
    for (const line of p.lines) {
      assert.ok(
        VIEW_LINE.test(line) || UNREACHABLE_LINE.test(line) || LEFT_LINE.test(line),
        `peer ${p.id} printed a bad line: ${line}`,
      );
      const v = parseViewLine(line);
      if (!v) continue;
      assert.equal(v.peer, p.id, `peer ${p.id} printed peer_id ${v.peer}`);
      assert.ok(v.view > last, `peer ${p.id}: view ${v.view} after ${last}`);
      last = v.view;
      const content = `leader ${v.leader} members ${v.members}`;
      const seen = byViewId.get(v.view);
      assert.ok(!seen || seen === content, `view ${v.view}: ${seen} vs ${content} (peer ${p.id})`);
      byViewId.set(v.view, content);
    }
  }
}

/** Starts peers 1..n in `order`, each with its own command prefix and extra flags. */
export async function startGroup(
  n: number,
  options: {
    command?: (id: number) => string[];
    flags?: (id: number) => string[];
    order?: number[];
    /** A hostsfile to use (default: a new one of `127.0.0.1:PORT` lines). */
    hostsfile?: string;
  } = {},
): Promise<{ peers: PeerProcess[]; hostsfile: string }> {
  const { command = () => DENO_PEER, flags = () => [] } = options;
  const hostsfile = options.hostsfile ?? writeHostsfile(freePorts(n));
  const peers: PeerProcess[] = [];
  for (const id of options.order ?? Array.from({ length: n }, (_, i) => i + 1)) {
    peers[id - 1] = new PeerProcess(id, [...command(id), "-h", hostsfile, "--id", String(id), ...flags(id)]);
    await sleep(20);
  }
  return { peers, hostsfile };
}

/**
 * The contract's test case 4 with 5 peers: peer 1 runs `-t`, peer 5 crashes a
 * second after joining. Checks what every run of it must show (peer 1 exits
 * 0; survivors 2, 3, 4 end in one view [2,3,4] led by 2, each having reported
 * peer 5 unreachable), then hands the peers to `more` for further checks.
 */
export async function testCase4(
  options: { command?: (id: number) => string[]; flags?: string[] } = {},
  more: (peers: PeerProcess[]) => void = () => {},
): Promise<void> {
  const extra = options.flags ?? [];
  await withGroup(
    () =>
      startGroup(5, {
        command: options.command,
        flags: (id) => [...extra, ...(id === 1 ? ["-t"] : id === 5 ? ["-d", "0.5", "-c", "1"] : [])],
      }),
    async (peers) => {
      const survivors = peers.slice(1, 4);
      assert.equal((await peers[0].exited()).code, 0, "peer 1 (the old leader) exits");
      await Promise.all(
        survivors.map((p) =>
          p.waitFor("view [2,3,4] led by 2", (q) => hasView([2, 3, 4], 2)(q.lastView()), 30_000)
        ),
      );
      const last = survivors.map((p) => p.lastView()!);
      for (const [i, p] of survivors.entries()) {
        assert.equal(last[i].view, last[0].view, `peer ${p.id} ends in the same view as peer 2`);
        assert.ok(reportedUnreachable(p, 5, "peer"), `peer ${p.id} printed "peer 5 unreachable"`);
      }
      more(peers);
    },
  );
}

/**
 * Runs `body` over a started group, then checks {@linkcode assertConsistent};
 * prints every peer's output on failure, and always stops the peers.
 */
export async function withGroup(
  start: () => Promise<{ peers: PeerProcess[]; hostsfile: string }>,
  body: (peers: PeerProcess[], hostsfile: string) => Promise<void>,
): Promise<void> {
  const { peers, hostsfile } = await start();
  try {
    await body(peers, hostsfile);
    assertConsistent(peers);
  } catch (e) {
    for (const p of peers) console.log(p.describe());
    throw e;
  } finally {
    await stopAll(peers);
    Deno.removeSync(hostsfile);
  }
}

/** A predicate: the view has exactly these members (and this leader, if given). */
export const hasView = (members: number[], leader?: number) => (v: ViewLine | undefined): boolean =>
  !!v && v.members.join() === members.join() && (leader === undefined || v.leader === leader);

/** Whether `p` printed the unreachable line for `member` (as a peer or as the leader). */
export function reportedUnreachable(p: PeerProcess, member: number, as?: "peer" | "leader"): boolean {
  return p.lines.some((l) => {
    const m = UNREACHABLE_LINE.exec(l);
    return m !== null && m[5] === String(member) && (as === undefined || m[4] === as);
  });
}

/**
 * Starts one peer `id` of `hostsfile` with `flags`: the first run of a peer,
 * or a restart (a new PeerProcess for the same ID and hostsfile, and the same
 * `--data-dir` in `flags` to restart it on its state).
 */
export function spawnPeer(
  id: number,
  hostsfile: string,
  flags: string[] = [],
  command: string[] = DENO_PEER,
): PeerProcess {
  return new PeerProcess(id, [...command, "-h", hostsfile, "--id", String(id), ...flags]);
}

/** Kills every process that still runs and waits for them. */
export async function stopAll(peers: PeerProcess[]): Promise<void> {
  await Promise.all(peers.map((p) => p.stop()));
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A shuffled copy of `items` (Math.random: end-to-end runs are not replayed). */
export function shuffled<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
