import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { probeDnsQuery } from '../../../src/guest/probes/dns-query.js';
import type { DnsQueryRequest } from '../../../src/core/probe-types.js';
import { closedUdpPort, RCODE, reply, startFakeDns, type FakeDns } from './fake-dns.js';

const LOOPBACK = '127.0.0.1';
const fakes: FakeDns[] = [];

async function fake(...args: Parameters<typeof startFakeDns>): Promise<FakeDns> {
  const f = await startFakeDns(...args);
  fakes.push(f);
  return f;
}

function ask(port: number, extra: Partial<DnsQueryRequest> = {}): Promise<Awaited<ReturnType<typeof probeDnsQuery>>> {
  return probeDnsQuery({
    server: LOOPBACK,
    port,
    name: 'example.test',
    type: 'A',
    timeoutMs: 300,
    attempts: 1,
    transport: 'fallback',
    ...extra,
  });
}

async function ipv6LoopbackWorks(): Promise<boolean> {
  const s = dgram.createSocket('udp6');
  const ok = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(0, '::1', () => resolve(true));
  });
  s.close();
  return ok;
}

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

describe('probeDnsQuery over UDP', () => {
  const table: { label: string; rcode: number; addresses: string[]; verdict: string; rcodeName: string }[] = [
    { label: 'answer', rcode: RCODE.NOERROR, addresses: ['203.0.113.10'], verdict: 'answer', rcodeName: 'NOERROR' },
    { label: 'no data', rcode: RCODE.NOERROR, addresses: [], verdict: 'nodata', rcodeName: 'NOERROR' },
    { label: 'NXDOMAIN', rcode: RCODE.NXDOMAIN, addresses: [], verdict: 'nxdomain', rcodeName: 'NXDOMAIN' },
    { label: 'REFUSED', rcode: RCODE.REFUSED, addresses: [], verdict: 'refused', rcodeName: 'REFUSED' },
    { label: 'SERVFAIL', rcode: RCODE.SERVFAIL, addresses: [], verdict: 'servfail', rcodeName: 'SERVFAIL' },
    { label: 'NOTIMP', rcode: 4, addresses: [], verdict: 'other-rcode', rcodeName: 'NOTIMP' },
  ];
  it.each(table)('maps $label', async ({ rcode, addresses, verdict, rcodeName }) => {
    const f = await fake(LOOPBACK, (q) => reply(q, { rcode, addresses }));
    const res = await ask(f.port);
    expect(res).toMatchObject({ verdict, rcode: rcodeName, addresses, transport: 'udp', truncatedOverUdp: false, detail: null });
  });

  it('falls back to TCP when the UDP answer is truncated', async () => {
    const f = await fake(
      LOOPBACK,
      (q) => reply(q, { truncated: true }),
      (q) => reply(q, { addresses: ['203.0.113.11', '203.0.113.12'] }),
    );
    const res = await ask(f.port);
    expect(res).toMatchObject({ verdict: 'answer', transport: 'tcp', truncatedOverUdp: true, addresses: ['203.0.113.11', '203.0.113.12'] });
    expect([f.udpQueries, f.tcpQueries]).toEqual([1, 1]);
  });

  it('reports a truncated answer whose TCP retry is refused as unreachable over TCP', async () => {
    const f = await fake(LOOPBACK, (q) => reply(q, { truncated: true }));
    const res = await ask(f.port);
    expect(res).toMatchObject({ verdict: 'unreachable', transport: 'tcp', truncatedOverUdp: true, detail: 'ECONNREFUSED' });
  });

  it('keeps waiting past a wrong id and takes the real answer', async () => {
    const f = await fake(LOOPBACK, (q) => [
      reply(q, { id: ((q.id ?? 0) + 1) & 0xffff, addresses: ['192.0.2.66'] }),
      reply(q, { addresses: ['192.0.2.1'] }),
    ]);
    expect(await ask(f.port)).toMatchObject({ verdict: 'answer', addresses: ['192.0.2.1'] });
  });

  it('ends as bad-response when the server only sends wrong ids', async () => {
    const f = await fake(LOOPBACK, (q) => reply(q, { id: ((q.id ?? 0) + 1) & 0xffff, addresses: ['192.0.2.66'] }));
    const res = await ask(f.port, { attempts: 2, timeoutMs: 150 });
    expect(res).toMatchObject({ verdict: 'bad-response', detail: 'wrong id', transport: 'udp' });
    expect(f.udpQueries).toBe(2);
  });

  it('ends as bad-response on a question that is not ours', async () => {
    const f = await fake(LOOPBACK, (q) => reply({ ...q, questions: [{ type: 'A', name: 'other.test', class: 'IN' }] }));
    expect(await ask(f.port)).toMatchObject({ verdict: 'bad-response', detail: 'question mismatch' });
  });

  it('ends as bad-response on garbage', async () => {
    const f = await fake(LOOPBACK, () => Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x81]));
    expect(await ask(f.port)).toMatchObject({ verdict: 'bad-response', detail: 'malformed' });
  });

  it('times out on a silent server after every attempt', async () => {
    const f = await fake(LOOPBACK, () => null);
    const res = await ask(f.port, { attempts: 3, timeoutMs: 100 });
    expect(res).toMatchObject({ verdict: 'timeout', rcode: null, transport: 'udp' });
    expect(res.detail).toContain('3 × 100 ms');
    expect(f.udpQueries).toBe(3);
    expect(res.elapsedMs).toBeGreaterThanOrEqual(290);
  });

  it('reports ECONNREFUSED from a port with no listener as unreachable, at once', async () => {
    const port = await closedUdpPort(LOOPBACK);
    const res = await ask(port, { attempts: 3, timeoutMs: 1000 });
    expect(res).toMatchObject({ verdict: 'unreachable', detail: 'ECONNREFUSED', transport: 'udp' });
    expect(res.elapsedMs).toBeLessThan(900);
  });

  it('refuses a nameserver that is not an IP address (it would need the host resolver)', async () => {
    await expect(ask(53, { server: 'dns.example' })).rejects.toThrow(/not an IP address/);
  });

  it('asks over IPv6 loopback', async (ctx) => {
    if (!(await ipv6LoopbackWorks())) ctx.skip();
    const f = await fake('::1', (q) => reply(q, { addresses: ['2001:db8::1'] }));
    expect(await ask(f.port, { server: '::1', type: 'AAAA' })).toMatchObject({ verdict: 'answer', addresses: ['2001:db8::1'] });
  });
});

