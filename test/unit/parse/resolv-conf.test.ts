import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GLIBC_MAXNS, parseResolvConf, printResolvConf, type ResolvConf } from '../../../src/parse/resolv-conf.js';

const SYSTEMD_STUB = `# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).
# Do not edit.
nameserver 127.0.0.53
options edns0 trust-ad
search .
`;

describe('parseResolvConf', () => {
  it('reads the systemd-resolved stub file', () => {
    const c = parseResolvConf(SYSTEMD_STUB);
    expect(c.nameservers).toEqual([{ address: '127.0.0.53', family: 4, line: 3 }]);
    expect(c.options).toMatchObject({ edns0: true, rotate: false, other: ['trust-ad'] });
    expect(c.search).toEqual(['.']);
    expect(c).toMatchObject({ commentLines: 2, contentLines: 3, unknown: [], invalid: [] });
  });

  it.each([
    ['nameserver 192.0.2.1', { address: '192.0.2.1', family: 4 }],
    ['nameserver 2001:db8::1', { address: '2001:db8::1', family: 6 }],
    ['nameserver fe80::1%eth0', { address: 'fe80::1', family: 6, scopeId: 'eth0' }],
    ['nameserver 192.0.2.1 # office', { address: '192.0.2.1', family: 4 }],
    ['nameserver 192.0.2.1;x', { address: '192.0.2.1', family: 4 }],
    ['nameserver\t192.0.2.1  192.0.2.2', { address: '192.0.2.1', family: 4 }],
  ])('accepts %j', (line, want) => {
    const c = parseResolvConf(line + '\n');
    expect(c.nameservers).toEqual([{ ...want, line: 1 }]);
    expect(c.invalid).toEqual([]);
  });

  it.each([
    ['nameserver 300.1.1.1', /not an IPv4/],
    ['nameserver dns.example', /not an IPv4/],
    ['nameserver 192.0.2.1%eth0', /not an IPv4/],
    ['nameserver fe80::1%', /not an IPv4/],
    ['nameserver', /without an address/],
    ['nameserver 192.0.2.1\r', /CRLF/],
    ['  nameserver 192.0.2.1', /leading whitespace/],
    ['options ndots:x', /needs a number/],
  ])('rejects %j', (line, reason) => {
    const c = parseResolvConf(line);
    expect(c.nameservers).toEqual([]);
    expect(c.invalid).toHaveLength(1);
    expect(c.invalid[0]?.reason).toMatch(reason);
    expect(c.invalid[0]?.line).toBe(1);
  });

  it('lets the last search or domain line win', () => {
    expect(parseResolvConf('search a.example b.example\ndomain c.example\n').search).toEqual(['c.example']);
    expect(parseResolvConf('domain c.example\nsearch a.example b.example\n').search).toEqual(['a.example', 'b.example']);
  });

  it('caps numeric options as glibc does', () => {
    const o = parseResolvConf('options timeout:99 attempts:9 ndots:40 rotate use-vc\n').options;
    expect(o).toEqual({ timeout: 30, attempts: 5, ndots: 15, rotate: true, edns0: false, useVc: true, other: [] });
    expect(parseResolvConf('options ndots:2\n').options.ndots).toBe(2);
  });

  it('records every nameserver even though glibc uses three', () => {
    const c = parseResolvConf(['1', '2', '3', '4'].map((n) => `nameserver 192.0.2.${n}`).join('\n'));
    expect(GLIBC_MAXNS).toBe(3);
    expect(c.nameservers.map((n) => n.line)).toEqual([1, 2, 3, 4]);
  });

  it('counts comments, blanks and unknown keywords separately', () => {
    const c = parseResolvConf('# a\n; b\n\n   \n  # indented\nsortlist 10.0.0.0\nlookup file bind\n');
    expect(c).toMatchObject({ commentLines: 3, contentLines: 2, unknown: [{ line: 7, text: 'lookup file bind' }] });
    expect(parseResolvConf('').contentLines).toBe(0);
  });
});

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/);
const confLine = fc.oneof(
  ipv4.map((a) => `nameserver ${a}`),
  fc.ipV6().map((a) => `nameserver ${a}`),
  fc.array(label, { maxLength: 4 }).map((d) => `search ${d.join(' ')}`),
  label.map((d) => `domain ${d}`),
  fc
    .subarray(['rotate', 'edns0', 'use-vc', 'timeout:3', 'attempts:9', 'ndots:1', 'trust-ad', 'ndots:x'])
    .map((o) => `options ${o.join(' ')}`),
  fc.string().map((s) => `# ${s}`),
  fc.string(),
);

const semantic = (c: ResolvConf) => ({
  ns: c.nameservers.map(({ address, family, scopeId }) => ({ address, family, scopeId })),
  search: c.search,
  options: c.options,
});

describe('parseResolvConf properties', () => {
  it('never throws on any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const c = parseResolvConf(s);
        expect(c.contentLines + c.commentLines).toBeLessThanOrEqual(s.split('\n').length);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips through printResolvConf', () => {
    fc.assert(
      fc.property(fc.array(confLine, { maxLength: 12 }), (lines) => {
        const once = parseResolvConf(lines.join('\n'));
        const twice = parseResolvConf(printResolvConf(once));
        expect(semantic(twice)).toEqual(semantic(once));
        expect(twice.invalid).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
