/**
 * The few pieces of PipeWire's native protocol (version 3) the probe needs, from
 * src/modules/module-protocol-native/connection.c and protocol-native.c: a 16-byte header
 * (object id; opcode << 24 | payload size; sequence; number of fds), then one SPA POD.
 * Everything is in the host's byte order: little-endian on the machines we run on.
 */

export const PW_HEADER_BYTES = 16;
/** The core is object 0 on both sides. */
export const PW_ID_CORE = 0;
/** Core methods (pipewire/core.h PW_CORE_METHOD_*). */
export const PW_CORE_METHOD_HELLO = 1;
export const PW_CORE_METHOD_SYNC = 2;
/** Core events (PW_CORE_EVENT_*). */
export const PW_CORE_EVENT_INFO = 0;
export const PW_CORE_EVENT_DONE = 1;
export const PW_CORE_EVENT_ERROR = 3;
/** The core interface version the probe announces (PW_VERSION_CORE of 0.3.x). */
export const PW_VERSION_CORE = 3;
/** SPA_RESULT_RETURN_ASYNC: libpipewire marks a sync's sequence with this bit. */
export const PW_ASYNC_BIT = 0x40000000;
/** The largest payload the server sends us (its connection buffer is 1 MiB; the header allows 16 MiB). */
export const PW_MAX_PAYLOAD = 1 << 20;

/** SPA POD types (spa/utils/type.h). */
const SPA_TYPE_NONE = 1;
const SPA_TYPE_INT = 4;
const SPA_TYPE_LONG = 5;
const SPA_TYPE_STRING = 8;
const SPA_TYPE_STRUCT = 14;

/** One POD value as the probe reads it. */
export type PodValue =
  | { type: 'int'; value: number }
  | { type: 'long'; value: bigint }
  | { type: 'string'; value: string | null }
  | { type: 'struct'; items: PodValue[] }
  | { type: 'other'; code: number };

const pad8 = (n: number): number => (n + 7) & ~7;

function intPod(value: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(4, 0);
  b.writeUInt32LE(SPA_TYPE_INT, 4);
  b.writeInt32LE(value | 0, 8);
  return b;
}

function structPod(items: Buffer[]): Buffer {
  const body = Buffer.concat(items);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(SPA_TYPE_STRUCT, 4);
  return Buffer.concat([head, body]);
}

/** A message to object `id`: header (no fds), then the payload. */
export function message(id: number, opcode: number, seq: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(PW_HEADER_BYTES);
  head.writeUInt32LE(id, 0);
  head.writeUInt32LE(((opcode & 0xff) << 24) | (payload.length & 0xffffff), 4);
  head.writeUInt32LE(seq, 8);
  head.writeUInt32LE(0, 12);
  return Buffer.concat([head, payload]);
}

/** Core::Hello(version) then Core::Sync(0, seq): what every client sends first, and a marker for "you have answered". */
export function helloAndSync(seq: number): Buffer {
  return Buffer.concat([
    message(PW_ID_CORE, PW_CORE_METHOD_HELLO, 0, structPod([intPod(PW_VERSION_CORE)])),
    message(PW_ID_CORE, PW_CORE_METHOD_SYNC, 1, structPod([intPod(PW_ID_CORE), intPod(PW_ASYNC_BIT | seq)])),
  ]);
}

