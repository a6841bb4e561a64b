import { afterEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/net/ping.js';
import type { ExecResult } from '../../../src/targets/target.js';
import { FakeTarget, fakeContext, type FakeCommand, type FakeScenario } from '../support/fake-target.js';

const made: FakeTarget[] = [];
afterEach(() => { while (made.length) made.pop()!.dispose(); });

function target(scenario: FakeScenario): FakeTarget {
  const t = new FakeTarget(scenario);
  made.push(t);
  return t;
}
async function run(scenario: FakeScenario) {
  const t = target(scenario);
  const outcome = await check.run(fakeContext(t));
  return { t, outcome, codes: outcome.findings.map((f) => f.code), fixIds: outcome.fixes.map((f) => f.id) };
}

// Output captured from iputils 20221126 in the test namespaces.
const OK = 'PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data.\n64 bytes from 192.0.2.1: icmp_seq=1 ttl=64 time=0.05 ms\n\n--- 192.0.2.1 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time 201ms\nrtt min/avg/max/mdev = 0.041/0.050/0.061/0.008 ms\n';
const LOSS = 'PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data.\n\n--- 192.0.2.1 ping statistics ---\n2 packets transmitted, 0 received, 100% packet loss, time 210ms\n';
const PARTIAL = '--- 192.0.2.1 ping statistics ---\n2 packets transmitted, 1 received, 50% packet loss, time 202ms\nrtt min/avg/max/mdev = 0.041/0.050/0.061/0.008 ms\n';
const UNREACH = 'From 198.51.100.1 icmp_seq=1 Destination Host Unreachable\n\n--- 192.0.2.1 ping statistics ---\n2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 202ms\n';

const ping = (result: Partial<ExecResult>): FakeCommand => ({ argv: ['ping'], prefix: true, result });
const cat = (path: string, stdout: string): FakeCommand => ({ argv: ['cat', path], result: { stdout } });
const LO_ONLY = {
  dev: 'Inter-|   Receive\n face |bytes\n    lo:   0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n',
  route: 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n',
  ipv6_route: '',
};
const NO_ROUTE = { exitCode: 2, stderr: 'ping: connect: Network is unreachable\n' };
const nspawn = (argv: string[]) => ({ machine: 'box', nspawnPid: 10, argv: ['systemd-nspawn', ...argv] });

describe('net.ping', () => {
  it.each([
    ['all replies', ping({ stdout: OK }), 'pass', 'ping-ok'],
    ['total loss', ping({ exitCode: 1, stdout: LOSS }), 'fail', 'ping-loss'],
    ['partial loss', ping({ exitCode: 1, stdout: PARTIAL }), 'warn', 'ping-loss'],
    ['gateway says unreachable', ping({ exitCode: 1, stdout: UNREACH }), 'fail', 'ping-unreachable'],
    ['a name that does not resolve', ping({ exitCode: 2, stderr: 'ping: nosuch.test: Temporary failure in name resolution\n' }), 'fail', 'ping-target-unresolved'],
    ['a firewall', ping({ exitCode: 1, stdout: 'PING x\n', stderr: 'ping: sendmsg: Operation not permitted\n' }), 'fail', 'ping-blocked'],
    ['something else', ping({ exitCode: 2, stderr: 'ping: weird failure\n' }), 'fail', 'ping-failed'],
  ] as const)('%s → %s %s', async (_n, command, status, code) => {
    const { outcome, codes } = await run({ commands: [command] });
    expect(outcome.status).toBe(status);
    expect(codes).toContain(code);
  });

  it('reports the round-trip time on success', async () => {
    const { outcome } = await run({ commands: [ping({ stdout: OK })] });
    expect(outcome.summary).toContain('rtt min/avg/max 0.041/0.05/0.061 ms');
    expect(outcome.findings[0]?.evidence.rttMs).toEqual({ min: 0.041, avg: 0.05, max: 0.061 });
  });

  it('pings inside the guest as the desktop user, with a bounded wait', async () => {
    const { t } = await run({ commands: [ping({ stdout: OK })], user: { uid: 1000, gid: 1000 } });
    const call = t.log.exec[0]!;
    expect(call.argv).toEqual(expect.arrayContaining(['ping', '-n', '-c', '2', '192.0.2.1']));
    expect(call.opts?.user).toMatchObject({ uid: 1000, gid: 1000 });
    expect(call.opts?.timeoutMs).toBeLessThanOrEqual(1000);
    expect(Number(call.argv[call.argv.indexOf('-W') + 1])).toBeLessThan(1);
  });

  it('sends both packets at once (preload), so a healthy run does not wait an interval', async () => {
    const { t } = await run({ commands: [ping({ stdout: OK })] });
    const argv = t.log.exec[0]!.argv;
    expect(argv[argv.indexOf('-l') + 1]).toBe('2');
    expect(argv).not.toContain('-i');
  });

  it('a ping that refuses the options (BusyBox: no -n, no -l) is run again with the plain ones', async () => {
    const busybox = { argv: ['ping', '-n'], prefix: true, result: { exitCode: 1, stderr: "ping: invalid option -- 'n'\nBusyBox v1.36.1 multi-call binary.\n\nUsage: ping [OPTIONS] HOST\n" } };
    const plain = { argv: ['ping', '-c'], prefix: true, result: { stdout: OK } };
    const { t, outcome } = await run({ commands: [busybox, plain] });
    expect(outcome.status).toBe('pass');
    expect(t.log.exec.map((c) => c.argv.slice(0, 2))).toEqual([['ping', '-n'], ['ping', '-c']]);
    expect(outcome.findings[0]?.evidence.command).toBe('ping -c 2 -W 1 192.0.2.1');
  });

  it('no route: names the cause and shows the namespace has only lo', async () => {
    const { outcome, codes } = await run({ commands: [ping(NO_ROUTE)], procNet: LO_ONLY });
    expect(codes).toEqual(['ping-no-route']);
    expect(outcome.findings[0]?.message).toContain('Network is unreachable');
    expect(outcome.findings[0]?.message).toContain('only the loopback interface');
    expect(outcome.findings[0]?.evidence).toMatchObject({ interfaces: ['lo'], ipv4DefaultRoute: false });
  });

  it('ping missing in the guest: probes with the host\'s ping in the guest\'s namespace', async () => {
    const { t, outcome, codes } = await run({ commands: [ping({ exitCode: 127, notFound: true })], netnsCommands: [ping({ stdout: OK })] });
    expect(codes).toEqual(['ping-missing', 'ping-ok']);
    expect(outcome.status).toBe('pass');
    expect(t.log.netns[0]?.[0]).toBe('ping');
    expect(outcome.findings[1]?.evidence.via).toBe('host-in-netns');
  });

  it('ping missing everywhere: the check could not run', async () => {
    const { outcome } = await run({ commands: [ping({ exitCode: 127, notFound: true })], netnsCommands: [ping({ exitCode: null, notFound: true, spawnError: 'spawn ping ENOENT' })] });
    expect(outcome.status).toBe('error');
  });

  it('ICMP not permitted for the user: separate finding, fallback still finds the route problem', async () => {
    const { outcome, codes, fixIds } = await run({
      user: { uid: 1000, gid: 1000, name: 'alice' },
      files: { '/usr/bin/ping': 'ELF' },
      commands: [ping({ exitCode: 2, stderr: 'ping: socktype: SOCK_RAW\nping: socket: Operation not permitted\nping: => missing cap_net_raw+p capability or setuid?\n' })],
      netnsCommands: [cat('/proc/sys/net/ipv4/ping_group_range', '1\t0\n'), ping(NO_ROUTE)], procNet: LO_ONLY,
    });
    expect(codes).toEqual(['ping-not-permitted', 'ping-no-route']);
    expect(outcome.findings[0]?.message).toContain('socket: Operation not permitted');
    expect(outcome.findings[0]?.evidence).toMatchObject({ gidInPingGroupRange: false, pingGroupRange: '1\t0', pingPath: '/usr/bin/ping' });
    expect(fixIds).toContain('net.ping-permission');
    expect(outcome.status).toBe('fail');
  });

  describe('fixes by container kind', () => {
    it('nspawn --private-network without uplink: --network-veth or no private network, with .nspawn lines', async () => {
      const { outcome, fixIds } = await run({ kind: 'nspawn', nspawn: nspawn(['--private-network', '-b', '-D', '/srv/box']), commands: [ping(NO_ROUTE)], procNet: LO_ONLY });
      expect(fixIds).toEqual(['net.nspawn-network-veth', 'net.nspawn-share-host-network']);
      const snippets = outcome.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? s.snippet : '')));
      expect(snippets).toContain('[Network]\nVirtualEthernet=yes');
      expect(snippets).toContain('[Network]\nPrivate=no\nVirtualEthernet=no');
      expect(snippets).toContain('systemd-nspawn -b -D /srv/box --network-veth');
      expect(snippets).toContain('systemd-nspawn -b -D /srv/box');
      expect(outcome.fixes.every((f) => f.safety === 'manual')).toBe(true);
    });

    it('nspawn --network-veth: networkd on both sides', async () => {
      const { fixIds } = await run({ kind: 'nspawn', nspawn: nspawn(['-n', '-b', '-D', '/srv/box']), commands: [ping({ exitCode: 1, stdout: LOSS })] });
      expect(fixIds).toEqual(['net.nspawn-enable-networkd']);
    });

    it('nspawn --network-namespace-path: route that namespace', async () => {
      const { outcome, fixIds } = await run({ kind: 'nspawn', nspawn: nspawn(['--network-namespace-path=/run/netns/x', '-b', '-D', '/srv/box']), commands: [ping(NO_ROUTE)], procNet: LO_ONLY });
      expect(fixIds).toEqual(['net.netns-route']);
      expect(JSON.stringify(outcome.fixes)).toContain('nsenter --net=/run/netns/x ip route');
    });

    it.each(['chroot', 'schroot'] as const)('%s sharing the host network: points at the host', async (kind) => {
      const { outcome, fixIds } = await run({ kind, commands: [ping({ exitCode: 1, stdout: LOSS })] });
      expect(fixIds).toEqual(['net.fix-host-network']);
      expect(outcome.fixes[0]?.steps[0]?.description).toContain('the same ping fails on the host');
    });

    it('chroot whose process runs in another namespace: says so', async () => {
      const { outcome, fixIds } = await run({ kind: 'chroot', pid: 4242, sharesNetns: false, commands: [ping(NO_ROUTE)], procNet: LO_ONLY });
      expect(fixIds).toEqual(['net.fix-guest-netns']);
      expect(outcome.fixes[0]?.title).toContain('/proc/1/ns/net');
    });

    it('a passing ping offers nothing', async () => {
      const { outcome } = await run({ kind: 'nspawn', nspawn: nspawn(['--private-network']), commands: [ping({ stdout: OK })] });
      expect(outcome.fixes).toEqual([]);
    });
  });
});
