// The effect runner carries out a core's effects in order: each send on its
// channel, resets, events and logs; nothing after a "persist" until the write
// is done; filters see every step first and may crash the peer.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeWire,
  type DurableState,
  type Effect,
  EffectRunner,
  type EffectRunnerOptions,
  encodeWire,
  type HostAddress,
  type Message,
  type Packet,
  type Transport,
  type TransportHandlers,
  VirtualScheduler,
} from "../mod.ts";

const hosts: HostAddress[] = [1, 2, 3].map((i) => ({ hostname: "10.0.0.1", port: 7600 + i }));
const heartbeat: Message = {
  type: "HEARTBEAT",
  from: 1,
  incarnation: 1,
  viewId: 1,
  leading: null,
  heard: [],
};
const join: Message = { type: "JOIN", from: 1, incarnation: 1, knownViewId: 0 };
const state: DurableState = {
  incarnation: 1,
  promised: { round: 0, leader: 1 },
  accepted: null,
  installed: null,
  member: false,
  formAccepted: null,
};

/** A transport that records what it is asked to do. */
class RecordingTransport implements Transport {
  readonly done: string[] = [];
  handlers: TransportHandlers | null = null;
  listen(_local: HostAddress, handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    return Promise.resolve();
  }
  sendStream(to: HostAddress, bytes: Uint8Array): void {
    this.done.push(`stream ${to.port} ${decoded(bytes)}`);
  }
  sendDatagram(to: HostAddress, bytes: Uint8Array): void {
    this.done.push(`datagram ${to.port} ${decoded(bytes)}`);
  }
  reset(to: HostAddress): void {
    this.done.push(`reset ${to.port}`);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function decoded(bytes: Uint8Array): string {
  const result = decodeWire(bytes);
  return result.ok ? result.message.type : `undecodable: ${result.error}`;
}

/** A core whose every step returns the next scripted list of effects, and records what it was fed. */
function scriptedCore(...steps: Effect[][]) {
  const fed: string[] = [];
  const next = () => steps.shift() ?? [];
  return {
    fed,
    start: () => (fed.push("start"), next()),
    tick: (now: number) => (fed.push(`tick ${now}`), next()),
    receive: (_now: number, m: Message) => (fed.push(`receive ${m.type}`), next()),
  };
}

function runner(core: EffectRunnerOptions["core"], extra: Partial<EffectRunnerOptions> = {}) {
  const transport = new RecordingTransport();
  const scheduler = new VirtualScheduler();
  const events: string[] = [];
  const logs: string[] = [];
  const r = new EffectRunner({
    core,
    hosts,
    transport,
    scheduler,
    tickMs: 100,
    onEvent: (e) => events.push(e.type),
    onLog: (level, text, key) => logs.push(`${level} ${key} ${text}`),
    ...extra,
  });
  return { r, transport, scheduler, events, logs };
}

test("effects are carried out in order, each send on the channel it names", async () => {
  const core = scriptedCore([
    { kind: "send", channel: "datagram", to: 2, message: heartbeat },
    { kind: "send", channel: "stream", to: 3, message: join },
    { kind: "reset", peer: 2 },
    {
      kind: "event",
      event: {
        type: "view",
        peer: 1,
        view: { epoch: { round: 1, former: 1, run: 1 }, id: 1, leader: 1, members: [1], incarnations: [1] },
      },
    },
    { kind: "log", level: "info", text: "hello", key: "k" },
  ]);
  const { r, transport, events, logs } = runner(core);
  await r.listen(hosts[0]);
  r.start();
  assert.deepEqual(transport.done, ["datagram 7602 HEARTBEAT", "stream 7603 JOIN", "reset 7602"]);
  assert.deepEqual(events, ["view"]);
  assert.deepEqual(logs, ["info k hello"]);
  r.halt();
});

test("one message sent to many is encoded once: every destination gets the same bytes", async () => {
  const other: Message = { ...heartbeat };
  const core = scriptedCore([
    { kind: "send", channel: "datagram", to: 2, message: heartbeat },
    { kind: "send", channel: "datagram", to: 3, message: heartbeat },
    { kind: "send", channel: "datagram", to: 2, message: other },
  ]);
  const { r, transport } = runner(core);
  const sent: Uint8Array[] = [];
  transport.sendDatagram = (_to, bytes) => void sent.push(bytes);
  await r.listen(hosts[0]);
  r.start();
  assert.equal(sent.length, 3);
  assert.equal(sent[0], sent[1]); // the same buffer, not an equal one
  assert.notEqual(sent[2], sent[0]); // an equal message that is another object is encoded again
  assert.deepEqual(sent[2], sent[0]);
  r.halt();
});

test("the core ticks every tickMs until halted, and hears what the transport delivers", async () => {
  const core = scriptedCore();
  const { r, transport, scheduler } = runner(core);
  await r.listen(hosts[0]);
  r.start();
  scheduler.advance(250);
  const packet: Packet = { bytes: encodeWire(join), from: hosts[1], receivedAt: 0 };
  transport.handlers!.onStream(packet);
  transport.handlers!.onDatagram(packet);
  r.halt();
  scheduler.advance(1_000);
  transport.handlers!.onStream(packet);
  assert.deepEqual(core.fed, ["start", "tick 100", "tick 200", "receive JOIN", "receive JOIN"]);
});

test("with a tick clock, ticks fall on its multiples of tickMs, never closer than half of it", async () => {
  const core = scriptedCore();
  let scheduler: VirtualScheduler | null = null;
  // A shared clock 1,030 ms ahead of this runner's: its multiples of 100 fall at 70, 170, ... here.
  const { r, scheduler: s } = runner(core, { tickClock: () => 1_030 + scheduler!.now() });
  scheduler = s;
  s.advance(10);
  await r.listen(hosts[0]);
  r.start(); // at 10: the multiple at 70 is 60 away, more than half an interval
  s.advance(300);
  r.halt();
  assert.deepEqual(core.fed, ["start", "tick 70", "tick 170", "tick 270"]);
  // Started 20 ms before a multiple: the first tick waits for the one after.
  const late = scriptedCore();
  let clock: VirtualScheduler | null = null;
  const second = runner(late, { tickClock: () => 1_030 + clock!.now() });
  clock = second.scheduler;
  clock.advance(50);
  await second.r.listen(hosts[0]);
  second.r.start();
  clock.advance(300);
  second.r.halt();
  assert.deepEqual(late.fed, ["start", "tick 170", "tick 270"]);
});

test("an undecodable message is dropped with a diagnostic naming its sender; the core never sees it", async () => {
  const core = scriptedCore();
  const { r, transport, logs } = runner(core);
  await r.listen(hosts[0]);
  r.start();
  transport.handlers!.onDatagram({ bytes: new Uint8Array([0xff]), from: hosts[2], receivedAt: 0 });
  // The sender's address is peer 3's hosts entry, so the diagnostic names peer 3.
  assert.deepEqual(logs, ["warning malformed dropped a message from peer 3 (10.0.0.1:7603): not UTF-8"]);
  // A sealed message (a datagram starts 'S' 1; a stream line is its base64, "UwE…"): a hint about keys.
  logs.length = 0;
  transport.handlers!.onDatagram({
    bytes: new Uint8Array([0x53, 1, 0xff, 0x80]),
    from: hosts[2],
    receivedAt: 0,
  });
  transport.handlers!.onStream({
    bytes: new TextEncoder().encode("UwEAAAB="),
    from: hosts[1],
    receivedAt: 0,
  });
  assert.equal(logs.length, 2);
  for (const line of logs) assert.match(line, /it looks sealed: the sender has a --key-file/);
  assert.deepEqual(core.fed, ["start"]);
  r.halt();
});

test("nothing after a persist effect happens until the write is done, across steps too", async () => {
  const writes: DurableState[] = [];
  let finish = () => {};
  const storage = {
    load: () => Promise.resolve(null),
    save: (s: DurableState) => {
      writes.push(s);
      return new Promise<void>((resolve) => (finish = resolve));
    },
  };
  const core = scriptedCore(
    [
      { kind: "send", channel: "stream", to: 2, message: join },
      { kind: "persist", state },
      { kind: "send", channel: "stream", to: 3, message: join },
    ],
    [{ kind: "send", channel: "datagram", to: 2, message: heartbeat }],
  );
  const { r, transport, scheduler } = runner(core, { storage });
  await r.listen(hosts[0]);
  r.start();
  scheduler.advance(100); // a second step while the write is still in progress
  assert.deepEqual(writes, [state]);
  assert.deepEqual(transport.done, ["stream 7602 JOIN"]);
  finish();
  await r.settled();
  assert.deepEqual(transport.done, ["stream 7602 JOIN", "stream 7603 JOIN", "datagram 7602 HEARTBEAT"]);
  r.halt();
});

test("without storage a persist effect is a no-op and the sends after it go out at once", async () => {
  const core = scriptedCore([{ kind: "persist", state }, {
    kind: "send",
    channel: "stream",
    to: 2,
    message: join,
  }]);
  const { r, transport } = runner(core);
  await r.listen(hosts[0]);
  r.start();
  assert.deepEqual(transport.done, ["stream 7602 JOIN"]);
  r.halt();
});

test("filters see every step in order; one that crashes the peer halts it after the step's effects", async () => {
  const seen: string[] = [];
  let crashed = 0;
  const core = scriptedCore([], [
    { kind: "send", channel: "stream", to: 2, message: join },
    { kind: "send", channel: "stream", to: 3, message: join },
  ]);
  const { r, transport, scheduler } = runner(core, {
    filters: [
      (step) => (seen.push(`first ${step.cause.kind} ${step.effects.length}`), step),
      (step) => {
        seen.push(`second ${step.cause.kind}`);
        if (step.cause.kind !== "tick") return step;
        return { effects: step.effects.filter((e) => !(e.kind === "send" && e.to === 3)), crash: true };
      },
    ],
    onCrash: () => crashed++,
  });
  await r.listen(hosts[0]);
  r.start();
  scheduler.advance(1_000);
  assert.deepEqual(seen, ["first start 0", "second start", "first tick 2", "second tick"]);
  assert.deepEqual(transport.done, ["stream 7602 JOIN"]);
  assert.equal(crashed, 1);
  assert.ok(r.halted);
  assert.deepEqual(core.fed, ["start", "tick 100"]);
});

test("queries: query and answer steps reach the core, and its query and answer effects the host", async () => {
  const payload = new TextEncoder().encode("x");
  const query = { from: 2, queryId: 4, name: "uptime", payload, timeoutMs: 100 };
  const answer = { from: 3, queryId: 4, payload: null, error: "no handler" };
  const fed: string[] = [];
  const core = {
    ...scriptedCore(),
    query: (
      _now: number,
      id: number,
      name: string,
    ): Effect[] => (fed.push(`query ${id} ${name}`), [{ kind: "query", query }]),
    answer: (
      _now: number,
      to: number,
      id: number,
    ): Effect[] => (fed.push(`answer ${to} ${id}`), [{ kind: "answer", answer }]),
  };
  const got: unknown[] = [];
  const { r } = runner(core, { onQuery: (q) => got.push(q), onAnswer: (a) => got.push(a) });
  await r.listen(hosts[0]);
  r.query(4, "uptime", payload, 100);
  r.answer(2, 4, { error: "no handler" });
  assert.deepEqual(fed, ["query 4 uptime", "answer 2 4"]);
  assert.deepEqual(got, [query, answer]);
  r.halt();
  r.query(5, "uptime", payload, 100);
  assert.equal(fed.length, 2, "nothing once halted");
});
