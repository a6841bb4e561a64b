import { describe, expect, it } from 'vitest';
import check from '../../../src/checks/dns/stub.js';
import type { CheckOutcome, ExecStep, SymlinkStep } from '../../../src/core/types.js';
import type { DnsQueryResponse, DnsVerdict } from '../../../src/core/probe-types.js';
import type { HostProcess } from '../../../src/core/host.js';
import type { MountEntry } from '../../../src/parse/mountinfo.js';
import type { GuestProcess } from '../../../src/core/target.js';
import type { FakeProbe, FakeScenario } from '../support/fake-target.js';
import type { FakeHostFile, FakeHostScenario } from '../support/fake-host.js';
import { checkTester, type CheckCase } from '../support/check-tester.js';

type Case = CheckCase<typeof check.findings, typeof check.fixDocs>;

const GUEST_NS = 'net:[4026532001]';
const HOST_NS = 'net:[4026531840]';
const hostProc = (pid: number, comm: string, netns: string): HostProcess => ({
  pid,
  ppid: 1,
  uid: 0,
  comm,
  cmdline: [comm],
  rootId: null,
  rootLink: '/',
  netns,
  mntns: null,
  cwdLink: '/',
  startTime: 0,
});
const guestProc = (pid: number, comm: string): GuestProcess => ({ pid, ppid: 1, uid: 0, comm, cmdline: [comm] });

/** A host whose processes are `procs`, running ctr-doctor in HOST_NS, with these /proc links (PID namespaces, descriptors). */
const hostWith = (procs: HostProcess[], files: Record<string, FakeHostFile> = {}): FakeHostScenario => ({
  processes: procs,
  ownNetns: HOST_NS,
  files,
});

const resp = (verdict: DnsVerdict, detail: string | null = null): DnsQueryResponse => ({
  verdict,
  rcode: verdict === 'servfail' ? 'SERVFAIL' : verdict === 'answer' ? 'NOERROR' : null,
  addresses: verdict === 'answer' ? ['203.0.113.10'] : [],
  transport: 'udp',
  truncatedOverUdp: false,
  elapsedMs: 2,
  detail,
});
const stubSays = (r: DnsQueryResponse): FakeProbe =>
  ({ name: 'dns-query', match: (q: { server: string }) => q.server === '127.0.0.53', response: r }) as FakeProbe;
const UDP_NOTHING = {
  udp: '   sl  local_address rem_address   st\n   0: 0100007F:0277 00000000:0000 07\n',
  udp6: '   sl  local_address rem_address   st\n',
};
const STUB = 'nameserver 127.0.0.53\noptions edns0 trust-ad\n';
const bindMount: MountEntry = {
  id: 9,
  parentId: 1,
  major: 0,
  minor: 25,
  root: '/systemd/resolve/stub-resolv.conf',
  mountPoint: '/etc/resolv.conf',
  mountOptions: ['ro'],
  optionalFields: [],
  shared: null,
  master: null,
  propagateFrom: null,
  unbindable: false,
  fsType: 'tmpfs',
  source: 'tmpfs',
  superOptions: [],
};

/** The guest as the host sees it: its leader is pid 100, in a network namespace of its own unless a case says otherwise. */
const guest = (scenario: FakeScenario): FakeScenario => ({ pid: 100, sharesNetns: false, ...scenario });
const fixOf = (o: CheckOutcome, id: string) => o.fixes.find((f) => f.id === id);
const by = (o: CheckOutcome, code: string) => o.findings.find((f) => f.code === code)!;

const nspawn = { machine: 'juno', nspawnPid: 99, argv: ['systemd-nspawn', '-b', '-D', '/srv/juno'] };

/** Situation 2 (Juno): the guest (leader 100, its resolved 120, PID namespace 2) shares HOST_NS with another system (pid 1 namespace, resolved 7). */
const JUNO_UDP =
  ' sl local rem st tx rx tr when retr uid timeout inode\n   0: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 991 0 4242 2 0 0\n';