/** Reads the POD at `at` in `b` (bounded by `end`), or null when it is cut short. */
export function readPod(b: Buffer, at = 0, end = b.length, depth = 0): { pod: PodValue; next: number } | null {
  if (at + 8 > end || depth > 8) return null;
  const size = b.readUInt32LE(at);
  const type = b.readUInt32LE(at + 4);
  const body = at + 8;
  if (body + size > end) return null;
  const next = Math.min(end, body + pad8(size));
  switch (type) {
    case SPA_TYPE_INT:
      return size >= 4 ? { pod: { type: 'int', value: b.readInt32LE(body) }, next } : null;
    case SPA_TYPE_LONG:
      return size >= 8 ? { pod: { type: 'long', value: b.readBigInt64LE(body) }, next } : null;
    case SPA_TYPE_NONE:
      return { pod: { type: 'string', value: null }, next };
    case SPA_TYPE_STRING: {
      // The string's bytes include its NUL.
      const nul = b.indexOf(0, body);
      const stop = nul >= 0 && nul < body + size ? nul : body + size;
      return { pod: { type: 'string', value: b.toString('utf8', body, stop) }, next };
    }
    case SPA_TYPE_STRUCT: {
      const items: PodValue[] = [];
      for (let p = body; p < body + size;) {
        const item = readPod(b, p, body + size, depth + 1);
        if (!item) return null;
        items.push(item.pod);
        p = item.next;
      }
      return { pod: { type: 'struct', items }, next };
    }
    default:
      return { pod: { type: 'other', code: type }, next };
  }
}

/** One message cut from the stream, or null while more bytes are needed. */
export interface PwMessage {
  id: number;
  opcode: number;
  seq: number;
  fds: number;
  payload: Buffer;
}

/** Cuts the next message; throws on a payload larger than we ever accept. */
export function takeMessage(buffer: Buffer): { message: PwMessage; rest: Buffer } | null {
  if (buffer.length < PW_HEADER_BYTES) return null;
  const word = buffer.readUInt32LE(4);
  const size = word & 0xffffff;
  if (size > PW_MAX_PAYLOAD) throw new Error(`a message of ${size} bytes`);
  if (buffer.length < PW_HEADER_BYTES + size) return null;
  return {
    message: {
      id: buffer.readUInt32LE(0),
      opcode: word >>> 24,
      seq: buffer.readUInt32LE(8),
      fds: buffer.readUInt32LE(12),
      payload: buffer.subarray(PW_HEADER_BYTES, PW_HEADER_BYTES + size),
    },
    rest: buffer.subarray(PW_HEADER_BYTES + size),
  };
}

/** The leading struct of a payload (a footer may follow it), or null. */
export function payloadStruct(payload: Buffer): PodValue[] | null {
  const r = readPod(payload);
  return r && r.pod.type === 'struct' ? r.pod.items : null;
}

const intAt = (items: PodValue[], i: number): number | null => {
  const v = items[i];
  return v?.type === 'int' ? v.value : null;
};
const stringAt = (items: PodValue[], i: number): string | null => {
  const v = items[i];
  return v?.type === 'string' ? v.value : null;
};

/** Core::Info: Struct { Int id, Int cookie, String user, String host, String version, String name, Long change_mask, Struct props }. */
export function coreInfoOf(payload: Buffer): { name: string; version: string; userName: string; hostName: string; cookie: number } | null {
  const items = payloadStruct(payload);
  if (!items || items.length < 6 || intAt(items, 0) === null) return null;
  return {
    cookie: (intAt(items, 1) ?? 0) >>> 0,
    userName: stringAt(items, 2) ?? '',
    hostName: stringAt(items, 3) ?? '',
    version: stringAt(items, 4) ?? '',
    name: stringAt(items, 5) ?? '',
  };
}

/** Core::Done: Struct { Int id, Int seq }. */
export function coreDoneOf(payload: Buffer): { id: number; seq: number } | null {
  const items = payloadStruct(payload);
  const id = items ? intAt(items, 0) : null;
  const seq = items ? intAt(items, 1) : null;
  return id === null || seq === null ? null : { id: id >>> 0, seq: seq >>> 0 };
}

/** Core::Error: Struct { Int id, Int seq, Int res, String message }; `res` is a negative errno. */
export function coreErrorOf(payload: Buffer): { id: number; res: number; message: string } | null {
  const items = payloadStruct(payload);
  if (!items) return null;
  const id = intAt(items, 0);
  const res = intAt(items, 2);
  return id === null || res === null ? null : { id: id >>> 0, res, message: stringAt(items, 3) ?? '' };
}
