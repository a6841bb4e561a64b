import { describe, expect, it } from 'vitest';
import check from '../../../src/checks/dns/resolve.js';
import type { DnsQueryRequest, DnsQueryResponse, DnsVerdict } from '../../../src/core/probe-types.js';
import type { HostDnsResult } from '../../../src/core/host.js';
import type { FakeHostScenario } from '../support/fake-host.js';
import { planQueries } from '../../../src/checks/dns/dns-query-plan.js';
import type { FakeCommand, FakeProbe, FakeScenario } from '../support/fake-target.js';
import { checkTester, runCase, type CheckCase } from '../support/check-tester.js';

type Case = CheckCase<typeof check.findings, typeof check.fixDocs>;

const resp = (verdict: DnsVerdict, more: Partial<DnsQueryResponse> = {}): DnsQueryResponse => ({
  verdict,
  rcode:
    { answer: 'NOERROR', nodata: 'NOERROR', nxdomain: 'NXDOMAIN', refused: 'REFUSED', servfail: 'SERVFAIL' }[verdict as string] ?? null,
  addresses: verdict === 'answer' ? ['203.0.113.10'] : [],
  transport: 'udp',
  truncatedOverUdp: false,
  elapsedMs: 3,
  detail: null,
  ...more,
});
/** A nameserver that says `a` to A and `aaaa` (default: no data) to AAAA. */
const dnsProbe = (p: FakeProbe<'dns-query'>): FakeProbe => p as unknown as FakeProbe;
const server = (address: string, a: DnsQueryResponse, aaaa: DnsQueryResponse = a.verdict === 'answer' ? resp('nodata') : a): FakeProbe =>
  dnsProbe({
    name: 'dns-query',
    match: (r: DnsQueryRequest) => r.server === address,
    response: (r: DnsQueryRequest) => (r.type === 'A' ? a : aaaa),
  });
/** getent, bounded by the guest's own `timeout`. */
const getent = (result: FakeCommand['result']): FakeCommand => ({ argv: ['timeout', '-k', '0.1'], prefix: true, result });
const GETENT_OK = getent({ stdout: '203.0.113.10    STREAM example.test\n203.0.113.10    DGRAM  \n' });
const GETENT_NOT_FOUND = getent({ exitCode: 2 });
const resolv = (text: string) => ({ '/etc/resolv.conf': text });
const ONE = resolv('nameserver 203.0.113.53\n');
const asked = (w: { target: { log: { probes: { request: unknown }[] } } }) => w.target.log.probes.map((p) => p.request as DnsQueryRequest);
const finding = (o: { findings: { code: string; message: string; severity: string; evidence: Record<string, unknown> }[] }, code: string) =>
  o.findings.find((f) => f.code === code);

/** One server, one verdict: the code it comes to, and the status. */
const oneServer: Case[] = (
  [
    ['answers', resp('answer'), 'pass', 'server-answers', 'glibc-resolves'],
    ['NXDOMAIN: the server works', resp('nxdomain'), 'pass', 'server-nxdomain', 'glibc-fails-too'],
    ['no data: the server works', resp('nodata'), 'pass', 'server-nodata', 'glibc-fails-too'],
    ['REFUSED', resp('refused'), 'fail', 'server-refused', 'glibc-fails-too'],
    ['SERVFAIL', resp('servfail'), 'fail', 'server-servfail', 'glibc-fails-too'],
    ['silent', resp('timeout', { detail: 'no answer after 2 × 400 ms' }), 'fail', 'server-timeout', 'glibc-fails-too'],
    ['nothing listens', resp('unreachable', { detail: 'ECONNREFUSED' }), 'fail', 'server-unreachable', 'glibc-fails-too'],
    ['wrong id', resp('bad-response', { detail: 'wrong id' }), 'fail', 'server-bad-response', 'glibc-fails-too'],
    ['NOTIMP', resp('other-rcode', { rcode: 'NOTIMP' }), 'fail', 'server-other-rcode', 'glibc-fails-too'],
  ] as const
).map(([name, a, status, code, glibc]) => ({
  name: `one server, ${name} → ${status}`,
  target: { files: ONE, probes: [server('203.0.113.53', a)], commands: [a.verdict === 'answer' ? GETENT_OK : GETENT_NOT_FOUND] },
  status,
  codes: [code, glibc, 'resolve-plan'],
  assert: (o) => expect(o.findings[0]?.code).toBe(code),
}));

