/**
 * A peer's Prometheus metrics, on a registry of its own (no process-wide
 * default metrics): what `GET /metrics` of `--status` serves.
 *
 * @module
 */

import { loadPromClient, type Registry } from "../deps.ts";
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
  "PROBE",
  "PROBE_ACK",
  "QUERY",
  "ANSWER",
];

/**
 * The diagnostic keys that mean "a received message was dropped", each the
 * `reason` label of `membership_messages_dropped_total`: it could not be
 * decoded (`malformed`); its sender is not another peer of the hostsfile
 * (`sender`) or an older run of it (`old-incarnation`); it belongs to an
 * older group history (`epoch-older`: its sender is sent our view); or it came too late,
 * too early or from the wrong peer for the protocol to use (an OK, PENDING,
 * NEWLEADER, FORM_PROMISE or FORM_OK for an operation no longer running; a
 * REQ from a non-member, for an old or a future view, refused from a replaced
 * leader, or invalid); a QUERY from a peer not in the view
 * (`query-sender`); or, with a keyring, it did not open, or was replayed or
 * stale (`sealed`). The transport's own diagnostics (`transport`: full
 * queues, failed writes, over-long frames) are not counted: they are about
 * connections, not single messages, and say how many in their text.
 */
export const DROP_REASONS: readonly string[] = [
  "malformed",
  "sender",
  "old-incarnation",
  "epoch-older",
  "stale-ok",
  "stale-pending",
  "stale-form",
  "newleader-stale",
  "req-joining",
  "req-stale",
  "req-ahead",
  "req-refused",
  "req-invalid",
  "query-sender",
  "sealed",
];

/** Buckets of `membership_detection_seconds`: around the default 1 s (5 × 200 ms heartbeats). */
const DETECTION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

