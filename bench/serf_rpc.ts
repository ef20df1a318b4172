/**
 * A small client of serf's agent RPC (the protocol `serf event` and
 * `serf members` speak to `-rpc-addr`): msgpack objects over TCP, each
 * request a header `{Command, Seq}` and maybe a body, each response a header
 * `{Seq, Error}` and maybe a body. Just what `bench/events.ts` needs: the
 * handshake, `event` (what `serf event` sends, without starting a process per
 * event) and `stream` (the agent's events as they arrive, what an event
 * handler would see, without forking a shell per event).
 *
 * The msgpack codec covers the types serf's RPC uses: nil, booleans,
 * integers, floats, strings, binary, arrays and maps.
 *
 * @module
 */

// ---- msgpack ----

type Value = null | boolean | number | string | Uint8Array | Value[] | { [key: string]: Value };

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** `value` as msgpack (maps with string keys; numbers must be non-negative integers below 2^32). */
export function encode(value: Value): Uint8Array {
  const out: number[] = [];
  const u16 = (n: number) => out.push(n >> 8, n & 0xff);
  const u32 = (n: number) => out.push(n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const write = (v: Value): void => {
    if (v === null) out.push(0xc0);
    else if (typeof v === "boolean") out.push(v ? 0xc3 : 0xc2);
    else if (typeof v === "number") {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`cannot encode ${v}`);
      if (v < 0x80) out.push(v);
      else if (v < 0x100) out.push(0xcc, v);
      else if (v < 0x10000) (out.push(0xcd), u16(v));
      else (out.push(0xce), u32(v));
    } else if (typeof v === "string") {
      const bytes = utf8.encode(v);
      if (bytes.length < 32) out.push(0xa0 | bytes.length);
      else if (bytes.length < 0x100) out.push(0xd9, bytes.length);
      else if (bytes.length < 0x10000) (out.push(0xda), u16(bytes.length));
      else (out.push(0xdb), u32(bytes.length));
      for (const b of bytes) out.push(b);
    } else if (v instanceof Uint8Array) {
      if (v.length < 0x100) out.push(0xc4, v.length);
      else if (v.length < 0x10000) (out.push(0xc5), u16(v.length));
      else (out.push(0xc6), u32(v.length));
      for (const b of v) out.push(b);
    } else if (Array.isArray(v)) {
      if (v.length < 16) out.push(0x90 | v.length);
      else (out.push(0xdc), u16(v.length));
      v.forEach(write);
    } else {
      const entries = Object.entries(v);
      if (entries.length < 16) out.push(0x80 | entries.length);
      else (out.push(0xde), u16(entries.length));
      for (const [k, x] of entries) (write(k), write(x));
    }
  };
  write(value);
  return new Uint8Array(out);
}

/** Thrown by {@linkcode decode} when `bytes` end inside a value: wait for more. */
class Incomplete extends Error {}

/** The first msgpack value of `bytes` and the offset after it; throws {@linkcode Incomplete}. */
export function decode(bytes: Uint8Array, offset = 0): { value: Value; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = offset;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new Incomplete();
  };
  const take = (n: number) => (need(n), at += n, at - n);
  const u8 = () => view.getUint8(take(1));
  const u16 = () => view.getUint16(take(2));
  const u32 = () => view.getUint32(take(4));
  const u64 = () => Number(view.getBigUint64(take(8)));
  const raw = (n: number) => bytes.slice(take(n), at);
  const str = (n: number) => fromUtf8.decode(raw(n));
  const array = (n: number): Value[] => Array.from({ length: n }, read);
  const map = (n: number) => {
    const o: { [key: string]: Value } = {};
    for (let i = 0; i < n; i++) {
      const k = read();
      o[typeof k === "string" ? k : String(k)] = read();
    }
    return o;
  };
  function read(): Value {
    const t = u8();
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    if ((t & 0xf0) === 0x80) return map(t & 0x0f);
    if ((t & 0xf0) === 0x90) return array(t & 0x0f);
    if ((t & 0xe0) === 0xa0) return str(t & 0x1f);
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return raw(u8());
      case 0xc5:
        return raw(u16());
      case 0xc6:
        return raw(u32());
      case 0xca:
        return view.getFloat32(take(4));
      case 0xcb:
        return view.getFloat64(take(8));
      case 0xcc:
        return u8();
      case 0xcd:
        return u16();
      case 0xce:
        return u32();
      case 0xcf:
        return u64();
      case 0xd0:
        return view.getInt8(take(1));
      case 0xd1:
        return view.getInt16(take(2));
      case 0xd2:
        return view.getInt32(take(4));
      case 0xd3:
        return Number(view.getBigInt64(take(8)));
      case 0xd9:
        return str(u8());
      case 0xda:
        return str(u16());
      case 0xdb:
        return str(u32());
      case 0xdc:
        return array(u16());
      case 0xdd:
        return array(u32());
      case 0xde:
        return map(u16());
      case 0xdf:
        return map(u32());
    }
    throw new Error(`msgpack type 0x${t.toString(16)} not supported`);
  }
  return { value: read(), end: at };
}

