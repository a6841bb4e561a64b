import { afterEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/dns/resolve.js';
import type { DnsQueryRequest, DnsQueryResponse, DnsVerdict } from '../../../src/core/probe-types.js';
import type { HostDnsResult } from '../../../src/core/host.js';
import { FakeHost, type FakeHostScenario } from '../support/fake-host.js';
import { planQueries } from '../../../src/checks/dns/dns-query-plan.js';
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

async function run(scenario: FakeScenario, options: Parameters<typeof fakeContext>[1] = {}, host: FakeHost | FakeHostScenario = {}) {
  const t = new FakeTarget(scenario);
  made.push(t);
  const outcome = await check.run(fakeContext(t, options, host instanceof FakeHost ? host : new FakeHost(host)));
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
    expect(bySeverity('server-fails-others-answer')).toBe('warn');
    expect(outcome.findings[0]?.message).toContain('203.0.113.99: connection timed out');
    expect(outcome.status).toBe('warn');
    expect(outcome.fixes).toEqual([]);
  });

  it('a fourth server is asked but only informs (glibc never uses it)', async () => {
    const ns = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'];
    const { outcome, bySeverity } = await run({
      files: resolv(ns.map((n) => `nameserver ${n}\n`).join('')),
      probes: [...ns.slice(0, 3).map((n) => server(n, resp('answer'))), server('203.0.113.4', resp('refused'))], commands: [GETENT_OK],
    });
    expect(bySeverity('server-unused-fails')).toBe('info');
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

  it('no server works: offers the host\'s nameservers, asked from the guest first, and the container manager\'s setting', async () => {
    const host = { files: { '/etc/resolv.conf': 'nameserver 192.0.2.53\n' } };
    const guest = { kind: 'schroot' as const, schroot: { chroot: 'loki', session: null }, files: resolv('nameserver 203.0.113.99\n'), commands: [GETENT_NOT_FOUND] };
    const dead = server('203.0.113.99', resp('unreachable', { detail: 'ENETUNREACH' }));
    const answered = await run({ ...guest, probes: [dead, server('192.0.2.53', resp('answer'))] }, {}, host);
    expect(answered.outcome.findings[0]?.message).toBe('203.0.113.99: Network is unreachable');
    expect(answered.outcome.fixes.map((f) => [f.id, f.safety])).toEqual([['dns.write-resolv-conf', 'safe'], ['dns.schroot-resolv-conf', 'manual']]);
    const silent = await run({ ...guest, probes: [dead, server('192.0.2.53', resp('timeout', { detail: 'no answer after 1 × 400 ms' }))] }, {}, host);
    const write = silent.outcome.fixes.find((f) => f.id === 'dns.write-resolv-conf');
    expect(write?.safety).toBe('manual');
    expect(write?.steps[0]?.description).toContain('got 192.0.2.53: timeout');
    // Nothing of this machine is read: a host without nameservers offers no write.
    const none = await run({ ...guest, probes: [dead] });
    expect(none.outcome.fixes).toEqual([]);
  });

  describe('systemd-resolved in the guest', () => {
    const STUB = 'nameserver 127.0.0.53\noptions edns0 trust-ad\n';
    const NSS = 'hosts:          files resolve [!UNAVAIL=return] dns\n';
    const udp = ' sl local rem st tx rx tr when retr uid timeout inode\n   0: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 991 0 4242 2 0 0\n';
    const files = { ...resolv(STUB), '/etc/nsswitch.conf': NSS, '/run/systemd/resolve/resolv.conf': '# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\n# No DNS servers known.\n' };
    const guestNs = 'net:[4026532100]';
    /** The leader (100) and resolved (120) in the guest's PID namespace; 7 is another system's resolved. */
    const host = (withOther: boolean, holder: number): FakeHostScenario => ({
      processes: [{ pid: 100, comm: 'systemd', netns: guestNs }, { pid: 120, comm: 'systemd-resolve', netns: guestNs }, ...(withOther ? [{ pid: 7, comm: 'systemd-resolve', netns: guestNs }] : [])],
      files: {
        '/proc/self/ns/pid': { symlink: 'pid:[1]' }, '/proc/100/ns/pid': { symlink: 'pid:[2]' }, '/proc/120/ns/pid': { symlink: 'pid:[2]' }, '/proc/7/ns/pid': { symlink: 'pid:[1]' },
        [`/proc/${holder}/fd/12`]: { symlink: 'socket:[4242]' }, [`/proc/${holder === 7 ? 120 : 7}/fd/3`]: { symlink: '/dev/null' },
      },
    });
    const target = (probes: FakeScenario['probes'], getentResult = GETENT_NOT_FOUND): FakeScenario => ({ kind: 'nspawn', pid: 100, sharesNetns: false, files, procNet: { udp }, probes, commands: [getentResult] });

    it('REFUSED from the guest\'s own resolved is explained by its missing upstream, not by "this client"', async () => {
      const { outcome, codes } = await run(target([server('127.0.0.53', resp('refused'))]), {}, host(false, 120));
      expect(codes[0]).toBe('stub-no-upstream');
      expect(outcome.summary).toBe('127.0.0.53 answered REFUSED for example.test: it is the guest\'s own systemd-resolved stub (pid 120), which has no upstream server (/run/systemd/resolve/resolv.conf says "# No DNS servers known.")');
      expect(JSON.stringify(outcome.findings)).not.toContain('this client');
    });

    it('Juno: another system answers on 127.0.0.53, but glibc asks the guest\'s own resolved, which has no upstream', async () => {
      const { outcome } = await run(target([server('127.0.0.53', resp('answer'))]), {}, host(true, 7));
      expect(outcome.status).toBe('fail');
      const glibc = outcome.findings.find((f) => f.code === 'glibc-fails');
      expect(glibc?.message).toContain('asks the guest\'s own systemd-resolved (pid 120) first, through nss-resolve, and it has no upstream server; [!UNAVAIL=return] ends the lookup there');
      expect(glibc?.evidence).toMatchObject({ deadEnd: true });
    });
  });

  describe('--compare-host', () => {
    const hostSays = (result: HostDnsResult) => {
      const host = new FakeHost({ hostDns: result });
      return { host, calls: host.log.dns };
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
