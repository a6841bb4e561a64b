import dnsPacket from 'dns-packet';
import { ParseError } from './parse-error.js';

/** The record types the DNS probe asks for. */
export type DnsQueryType = 'A' | 'AAAA';

/** What a response said, or why it cannot be trusted as the answer to our query. */
export type DnsDecode =
  | { ok: true; rcode: string; truncated: boolean; addresses: string[]; answerCount: number }
  | { ok: false; reason: 'malformed' | 'wrong-id' | 'not-a-response' | 'question-mismatch'; detail: string };

/** Largest DNS message a TCP length prefix can carry. */
export const MAX_TCP_FRAME = 0xffff;

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * Encode a recursive query for one name.
 * @throws ParseError `bad-query` for an id outside 0–65535 or a name DNS cannot carry.
 */
export function buildDnsQuery(id: number, name: string, type: DnsQueryType): Buffer {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new ParseError('bad-query', `DNS id ${id} is not 0–65535`);
  const labels = normalizeName(name).split('.');
  const wire = labels.reduce((n, l) => n + 1 + Buffer.byteLength(l), 1);
  if (name === '' || labels.some((l) => l === '' || Buffer.byteLength(l) > 63) || wire > 255) {
    throw new ParseError('bad-query', `"${name}" is not a valid DNS name`);
  }
  try {
    return dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type, name, class: 'IN' }],
    });
  } catch (err) {
    throw new ParseError('bad-query', `cannot encode a query for "${name}": ${String(err)}`);
  }
}

/** Decode a response and check it answers our query. Never throws. */
export function decodeDnsResponse(buf: Buffer, expect: { id: number; name: string; type: DnsQueryType }): DnsDecode {
  let packet: dnsPacket.Packet;
  try {
    packet = dnsPacket.decode(buf);
  } catch (err) {
    // dns-packet throws RangeError (and occasionally TypeError) on garbage.
    return { ok: false, reason: 'malformed', detail: err instanceof Error ? err.message : String(err) };
  }
  if (packet.type !== 'response') return { ok: false, reason: 'not-a-response', detail: 'the QR bit is not set' };
  if (packet.id !== expect.id) {
    return { ok: false, reason: 'wrong-id', detail: `expected id ${expect.id}, got ${String(packet.id)}` };
  }
  const questions = packet.questions ?? [];
  const q = questions[0];
  if (questions.length !== 1 || q === undefined || q.type !== expect.type || normalizeName(q.name) !== normalizeName(expect.name)) {
    const got = questions.map((x) => `${x.name} ${x.type}`).join(', ') || 'no question';
    return { ok: false, reason: 'question-mismatch', detail: `expected ${expect.name} ${expect.type}, got ${got}` };
  }
  // OPT records have no string `data`; read every answer through the common shape.
  const answers = (packet.answers ?? []) as { type: string; data?: unknown }[];
  // Follow no CNAME chain by name: any A/AAAA record in the answer section is an answer to us.
  const addresses = answers.filter((a) => a.type === expect.type && typeof a.data === 'string').map((a) => a.data as string);
  const rcode = (packet as { rcode?: unknown }).rcode;
  return {
    ok: true,
    rcode: typeof rcode === 'string' ? rcode : 'UNKNOWN',
    truncated: ((packet.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE) !== 0,
    addresses,
    answerCount: answers.length,
  };
}

/**
 * Prefix a message with its two-byte length for DNS over TCP.
 * @throws ParseError `frame-too-large` when the message is over 65535 bytes.
 */
export function frameTcp(buf: Buffer): Buffer {
  if (buf.length > MAX_TCP_FRAME) throw new ParseError('frame-too-large', `DNS message of ${buf.length} bytes exceeds ${MAX_TCP_FRAME}`);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(buf.length);
  return Buffer.concat([len, buf]);
}

/**
 * The first complete length-prefixed message in the bytes received so far, or null if more are needed.
 * The 16-bit prefix caps a frame at 65535 bytes, so a peer cannot make us buffer more than that.
 */
export function readTcpFrame(chunks: readonly Buffer[]): Buffer | null {
  const all = Buffer.concat(chunks);
  if (all.length < 2) return null;
  const len = all.readUInt16BE(0);
  return all.length < 2 + len ? null : Buffer.from(all.subarray(2, 2 + len));
}
