import { expect } from 'vitest';
import check from '../../../src/checks/net/ping.js';
import type { ExecResult } from '../../../src/core/target.js';
import type { CheckOutcome } from '../../../src/core/types.js';
import { checkTester } from '../support/check-tester.js';
import type { FakeCommand } from '../support/fake-target.js';

// Output captured from iputils 20221126 in the test namespaces.
const OK =
  'PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data.\n64 bytes from 192.0.2.1: icmp_seq=1 ttl=64 time=0.05 ms\n\n--- 192.0.2.1 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time 201ms\nrtt min/avg/max/mdev = 0.041/0.050/0.061/0.008 ms\n';
const LOSS =
  'PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data.\n\n--- 192.0.2.1 ping statistics ---\n2 packets transmitted, 0 received, 100% packet loss, time 210ms\n';
const PARTIAL =
  '--- 192.0.2.1 ping statistics ---\n2 packets transmitted, 1 received, 50% packet loss, time 202ms\nrtt min/avg/max/mdev = 0.041/0.050/0.061/0.008 ms\n';
const UNREACH =
  'From 198.51.100.1 icmp_seq=1 Destination Host Unreachable\n\n--- 192.0.2.1 ping statistics ---\n2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 202ms\n';

const ping = (result: Partial<ExecResult>): FakeCommand => ({ argv: ['ping'], prefix: true, result });
const cat = (path: string, stdout: string): FakeCommand => ({ argv: ['cat', path], result: { stdout } });
const LO_ONLY = {
  dev: 'Inter-|   Receive\n face |bytes\n    lo:   0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n',
  route: 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n',
  ipv6_route: '',
};
const NO_ROUTE = { exitCode: 2, stderr: 'ping: connect: Network is unreachable\n' };
const nspawn = (argv: string[]) => ({ machine: 'box', nspawnPid: 10, argv: ['systemd-nspawn', ...argv] });

const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((st) => ('snippet' in st ? st.snippet : '')));
const DENIED = {
  exitCode: 2,
  stderr: 'ping: socktype: SOCK_RAW\nping: socket: Operation not permitted\nping: => missing cap_net_raw+p capability or setuid?\n',
};
const alice = { uid: 1000, gid: 1000, name: 'alice' };

