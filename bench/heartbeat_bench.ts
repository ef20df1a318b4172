// What one heartbeat costs to receive and to send, from datagram bytes to the core and back:
// decode (with a keyring: open and the replay check first), PeerCore.receive, the effects through
// the EffectRunner, and for a tick the outgoing heartbeats encoded (and sealed) and handed to a
// transport that only counts them; then the same round over real UDP sockets on loopback (the
// socket transport, the runtime's datagram ops and the kernel included). `make bench-heartbeat`, or
//   node_modules/.bin/deno bench bench/heartbeat_bench.ts
// The peer is member 2 of an 8-peer view led by 1 (restored from durable state, so no network is
// needed); "a round" is what one heartbeat interval costs it in that group: 7 heartbeats received,
// one tick that sends 7. Divide a round by 7 for one heartbeat each way. (8 is the largest group
// that heartbeats all to all; beyond, a member sends and receives about 5 a round, see
// src/core/monitoring.ts, so a round costs less than this one.)
import {
  EffectRunner,
  encodeWire,
  generateKey,
  type Message,
  type Packet,
  parseKeyring,
  PeerCore,
  seal,
  SealedTransport,
  type Transport,
  type TransportHandlers,
} from "../mod.ts";
import { socketTransport } from "../src/transport/socket_transport.ts";
import { VirtualScheduler } from "../src/scheduler.ts";

const N = 8;
const SELF = 2;
const TICK_MS = 200;
const VIEW_ID = 5;
const hosts = Array.from({ length: N }, (_, i) => ({ hostname: "127.0.0.1", port: 7601 + i }));
const members = hosts.map((_, i) => i + 1);
const incarnation = (id: number) => 1_795_545_774_000 + id;
const view = {
  epoch: { round: 1, former: 1, run: 1 },
  id: VIEW_ID,
  leader: 1,
  members,
  incarnations: members.map(incarnation),
};
const ballot = { round: 1, leader: 1 };