const pidns: Record<string, FakeHostFile> = {
  '/proc/self/ns/pid': { symlink: 'pid:[1]' },
  '/proc/100/ns/pid': { symlink: 'pid:[2]' },
  '/proc/120/ns/pid': { symlink: 'pid:[2]' },
  '/proc/7/ns/pid': { symlink: 'pid:[1]' },
  '/proc/8/ns/pid': { symlink: 'pid:[1]' },
};
const held = (pid: number): Record<string, FakeHostFile> => ({ ...pidns, [`/proc/${pid}/fd/11`]: { symlink: 'socket:[4242]' } });
const juno: FakeScenario = guest({
  kind: 'nspawn',
  nspawn,
  files: {
    '/etc/resolv.conf': { symlink: '../run/systemd/resolve/stub-resolv.conf' },
    '/run/systemd/resolve/stub-resolv.conf': STUB,
    '/run/systemd/resolve/resolv.conf': '# No DNS servers known.\n',
    '/etc/nsswitch.conf': 'hosts: files resolve [!UNAVAIL=return] dns\n',
  },
  // A booted guest's sandboxed resolved is not under the leader's root as the host sees it: not listed here.
  processes: [guestProc(100, 'systemd')],
  probes: [stubSays(resp('answer'))],
  procNet: { udp: JUNO_UDP },
});
const junoHost = [
  hostProc(100, 'systemd', HOST_NS),
  hostProc(120, 'systemd-resolve', HOST_NS),
  hostProc(7, 'systemd-resolve', HOST_NS),
  hostProc(8, 'systemd-resolve', 'net:[4026539999]'),
];
const plainStub = (probe: FakeProbe, procNet: FakeScenario['procNet'] = UDP_NOTHING): FakeScenario =>
  guest({ files: { '/etc/resolv.conf': STUB }, probes: [probe], procNet });
const alone = hostWith([hostProc(100, 'sleep', GUEST_NS)]);