checkTester(check, [
  {
    name: 'all replies: the round-trip time is the summary',
    target: { commands: [ping({ stdout: OK })] },
    status: 'pass',
    codes: ['ping-ok'],
    summary: 'ping 192.0.2.1 from the guest: 2/2 replies, rtt min/avg/max 0.041/0.05/0.061 ms',
    assert: (o) => expect(o.findings[0]?.evidence.rttMs).toEqual({ min: 0.041, avg: 0.05, max: 0.061 }),
  },
  {
    name: 'pings inside the guest as the desktop user, both packets at once, with a bounded wait',
    target: { commands: [ping({ stdout: OK })], user: { uid: 1000, gid: 1000 } },
    status: 'pass',
    codes: ['ping-ok'],
    assert: (_o, { target }) => {
      const call = target.log.exec[0]!;
      expect(call.argv).toEqual(expect.arrayContaining(['ping', '-n', '-c', '2', '192.0.2.1']));
      expect(call.argv[call.argv.indexOf('-l') + 1]).toBe('2');
      expect(call.argv).not.toContain('-i');
      expect(call.opts?.user).toMatchObject({ uid: 1000, gid: 1000 });
      expect(call.opts?.timeoutMs).toBeLessThanOrEqual(1000);
      expect(Number(call.argv[call.argv.indexOf('-W') + 1])).toBeLessThan(1);
    },
  },
  {
    name: 'a ping that refuses the options (BusyBox: no -n, no -l) is run again with the plain ones',
    target: {
      commands: [
        {
          argv: ['ping', '-n'],
          prefix: true,
          result: {
            exitCode: 1,
            stderr: "ping: invalid option -- 'n'\nBusyBox v1.36.1 multi-call binary.\n\nUsage: ping [OPTIONS] HOST\n",
          },
        },
        { argv: ['ping', '-c'], prefix: true, result: { stdout: OK } },
      ],
    },
    status: 'pass',
    codes: ['ping-ok'],
    assert: (o, { target }) => {
      expect(target.log.exec.map((c) => c.argv.slice(0, 2))).toEqual([
        ['ping', '-n'],
        ['ping', '-c'],
      ]);
      expect(o.findings[0]?.evidence.command).toBe('ping -c 2 -W 1 192.0.2.1');
    },
  },
  {
    name: "total loss (a chroot: the host's network)",
    target: { commands: [ping({ exitCode: 1, stdout: LOSS })] },
    status: 'fail',
    codes: ['ping-loss'],
    fixes: ['net.fix-host-network'],
    assert: (o) => {
      expect(o.summary).toBe('ping 192.0.2.1 from the guest: 2 packets transmitted, 0 received, 100% packet loss');
      expect(o.fixes[0]?.steps[0]?.description).toContain('the same ping fails on the host');
    },
  },
  {
    name: 'partial loss: a warning of its own, no way-out fix',
    target: { commands: [ping({ exitCode: 1, stdout: PARTIAL })] },
    status: 'warn',
    codes: ['ping-partial-loss'],
    summary: 'ping 192.0.2.1 from the guest: 50% packet loss (1/2 replies)',
  },
  {
    name: 'a timed-out ping with no statistics: no reply within the timeout',
    target: { commands: [ping({ exitCode: null, timedOut: true })] },
    status: 'fail',
    codes: ['ping-loss'],
    fixes: ['net.fix-host-network'],
    summary: 'ping 192.0.2.1 from the guest: no reply within 1000 ms',
  },
  {
    name: 'a gateway says unreachable',
    target: { commands: [ping({ exitCode: 1, stdout: UNREACH })] },
    status: 'fail',
    codes: ['ping-unreachable'],
    fixes: ['net.fix-host-network'],
  },
  {
    name: 'a name that does not resolve',
    target: { commands: [ping({ exitCode: 2, stderr: 'ping: nosuch.test: Temporary failure in name resolution\n' })] },
    status: 'fail',
    codes: ['ping-target-unresolved'],
  },
  {
    name: 'a firewall rejects ICMP',
    target: { commands: [ping({ exitCode: 1, stdout: 'PING x\n', stderr: 'ping: sendmsg: Operation not permitted\n' })] },
    status: 'fail',
    codes: ['ping-blocked'],
  },
  {
    name: 'something else',
    target: { commands: [ping({ exitCode: 2, stderr: 'ping: weird failure\n' })] },
    status: 'fail',
    codes: ['ping-failed'],
  },
  {
    name: 'no route: names the cause and shows the namespace has only lo',
    target: { commands: [ping(NO_ROUTE)], procNet: LO_ONLY },
    status: 'fail',
    codes: ['ping-no-route'],
    fixes: ['net.fix-host-network'],
    assert: (o) => {
      expect(o.findings[0]?.message).toBe(
        'ping 192.0.2.1 from the guest: ping: connect: Network is unreachable (the namespace has only the loopback interface)',
      );
      expect(o.findings[0]?.evidence).toMatchObject({ interfaces: ['lo'], ipv4DefaultRoute: false });
    },
  },
  {
    name: "ping missing in the guest: the host's ping in the guest's namespace decides",
    target: { commands: [ping({ exitCode: 127, notFound: true })], netnsCommands: [ping({ stdout: OK })] },
    status: 'pass',
    codes: ['ping-missing', 'ping-ok'],
    summary: /^ping 192\.0\.2\.1 from the guest's network namespace \(host's ping\): 2\/2 replies/,
    assert: (o, { target }) => {
      expect(target.log.netns[0]?.[0]).toBe('ping');
      expect(o.findings[1]?.evidence.via).toBe('host-in-netns');
    },
  },
  {
    name: 'ping missing everywhere: the check could not run',
    target: {
      commands: [ping({ exitCode: 127, notFound: true })],
      netnsCommands: [ping({ exitCode: null, notFound: true, spawnError: 'spawn ping ENOENT' })],
    },
    status: 'error',
    codes: ['check-could-not-run'],
  },
  {
    name: 'ping could not be started in the guest at all',
    target: { commands: [ping({ exitCode: null, spawnError: 'the guest vanished' })] },
    status: 'error',
    codes: ['check-could-not-run'],
    summary: 'cannot run ping in the guest: the guest vanished',
  },
  {
    name: "a normal user cannot enter the guest (EACCES at spawn): the host's ping in its namespace decides",
    target: { commands: [ping({ exitCode: null, spawnError: 'spawn /usr/bin/bash EACCES' })], netnsCommands: [ping({ stdout: OK })] },
    status: 'pass',
    codes: ['ping-ok'],
    assert: (o) => expect(o.findings[0]?.evidence.via).toBe('host-in-netns'),
  },
  {
    name: 'a normal user cannot enter the guest and the host has no ping: needs root',
    target: {
      commands: [ping({ exitCode: null, spawnError: 'spawn /usr/bin/bash EACCES' })],
      netnsCommands: [ping({ exitCode: null, notFound: true, spawnError: 'spawn ping ENOENT' })],
    },
    status: 'error',
    codes: ['check-could-not-run'],
    summary: /^needs root: run with sudo \(cannot enter the guest to ping: spawn \/usr\/bin\/bash EACCES\)/,
  },
  {
    name: 'ICMP not permitted for the user: its own finding and fix; the fallback still finds the route problem',
    target: {
      user: alice,
      files: { '/usr/bin/ping': 'ELF' },
      commands: [ping(DENIED)],
      netnsCommands: [cat('/proc/sys/net/ipv4/ping_group_range', '1\t0\n'), ping(NO_ROUTE)],
      procNet: LO_ONLY,
    },
    status: 'fail',
    codes: ['ping-not-permitted', 'ping-no-route'],
    fixes: ['net.ping-permission', 'net.fix-host-network'],
    assert: (o) => {
      expect(o.findings[0]?.message).toBe(
        'ping in the guest fails for alice (uid 1000): ping: socket: Operation not permitted; ping has no cap_net_raw and gid 1000 is outside net.ipv4.ping_group_range (1\t0)',
      );
      expect(o.findings[0]?.evidence).toMatchObject({ gidInPingGroupRange: false, pingGroupRange: '1\t0', pingPath: '/usr/bin/ping' });
    },
  },
  {
    name: 'ICMP not permitted and no host ping to fall back on: only the permission finding',
    target: {
      user: alice,
      commands: [ping(DENIED)],
      netnsCommands: [
        cat('/proc/sys/net/ipv4/ping_group_range', '0 2147483647\n'),
        ping({ exitCode: null, notFound: true, spawnError: 'spawn ping ENOENT' }),
      ],
    },
    status: 'warn',
    codes: ['ping-not-permitted'],
    fixes: ['net.ping-permission'],
    assert: (o) => expect(o.findings[0]?.message).toContain('gid 1000 is inside net.ipv4.ping_group_range (0 2147483647)'),
  },
  {
    name: 'nspawn --private-network without uplink: --network-veth or no private network, with .nspawn lines',
    target: { kind: 'nspawn', nspawn: nspawn(['--private-network', '-b', '-D', '/srv/box']), commands: [ping(NO_ROUTE)], procNet: LO_ONLY },
    status: 'fail',
    codes: ['ping-no-route'],
    fixes: ['net.nspawn-network-veth', 'net.nspawn-share-host-network'],
    assert: (o) => {
      expect(snippets(o)).toContain('[Network]\nVirtualEthernet=yes');
      expect(snippets(o)).toContain('[Network]\nPrivate=no\nVirtualEthernet=no');
      expect(snippets(o)).toContain('systemd-nspawn -b -D /srv/box --network-veth');
      expect(snippets(o)).toContain('systemd-nspawn -b -D /srv/box');
      expect(o.fixes.every((f) => f.safety === 'manual')).toBe(true);
    },
  },
  {
    name: 'nspawn --network-veth: networkd on both sides',
    target: { kind: 'nspawn', nspawn: nspawn(['-n', '-b', '-D', '/srv/box']), commands: [ping({ exitCode: 1, stdout: LOSS })] },
    status: 'fail',
    codes: ['ping-loss'],
    fixes: ['net.nspawn-enable-networkd'],
  },
  {
    name: 'nspawn --network-namespace-path: route that namespace',
    target: {
      kind: 'nspawn',
      nspawn: nspawn(['--network-namespace-path=/run/netns/x', '-b', '-D', '/srv/box']),
      commands: [ping(NO_ROUTE)],
      procNet: LO_ONLY,
    },
    status: 'fail',
    codes: ['ping-no-route'],
    fixes: ['net.netns-route'],
    assert: (o) => expect(JSON.stringify(o.fixes)).toContain('nsenter --net=/run/netns/x ip route'),
  },
  {
    name: 'schroot sharing the host network: points at the host',
    target: { kind: 'schroot', commands: [ping({ exitCode: 1, stdout: LOSS })] },
    status: 'fail',
    codes: ['ping-loss'],
    fixes: ['net.fix-host-network'],
  },
  {
    name: 'a chroot whose process runs in another namespace: says so',
    target: { kind: 'chroot', pid: 4242, sharesNetns: false, commands: [ping(NO_ROUTE)], procNet: LO_ONLY },
    status: 'fail',
    codes: ['ping-no-route'],
    fixes: ['net.fix-guest-netns'],
    assert: (o) => expect(o.fixes[0]?.title).toContain('/proc/1/ns/net'),
  },
  {
    name: 'a passing ping offers nothing',
    target: { kind: 'nspawn', nspawn: nspawn(['--private-network']), commands: [ping({ stdout: OK })] },
    status: 'pass',
    codes: ['ping-ok'],
  },
]);
