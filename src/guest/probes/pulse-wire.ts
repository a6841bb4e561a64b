/**
 * The few pieces of the PulseAudio native protocol the probe needs (pulsecore/pstream.c,
 * tagstruct.h, native-common.h): a 20-byte frame descriptor, then a tagstruct payload.
 */

/** Commands: ERROR = 0, REPLY = 2, AUTH = 8 (native-common.h). */
export const PA_COMMAND_ERROR = 0;
export const PA_COMMAND_REPLY = 2;
export const PA_COMMAND_AUTH = 8;
/** GET_SERVER_INFO = 20: the reply starts with the server's name and version strings. */
export const PA_COMMAND_GET_SERVER_INFO = 20;
/** The protocol version the probe announces; servers accept older and newer clients. */
export const PA_CLIENT_VERSION = 35;
export const PA_COOKIE_BYTES = 256;
/** Version flag bits the server ORs into its reply (SHM 0x80000000, memfd 0x40000000). */
export const PA_VERSION_MASK = 0x0000ffff;
/** Channel of control packets (commands, replies) as opposed to audio memblocks. */
export const PA_CONTROL_CHANNEL = 0xffffffff;
export const PA_DESCRIPTOR_BYTES = 20;

const TAG_U32 = 0x4c; // 'L'
const TAG_ARBITRARY = 0x78; // 'x'
const TAG_STRING = 0x74; // 't'
const TAG_STRING_NULL = 0x4e; // 'N'

/** pa_strerror() texts for the codes an AUTH can earn, lower-cased (def.h PA_ERR_*). */
const ERROR_TEXTS: Record<number, string> = {
  1: 'access denied',
  2: 'unknown command',
  3: 'invalid argument',
  4: 'entity exists',
  5: 'no such entity',
  6: 'connection refused',
  7: 'protocol error',
  8: 'timeout',
  9: 'no authentication key',
  10: 'internal error',
  11: 'connection terminated',
  12: 'entity killed',
  13: 'invalid server',
  17: 'incompatible protocol version',
  19: 'not supported',
};

/** The pa_strerror()-like text for a PA_ERR code. */
export function pulseErrorText(code: number): string {
  return ERROR_TEXTS[code] ?? `error code ${code}`;
}

function u32Tag(value: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = TAG_U32;
  b.writeUInt32BE(value >>> 0, 1);
  return b;
}

/** Frames a control payload: length, channel, offset hi/lo, flags, all big-endian u32. */
export function frameControlPacket(payload: Buffer): Buffer {
  const descriptor = Buffer.alloc(PA_DESCRIPTOR_BYTES);
  descriptor.writeUInt32BE(payload.length, 0);
  descriptor.writeUInt32BE(PA_CONTROL_CHANNEL, 4);
  return Buffer.concat([descriptor, payload]);
}

/** The AUTH command: command, tag, our version, then the cookie as an arbitrary blob. */
export function buildAuthPacket(tag: number, cookie: Buffer): Buffer {
  const blobHeader = Buffer.alloc(5);
  blobHeader[0] = TAG_ARBITRARY;
  blobHeader.writeUInt32BE(cookie.length, 1);
  return frameControlPacket(Buffer.concat([u32Tag(PA_COMMAND_AUTH), u32Tag(tag), u32Tag(PA_CLIENT_VERSION), blobHeader, cookie]));
}

/** Reads the leading 'L' values of a tagstruct; stops at the first other tag. */
export function readU32Tags(payload: Buffer, max: number): number[] {
  const values: number[] = [];
  for (let at = 0; values.length < max && at + 5 <= payload.length && payload[at] === TAG_U32; at += 5) {
    values.push(payload.readUInt32BE(at + 1));
  }
  return values;
}

/** One frame cut from the stream, or null while more bytes are needed. */
export function takeFrame(buffer: Buffer): { channel: number; payload: Buffer; rest: Buffer } | null {
  if (buffer.length < PA_DESCRIPTOR_BYTES) return null;
  const length = buffer.readUInt32BE(0);
  if (buffer.length < PA_DESCRIPTOR_BYTES + length) return null;
  return {
    channel: buffer.readUInt32BE(4),
    payload: buffer.subarray(PA_DESCRIPTOR_BYTES, PA_DESCRIPTOR_BYTES + length),
    rest: buffer.subarray(PA_DESCRIPTOR_BYTES + length),
  };
}

/** A command with no arguments but its tag (GET_SERVER_INFO, say). */
export function buildCommandPacket(command: number, tag: number): Buffer {
  return frameControlPacket(Buffer.concat([u32Tag(command), u32Tag(tag)]));
}

/**
 * Reads a tagstruct's values from `at` while they are u32 or string tags (null for a null string);
 * stops at the first other tag or a string with no NUL.
 */
export function readTags(payload: Buffer, max: number, at = 0): (number | string | null)[] {
  const values: (number | string | null)[] = [];
  while (values.length < max && at < payload.length) {
    const tag = payload[at];
    if (tag === TAG_U32 && at + 5 <= payload.length) {
      values.push(payload.readUInt32BE(at + 1));
      at += 5;
    } else if (tag === TAG_STRING_NULL) {
      values.push(null);
      at += 1;
    } else if (tag === TAG_STRING) {
      const nul = payload.indexOf(0, at + 1);
      if (nul < 0) break;
      values.push(payload.toString('utf8', at + 1, nul));
      at = nul + 1;
    } else {
      break;
    }
  }
  return values;
}
