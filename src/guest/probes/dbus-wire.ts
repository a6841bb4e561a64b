/**
 * The few D-Bus wire pieces a Hello needs (D-Bus specification, "Message Protocol"):
 * the SASL EXTERNAL line and a little-endian METHOD_CALL with no body.
 */

/** `AUTH EXTERNAL` carries the client's uid as hex of its decimal ASCII digits ("1000" → "31303030"). */
export function authExternalLine(uid: number): string {
  return `AUTH EXTERNAL ${Buffer.from(String(uid), 'ascii').toString('hex')}\r\n`;
}

const pad = (n: number, to: number): number => (to - (n % to)) % to;

/** One header field: (BYTE code, VARIANT of a string-like type), 8-aligned as a struct. */
function headerField(out: number[], code: number, sig: 'o' | 's', value: string): void {
  for (let i = pad(out.length, 8); i > 0; i--) out.push(0);
  out.push(code, 1, sig.charCodeAt(0), 0);
  for (let i = pad(out.length, 4); i > 0; i--) out.push(0);
  const bytes = Buffer.from(value, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(bytes.length);
  out.push(...len, ...bytes, 0);
}

/** org.freedesktop.DBus.Hello, serial 1: the first call of every connection, answered with the unique name. */
export function helloMessage(): Buffer {
  const fields: number[] = [];
  // The fields array starts at offset 16 of the message: align as if it did.
  const base = 16;
  const at = (): number => base + fields.length;
  const push = (code: number, sig: 'o' | 's', value: string): void => {
    for (let i = pad(at(), 8); i > 0; i--) fields.push(0);
    const one: number[] = [];
    headerField(one, code, sig, value);
    fields.push(...one);
  };
  push(1, 'o', '/org/freedesktop/DBus');
  push(6, 's', 'org.freedesktop.DBus');
  push(2, 's', 'org.freedesktop.DBus');
  push(3, 's', 'Hello');
  const head = Buffer.alloc(16);
  head.write('l', 0, 'ascii');
  head.writeUInt8(1, 1); // METHOD_CALL
  head.writeUInt8(0, 2);
  head.writeUInt8(1, 3); // protocol version
  head.writeUInt32LE(0, 4); // no body
  head.writeUInt32LE(1, 8); // serial
  head.writeUInt32LE(fields.length, 12);
  const total = 16 + fields.length;
  return Buffer.concat([head, Buffer.from(fields), Buffer.alloc(pad(total, 8))]);
}

/** A whole message taken off the front of `buf`: its type, its first string argument, the error name; null while incomplete. */
export interface WireMessage {
  type: number;
  /** The body's first STRING (a METHOD_RETURN of Hello: the unique name; an ERROR: its text). */
  firstString: string | null;
  errorName: string | null;
  rest: Buffer;
}

/** Longest message this probe accepts as an answer. */
export const MAX_MESSAGE_BYTES = 1 << 20;

export function takeMessage(buf: Buffer): WireMessage | null | 'malformed' {
  if (buf.length < 16) return null;
  const le = buf[0] === 0x6c; // 'l'
  if (!le && buf[0] !== 0x42) return 'malformed'; // 'B'
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const bodyLen = u32(4);
  const fieldsLen = u32(12);
  const headerEnd = 16 + fieldsLen + pad(16 + fieldsLen, 8);
  const total = headerEnd + bodyLen;
  if (total > MAX_MESSAGE_BYTES) return 'malformed';
  if (buf.length < total) return null;
  let errorName: string | null = null;
  // Walk the header fields for ERROR_NAME (4).
  for (let o = 16; o + 4 <= 16 + fieldsLen;) {
    o += pad(o, 8);
    if (o + 4 > 16 + fieldsLen) break;
    const code = buf[o]!;
    const sigLen = buf[o + 1]!;
    const sig = buf.toString('ascii', o + 2, o + 2 + sigLen);
    o += 2 + sigLen + 1;
    if (sig === 's' || sig === 'o') {
      o += pad(o, 4);
      const len = u32(o);
      if (code === 4) errorName = buf.toString('utf8', o + 4, o + 4 + len);
      o += 4 + len + 1;
    } else if (sig === 'g') {
      const len = buf[o]!;
      o += 1 + len + 1;
    } else if (sig === 'u') {
      o += pad(o, 4) + 4;
    } else break;
  }
  let firstString: string | null = null;
  if (bodyLen >= 4) {
    const len = u32(headerEnd);
    if (headerEnd + 4 + len <= total) firstString = buf.toString('utf8', headerEnd + 4, headerEnd + 4 + len);
  }
  return { type: buf[1]!, firstString, errorName, rest: buf.subarray(total) };
}