describe('probeDnsQuery over TCP only', () => {
  it('asks over TCP and never touches UDP', async () => {
    const f = await fake(
      LOOPBACK,
      (q) => reply(q, { addresses: ['192.0.2.9'] }),
      (q) => reply(q, { rcode: RCODE.NXDOMAIN }),
    );
    const res = await ask(f.port, { transport: 'tcp' });
    expect(res).toMatchObject({ verdict: 'nxdomain', transport: 'tcp', truncatedOverUdp: false });
    expect([f.udpQueries, f.tcpQueries]).toEqual([0, 1]);
  });

  it('reports a wrong id over TCP as bad-response', async () => {
    const f = await fake(LOOPBACK, null, (q) => reply(q, { id: ((q.id ?? 0) + 7) & 0xffff }));
    expect(await ask(f.port, { transport: 'tcp' })).toMatchObject({ verdict: 'bad-response', detail: 'wrong id', transport: 'tcp' });
  });

  it('times out on a TCP server that accepts and says nothing', async () => {
    const f = await fake(LOOPBACK, null, () => null);
    expect(await ask(f.port, { transport: 'tcp', timeoutMs: 150, attempts: 2 })).toMatchObject({ verdict: 'timeout', transport: 'tcp' });
    expect(f.tcpQueries).toBe(2);
  });
});