/** The guest's own systemd-resolved, as nspawn boots it. */
const STUB = 'nameserver 127.0.0.53\noptions edns0 trust-ad\n';
const NSS = 'hosts:          files resolve [!UNAVAIL=return] dns\n';
const udp =
  ' sl local rem st tx rx tr when retr uid timeout inode\n   0: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 991 0 4242 2 0 0\n';
const resolvedFiles = {
  ...resolv(STUB),
  '/etc/nsswitch.conf': NSS,
  '/run/systemd/resolve/resolv.conf':
    '# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\n# No DNS servers known.\n',
};
const guestNs = 'net:[4026532100]';
/** The leader (100) and resolved (120) in the guest's PID namespace; 7 is another system's resolved. */
const resolvedHost = (withOther: boolean, holder: number): FakeHostScenario => ({
  processes: [
    { pid: 100, comm: 'systemd', netns: guestNs },
    { pid: 120, comm: 'systemd-resolve', netns: guestNs },
    ...(withOther ? [{ pid: 7, comm: 'systemd-resolve', netns: guestNs }] : []),
  ],
  files: {
    '/proc/self/ns/pid': { symlink: 'pid:[1]' },
    '/proc/100/ns/pid': { symlink: 'pid:[2]' },
    '/proc/120/ns/pid': { symlink: 'pid:[2]' },
    '/proc/7/ns/pid': { symlink: 'pid:[1]' },
    [`/proc/${holder}/fd/12`]: { symlink: 'socket:[4242]' },
    [`/proc/${holder === 7 ? 120 : 7}/fd/3`]: { symlink: '/dev/null' },
  },
});
const resolvedGuest = (probes: FakeScenario['probes']): FakeScenario => ({
  kind: 'nspawn',
  pid: 100,
  sharesNetns: false,
  files: resolvedFiles,
  procNet: { udp },
  probes,
  commands: [GETENT_NOT_FOUND],
});

/** --compare-host: what the host's own lookup said. */
const hostOk: HostDnsResult = { source: '/etc/resolv.conf', answers: [{ server: '192.0.2.53', response: resp('answer'), error: null }] };
const hostDead: HostDnsResult = { source: '/etc/resolv.conf', answers: [{ server: '192.0.2.53', response: resp('timeout'), error: null }] };
const broken: FakeScenario = { files: ONE, probes: [server('203.0.113.53', resp('refused'))], commands: [GETENT_NOT_FOUND] };
const working: FakeScenario = { files: ONE, probes: [server('203.0.113.53', resp('answer'))], commands: [GETENT_OK] };

/** No server works: the host's nameservers, asked from the guest first. */
const HOST_NS: FakeHostScenario = { files: { '/etc/resolv.conf': 'nameserver 192.0.2.53\n' } };
const dead = server('203.0.113.99', resp('unreachable', { detail: 'ENETUNREACH' }));
const schrootGuest = (probes: FakeProbe[]): FakeScenario => ({
  kind: 'schroot',
  schroot: { chroot: 'loki', session: null },
  files: resolv('nameserver 203.0.113.99\n'),
  commands: [GETENT_NOT_FOUND],
  probes,
});

