import { expect } from 'vitest';
import check from '../../../src/checks/dbus/session.js';
import { checkTester } from '../support/check-tester.js';
import type { CheckOutcome } from '../../../src/core/types.js';
import type { DbusHelloResponse } from '../../../src/core/probe-types.js';

const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : '')));
const hello = (name = ':1.7'): DbusHelloResponse => ({
  ok: true,
  stage: 'hello',
  name,
  guid: '0123456789abcdef0123456789abcdef',
  elapsedMs: 3,
});
const refused = (errno: string): DbusHelloResponse => ({ ok: false, stage: 'connect', errno, reason: `connect: ${errno}`, elapsedMs: 1 });
const probe = (response: DbusHelloResponse | ((r: { socket: { path?: string; abstract?: string } }) => DbusHelloResponse)) => ({
  name: 'dbus-hello' as const,
  response,
});
const addr = (a: string) => ({ DBUS_SESSION_BUS_ADDRESS: a, XDG_RUNTIME_DIR: '/run/user/1000' });
const hostBus = { files: { '/run/user/1000/bus': { socket: true, listening: true, uid: 1000 } } };
/** /proc/net/unix with one socket `name` (flags 00010000: listening). */
const unixTable = (name?: string, flags = '00010000') =>
  `Num       RefCount Protocol Flags    Type St Inode Path\n${name ? `0000000052c6fb6e: 00000002 00000000 ${flags} 0001 01 3257393 ${name}\n` : ''}`;
const nspawn = { kind: 'nspawn' as const, nspawn: { machine: 'box', nspawnPid: 1, argv: [] as string[] } };

