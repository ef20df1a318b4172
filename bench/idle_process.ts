/**
 * The baseline of an idle runtime for `scale.ts`: a process that binds one
 * UDP socket on 127.0.0.1 (any port) and runs a 200 ms timer, as a peer
 * does, and nothing else. Prints `ready` once bound; runs until killed.
 *
 *   deno run --unstable-net --allow-net bench/idle_process.ts
 *
 * @module
 */

const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
let ticks = 0;
setInterval(() => ticks++, 200);
console.log("ready");
for await (const _ of socket) { /* nobody sends: the receive just stays pending, as a peer's does */ }