const cases: Case[] = [
  ...oneServer,
  ...[
    ['empty', resolv('')],
    ['comments only', resolv('# nothing\n')],
    ['missing', {}],
  ].map(([name, files]) => ({
    name: `skips, pointing at dns.resolv-conf, when there is no nameserver (${name as string})`,
    target: { files: files as Record<string, string> },
    status: 'skip' as const,
    codes: [],
    summary: /dns\.resolv-conf/,
  })),
  {
    name: 'asks every nameserver, A and AAAA, from the guest, UDP with TCP fallback',
    target: {
      files: resolv('nameserver 203.0.113.53\nnameserver 2001:db8:53::53\nnameserver fe80::1%eth0\n'),
      probes: [server('203.0.113.53', resp('answer')), server('2001:db8:53::53', resp('answer')), server('fe80::1%eth0', resp('answer'))],
      commands: [GETENT_OK],
    },
    status: 'pass',
    codes: ['server-answers', 'glibc-resolves', 'resolve-plan'],
    assert: (o, w) => {
      expect(
        asked(w)
          .map((r) => `${r.server}/${r.type}`)
          .sort(),
      ).toEqual([
        '2001:db8:53::53/A',
        '2001:db8:53::53/AAAA',
        '203.0.113.53/A',
        '203.0.113.53/AAAA',
        'fe80::1%eth0/A',
        'fe80::1%eth0/AAAA',
      ]);
      expect(asked(w).every((r) => r.transport === 'fallback' && r.name === 'example.test')).toBe(true);
      expect(o.findings.filter((f) => f.code === 'server-answers')).toHaveLength(3);
    },
  },
  {
    name: 'mentions an answer that only came over TCP',
    target: {
      files: ONE,
      probes: [server('203.0.113.53', resp('answer', { transport: 'tcp', truncatedOverUdp: true }))],
      commands: [GETENT_OK],
    },
    status: 'pass',
    codes: ['server-answers', 'glibc-resolves', 'resolve-plan'],
    assert: (o) => expect(o.findings[0]?.message).toContain('over TCP after a truncated UDP answer'),
  },
  {
    name: 'a dead first server is a warning when a later one answers',
    target: {
      files: resolv('nameserver 203.0.113.99\nnameserver 203.0.113.53\n'),
      probes: [server('203.0.113.99', resp('timeout')), server('203.0.113.53', resp('answer'))],
      commands: [GETENT_OK],
    },
    status: 'warn',
    codes: ['server-fails-others-answer', 'server-answers', 'glibc-resolves', 'resolve-plan'],
    fixes: [],
    assert: (o) => expect(o.findings[0]?.message).toContain('203.0.113.99: connection timed out'),
  },
  {
    name: 'a fourth server is asked but only informs (glibc never uses it)',
    target: {
      files: resolv(['1', '2', '3', '4'].map((n) => `nameserver 203.0.113.${n}\n`).join('')),
      probes: [...['1', '2', '3'].map((n) => server(`203.0.113.${n}`, resp('answer'))), server('203.0.113.4', resp('refused'))],
      commands: [GETENT_OK],
    },
    status: 'pass',
    codes: ['server-answers', 'server-unused-fails', 'glibc-resolves', 'resolve-plan'],
  },
  {
    name: 'honours resolv.conf timeout and attempts only up to --timeout',
    target: {
      files: resolv('nameserver 203.0.113.53\noptions timeout:30 attempts:4\n'),
      probes: [server('203.0.113.53', resp('timeout'))],
      commands: [GETENT_NOT_FOUND],
    },
    options: { timeoutMs: 2000 },
    status: 'fail',
    codes: ['server-timeout', 'glibc-fails-too', 'resolve-plan'],
    assert: (o, w) => {
      const r = asked(w)[0]!;
      expect(r.attempts * r.timeoutMs).toBeLessThanOrEqual(2000 - 450);
      expect(r.attempts).toBe(4);
      expect(finding(o, 'resolve-plan')?.evidence.wanted).toEqual({ timeoutMs: 30_000, attempts: 4 });
    },
  },
  {
    name: 'uses TCP only with options use-vc',
    target: {
      files: resolv('nameserver 203.0.113.53\noptions use-vc\n'),
      probes: [server('203.0.113.53', resp('answer'))],
      commands: [GETENT_OK],
    },
    status: 'pass',
    codes: ['server-answers', 'glibc-resolves', 'resolve-plan'],
    assert: (_o, w) => expect(asked(w)[0]!.transport).toBe('tcp'),
  },
  {
    name: 'a probe that cannot start is an error, not a DNS verdict',
    target: {
      files: ONE,
      probes: [{ name: 'dns-query', response: resp('answer'), error: 'cannot start probe dns-query: nsenter: ENOENT' }],
      commands: [GETENT_OK],
    },
    status: 'error',
    codes: ['check-could-not-run'],
    summary: /nsenter: ENOENT/,
  },
  // glibc's second opinion.
  {
    name: 'glibc: the server answers but getent fails: nsswitch.conf without dns',
    target: {
      files: { ...ONE, '/etc/nsswitch.conf': 'passwd: files\nhosts:          files myhostname\n' },
      probes: [server('203.0.113.53', resp('answer'))],
      commands: [GETENT_NOT_FOUND],
      user: { uid: 1000, name: 'alice' },
    },
    status: 'fail',
    codes: ['server-answers', 'glibc-fails', 'resolve-plan'],
    fixes: ['dns.nsswitch-hosts-dns'],
    summary: /^the nameservers answer, but getent ahosts example\.test fails in the guest \(not found\).*without dns/,
    assert: (o) => {
      expect(finding(o, 'glibc-fails')?.severity).toBe('fail');
      expect(o.fixes.find((f) => f.id === 'dns.nsswitch-hosts-dns')?.steps[0]).toMatchObject({
        kind: 'manual',
        snippet: 'hosts:          files myhostname dns',
      });
    },
  },
  {
    name: 'glibc: runs getent as the desktop user',
    target: { ...working, user: { uid: 1000, gid: 1001 } },
    status: 'pass',
    codes: ['server-answers', 'glibc-resolves', 'resolve-plan'],
    assert: (_o, w) => expect(w.target.log.exec[0]?.opts?.user).toMatchObject({ uid: 1000, gid: 1001 }),
  },
  {
    name: 'glibc: getent resolving from /etc/hosts while DNS is dead is reported, DNS still fails',
    target: { files: ONE, probes: [server('203.0.113.53', resp('timeout'))], commands: [GETENT_OK] },
    status: 'fail',
    codes: ['server-timeout', 'glibc-resolves', 'resolve-plan'],
    assert: (o) => expect(finding(o, 'glibc-resolves')?.message).toContain('not DNS'),
  },
  {
    name: 'glibc: no getent in the guest',
    target: {
      files: ONE,
      probes: [server('203.0.113.53', resp('answer'))],
      commands: [getent({ exitCode: 127, notFound: true, stderr: "timeout: failed to run command 'getent': No such file or directory\n" })],
    },
    status: 'pass',
    codes: ['server-answers', 'getent-missing', 'resolve-plan'],
  },
  {
    name: 'glibc: no timeout in the guest: plain getent, bounded from outside',
    target: {
      files: ONE,
      probes: [server('203.0.113.53', resp('answer'))],
      commands: [
        getent({ exitCode: 127, notFound: true, stderr: "chroot: failed to run command 'timeout': No such file or directory\n" }),
        { argv: ['getent', 'ahosts', 'example.test'], result: { stdout: '203.0.113.10 STREAM example.test\n' } },
      ],
    },
    status: 'pass',
    codes: ['server-answers', 'glibc-resolves', 'resolve-plan'],
    assert: (_o, w) => expect(w.target.log.exec.map((e) => e.argv[0])).toEqual(['timeout', 'getent']),
  },
  {
    name: 'glibc: getent killed by timeout counts as timed out',
    target: { files: ONE, probes: [server('203.0.113.53', resp('answer'))], commands: [getent({ exitCode: 124 })] },
    status: 'fail',
    codes: ['server-answers', 'glibc-fails', 'resolve-plan'],
    assert: (o) => expect(finding(o, 'glibc-fails')?.message).toContain('(timed out)'),
  },
  // No server works.
  {
    name: "no server works, the host's server answered from the guest: a safe write, and the schroot setting",
    target: schrootGuest([dead, server('192.0.2.53', resp('answer'))]),
    host: HOST_NS,
    status: 'fail',
    codes: ['server-unreachable', 'glibc-fails-too', 'resolve-plan'],
    fixes: ['dns.write-resolv-conf', 'dns.schroot-resolv-conf'],
    assert: (o) => {
      expect(o.findings[0]?.message).toBe('203.0.113.99: Network is unreachable');
      expect(o.fixes.map((f) => [f.id, f.safety])).toEqual([
        ['dns.write-resolv-conf', 'safe'],
        ['dns.schroot-resolv-conf', 'manual'],
      ]);
    },
  },
  {
    name: "no server works, the host's server is silent from the guest: the write is manual",
    target: schrootGuest([dead, server('192.0.2.53', resp('timeout', { detail: 'no answer after 1 × 400 ms' }))]),
    host: HOST_NS,
    status: 'fail',
    codes: ['server-unreachable', 'glibc-fails-too', 'resolve-plan'],
    fixes: ['dns.write-resolv-conf', 'dns.schroot-resolv-conf'],
    assert: (o) => {
      const write = o.fixes.find((f) => f.id === 'dns.write-resolv-conf');
      expect(write?.safety).toBe('manual');
      expect(write?.steps[0]?.description).toContain('got 192.0.2.53: timeout');
    },
  },
  {
    name: 'no server works, a host without nameservers: nothing of this machine is read, no write offered',
    target: schrootGuest([dead]),
    status: 'fail',
    codes: ['server-unreachable', 'glibc-fails-too', 'resolve-plan'],
    fixes: [],
  },
  {
    name: 'no server works in a plain chroot: the write and cp -L',
    target: {
      files: resolv('nameserver 203.0.113.99\n'),
      commands: [GETENT_NOT_FOUND],
      probes: [dead, server('192.0.2.53', resp('answer'))],
    },
    host: HOST_NS,
    status: 'fail',
    codes: ['server-unreachable', 'glibc-fails-too', 'resolve-plan'],
    fixes: ['dns.write-resolv-conf', 'dns.chroot-resolv-conf'],
  },
  {
    name: 'no server works in nspawn: the write and the uplink setting',
    target: {
      kind: 'nspawn',
      nspawn: { machine: 'box', nspawnPid: 1, argv: [] },
      files: resolv('nameserver 203.0.113.99\n'),
      commands: [GETENT_NOT_FOUND],
      probes: [dead, server('192.0.2.53', resp('answer'))],
    },
    host: HOST_NS,
    status: 'fail',
    codes: ['server-unreachable', 'glibc-fails-too', 'resolve-plan'],
    fixes: ['dns.write-resolv-conf', 'dns.nspawn-resolv-conf-uplink'],
  },
  // systemd-resolved in the guest.
  {
    name: 'resolved: REFUSED from the guest\'s own resolved is explained by its missing upstream, not by "this client"',
    target: resolvedGuest([server('127.0.0.53', resp('refused'))]),
    host: resolvedHost(false, 120),
    status: 'fail',
    codes: ['stub-no-upstream', 'glibc-fails-too', 'resolve-plan'],
    summary:
      '127.0.0.53 answered REFUSED for example.test: it is the guest\'s own systemd-resolved stub (pid 120), which has no upstream server (/run/systemd/resolve/resolv.conf says "# No DNS servers known.")',
    assert: (o) => {
      expect(o.findings[0]?.code).toBe('stub-no-upstream');
      expect(JSON.stringify(o.findings)).not.toContain('this client');
    },
  },
  {
    name: "resolved: Juno: another system answers on 127.0.0.53, but glibc asks the guest's own resolved, which has no upstream",
    target: resolvedGuest([server('127.0.0.53', resp('answer'))]),
    host: resolvedHost(true, 7),
    status: 'fail',
    codes: ['server-answers', 'glibc-fails', 'resolve-plan'],
    assert: (o) => {
      const glibc = finding(o, 'glibc-fails');
      expect(glibc?.message).toContain(
        "asks the guest's own systemd-resolved (pid 120) first, through nss-resolve, and it has no upstream server; [!UNAVAIL=return] ends the lookup there",
      );
      expect(glibc?.evidence).toMatchObject({ deadEnd: true });
    },
  },
  // --compare-host.
  {
    name: '--compare-host is off by default: the host is not asked',
    target: broken,
    host: { hostDns: hostOk },
    status: 'fail',
    codes: ['server-refused', 'glibc-fails-too', 'resolve-plan'],
    assert: (_o, w) => expect(w.host.log.dns).toEqual([]),
  },
  {
    name: '--compare-host places the fault: the host resolves, the guest does not',
    target: broken,
    host: { hostDns: hostOk },
    options: { compareHost: true },
    status: 'fail',
    codes: ['server-refused', 'glibc-fails-too', 'host-resolves-guest-does-not', 'resolve-plan'],
    assert: (o, w) => {
      expect(w.host.log.dns).toEqual(['example.test']);
      expect(finding(o, 'host-resolves-guest-does-not')?.message).toContain(
        'the host resolves example.test (192.0.2.53), the guest does not',
      );
    },
  },
  {
    name: '--compare-host: the host fails too: upstream',
    target: broken,
    host: { hostDns: hostDead },
    options: { compareHost: true },
    status: 'fail',
    codes: ['server-refused', 'glibc-fails-too', 'host-fails-too', 'resolve-plan'],
  },
  {
    name: '--compare-host: both resolve',
    target: working,
    host: { hostDns: hostOk },
    options: { compareHost: true },
    status: 'pass',
    codes: ['server-answers', 'glibc-resolves', 'host-compared', 'resolve-plan'],
  },
  {
    name: '--compare-host: the host lists no nameserver',
    target: broken,
    host: { hostDns: { source: '/etc/resolv.conf', answers: [] } },
    options: { compareHost: true },
    status: 'fail',
    codes: ['server-refused', 'glibc-fails-too', 'host-compare-unavailable', 'resolve-plan'],
  },
];