// ---- the agent's RPC ----

/** A user event as an agent's `stream` delivers it, with the time it reached this process. */
export interface SerfUserEvent {
  name: string;
  payload: string;
  /** serf's Lamport time of the event. */
  ltime: number;
  /** `Date.now()` when its record was decoded here. */
  at: number;
}

/** One connection to a serf agent's `-rpc-addr`. */
export class SerfRpc {
  readonly #conn: Deno.TcpConn;
  #seq = 0;
  #buffer = new Uint8Array(0);
  /** Responses awaited, by Seq. */
  readonly #waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** Seq of the open stream, and where its events go. */
  #stream: { seq: number; sink: (e: SerfUserEvent) => void; acked: boolean } | null = null;
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.closed = this.#read();
  }

  /** Connects to the agent at `host:port` and shakes hands (protocol version 1). */
  static async connect(address: string): Promise<SerfRpc> {
    const [hostname, port] = address.split(":");
    const rpc = new SerfRpc(await Deno.connect({ hostname, port: Number(port) }));
    await rpc.#call("handshake", { Version: 1 });
    return rpc;
  }

  /** Sends user event `name` through this agent (what `serf event [-coalesce=false]` does). */
  event(name: string, payload: string, coalesce: boolean): Promise<void> {
    return this.#call("event", { Name: name, Payload: utf8.encode(payload), Coalesce: coalesce });
  }

  /** Streams this agent's user events called `name` to `sink`; resolves once the agent accepted. */
  stream(name: string, sink: (e: SerfUserEvent) => void): Promise<void> {
    const seq = this.#seq;
    this.#stream = { seq, sink, acked: false };
    return this.#call("stream", { Type: `user:${name}` });
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed already */ }
  }

  async #call(command: string, body: Value): Promise<void> {
    const seq = this.#seq++;
    const done = new Promise<void>((resolve, reject) => this.#waiting.set(seq, { resolve, reject }));
    const header = encode({ Command: command, Seq: seq });
    const payload = encode(body);
    const frame = new Uint8Array(header.length + payload.length);
    frame.set(header);
    frame.set(payload, header.length);
    for (let sent = 0; sent < frame.length;) sent += await this.#conn.write(frame.subarray(sent));
    return done;
  }

  /** Reads responses and stream records until the connection closes. */
  async #read(): Promise<void> {
    // A stream record is a header followed by a body; other responses here are a header alone.
    let header: { [key: string]: Value } | null = null;
    try {
      for await (const chunk of this.#conn.readable) {
        const joined = new Uint8Array(this.#buffer.length + chunk.length);
        joined.set(this.#buffer);
        joined.set(chunk, this.#buffer.length);
        let at = 0;
        for (;;) {
          let decoded;
          try {
            decoded = decode(joined, at);
          } catch (e) {
            if (e instanceof Incomplete) break;
            throw e;
          }
          at = decoded.end;
          const value = decoded.value as { [key: string]: Value };
          if (header === null) {
            const seq = value.Seq as number;
            const error = value.Error as string;
            const s = this.#stream;
            if (s && seq === s.seq && s.acked) {
              header = value; // a record follows
              continue;
            }
            if (s && seq === s.seq) s.acked = true;
            const waiter = this.#waiting.get(seq);
            this.#waiting.delete(seq);
            if (error) waiter?.reject(new Error(`serf rpc: ${error}`));
            else waiter?.resolve();
          } else {
            header = null;
            this.#stream?.sink({
              name: value.Name as string,
              payload: typeof value.Payload === "string"
                ? value.Payload
                : fromUtf8.decode(value.Payload as Uint8Array),
              ltime: value.LTime as number,
              at: Date.now(),
            });
          }
        }
        this.#buffer = joined.slice(at);
      }
    } catch { /* closed */ }
    for (const w of this.#waiting.values()) w.reject(new Error("serf rpc: connection closed"));
    this.#waiting.clear();
  }
}
