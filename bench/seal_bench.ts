// Seal and open per message (deno bench bench/seal_bench.ts): the cost of --key-file on every
// message, for a heartbeat-sized datagram and a NEWVIEW of a 16-peer group.
import { encodeWire, generateKey, openSealed, parseKeyring, ReplayGuard, seal } from "../mod.ts";

const TO = "127.0.0.1:7601";
const keyring = parseKeyring(`${generateKey()}\n${generateKey()}`);
const [sealing] = await keyring.cryptoKeys();
const keys = await keyring.cryptoKeys();
const rotated = [keys[1], keys[0]]; // the sealing key second: open tries the other first
const runId = crypto.getRandomValues(new Uint8Array(8));
let counter = 0;
const header = () => ({ runId, counter: ++counter, sentAt: Date.now() });

const members = Array.from({ length: 16 }, (_, i) => i + 1);
const heartbeat = encodeWire({
  type: "HEARTBEAT",
  from: 1,
  incarnation: 1795545774221,
  viewId: 42,
  leading: { round: 3, leader: 1 },
  heard: [[2, 180], [3, 20], [4, 95], [5, 110]],
});
const newview = encodeWire({
  type: "NEWVIEW",
  from: 1,
  incarnation: 1795545774221,
  view: {
    epoch: { round: 1, former: 1, run: 1 },
    id: 42,
    leader: 1,
    members,
    incarnations: members.map((i) => 1795545774221 + i),
  },
  ballot: { round: 3, leader: 1 },
});
const sealedHeartbeat = await seal(sealing, TO, header(), heartbeat);
const sealedNewview = await seal(sealing, TO, header(), newview);

Deno.bench("seal a heartbeat", { group: "heartbeat", baseline: true }, async () => {
  await seal(sealing, TO, header(), heartbeat);
});
Deno.bench("open a heartbeat", { group: "heartbeat" }, async () => {
  await openSealed(keys, TO, sealedHeartbeat);
});
Deno.bench("open a heartbeat, its key second in the keyring", { group: "heartbeat" }, async () => {
  await openSealed(rotated, TO, sealedHeartbeat);
});
Deno.bench("seal a NEWVIEW of 16", { group: "newview", baseline: true }, async () => {
  await seal(sealing, TO, header(), newview);
});
Deno.bench("open a NEWVIEW of 16", { group: "newview" }, async () => {
  await openSealed(keys, TO, sealedNewview);
});
const guard = new ReplayGuard();
let checked = 0;
Deno.bench("replay check", () => {
  guard.check({ runId, counter: ++checked, sentAt: Date.now() }, Date.now());
});