checkTester(check, cases);

describe('dns.resolve beside the table', () => {
  it('the cases cover every declared code and fix id', () => {
    expect(new Set(cases.flatMap((c) => c.codes))).toEqual(new Set([...Object.keys(check.findings), 'check-could-not-run']));
    expect(new Set(cases.flatMap((c) => c.fixes ?? []))).toEqual(new Set(Object.keys(check.fixDocs)));
  });

  it('finishes within --timeout even when the probe hangs', async () => {
    const hang = dnsProbe({ name: 'dns-query', response: () => new Promise<never>(() => undefined) as never });
    const t0 = performance.now();
    await runCase(check, {
      name: 'hang',
      target: { files: ONE, probes: [hang], commands: [GETENT_NOT_FOUND] },
      options: { timeoutMs: 600 },
      status: 'fail',
      codes: ['server-timeout', 'glibc-fails-too', 'resolve-plan'],
      assert: (o) => {
        expect(o.findings[0]?.code).toBe('server-timeout');
        expect(o.findings[0]?.message).toContain('no answer within');
      },
    });
    expect(performance.now() - t0).toBeLessThan(600);
  });

  it('a short resolv.conf timeout is kept as is', () => {
    expect(planQueries({ timeout: 1, attempts: 1 }, 5000)).toMatchObject({ attemptMs: 1000, attempts: 1 });
    expect(planQueries({}, 1200)).toMatchObject({ attemptMs: 600, attempts: 2 });
    expect(planQueries({ attempts: 5 }, 300)).toMatchObject({ attempts: 2, attemptMs: 150 });
  });
});