checkTester(check, [
  {
    name: "the bus says Hello back: pass, the unique name in the summary, probed as the user with the user's uid",
    target: { env: addr('unix:path=/run/user/1000/bus'), probes: [probe(hello())] },
    status: 'pass',
    codes: ['bus-connected'],
    summary: '/run/user/1000/bus: Hello answered with :1.7 for user',
    assert: (_o, { target }) =>
      expect(target.log.probes[0]).toMatchObject({
        name: 'dbus-hello',
        asUser: true,
        request: { socket: { path: '/run/user/1000/bus' }, uid: 1000 },
      }),
  },
  {
    name: 'no address: $XDG_RUNTIME_DIR/bus is where clients look',
    target: {
      env: { XDG_RUNTIME_DIR: '/run/user/1000/' },
      probes: [probe((r) => (r.socket.path === '/run/user/1000/bus' ? hello(':1.2') : refused('ENOENT')))],
    },
    status: 'pass',
    codes: ['bus-connected'],
  },
  {
    name: "neither variable: sd-bus's words, a warning",
    target: { env: {} },
    status: 'warn',
    codes: ['bus-unset'],
    assert: (o) => expect(o.findings[0]?.message).toContain('$DBUS_SESSION_BUS_ADDRESS and $XDG_RUNTIME_DIR not defined'),
  },
  {
    name: "neither variable, the host has the user's bus: the nspawn bind pairs --bind with --setenv",
    target: { ...nspawn, env: {} },
    host: hostBus,
    status: 'warn',
    codes: ['bus-unset'],
    fixes: ['dbus.nspawn-bind-session-bus'],
    assert: (o) => {
      expect(
        snippets(o).some((s) => s.includes('--bind=/run/user/1000 --setenv=DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus')),
      ).toBe(true);
      expect(snippets(o)).toContain(
        '[Files]\nBind=/run/user/1000\n\n[Exec]\nEnvironment=DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus',
      );
      expect(o.fixes[0]?.steps[0]?.description).toContain('systemd#41546');
    },
  },
  {
    name: 'no address and no socket in the runtime dir: a warning, no fix without a host bus',
    target: { env: { XDG_RUNTIME_DIR: '/run/user/1000' }, probes: [probe(refused('ENOENT'))] },
    status: 'warn',
    codes: ['bus-none'],
    fixes: [],
  },
  {
    name: 'malformed: libdbus\'s "does not contain an equal sign"',
    target: { env: addr('unix:path') },
    status: 'fail',
    codes: ['bus-address-invalid'],
    assert: (o) => expect(o.findings[0]?.message).toContain('does not contain an equal sign'),
  },
  { name: 'no colon', target: { env: addr('/run/user/1000/bus') }, status: 'fail', codes: ['bus-address-invalid'] },
  { name: 'tcp only: not probed', target: { env: addr('tcp:host=192.0.2.1,port=1234') }, status: 'pass', codes: ['bus-not-probed'] },
  {
    name: 'an explicit path missing in the guest: fail',
    target: { env: addr('unix:path=/tmp/dbus-x'), probes: [probe(refused('ENOENT'))] },
    status: 'fail',
    codes: ['bus-socket-missing'],
  },
  {
    name: "the host's address inherited (x11docker#408): a warning, bind it in or unset it; the chroot lines quote the root",
    target: {
      kind: 'chroot',
      env: addr('unix:path=/run/user/1000/bus'),
      probes: [probe(refused('ENOENT'))],
      files: { '/usr/bin/dbus-run-session': 'elf' },
    },
    host: hostBus,
    status: 'warn',
    codes: ['bus-host-address'],
    fixes: ['dbus.chroot-bind-session-bus', 'dbus.unset-host-address', 'dbus.run-session'],
    assert: (o) => {
      expect(snippets(o)).toContain('unset DBUS_SESSION_BUS_ADDRESS');
      expect(snippets(o)).toContain('export XDG_RUNTIME_DIR=/run/user/1000 DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus');
      expect(snippets(o).some((s) => /^mkdir -p '?\/.*\/run\/user\/1000'? && mount --bind \/run\/user\/1000 /.test(s))).toBe(true);
    },
  },
  {
    name: 'stale socket',
    target: { env: addr('unix:path=/run/user/1000/bus'), probes: [probe(refused('ECONNREFUSED'))] },
    status: 'fail',
    codes: ['bus-socket-stale'],
  },
  {
    name: "abstract from another network namespace: not in the guest netns's /proc/net/unix, no connect tried",
    target: { sharesNetns: false, env: addr('unix:abstract=/tmp/dbus-Xyz,guid=00'), procNet: { unix: unixTable('@/tmp/dbus-Other') } },
    status: 'fail',
    codes: ['bus-abstract-other-netns'],
    assert: (_o, { target }) => expect(target.log.probes).toEqual([]),
  },
  {
    name: 'abstract gone in a shared network namespace',
    target: { sharesNetns: true, env: addr('unix:abstract=/tmp/dbus-Xyz'), procNet: { unix: unixTable() } },
    status: 'fail',
    codes: ['bus-abstract-refused'],
  },
  {
    name: "abstract listening in the guest's netns: pass",
    target: { sharesNetns: false, env: addr('unix:abstract=/tmp/dbus-Xyz'), procNet: { unix: unixTable('@/tmp/dbus-Xyz') } },
    status: 'pass',
    codes: ['bus-abstract-listening'],
  },
  {
    name: 'an abstract name that is only connected, not listening, does not count',
    target: { sharesNetns: false, env: addr('unix:abstract=/tmp/dbus-Xyz'), procNet: { unix: unixTable('@/tmp/dbus-Xyz', '00000000') } },
    status: 'fail',
    codes: ['bus-abstract-other-netns'],
  },
  {
    name: 'EACCES',
    target: { env: addr('unix:path=/run/user/0/bus'), probes: [probe(refused('EACCES'))] },
    status: 'fail',
    codes: ['bus-permission'],
  },
  {
    name: 'REJECTED',
    target: {
      env: addr('unix:path=/run/user/1000/bus'),
      probes: [
        probe({
          ok: false,
          stage: 'auth',
          errno: null,
          reason: 'the bus rejected AUTH EXTERNAL for uid 1000: REJECTED EXTERNAL',
          elapsedMs: 1,
        }),
      ],
    },
    status: 'fail',
    codes: ['bus-auth-rejected'],
  },
  {
    name: 'silence after connect',
    target: {
      env: addr('unix:path=/run/user/1000/bus'),
      probes: [probe({ ok: false, stage: 'silent', errno: null, reason: 'no answer', elapsedMs: 1 })],
    },
    status: 'fail',
    codes: ['bus-no-answer'],
  },
  {
    name: 'the second alternative answers: pass (libdbus tries them in order)',
    target: {
      env: addr('unix:path=/nope;unix:runtime=yes'),
      probes: [probe((r) => (r.socket.path === '/run/user/1000/bus' ? hello() : refused('ENOENT')))],
    },
    status: 'pass',
    codes: ['bus-connected'],
  },
  {
    name: 'the probe cannot start: error',
    target: { env: addr('unix:path=/run/user/1000/bus'), probes: [{ name: 'dbus-hello', response: hello(), error: 'spawn failed' }] },
    status: 'error',
    codes: ['check-could-not-run'],
  },
  {
    name: 'no desktop session: the shared skip',
    target: { session: null, noSessionReason: 'no desktop session: only system daemons run' },
    status: 'skip',
    codes: [],
  },
]);
