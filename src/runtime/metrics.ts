/**
 * A peer's Prometheus metrics, on a registry of its own (no process-wide
 * default metrics): what `GET /metrics` of `--status` serves.
 *
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { PeerEvent } from "../core/effects.ts";
import type { MessageType, PeerId } from "../core/messages.ts";
import type { MemberState } from "../core/peer_core.ts";
import type { EffectFilter } from "./effect_runner.ts";

/** Every message type, so that each counter shows all of them from the start (at 0). */
const MESSAGE_TYPES: readonly MessageType[] = [
  "JOIN",
  "REDIRECT",
  "REQ",
  "OK",
  "NEWVIEW",
  "NEWLEADER",
  "PENDING",
  "REJECT",
  "HEARTBEAT",
  "FORM",
  "FORM_PROMISE",
  "FORM_ACCEPT",
  "FORM_OK",
  "LEAVE",
];

/**
 * The diagnostic keys that mean "a received message was dropped", each the
 * `reason` label of `membership_messages_dropped_total`: it could not be
 * decoded (`malformed`); its sender is not another peer of the hostsfile
 * (`sender`) or an older run of it (`old-incarnation`); or it came too late,
 * too early or from the wrong peer for the protocol to use (an OK, PENDING,
 * NEWLEADER, FORM_PROMISE or FORM_OK for an operation no longer running; a
 * REQ from a non-member, for an old or a future view, refused from a replaced
 * leader, or invalid); or, with a keyring, it did not open, or was replayed or
 * stale (`sealed`). The transport's own diagnostics (`transport`: full
 * queues, failed writes, over-long frames) are not counted: they are about
 * connections, not single messages, and say how many in their text.
 */
export const DROP_REASONS: readonly string[] = [
  "malformed",
  "sender",
  "old-incarnation",
  "stale-ok",
  "stale-pending",
  "stale-form",
  "newleader-stale",
  "req-joining",
  "req-stale",
  "req-ahead",
  "req-refused",
  "req-invalid",
  "sealed",
];

/** Buckets of `membership_detection_seconds`: around the default 1 s (5 × 200 ms heartbeats). */
const DETECTION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

/**
 * One peer's metrics. Hand it to the peer as {@linkcode PeerOptions.metrics};
 * the peer feeds it every step, event and diagnostic. Use one per peer.
 * The view metrics follow the peer's `view` events (what it prints), so peer
 * 1's founding view counts once it is reported.
 *
 * | metric | type | what |
 * |---|---|---|
 * | `membership_view_id` | gauge | id of the view installed last (0 before joining) |
 * | `membership_members` | gauge | members of that view |
 * | `membership_views_installed_total` | counter | views installed |
 * | `membership_messages_sent_total{type}` | counter | messages handed to the transport, by type |
 * | `membership_messages_received_total{type}` | counter | messages decoded and given to the core, by type |
 * | `membership_messages_dropped_total{reason}` | counter | received messages dropped, by {@linkcode DROP_REASONS} key |
 * | `membership_unreachable_reports_total` | counter | members reported unreachable |
 * | `membership_left_reports_total` | counter | members reported left |
 * | `membership_takeovers_total` | counter | takeovers won: this peer leads a view after its leader failed or left |
 * | `membership_detection_seconds` | histogram | from a member's last message to its unreachable report |
 *
 * @example
 * ```ts
 * import { MemoryNetwork, PeerMetrics, startPeer } from "../../mod.ts";
 * const metrics = new PeerMetrics();
 * const hosts = [{ hostname: "127.0.0.1", port: 7601 }];
 * const peer = await startPeer({ hosts, id: 1, transport: new MemoryNetwork().transport(), metrics });
 * console.log(await metrics.exposition()); // membership_view_id, membership_members, ...
 * await peer.stop();
 * ```
 */
export class PeerMetrics {
  /** The content type of {@linkcode exposition}: `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  readonly #registry = new Registry();
  readonly #viewId: Gauge;
  readonly #members: Gauge;
  readonly #views: Counter;
  readonly #sent: Counter<"type">;
  readonly #received: Counter<"type">;
  readonly #dropped: Counter<"reason">;
  readonly #unreachable: Counter;
  readonly #left: Counter;
  readonly #takeovers: Counter;
  readonly #detection: Histogram;
  /** When each member was last heard, as of the step before: `now - silentMs`. */
  #heardAt = new Map<PeerId, number>();

