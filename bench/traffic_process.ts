/**
 * The floor under a peer's idle cost for `scale.ts`: the heartbeat traffic of a
 * peer of a large group, and none of the protocol. Process 1 plays the leader
 * (it sends to every other process each tick); every other process sends to the
 * next 4 on a ring (its observers) and to process 1. Each ticks on the wall
 * clock's multiples of 200 ms, as peers do, encodes a heartbeat-sized JSON
 * object once a tick, and decodes (UTF-8, `JSON.parse`) every datagram it
 * receives. So a process sends and receives what a peer does (5 and 5 a tick; the
 * leader N − 1 and N − 1), through the same runtime calls. Prints `ready` once
 * bound; runs until killed.
 *
 *   deno run --unstable-net --allow-net bench/traffic_process.ts ID PORT,PORT,...
 *
 * @module
 */

const TICK_MS = 200;
const OBSERVERS = 4;

const id = Number(Deno.args[0]);
const ports = Deno.args[1].split(",").map(Number);
const n = ports.length;
const address = (i: number) => ({ hostname: "127.0.0.1", port: ports[i - 1], transport: "udp" as const });
const targets = id === 1 ? ports.slice(1).map((_, i) => address(i + 2)) : [
  1,
  ...Array.from({ length: OBSERVERS }, (_, k) => ((id - 1 + k + 1) % n) + 1).filter((p) =>
    p !== 1 && p !== id
  ),
]
  .map(address);

const socket = Deno.listenDatagram({ ...address(id), transport: "udp" });
const encoder = new TextEncoder(), decoder = new TextDecoder();
const heard = Array.from({ length: OBSERVERS }, (_, k) => [k + 2, 20 * k]);

function tick() {
  const bytes = encoder.encode(
    JSON.stringify({ v: 2, type: "HEARTBEAT", from: id, inc: 1796359010466, view: 12, leading: null, heard }),
  );
  for (const to of targets) socket.send(bytes, to).catch(() => {});
  setTimeout(tick, TICK_MS - (Date.now() % TICK_MS));
}
setTimeout(tick, TICK_MS - (Date.now() % TICK_MS));
console.log("ready");

const buffer = new Uint8Array(65_507);
let received = 0;
try {
  while (true) {
    const [data] = await socket.receive(buffer);
    if (JSON.parse(decoder.decode(data.slice())).from > 0) received++;
  }
} catch { /* closed */ }
