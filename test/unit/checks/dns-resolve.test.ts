import { afterEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/dns/resolve.js';
import type { DnsQueryRequest, DnsQueryResponse, DnsVerdict } from '../../../src/guest/probe-protocol.js';
import { HostContext } from '../../../src/host/host-context.js';
import type { HostDnsResult } from '../../../src/host/host-dns-query.js';
import { planQueries } from '../../../src/guest/dns-query-plan.js';
import { FakeTarget, fakeContext, type FakeCommand, type FakeProbe, type FakeScenario } from '../support/fake-target.js';

const made: FakeTarget[] = [];
afterEach(() => { while (made.length) made.pop()!.dispose(); });

const resp = (verdict: DnsVerdict, more: Partial<DnsQueryResponse> = {}): DnsQueryResponse => ({
  verdict, rcode: { answer: 'NOERROR', nodata: 'NOERROR', nxdomain: 'NXDOMAIN', refused: 'REFUSED', servfail: 'SERVFAIL' }[verdict as string] ?? null,
  addresses: verdict === 'answer' ? ['203.0.113.10'] : [], transport: 'udp', truncatedOverUdp: false, elapsedMs: 3, detail: null, ...more,
});
/** A nameserver that says `a` to A and `aaaa` (default: no data) to AAAA. */
const dnsProbe = (p: FakeProbe<'dns-query'>): FakeProbe => p as unknown as FakeProbe;
const server = (address: string, a: DnsQueryResponse, aaaa: DnsQueryResponse = a.verdict === 'answer' ? resp('nodata') : a): FakeProbe => dnsProbe({
  name: 'dns-query', match: (r: DnsQueryRequest) => r.server === address, response: (r: DnsQueryRequest) => (r.type === 'A' ? a : aaaa),
});
/** getent, bounded by the guest's own `timeout`. */
const getent = (result: FakeCommand['result']): FakeCommand => ({ argv: ['timeout', '-k', '0.1'], prefix: true, result });
const GETENT_OK = getent({ stdout: '203.0.113.10    STREAM example.test\n203.0.113.10    DGRAM  \n' });
const GETENT_NOT_FOUND = getent({ exitCode: 2 });

async function run(scenario: FakeScenario, options: Parameters<typeof fakeContext>[1] = {}, host?: HostContext) {
  const t = new FakeTarget(scenario);
  made.push(t);
  const outcome = await check.run(fakeContext(t, options, host));
  return { t, outcome, codes: outcome.findings.map((f) => f.code), bySeverity: (code: string) => outcome.findings.find((f) => f.code === code)?.severity };
}
const resolv = (text: string) => ({ '/etc/resolv.conf': text });

describe('dns.resolve', () => {
  it.each([
    ['answers', resp('answer'), 'pass', 'server-answers'],
    ['NXDOMAIN: the server works', resp('nxdomain'), 'pass', 'server-nxdomain'],
    ['no data: the server works', resp('nodata'), 'pass', 'server-nodata'],
    ['REFUSED', resp('refused'), 'fail', 'server-refused'],
    ['SERVFAIL', resp('servfail'), 'fail', 'server-servfail'],
    ['silent', resp('timeout', { detail: 'no answer after 2 × 400 ms' }), 'fail', 'server-timeout'],
    ['nothing listens', resp('unreachable', { detail: 'ECONNREFUSED' }), 'fail', 'server-unreachable'],
    ['wrong id', resp('bad-response', { detail: 'wrong id' }), 'fail', 'server-bad-response'],
    ['NOTIMP', resp('other-rcode', { rcode: 'NOTIMP' }), 'fail', 'server-other-rcode'],
  ] as const)('one server, %s → %s', async (_n, a, status, code) => {
    const { outcome, codes } = await run({ files: resolv('nameserver 203.0.113.53\n'), probes: [server('203.0.113.53', a)], commands: [a.verdict === 'answer' ? GETENT_OK : GETENT_NOT_FOUND] });
    expect(codes[0]).toBe(code);
    expect(outcome.status).toBe(status);
  });

  it('skips, pointing at dns.resolv-conf, when there is no nameserver', async () => {
    for (const files of [resolv(''), resolv('# nothing\n'), {}]) {
      const { outcome } = await run({ files });
      expect(outcome.status).toBe('skip');
      expect(outcome.summary).toContain('dns.resolv-conf');
    }
  });

  it('asks every nameserver, A and AAAA, from the guest, UDP with TCP fallback', async () => {
    const { t, codes } = await run({
      files: resolv('nameserver 203.0.113.53\nnameserver 2001:db8:53::53\nnameserver fe80::1%eth0\n'),
      probes: [server('203.0.113.53', resp('answer')), server('2001:db8:53::53', resp('answer')), server('fe80::1%eth0', resp('answer'))],
      commands: [GETENT_OK],
    });
    const asked = t.log.probes.map((p) => p.request as DnsQueryRequest);
    expect(asked.map((r) => `${r.server}/${r.type}`).sort()).toEqual(['2001:db8:53::53/A', '2001:db8:53::53/AAAA', '203.0.113.53/A', '203.0.113.53/AAAA', 'fe80::1%eth0/A', 'fe80::1%eth0/AAAA']);
    expect(asked.every((r) => r.transport === 'fallback' && r.name === 'example.test')).toBe(true);
    expect(codes.filter((c) => c === 'server-answers')).toHaveLength(3);
  });

  it('mentions an answer that only came over TCP', async () => {
    const { outcome } = await run({ files: resolv('nameserver 203.0.113.53\n'), probes: [server('203.0.113.53', resp('answer', { transport: 'tcp', truncatedOverUdp: true }))], commands: [GETENT_OK] });
    expect(outcome.findings[0]?.message).toContain('over TCP after a truncated UDP answer');
  });

  it('a dead first server is a warning when a later one answers', async () => {
    const { outcome, bySeverity } = await run({
      files: resolv('nameserver 203.0.113.99\nnameserver 203.0.113.53\n'),
      probes: [server('203.0.113.99', resp('timeout')), server('203.0.113.53', resp('answer'))], commands: [GETENT_OK],
    });
    expect(bySeverity('server-timeout')).toBe('warn');
    expect(outcome.status).toBe('warn');
    expect(outcome.fixes).toEqual([]);
  });

  it('a fourth server is asked but only informs (glibc never uses it)', async () => {
    const ns = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'];
    const { outcome, bySeverity } = await run({
      files: resolv(ns.map((n) => `nameserver ${n}\n`).join('')),
      probes: [...ns.slice(0, 3).map((n) => server(n, resp('answer'))), server('203.0.113.4', resp('refused'))], commands: [GETENT_OK],
    });
    expect(bySeverity('server-refused')).toBe('info');
    expect(outcome.status).toBe('pass');
  });

  it('honours resolv.conf timeout and attempts only up to --timeout', async () => {
    const { t, outcome } = await run({ files: resolv('nameserver 203.0.113.53\noptions timeout:30 attempts:4\n'), probes: [server('203.0.113.53', resp('timeout'))], commands: [GETENT_NOT_FOUND] }, { timeoutMs: 2000 });
    const r = t.log.probes[0]!.request as DnsQueryRequest;
    expect(r.attempts * r.timeoutMs).toBeLessThanOrEqual(2000 - 450);
    expect(r.attempts).toBe(4);
    expect(outcome.findings.find((f) => f.code === 'resolve-plan')?.evidence.wanted).toEqual({ timeoutMs: 30_000, attempts: 4 });
  });

  it('a short resolv.conf timeout is kept as is', () => {
    expect(planQueries({ timeout: 1, attempts: 1 }, 5000)).toMatchObject({ attemptMs: 1000, attempts: 1 });
    expect(planQueries({}, 1200)).toMatchObject({ attemptMs: 600, attempts: 2 });
    expect(planQueries({ attempts: 5 }, 300)).toMatchObject({ attempts: 2, attemptMs: 150 });
  });

  it('finishes within --timeout even when the probe hangs', async () => {
    const hang = dnsProbe({ name: 'dns-query', response: () => new Promise<never>(() => undefined) as never });
    const t0 = performance.now();
    const { codes, outcome } = await run({ files: resolv('nameserver 203.0.113.53\n'), probes: [hang], commands: [GETENT_NOT_FOUND] }, { timeoutMs: 600 });
    expect(performance.now() - t0).toBeLessThan(600);
    expect(codes[0]).toBe('server-timeout');
    expect(outcome.findings[0]?.message).toContain('no answer within');
  });

  it('uses TCP only with options use-vc', async () => {
    const { t } = await run({ files: resolv('nameserver 203.0.113.53\noptions use-vc\n'), probes: [server('203.0.113.53', resp('answer'))], commands: [GETENT_OK] });
    expect((t.log.probes[0]!.request as DnsQueryRequest).transport).toBe('tcp');
  });

  it('a probe that cannot start is an error, not a DNS verdict', async () => {
    const { outcome } = await run({ files: resolv('nameserver 203.0.113.53\n'), probes: [{ name: 'dns-query', response: resp('answer'), error: 'cannot start probe dns-query: nsenter: ENOENT' }], commands: [GETENT_OK] });
    expect(outcome.status).toBe('error');
    expect(outcome.summary).toContain('nsenter: ENOENT');
  });

  describe('glibc second opinion', () => {
    it('the server answers but getent fails: nsswitch.conf without dns', async () => {
      const { outcome, bySeverity } = await run({
        files: { ...resolv('nameserver 203.0.113.53\n'), '/etc/nsswitch.conf': 'passwd: files\nhosts:          files myhostname\n' },
        probes: [server('203.0.113.53', resp('answer'))], commands: [GETENT_NOT_FOUND], user: { uid: 1000, name: 'alice' },
      });
      expect(bySeverity('glibc-fails')).toBe('fail');
      expect(outcome.summary).toContain('the nameservers answer, but getent ahosts example.test fails in the guest (not found)');
      expect(outcome.summary).toContain('without dns');
      const fix = outcome.fixes.find((f) => f.id === 'dns.nsswitch-hosts-dns');
      expect(fix?.steps[0]).toMatchObject({ kind: 'manual', snippet: 'hosts:          files myhostname dns' });
    });

    it('runs getent as the desktop user', async () => {
      const { t } = await run({ files: resolv('nameserver 203.0.113.53\n'), probes: [server('203.0.113.53', resp('answer'))], commands: [GETENT_OK], user: { uid: 1000, gid: 1001 } });
      expect(t.log.exec[0]?.opts?.user).toMatchObject({ uid: 1000, gid: 1001 });
    });

    it('getent resolving from /etc/hosts while DNS is dead is reported, DNS still fails', async () => {
      const { outcome, bySeverity } = await run({ files: resolv('nameserver 203.0.113.53\n'), probes: [server('203.0.113.53', resp('timeout'))], commands: [GETENT_OK] });
      expect(outcome.status).toBe('fail');
      expect(bySeverity('glibc-resolves')).toBe('info');
      expect(outcome.findings.find((f) => f.code === 'glibc-resolves')?.message).toContain('not DNS');
    });

    it('no getent in the guest', async () => {
      const { codes } = await run({ files: resolv('nameserver 203.0.113.53\n'), probes: [server('203.0.113.53', resp('answer'))], commands: [getent({ exitCode: 127, notFound: true, stderr: "timeout: failed to run command 'getent': No such file or directory\n" })] });
      expect(codes).toContain('getent-missing');
    });

    it('no timeout in the guest: plain getent, bounded from outside', async () => {
      const { t, codes } = await run({
        files: resolv('nameserver 203.0.113.53\n'), probes: [server('203.0.113.53', resp('answer'))],
        commands: [getent({ exitCode: 127, notFound: true, stderr: "chroot: failed to run command 'timeout': No such file or directory\n" }), { argv: ['getent', 'ahosts', 'example.test'], result: { stdout: '203.0.113.10 STREAM example.test\n' } }],
      });
      expect(codes).toContain('glibc-resolves');
      expect(t.log.exec.map((e) => e.argv[0])).toEqual(['timeout', 'getent']);
    });

    it('getent killed by timeout counts as timed out', async () => {
      const { outcome } = await run({ files: resolv('nameserver 203.0.113.53\n'), probes: [server('203.0.113.53', resp('answer'))], commands: [getent({ exitCode: 124 })] });
      expect(outcome.findings.find((f) => f.code === 'glibc-fails')?.message).toContain('(timed out)');
    });
  });

  it('no server works: offers the host\'s nameservers and the container manager\'s setting', async () => {
    const { outcome } = await run({ kind: 'schroot', schroot: { chroot: 'loki', session: null }, files: resolv('nameserver 203.0.113.99\n'), probes: [server('203.0.113.99', resp('unreachable', { detail: 'ENETUNREACH' }))], commands: [GETENT_NOT_FOUND] });
    expect(outcome.findings[0]?.message).toBe('203.0.113.99: Network is unreachable');
    // The machine's own resolv.conf names a server that differs from the guest's.
    expect(outcome.fixes.map((f) => f.id)).toEqual(['dns.write-resolv-conf', 'dns.schroot-resolv-conf']);
  });

  describe('--compare-host', () => {
    const hostSays = (result: HostDnsResult) => {
      const host = new HostContext({ invokingEnv: {} });
      const calls: string[] = [];
      (host as { askHostNameservers: HostContext['askHostNameservers'] }).askHostNameservers = async (name) => { calls.push(name); return result; };
      return { host, calls };
    };
    const hostOk: HostDnsResult = { source: '/etc/resolv.conf', answers: [{ server: '192.0.2.53', response: resp('answer'), error: null }] };
    const hostDead: HostDnsResult = { source: '/etc/resolv.conf', answers: [{ server: '192.0.2.53', response: resp('timeout'), error: null }] };
    const broken = { files: resolv('nameserver 203.0.113.53\n'), probes: [server('203.0.113.53', resp('refused'))], commands: [GETENT_NOT_FOUND] };

    it('is off by default: the host is not asked', async () => {
      const { host, calls } = hostSays(hostOk);
      const { codes } = await run(broken, {}, host);
      expect(calls).toEqual([]);
      expect(codes.some((c) => c.startsWith('host-'))).toBe(false);
    });

    it('places the fault: the host resolves, the guest does not', async () => {
      const { host, calls } = hostSays(hostOk);
      const { outcome } = await run(broken, { compareHost: true }, host);
      expect(calls).toEqual(['example.test']);
      expect(outcome.findings.find((f) => f.code === 'host-resolves-guest-does-not')?.message).toContain('the host resolves example.test (192.0.2.53), the guest does not');
    });

    it('the host fails too: upstream', async () => {
      const { host } = hostSays(hostDead);
      const { codes } = await run(broken, { compareHost: true }, host);
      expect(codes).toContain('host-fails-too');
    });
  });
});
