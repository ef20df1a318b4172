/**
 * One process of a rung of `bench/idle_ladder.ts`: a peer's heartbeat traffic with one more of the
 * peer's parts at each rung, so that the difference between two rungs is what that part costs.
 * Targets and ticks are those of `bench/traffic_process.ts` (the rung below all of these): process 1
 * sends to every other, every other to process 1 and the next 4 on a ring, on the wall clock's
 * multiples of 200 ms.
 *
 *   deno run --unstable-net --allow-net --allow-read [--allow-write=DIR] bench/ladder_rung.ts \
 *     RUNG ID PORT,PORT,... HOSTSFILE [TIMED_DIR]
 *
 * RUNG: `codec` (real HEARTBEATs through `encodeWire` once a tick and `decodeWire` each received, on a
 * bare Deno UDP socket), `codec-tcp` (the same and a TCP listener on the port with an accept pending),
 * `transport` (the same through `socketTransport()`), `library` (a peer: `startPeer` with the
 * hostsfile, no CLI). With TIMED_DIR, the synchronous JavaScript of each datagram handler and each timer
 * task is timed in CPU time (`process.cpuUsage()`), and in `library` also `PeerCore.tick`,
 * `PeerCore.receive` and `SocketTransport.sendDatagram`; the sums go to TIMED_DIR/ID every 5 s.
 *
 * @module
 */

import process from "node:process";
import { decodeWire, encodeWire } from "../src/core/codec.ts";
import { parseHostsfile } from "../src/core/hostsfile.ts";
import type { HeartbeatMessage } from "../src/core/messages.ts";
import { PeerCore } from "../src/core/peer_core.ts";
import { startPeer } from "../src/runtime/peer.ts";
import { RealTimeScheduler } from "../src/scheduler.ts";
import { socketTransport } from "../src/transport/socket_transport.ts";
import { SocketTransport } from "../src/transport/sockets.ts";

const TICK_MS = 200;
const OBSERVERS = 4;
const [rung, idText, portsText, hostsfile, timedDir] = Deno.args;
const id = Number(idText);
const ports = portsText.split(",").map(Number);
const n = ports.length;
const address = (i: number) => ({ hostname: "127.0.0.1", port: ports[i - 1] });
const targets = id === 1 ? ports.slice(1).map((_, i) => address(i + 2)) : [
  1,
  ...Array.from({ length: OBSERVERS }, (_, k) => ((id - 1 + k + 1) % n) + 1).filter((p) =>
    p !== 1 && p !== id
  ),
].map(address);

/** CPU time of the process so far, ms (user + system). */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const sums: Record<string, number> = {};
/** `f`, its CPU time and calls added to `sums[key]` and `sums[key + "Calls"]` when timing. */
function timed<A extends unknown[], R>(f: (...a: A) => R, key: string): (...a: A) => R {
  if (!timedDir) return f;
  sums[key] ??= 0;
  sums[`${key}Calls`] ??= 0;
  return function (this: unknown, ...a: A): R {
    const t = cpu();
    try {
      return f.apply(this, a);
    } finally {
      sums[key] += cpu() - t;
      sums[`${key}Calls`]++;
    }
  };
}
if (timedDir) {
  const t0 = performance.now();
  setInterval(() => {
    const seconds = (performance.now() - t0) / 1000;
    Deno.writeTextFileSync(`${timedDir}/${id}`, JSON.stringify({ seconds, cpu: cpu(), ...sums }));
  }, 5000);
}

/** A heartbeat as a member of a 64-peer view sends one: its epoch, view and 4 watched members. */
function heartbeat(now: number): HeartbeatMessage {
  return {
    type: "HEARTBEAT",
    from: id,
    incarnation: 1_796_359_010_466 + id,
    epoch: { round: 1, former: 1, run: 1_796_359_010_466 },
    viewId: 64,
    leading: id === 1 ? { round: 0, leader: 1 } : null,
    heard: Array.from(
      { length: OBSERVERS },
      (_, k) => [((id + k) % n) + 1, (now + 37 * k) % TICK_MS] as const,
    ),
  };
}

function everyTick(f: () => void): void {
  const tick = timed(() => f(), "timers");
  const next = () => {
    tick();
    setTimeout(next, TICK_MS - (Date.now() % TICK_MS));
  };
  setTimeout(next, TICK_MS - (Date.now() % TICK_MS));
}

let received = 0;
const onBytes = timed((bytes: Uint8Array) => {
  const result = decodeWire(bytes);
  if (result.ok && result.message.from > 0) received++;
}, "datagrams");

if (rung === "codec" || rung === "codec-tcp") {
  if (rung === "codec-tcp") {
    const listener = Deno.listen({ ...address(id), transport: "tcp" });
    (async () => {
      try {
        for await (const conn of listener) conn.close();
      } catch { /* closed */ }
    })();
  }
  const socket = Deno.listenDatagram({ ...address(id), transport: "udp" });
  const to = targets.map((t) => ({ ...t, transport: "udp" as const }));
  everyTick(() => {
    const bytes = encodeWire(heartbeat(Date.now()));
    for (const t of to) socket.send(bytes, t).catch(() => {});
  });
  const buffer = new Uint8Array(65_507);
  try {
    while (true) onBytes((await socket.receive(buffer))[0].slice());
  } catch { /* closed */ }
} else if (rung === "transport") {
  SocketTransport.prototype.sendDatagram = timed(SocketTransport.prototype.sendDatagram, "sends");
  const transport = socketTransport();
  await transport.listen(address(id), {
    onStream: () => {},
    onDatagram: (packet) => onBytes(packet.bytes),
    onDiagnostic: () => {},
  });
  everyTick(() => {
    const bytes = encodeWire(heartbeat(Date.now()));
    for (const t of targets) transport.sendDatagram(t, bytes);
  });
} else if (rung === "library") {
  if (timedDir) {
    const listen = SocketTransport.prototype.listen;
    SocketTransport.prototype.listen = function (local, handlers) {
      return listen.call(this, local, { ...handlers, onDatagram: timed(handlers.onDatagram, "datagrams") });
    };
    const schedule = RealTimeScheduler.prototype.schedule;
    RealTimeScheduler.prototype.schedule = function (ms, task) {
      return schedule.call(this, ms, timed(task, "timers"));
    };
    PeerCore.prototype.tick = timed(PeerCore.prototype.tick, "coreTick");
    PeerCore.prototype.receive = timed(PeerCore.prototype.receive, "coreReceive");
    SocketTransport.prototype.sendDatagram = timed(SocketTransport.prototype.sendDatagram, "sends");
  }
  await startPeer({ hosts: parseHostsfile(await Deno.readTextFile(hostsfile)), id });
} else {
  throw new Error(`unknown rung '${rung}'`);
}