  /** Registers every metric, at 0. */
  constructor() {
    const registers = [this.#registry];
    this.contentType = this.#registry.contentType;
    this.#viewId = new Gauge({ name: "membership_view_id", help: "Id of the installed view.", registers });
    this.#members = new Gauge({
      name: "membership_members",
      help: "Members of the installed view.",
      registers,
    });
    this.#views = new Counter({
      name: "membership_views_installed_total",
      help: "Views installed.",
      registers,
    });
    this.#sent = new Counter({
      name: "membership_messages_sent_total",
      help: "Messages sent, by type.",
      labelNames: ["type"],
      registers,
    });
    this.#received = new Counter({
      name: "membership_messages_received_total",
      help: "Messages received and decoded, by type.",
      labelNames: ["type"],
      registers,
    });
    this.#dropped = new Counter({
      name: "membership_messages_dropped_total",
      help: "Received messages dropped, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.#unreachable = new Counter({
      name: "membership_unreachable_reports_total",
      help: "Members reported unreachable.",
      registers,
    });
    this.#left = new Counter({
      name: "membership_left_reports_total",
      help: "Members reported left on purpose.",
      registers,
    });
    this.#takeovers = new Counter({
      name: "membership_takeovers_total",
      help: "Takeovers won: this peer leads a view after its leader failed or left.",
      registers,
    });
    this.#detection = new Histogram({
      name: "membership_detection_seconds",
      help: "Time from a member's last message to its unreachable report.",
      buckets: DETECTION_BUCKETS,
      registers,
    });
    for (const type of MESSAGE_TYPES) {
      this.#sent.labels(type).inc(0);
      this.#received.labels(type).inc(0);
    }
    for (const reason of DROP_REASONS) this.#dropped.labels(reason).inc(0);
  }

  /**
   * Every metric in the Prometheus text format (version 0.0.4), as `GET /metrics` serves it.
   *
   * @example
   * ```ts
   * import { PeerMetrics } from "../../mod.ts";
   * const text = await new PeerMetrics().exposition();
   * console.log(text.includes("membership_view_id 0")); // true
   * ```
   */
  exposition(): Promise<string> {
    return this.#registry.metrics();
  }

  /**
   * An {@linkcode EffectFilter} that counts each step's messages and
   * detection times and passes the step on unchanged; `members` is the
   * peer's {@linkcode PeerCore.members}. {@linkcode Peer} installs it.
   *
   * @example
   * ```ts
   * import { PeerCore, PeerMetrics } from "../../mod.ts";
   * const core = new PeerCore({ id: 1, peerCount: 1, incarnation: 1, heartbeatMs: 100, failAfter: 5, random: Math.random });
   * const filter = new PeerMetrics().stepFilter((now) => core.members(now));
   * ```
   */
  stepFilter(members: (now: number) => readonly MemberState[]): EffectFilter {
    return (step) => {
      if (step.cause.kind === "receive") this.#received.labels(step.cause.message.type).inc();
      for (const effect of step.effects) {
        if (effect.kind === "send") this.#sent.labels(effect.message.type).inc();
        // The core keeps no "last heard" in the event; the step before knew it.
        if (effect.kind === "event" && effect.event.type === "unreachable") {
          const heard = this.#heardAt.get(effect.event.member);
          if (heard !== undefined) this.#detection.observe(Math.max(0, step.now - heard) / 1000);
        }
      }
      this.#heardAt = new Map(members(step.now).map((m) => [m.id, step.now - m.silentMs]));
      return step;
    };
  }

  /**
   * Counts one of the peer's events.
   *
   * @example
   * ```ts
   * import { PeerMetrics } from "../../mod.ts";
   * const metrics = new PeerMetrics();
   * metrics.observeEvent({ type: "view", peer: 1, view: { id: 1, leader: 1, members: [1], incarnations: [7] } });
   * ```
   */
  observeEvent(event: PeerEvent): void {
    switch (event.type) {
      case "view":
        this.#views.inc();
        this.#viewId.set(event.view.id);
        this.#members.set(event.view.members.length);
        return;
      case "unreachable":
        return this.#unreachable.inc();
      case "left":
        return this.#left.inc();
      case "formed":
        return; // a view event follows
    }
  }

  /**
   * Counts one of the peer's diagnostics by its key: drops ({@linkcode DROP_REASONS})
   * and won takeovers (`leading`).
   *
   * @example
   * ```ts
   * import { PeerMetrics } from "../../mod.ts";
   * new PeerMetrics().observeLog("malformed"); // membership_messages_dropped_total{reason="malformed"} 1
   * ```
   */
  observeLog(key: string): void {
    if (key === "leading") this.#takeovers.inc();
    else if (DROP_REASONS.includes(key)) this.#dropped.labels(key).inc();
  }
}