const cases: Case[] = [
  // Situation 1 (Loki): resolvconf wrote an empty file.
  {
    name: "Loki, booted nspawn guest: enable resolved and networkd, link resolved's list",
    target: guest({
      kind: 'nspawn',
      nspawn,
      files: {
        '/etc/resolv.conf': { symlink: '../run/resolvconf/resolv.conf' },
        '/run/resolvconf/resolv.conf': '',
        '/sbin/resolvconf': '#!/bin/sh\n',
        '/lib/systemd/systemd-resolved': 'ELF',
      },
      processes: [guestProc(100, 'systemd')],
    }),
    host: hostWith([hostProc(100, 'systemd', GUEST_NS)]),
    status: 'fail',
    codes: ['resolvconf-empty'],
    fixes: ['dns.enable-guest-resolved'],
    assert: (o) => {
      const f = fixOf(o, 'dns.enable-guest-resolved')!;
      expect(f.safety).toBe('unsafe');
      const exec = f.steps[0] as ExecStep;
      expect(exec).toMatchObject({
        kind: 'exec',
        where: 'guest',
        argv: ['systemctl', 'enable', '--now', 'systemd-networkd', 'systemd-resolved'],
      });
      expect(exec.unless?.[0]).toBe('sh');
      expect(f.steps[1] as SymlinkStep).toMatchObject({
        kind: 'symlink',
        where: 'guest',
        path: '/etc/resolv.conf',
        target: '/run/systemd/resolve/resolv.conf',
      });
    },
  },
  {
    name: 'Loki, resolved not installed: the same plan, but manual, starting with the install',
    target: guest({
      kind: 'nspawn',
      nspawn,
      files: { '/etc/resolv.conf': '# Generated by resolvconf\n' },
      processes: [guestProc(100, 'systemd')],
    }),
    host: hostWith([hostProc(100, 'systemd', GUEST_NS)]),
    status: 'fail',
    codes: ['resolvconf-empty'],
    fixes: ['dns.enable-guest-resolved'],
    assert: (o) =>
      expect(fixOf(o, 'dns.enable-guest-resolved')).toMatchObject({
        safety: 'manual',
        steps: [
          { kind: 'manual', snippet: 'apt-get install systemd-resolved' },
          {},
          {},
          { argv: ['/lib/systemd/systemd-networkd-wait-online', '--any', '--timeout=20'] },
        ],
      }),
  },
  {
    name: "Loki, shared namespace with another system's resolved: its stub, never a second resolved",
    target: guest({
      kind: 'nspawn',
      nspawn,
      files: { '/etc/resolv.conf': '', '/sbin/resolvconf': 'x' },
      processes: [guestProc(100, 'systemd')],
    }),
    host: hostWith([hostProc(100, 'systemd', HOST_NS), hostProc(7, 'systemd-resolve', HOST_NS)]),
    status: 'fail',
    codes: ['resolved-processes', 'resolvconf-empty'],
    fixes: ['dns.use-host-stub'],
    assert: (o) =>
      expect(fixOf(o, 'dns.use-host-stub')).toMatchObject({
        safety: 'manual',
        steps: [{ kind: 'manual', snippet: 'nameserver 127.0.0.53\noptions edns0 trust-ad\n' }],
      }),
  },
  {
    name: 'an empty file without resolvconf is left to dns.resolv-conf',
    target: guest({ files: { '/etc/resolv.conf': '' } }),
    host: alone,
    status: 'pass',
    codes: ['no-stub'],
    assert: (o) => expect(o.findings.map((f) => f.code)).toEqual(['no-stub']),
  },
  // Situation 2 (Juno): two systems with resolved in one network namespace.
  {
    name: 'Juno, the later guest: the other system holds 127.0.0.53, its own resolved has no upstream and glibc asks it',
    target: juno,
    host: hostWith(junoHost, held(7)),
    status: 'fail',
    codes: ['resolved-processes', 'stub-owned-elsewhere', 'resolved-stub-off', 'resolved-no-upstream', 'nsswitch-hosts', 'stub-answers'],
    fixes: ['dns.disable-guest-resolved', 'net.nspawn-network-veth'],
    assert: (o) => {
      expect(o.findings.map((f) => f.code)).toEqual([
        'resolved-processes',
        'stub-owned-elsewhere',
        'resolved-stub-off',
        'resolved-no-upstream',
        'nsswitch-hosts',
        'stub-answers',
      ]);
      // Its own resolved is the guest's by PID namespace, though it has a mount namespace of its own.
      expect(by(o, 'resolved-processes').message).toBe(
        "systemd-resolved runs in the guest (pid 120) and in another system sharing its network namespace (pid 7; outside the guest's PID namespace)",
      );
      expect(by(o, 'stub-owned-elsewhere').message).toBe(
        "127.0.0.53 in the guest's network namespace is served by another system's systemd-resolved (pid 7), not by the guest's own (pid 120)",
      );
      expect(by(o, 'resolved-no-upstream').message).toContain(
        'has no upstream DNS server (/run/systemd/resolve/resolv.conf says "# No DNS servers known."), and glibc asks it: files (/etc/hosts), then resolve (the guest\'s own systemd-resolved, pid 120, through nss-resolve, which has no upstream server; [!UNAVAIL=return] ends the lookup there), then dns',
      );
      const f = fixOf(o, 'dns.disable-guest-resolved')!;
      expect(f.safety).toBe('safe');
      expect(f.steps[0]).toMatchObject({ kind: 'exec', where: 'guest', argv: ['systemctl', 'disable', '--now', 'systemd-resolved'] });
      // The stub link would dangle at the next boot: a file naming 127.0.0.53, which answered, and a word on who manages the link.
      expect(f.steps[1]).toMatchObject({ kind: 'write', where: 'guest', path: '/etc/resolv.conf' });
      expect(f.steps[1]?.description).toContain('a link the systemd-resolved package manages');
    },
  },
  {
    name: 'Juno, 127.0.0.53 not answering: the disable fix writes nothing unverified and is manual',
    target: { ...juno, probes: [stubSays(resp('timeout', 'no answer'))] },
    host: hostWith(junoHost, held(7)),
    status: 'fail',
    codes: ['resolved-processes', 'stub-owned-elsewhere', 'resolved-stub-off', 'resolved-no-upstream', 'nsswitch-hosts', 'stub-silent'],
    fixes: ['dns.disable-guest-resolved', 'net.nspawn-network-veth'],
    assert: (o) => {
      const f = fixOf(o, 'dns.disable-guest-resolved')!;
      expect(f.safety).toBe('manual');
      expect(f.steps[1]).toMatchObject({ kind: 'manual' });
    },
  },
  {
    name: 'Juno: a resolved in another namespace does not count',
    target: { ...juno, files: { ...juno.files, '/run/systemd/resolve/resolv.conf': 'nameserver 203.0.113.53\n' } },
    host: hostWith(
      [hostProc(100, 'systemd', HOST_NS), hostProc(120, 'systemd-resolve', HOST_NS), hostProc(8, 'systemd-resolve', 'net:[4026539999]')],
      held(120),
    ),
    status: 'pass',
    codes: ['resolved-processes', 'nsswitch-hosts', 'stub-answers'],
    assert: (o) => expect(o.findings.map((f) => f.code)).toEqual(['resolved-processes', 'nsswitch-hosts', 'stub-answers']),
  },
  {
    name: 'Juno in a chroot with its own resolved process: manual kill plus disable',
    target: {
      ...juno,
      kind: 'chroot',
      nspawn: undefined,
      pid: 100,
      processes: [guestProc(100, 'bash'), guestProc(120, 'systemd-resolve')],
    },
    host: hostWith(junoHost, { ...held(7), '/proc/100/ns/pid': { symlink: 'pid:[1]' } }),
    status: 'fail',
    codes: ['resolved-processes', 'stub-owned-elsewhere', 'resolved-stub-off', 'resolved-no-upstream', 'nsswitch-hosts', 'stub-answers'],
    fixes: ['dns.disable-guest-resolved'],
    assert: (o) => {
      const f = fixOf(o, 'dns.disable-guest-resolved')!;
      expect(f.safety).toBe('manual');
      expect(f.steps[0]).toMatchObject({ kind: 'manual', snippet: 'kill 120' });
    },
  },
  {
    name: "a shared namespace whose only resolved is another system's: its stub serves the guest",
    target: guest({ files: { '/etc/resolv.conf': STUB }, probes: [stubSays(resp('answer'))], procNet: { udp: JUNO_UDP } }),
    host: hostWith([hostProc(100, 'bash', HOST_NS), hostProc(7, 'systemd-resolve', HOST_NS)], held(7)),
    status: 'pass',
    codes: ['resolved-processes', 'stub-served-by-other', 'stub-answers'],
  },
  // The guest's own resolved without upstream (networkd disabled).
  {
    name: "the guest's own resolved without upstream is named, from resolved's own list; enabling networkd is offered",
    target: guest({
      kind: 'nspawn',
      nspawn,
      files: {
        '/etc/resolv.conf': { symlink: '../run/systemd/resolve/stub-resolv.conf' },
        '/run/systemd/resolve/stub-resolv.conf': STUB,
        '/run/systemd/resolve/resolv.conf': '# No DNS servers known.\n',
      },
      processes: [guestProc(100, 'systemd')],
      probes: [stubSays(resp('refused'))],
      procNet: { udp: ' sl\n   0: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 991 0 77 2 0 0\n' },
    }),
    host: hostWith([hostProc(100, 'systemd', GUEST_NS), hostProc(120, 'systemd-resolve', GUEST_NS)], {
      '/proc/self/ns/pid': { symlink: 'pid:[1]' },
      '/proc/100/ns/pid': { symlink: 'pid:[2]' },
      '/proc/120/ns/pid': { symlink: 'pid:[2]' },
      '/proc/120/fd/9': { symlink: 'socket:[77]' },
    }),
    status: 'fail',
    codes: ['resolved-processes', 'resolved-no-upstream'],
    fixes: ['dns.enable-guest-networkd'],
    summary: /No DNS servers known/,
    assert: (o) => {
      expect(o.findings.map((f) => f.code)).toEqual(['resolved-processes', 'resolved-no-upstream']);
      expect(o.findings[0]?.message).toBe('systemd-resolved runs in the guest (pid 120)');
    },
  },
  // Situation 3: a loopback nameserver with nothing behind it.
  {
    name: 'nspawn private namespace, 127.0.0.53 refused: --resolv-conf=copy-uplink or resolved in the guest',
    target: guest({
      kind: 'nspawn',
      nspawn,
      files: { '/etc/resolv.conf': STUB },
      mounts: [bindMount],
      processes: [guestProc(100, 'systemd')],
      probes: [stubSays(resp('unreachable', 'ECONNREFUSED'))],
      procNet: UDP_NOTHING,
    }),
    host: hostWith([hostProc(100, 'systemd', GUEST_NS), hostProc(7, 'systemd-resolve', HOST_NS)]),
    status: 'fail',
    codes: ['resolv-conf-from-host', 'stub-not-listening'],
    fixes: ['dns.nspawn-resolv-conf-uplink', 'dns.enable-guest-resolved'],
    assert: (o) => {
      expect(o.findings.map((f) => f.code)).toEqual(['resolv-conf-from-host', 'stub-not-listening']);
      const dead = by(o, 'stub-not-listening');
      expect(dead.message).toContain("nothing listens there in the guest's network namespace: connection refused");
      expect(dead.evidence).toMatchObject({ port53Listeners: [], bindMounted: true });
      const snippets = fixOf(o, 'dns.nspawn-resolv-conf-uplink')!.steps.map((s) => ('snippet' in s ? s.snippet : ''));
      expect(snippets.join('\n')).toContain('--resolv-conf=copy-uplink');
      expect(snippets.join('\n')).toContain('--resolv-conf=replace-uplink');
      expect(snippets).toContain('[Exec]\nResolvConf=copy-uplink');
    },
  },
  ...(
    [
      ['schroot', { schroot: { chroot: 'loki', session: 'loki-1' } }, 'dns.schroot-upstream-resolv-conf'],
      ['chroot', {}, 'dns.chroot-upstream-resolv-conf'],
    ] as const
  ).map(([kind, extra, fixId]): Case => ({
    name: `${kind} in a private namespace: the host's upstream list`,
    target: guest({
      kind,
      ...extra,
      files: { '/etc/resolv.conf': STUB },
      probes: [stubSays(resp('unreachable', 'ECONNREFUSED'))],
      procNet: UDP_NOTHING,
    }),
    host: alone,
    status: 'fail',
    codes: ['stub-not-listening'],
    fixes: [fixId],
    assert: (o) => expect(fixOf(o, fixId)!.safety).toBe('manual'),
  })),
  {
    name: "a chroot in a private namespace, the host's nameserver answered from the guest: a safe write too",
    target: guest({
      files: { '/etc/resolv.conf': STUB },
      probes: [
        stubSays(resp('unreachable', 'ECONNREFUSED')),
        { name: 'dns-query', match: (q: { server: string }) => q.server === '192.0.2.53', response: resp('answer') } as FakeProbe,
      ],
      procNet: UDP_NOTHING,
    }),
    host: { ...alone, files: { ...alone.files, '/etc/resolv.conf': 'nameserver 192.0.2.53\n' } },
    status: 'fail',
    codes: ['stub-not-listening'],
    fixes: ['dns.write-resolv-conf', 'dns.chroot-upstream-resolv-conf'],
    assert: (o) => expect(fixOf(o, 'dns.write-resolv-conf')?.safety).toBe('safe'),
  },
  {
    name: 'a silent stub with a socket bound to it',
    target: plainStub(stubSays(resp('timeout', 'no answer after 1 × 400 ms')), {
      udp: '  sl\n   0: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0\n',
    }),
    host: alone,
    status: 'fail',
    codes: ['stub-silent'],
    fixes: ['dns.chroot-upstream-resolv-conf'],
    assert: (o) => expect(o.findings[0]?.message).toContain('a socket is bound to port 53 there'),
  },
  {
    name: 'a stub without upstream answers SERVFAIL: a warning',
    target: plainStub(stubSays(resp('servfail'))),
    host: alone,
    status: 'warn',
    codes: ['stub-upstream-fails'],
  },
  {
    name: 'a live stub passes',
    target: plainStub(stubSays(resp('answer'))),
    host: alone,
    status: 'pass',
    codes: ['stub-answers'],
    summary: /127\.0\.0\.53 answers/,
  },
  {
    name: 'a probe that cannot run is an error',
    target: plainStub({
      name: 'dns-query',
      response: resp('answer'),
      error: 'probe dns-query failed (exit code 1): nsenter: cannot open /proc/100/ns/net',
    }),
    host: alone,
    status: 'error',
    codes: ['check-could-not-run'],
  },
  {
    name: 'nothing to look at: pass',
    target: guest({ files: { '/etc/resolv.conf': 'nameserver 203.0.113.53\n' } }),
    host: alone,
    status: 'pass',
    codes: ['no-stub'],
  },
];

checkTester(check, cases);

describe('dns.stub beside the table', () => {
  it('the cases cover every declared code and fix id', () => {
    expect(new Set(cases.flatMap((c) => c.codes))).toEqual(new Set([...Object.keys(check.findings), 'check-could-not-run']));
    expect(new Set(cases.flatMap((c) => c.fixes ?? []))).toEqual(new Set(Object.keys(check.fixDocs)));
  });
});