/** A transport that hands nothing on: it counts what it is given and lets the bench deliver. */
class CountingTransport implements Transport {
  handlers: TransportHandlers | null = null;
  datagrams = 0;
  #waiting: { count: number; resolve: () => void } | null = null;
  listen(_local: unknown, handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    return Promise.resolve();
  }
  sendStream(): void {}
  sendDatagram(_to: unknown, _bytes: Uint8Array): void {
    this.datagrams++;
    if (this.#waiting && this.datagrams >= this.#waiting.count) this.#waiting.resolve();
  }
  /** Resolves once `count` datagrams in all were sent. */
  sent(count: number): Promise<void> {
    if (this.datagrams >= count) return Promise.resolve();
    return new Promise((resolve) => (this.#waiting = { count, resolve }));
  }
  reset(): void {}
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A core that also says when it has received `count` messages in all (for the sealed path). */
class CountingCore extends PeerCore {
  received = 0;
  #waiting: { count: number; resolve: () => void } | null = null;
  override receive(now: number, message: Message) {
    const effects = super.receive(now, message);
    this.received++;
    if (this.#waiting && this.received >= this.#waiting.count) this.#waiting.resolve();
    return effects;
  }
  receivedAll(count: number): Promise<void> {
    if (this.received >= count) return Promise.resolve();
    return new Promise((resolve) => (this.#waiting = { count, resolve }));
  }
}

/**
 * The peer under test. Over `udp`, it listens on a real socket and every other member's address is
 * that of one remote socket, which sends it the heartbeats and counts those it sends.
 */
async function setUp(keyed: boolean, udp: Deno.DatagramConn | null = null) {
  const scheduler = new VirtualScheduler();
  const core = new CountingCore({
    id: SELF,
    peerCount: N,
    incarnation: incarnation(SELF),
    heartbeatMs: TICK_MS,
    failAfter: 5,
    random: () => 0.5,
    restored: {
      incarnation: incarnation(SELF),
      promised: ballot,
      accepted: null,
      installed: view,
      member: true,
      formAccepted: null,
    },
  });
  const inner = new CountingTransport();
  const keyring = parseKeyring(generateKey());
  const local = udp ? { hostname: "127.0.0.1", port: freeUdpPort() } : hosts[SELF - 1];
  const remote = udp ? (udp.addr as Deno.NetAddr) : null;
  const peerHosts = remote
    ? hosts.map((_h, i) => i === SELF - 1 ? local : { hostname: remote.hostname, port: remote.port })
    : hosts;
  const plainTransport = udp ? socketTransport() : inner;
  const transport = keyed ? new SealedTransport(plainTransport, keyring, { self: local }) : plainTransport;
  const runner = new EffectRunner({
    core,
    hosts: peerHosts,
    transport,
    scheduler,
    tickMs: TICK_MS,
    onEvent: () => {},
    onLog: () => {},
  });
  await runner.listen(local);
  runner.start();
  await transport.flush();
  const [key] = await keyring.cryptoKeys();
  const runIds = members.map(() => crypto.getRandomValues(new Uint8Array(8)));
  const counters = members.map(() => 0);
  const to = `127.0.0.1:${local.port}`;
  /** The datagram `from` sends this peer: plain, or sealed afresh (a new counter each time). */
  const heartbeatFrom = async (from: number): Promise<Packet> => {
    const plain = encodeWire({
      type: "HEARTBEAT",
      from,
      incarnation: incarnation(from),
      viewId: VIEW_ID,
      leading: from === 1 ? ballot : null,
      // What a member of a small group vouches for: every other member, heard lately.
      heard: members.filter((m) => m !== from).map((m) => [m, 40] as const),
    });
    const bytes = keyed
      ? await seal(
        key,
        to,
        { runId: runIds[from - 1], counter: ++counters[from - 1], sentAt: Date.now() },
        plain,
      )
      : plain;
    return { bytes, from: hosts[from - 1], receivedAt: 0 };
  };
  const others = members.filter((m) => m !== SELF);
  return { scheduler, core, inner, transport, runner, heartbeatFrom, others, local };
}

function freeUdpPort(): number {
  const probe = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

/** A socket that plays every other member: it sends the heartbeats and counts what comes back. */
function remoteMembers() {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const state = { received: 0, waiting: null as { count: number; resolve: () => void } | null };
  (async () => {
    try {
      for await (const _ of socket) {
        state.received++;
        if (state.waiting && state.received >= state.waiting.count) state.waiting.resolve();
      }
    } catch { /* closed */ }
  })();
  return {
    socket,
    received: () => state.received,
    receivedAll: (count: number): Promise<void> =>
      state.received >= count
        ? Promise.resolve()
        : new Promise((resolve) => (state.waiting = { count, resolve })),
  };
}

for (const keyed of [false, true]) {
  const setup = await setUp(keyed);
  const { scheduler, core, inner, heartbeatFrom, others } = setup;
  const group = keyed ? "keyring" : "plain";
  const leaderHeartbeat = await heartbeatFrom(1);

  Deno.bench(`receive one heartbeat (${group})`, { group, baseline: true }, async (b) => {
    const packet = keyed ? await heartbeatFrom(1) : leaderHeartbeat;
    const expected = core.received + 1;
    b.start();
    inner.handlers!.onDatagram(packet);
    if (keyed) await core.receivedAll(expected);
    b.end();
  });

  Deno.bench(`one round of ${N} peers: ${N - 1} heartbeats received, ${N - 1} sent (${group})`, {
    group,
  }, async (b) => {
    const packets = await Promise.all(others.map(heartbeatFrom));
    const received = core.received + packets.length;
    const sent = inner.datagrams + others.length;
    b.start();
    for (const p of packets) inner.handlers!.onDatagram(p);
    if (keyed) await core.receivedAll(received);
    scheduler.advance(TICK_MS);
    if (keyed) await inner.sent(sent);
    b.end();
  });
}

for (const keyed of [false, true]) {
  const remote = remoteMembers();
  const { scheduler, core, heartbeatFrom, others, local } = await setUp(keyed, remote.socket);
  const group = keyed ? "udp-keyring" : "udp";
  const to = { ...local, transport: "udp" as const };
  Deno.bench(`one round of ${N} peers over UDP on loopback (${keyed ? "keyring" : "plain"})`, {
    group,
  }, async (b) => {
    const packets = await Promise.all(others.map(heartbeatFrom));
    const received = core.received + packets.length;
    const sent = remote.received() + others.length;
    b.start();
    for (const p of packets) await remote.socket.send(p.bytes, to);
    await core.receivedAll(received);
    scheduler.advance(TICK_MS);
    await remote.receivedAll(sent);
    b.end();
  });
}
