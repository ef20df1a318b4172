/**
 * A group-membership service: peers keep one agreed view of the live members
 * of their group. A leader adds joiners and removes failed peers through a
 * two-phase REQ/OK/NEWVIEW exchange over TCP; members watch each other with
 * UDP heartbeats; a failed leader is replaced and its half-done operation
 * finished. The protocol, the output lines and the guarantees are in
 * `docs/protocol.md`.
 *
 * Run as a peer, in a clone after `make` (or `npm ci`):
 *
 * ```sh
 * ./membership -h hosts.txt --id 1
 * ```
 *
 * Or embed it (`deno run --unstable-net --allow-net`):
 *
 * @example
 * ```ts
 * import { startPeer } from "./mod.ts";
 * const hosts = [17601, 17602, 17603].map((port) => ({ hostname: "127.0.0.1", port }));
 * const peers = await Promise.all(hosts.map((_, i) => startPeer({ hosts, id: i + 1 })));
 * // waitForView resolves at once if the view is already installed; events() would wait for a later one.
 * const view = await peers[0].waitForView((v) => v.members.length === 3);
 * console.log(view.id, view.members); // 3 [ 1, 2, 3 ]
 * await Promise.all(peers.map((p) => p.stop()));
 * ```
 *
 * @module
 */

import process from "node:process";
import { runCli } from "./src/runtime/cli.ts";

export {
  Peer,
  type PeerEventListener,
  type PeerOptions,
  type PeerStatus,
  startPeer,
} from "./src/runtime/peer.ts";
export { DROP_REASONS, PeerMetrics } from "./src/runtime/metrics.ts";
export {
  DEFAULT_QUERY_TIMEOUT_MS,
  MAX_QUERY_TIMEOUT_MS,
  MAX_RUNNING_HANDLERS,
  PING_QUERY,
  type Query,
  type QueryAnswer,
  type QueryHandler,
  type QueryOptions,
  type QueryRequest,
  type QueryResult,
} from "./src/runtime/queries.ts";
export {
  controlGuard,
  createStatusApp,
  EVENTS_KEEPALIVE_MS,
  type FetchApp,
  type QueryAnswerJson,
  type QueryJson,
  queryJson,
  type RequestEnv,
  serveStatus,
  type StatusAppOptions,
  type StatusJson,
  statusJson,
  type StatusServer,
} from "./src/runtime/status_server.ts";
export {
  type Channel,
  type DurableState,
  type Effect,
  type IncomingAnswer,
  type IncomingQuery,
  type LogLevel,
  type PeerEvent,
} from "./src/core/effects.ts";
export type * from "./src/core/messages.ts";
export {
  MAX_QUERY_ERROR_CHARS,
  MAX_QUERY_PAYLOAD_BYTES,
  PROTOCOL_VERSION,
  QUERY_NAME,
} from "./src/core/messages.ts";
export {
  type MemberState,
  PeerCore,
  type PeerHealth,
  type QueryReply,
  type Role,
} from "./src/core/peer_core.ts";
export type { Probation } from "./src/core/damping.ts";
export { MAX_TAGS_BYTES, parseTag, type Tags, tagsError } from "./src/core/tags.ts";
export { tagsIn } from "./src/core/view.ts";
export { MAX_EVENT_PAYLOAD_BYTES } from "./src/core/events.ts";
export { type CoreConfig, DEFAULT_FAIL_AFTER, DEFAULT_HEARTBEAT_MS } from "./src/core/config.ts";
export {
  decodeDurableState,
  decodeMessage,
  type DecodeResult,
  decodeWire,
  type DurableDecodeResult,
  encodeDurableState,
  encodeMessage,
  encodeWire,
  MAX_MESSAGE_BYTES,
} from "./src/core/codec.ts";
export {
  type EffectFilter,
  EffectRunner,
  type EffectRunnerOptions,
  type ProtocolCore,
  type Step,
  type StepCause,
  type Storage,
} from "./src/runtime/effect_runner.ts";
export { FileStorage, StorageError, type StorageIdentity } from "./src/runtime/file_storage.ts";
export {
  eventJson,
  formatEvent,
  formatEventJson,
  formatEventText,
  type JsonEvent,
  type JsonMember,
  type JsonNoticeEvent,
  type JsonUserEvent,
  type JsonViewEvent,
  memberJson,
  type OutputFormat,
} from "./src/core/format.ts";
export {
  DEFAULT_PORT,
  type HostAddress,
  HostsfileError,
  idForHostname,
  parseHostsfile,
} from "./src/core/hostsfile.ts";
export {
  AddressInUseError,
  type Packet,
  type Transport,
  type TransportHandlers,
} from "./src/transport/transport.ts";
export { MemoryNetwork, type MemoryNetworkOptions, type NetworkFaults } from "./src/transport/memory.ts";
export { generateKey, KEY_BYTES, Keyring, KeyringError, parseKeyring } from "./src/transport/keyring.ts";
export {
  FORGET_AFTER_MS,
  FRESHNESS_MS,
  type OpenResult,
  openSealed,
  REPLAY_WINDOW,
  ReplayGuard,
  seal,
  SEAL_OVERHEAD,
  SealedTransport,
  type SealedTransportOptions,
  type SealHeader,
} from "./src/transport/sealed.ts";
export { RealTimeScheduler, type Scheduler, VirtualScheduler } from "./src/scheduler.ts";
export { socketTransport, type SocketTransportOptions } from "./src/transport/socket_transport.ts";
export { runCli, USAGE } from "./src/runtime/cli.ts";
export { VERSION } from "./src/version.ts";

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2));
}