/**
 * One peer's metrics. Hand it to the peer as {@linkcode PeerOptions.metrics};
 * the peer feeds it every step, event and diagnostic. Use one per peer.
 * The view metrics follow the peer's `view` events (what it prints).
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
  readonly contentType: string = "text/plain; version=0.0.4; charset=utf-8";
  // Counted in plain numbers on every step (a prom-client label lookup per message is not cheap),
  // and prom-client itself loaded only when the metrics are first asked for: a peer without
  // --status never loads it.
  #viewId = 0;
  #members = 0;
  #views = 0;
  readonly #sent = new Map<string, number>(MESSAGE_TYPES.map((t) => [t, 0]));
  readonly #received = new Map<string, number>(MESSAGE_TYPES.map((t) => [t, 0]));
  readonly #dropped = new Map<string, number>(DROP_REASONS.map((r) => [r, 0]));
  #unreachable = 0;
  #left = 0;
  #userEvents = 0;
  #takeovers = 0;
  #flaps = 0;
  #removedWhileAlive = 0;
  /** Detection times not yet handed to the histogram. */
  readonly #detections: number[] = [];
  #registry: Promise<Registry> | null = null;
  /** When each member was last heard, as of the step before: `now - silentMs`. */
  #heardAt = new Map<PeerId, number>();

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
  async exposition(): Promise<string> {
    return await (await (this.#registry ??= this.#createRegistry())).metrics();
  }

  /** The prom-client registry, each metric reading the counts above when collected. */
  async #createRegistry(): Promise<Registry> {
    const { Counter, Gauge, Histogram, Registry } = await loadPromClient();
    const registry = new Registry();
    const registers = [registry];
    // Counters advance by what was counted since the last collection.
    const counter = (name: string, help: string, count: () => number) => {
      let reported = 0;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const now = count();
          this.inc(now - reported);
          reported = now;
        },
      });
    };
    const labelled = (name: string, help: string, label: string, counts: Map<string, number>) => {
      const reported = new Map<string, number>();
      const metric = new Counter({
        name,
        help,
        labelNames: [label],
        registers,
        collect() {
          for (const [key, now] of counts) {
            this.labels(key).inc(now - (reported.get(key) ?? 0));
            reported.set(key, now);
          }
        },
      });
      for (const key of counts.keys()) metric.labels(key).inc(0);
    };
    const viewId = () => this.#viewId;
    const members = () => this.#members;
    const detections = () => this.#detections.splice(0);
    new Gauge({
      name: "membership_view_id",
      help: "Id of the installed view.",
      registers,
      collect() {
        this.set(viewId());
      },
    });
    new Gauge({
      name: "membership_members",
      help: "Members of the installed view.",
      registers,
      collect() {
        this.set(members());
      },
    });
    counter("membership_views_installed_total", "Views installed.", () => this.#views);
    labelled("membership_messages_sent_total", "Messages sent, by type.", "type", this.#sent);
    labelled(
      "membership_messages_received_total",
      "Messages received and decoded, by type.",
      "type",
      this.#received,
    );
    labelled(
      "membership_messages_dropped_total",
      "Received messages dropped, by reason.",
      "reason",
      this.#dropped,
    );
    counter("membership_unreachable_reports_total", "Members reported unreachable.", () => this.#unreachable);
    counter("membership_left_reports_total", "Members reported left on purpose.", () => this.#left);
    counter("membership_user_events_delivered_total", "User events delivered here.", () => this.#userEvents);
    counter(
      "membership_takeovers_total",
      "Takeovers won: this peer leads a view after its leader failed or left.",
      () => this.#takeovers,
    );
    counter(
      "membership_flaps_total",
      "Members removed while alive and admitted again once they proved their health (counted by the leader).",
      () => this.#flaps,
    );
    counter(
      "membership_removed_while_alive_total",
      "Times this peer found itself removed from the view while alive: its packets may be the ones lost.",
      () => this.#removedWhileAlive,
    );
    new Histogram({
      name: "membership_detection_seconds",
      help: "Time from a member's last message to its unreachable report.",
      buckets: DETECTION_BUCKETS,
      registers,
      collect() {
        for (const seconds of detections()) this.observe(seconds);
      },
    });
    return registry;
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
      if (step.cause.kind === "receive") increment(this.#received, step.cause.message.type);
      for (const effect of step.effects) {
        if (effect.kind === "send") increment(this.#sent, effect.message.type);
        // The core keeps no "last heard" in the event; the step before knew it.
        if (effect.kind === "event" && effect.event.type === "unreachable") {
          const heard = this.#heardAt.get(effect.event.member);
          if (heard !== undefined) this.#detections.push(Math.max(0, step.now - heard) / 1000);
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
   * metrics.observeEvent({ type: "view", peer: 1, view: { epoch: { round: 1, former: 1, run: 1 }, id: 1, leader: 1, members: [1], incarnations: [7] } });
   * ```
   */
  observeEvent(event: PeerEvent): void {
    switch (event.type) {
      case "view":
        this.#views++;
        this.#viewId = event.view.id;
        this.#members = event.view.members.length;
        return;
      case "unreachable":
        this.#unreachable++;
        return;
      case "left":
        this.#left++;
        return;
      case "formed":
        return; // a view event follows
      case "event":
        this.#userEvents++;
        return;
    }
  }

  /**
   * Counts one of the peer's diagnostics by its key: drops ({@linkcode DROP_REASONS}),
   * won takeovers (`leading`), flaps re-admitted (`readmitted`) and this peer removed while alive (`health`).
   *
   * @example
   * ```ts
   * import { PeerMetrics } from "../../mod.ts";
   * new PeerMetrics().observeLog("malformed"); // membership_messages_dropped_total{reason="malformed"} 1
   * ```
   */
  observeLog(key: string): void {
    if (key === "leading") this.#takeovers++;
    else if (key === "readmitted") this.#flaps++;
    else if (key === "health") this.#removedWhileAlive++;
    else if (this.#dropped.has(key)) increment(this.#dropped, key);
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
