import { expect } from 'vitest';
import check from '../../../src/checks/dbus/system.js';
import { checkTester } from '../support/check-tester.js';
import type { CheckOutcome } from '../../../src/core/types.js';
import type { DbusHelloResponse } from '../../../src/core/probe-types.js';

const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : '')));
const hello: DbusHelloResponse = { ok: true, stage: 'hello', name: ':1.3', guid: '0123456789abcdef0123456789abcdef', elapsedMs: 2 };
const refused = (errno: string): DbusHelloResponse => ({ ok: false, stage: 'connect', errno, reason: `connect: ${errno}`, elapsedMs: 1 });
const probe = (response: DbusHelloResponse) => ({ name: 'dbus-hello' as const, response });
const daemon = { '/usr/bin/dbus-daemon': 'elf' };

checkTester(check, [
  {
    name: "the guest's own bus answers: pass, probed at the default path as the user",
    target: { probes: [probe(hello)] },
    status: 'pass',
    codes: ['system-bus-connected'],
    summary: "/run/dbus/system_bus_socket: the guest's own system bus, Hello answered with :1.3",
    assert: (_o, { target }) =>
      expect(target.log.probes[0]).toMatchObject({ asUser: true, request: { socket: { path: '/run/dbus/system_bus_socket' }, uid: 1000 } }),
  },
  {
    name: 'DBUS_SYSTEM_BUS_ADDRESS is followed',
    target: { env: { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/var/run/sysbus' }, probes: [probe(hello)] },
    status: 'pass',
    codes: ['system-bus-connected'],
    assert: (_o, { target }) => expect(target.log.probes[0]?.request).toMatchObject({ socket: { path: '/var/run/sysbus' } }),
  },
  {
    name: 'malformed address',
    target: { env: { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path' } },
    status: 'fail',
    codes: ['system-bus-address-invalid'],
  },
  {
    name: 'abstract only: not probed',
    target: { env: { DBUS_SYSTEM_BUS_ADDRESS: 'unix:abstract=/x' } },
    status: 'pass',
    codes: ['system-bus-not-probed'],
  },
  {
    name: 'no system bus, a chroot with dbus-daemon: start one of its own',
    target: { kind: 'chroot', files: daemon, probes: [probe(refused('ENOENT'))] },
    status: 'warn',
    codes: ['system-bus-missing'],
    fixes: ['dbus.start-system-bus'],
    assert: (o) => expect(snippets(o).some((s) => s.includes('dbus-daemon --system --fork'))).toBe(true),
  },
  {
    name: 'no system bus and no dbus-daemon in the guest: nothing to start',
    target: { kind: 'chroot', probes: [probe(refused('ENOENT'))] },
    status: 'warn',
    codes: ['system-bus-missing'],
    fixes: [],
  },
  {
    name: 'a booted guest: systemctl start dbus',
    target: {
      kind: 'nspawn',
      nspawn: { machine: 'box', nspawnPid: 1, argv: [] },
      files: daemon,
      processes: [{ pid: 10, ppid: 9, uid: 0, comm: 'systemd', cmdline: ['/sbin/init'] }],
      probes: [probe(refused('ENOENT'))],
    },
    status: 'warn',
    codes: ['system-bus-missing'],
    fixes: ['dbus.start-system-bus'],
    assert: (o) => expect(snippets(o)).toContain('systemctl start dbus.socket dbus.service'),
  },
  {
    name: 'stale socket: removed, then started',
    target: { kind: 'chroot', files: daemon, probes: [probe(refused('ECONNREFUSED'))] },
    status: 'fail',
    codes: ['system-bus-stale'],
    fixes: ['dbus.start-system-bus'],
    assert: (o) => expect(snippets(o)[0]).toMatch(/^rm -f .*run\/dbus\/system_bus_socket/),
  },
  { name: 'EACCES', target: { probes: [probe(refused('EACCES'))] }, status: 'fail', codes: ['system-bus-permission'] },
  {
    name: 'silence',
    target: { probes: [probe({ ok: false, stage: 'silent', errno: null, reason: 'no answer', elapsedMs: 1 })] },
    status: 'fail',
    codes: ['system-bus-no-answer'],
  },
  {
    name: 'applies without a desktop session (a system check)',
    target: { session: null, noSessionReason: 'none', probes: [probe(hello)] },
    status: 'pass',
    codes: ['system-bus-connected'],
  },
]);
