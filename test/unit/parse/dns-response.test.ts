import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDnsQuery, decodeDnsResponse, frameTcp, readTcpFrame } from '../../../src/parse/dns-response.js';
import { ParseError } from '../../../src/parse/parse-error.js';

const EXPECT = { id: 4242, name: 'example.com', type: 'A' as const };

function response(over: Partial<dnsPacket.Packet> & { rcode?: string } = {}): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name: 'Example.COM', class: 'IN' }],
    answers: [
      { type: 'CNAME', name: 'example.com', data: 'edge.example.net' },
      { type: 'A', name: 'edge.example.net', data: '192.0.2.10' },
      { type: 'A', name: 'edge.example.net', data: '192.0.2.11' },
    ],
    ...over,
  } as dnsPacket.Packet);
}

describe('buildDnsQuery', () => {
  it('encodes a recursive query for one name', () => {
    const q = dnsPacket.decode(buildDnsQuery(7, 'example.com', 'AAAA'));
    expect(q).toMatchObject({ id: 7, type: 'query', flag_rd: true, questions: [{ name: 'example.com', type: 'AAAA', class: 'IN' }] });
  });

  it.each([
    [-1, 'example.com'],
    [65536, 'example.com'],
    [1.5, 'a'],
    [1, ''],
    [1, 'a..b'],
    [1, 'x'.repeat(64)],
    [1, 'a.'.repeat(130)],
  ])('rejects id %s name %j with ParseError', (id, name) => {
    expect(() => buildDnsQuery(id, name, 'A')).toThrow(ParseError);
  });
});

describe('decodeDnsResponse', () => {
  it('reads addresses across a CNAME, matching the name case-insensitively', () => {
    expect(decodeDnsResponse(response(), EXPECT)).toEqual({
      ok: true,
      rcode: 'NOERROR',
      truncated: false,
      addresses: ['192.0.2.10', '192.0.2.11'],
      answerCount: 3,
    });
    expect(decodeDnsResponse(response(), { ...EXPECT, name: 'EXAMPLE.com.' }).ok).toBe(true);
  });

  it.each([
    ['NXDOMAIN', dnsPacket.RECURSION_DESIRED | 3, { ok: true, rcode: 'NXDOMAIN' }],
    ['SERVFAIL', 2, { ok: true, rcode: 'SERVFAIL' }],
    ['REFUSED', 5, { ok: true, rcode: 'REFUSED' }],
    ['truncated', dnsPacket.TRUNCATED_RESPONSE, { ok: true, truncated: true }],
  ])('reports %s', (_t, flags, want) => {
    expect(decodeDnsResponse(response({ flags, answers: [] }), EXPECT)).toMatchObject(want);
  });

  it.each([
    ['wrong-id', response({ id: 1 })],
    ['not-a-response', buildDnsQuery(4242, 'example.com', 'A')],
    ['question-mismatch', response({ questions: [{ type: 'AAAA', name: 'example.com', class: 'IN' }] })],
    ['question-mismatch', response({ questions: [{ type: 'A', name: 'example.org', class: 'IN' }] })],
    ['question-mismatch', response({ questions: [] })],
    ['malformed', Buffer.from([1, 2, 3])],
    ['malformed', response().subarray(0, 20)],
  ])('says %s', (reason, buf) => {
    expect(decodeDnsResponse(buf, EXPECT)).toMatchObject({ ok: false, reason });
  });
});

describe('TCP framing', () => {
  it('prefixes the length and reads it back across chunks', () => {
    const msg = response();
    const framed = frameTcp(msg);
    expect(framed.readUInt16BE(0)).toBe(msg.length);
    expect(readTcpFrame([framed.subarray(0, 1)])).toBeNull();
    expect(readTcpFrame([framed.subarray(0, 5), framed.subarray(5, 9)])).toBeNull();
    expect(readTcpFrame([framed.subarray(0, 5), framed.subarray(5), Buffer.from([9])])?.equals(msg)).toBe(true);
  });

  it('refuses a message over 65535 bytes', () => {
    expect(() => frameTcp(Buffer.alloc(65536))).toThrow(ParseError);
    expect(frameTcp(Buffer.alloc(65535)).length).toBe(65537);
  });
});

describe('dns properties', () => {
  it('decode never throws on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(65535), (a, id) => {
        const r = decodeDnsResponse(Buffer.from(a), { id, name: 'example.com', type: 'A' });
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });

  it('decode never throws on a mutated real response', () => {
    const base = response();
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.nat(255), fc.nat(base.length), (i, v, cut) => {
        const b = Buffer.from(base);
        b[i] = v;
        const r = decodeDnsResponse(b.subarray(0, cut), EXPECT);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });

  it('a query for any valid name is answered by a matching response', () => {
    const name = fc.array(fc.stringMatching(/^[a-z0-9-]{1,20}$/), { minLength: 1, maxLength: 5 }).map((l) => l.join('.'));
    fc.assert(
      fc.property(fc.nat(65535), name, fc.constantFrom('A' as const, 'AAAA' as const), (id, n, type) => {
        const q = dnsPacket.decode(buildDnsQuery(id, n, type));
        const r = dnsPacket.encode({ ...q, type: 'response', answers: [] } as dnsPacket.Packet);
        expect(decodeDnsResponse(r, { id, name: n.toUpperCase(), type })).toMatchObject({ ok: true, addresses: [] });
      }),
      { numRuns: 300 },
    );
  });

  it('framing round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (a, split) => {
        const framed = frameTcp(Buffer.from(a));
        const got = readTcpFrame([framed.subarray(0, split), framed.subarray(split)]);
        expect(got?.equals(Buffer.from(a))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
