import type net from 'node:net';
import { afterAll, expect } from 'vitest';
import check from '../../../src/checks/audio/pulse.js';
import type { PulseConnectRequest, PulseConnectResponse } from '../../../src/core/probe-types.js';
import type { CheckOutcome } from '../../../src/core/types.js';
import { checkTester } from '../support/check-tester.js';
import type { FakeProbe, FakeTarget } from '../support/fake-target.js';
import type { FakeHostScenario } from '../support/fake-host.js';
import { listenUnix } from '../support/unix-socket.js';

const servers: net.Server[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
});

const COOKIE = Buffer.alloc(256, 0xab);
const OK: PulseConnectResponse = { ok: true, stage: 'auth', protocolVersion: 35, elapsedMs: 2 };
const connectFail = (errno: string): PulseConnectResponse => ({
  ok: false,
  stage: 'connect',
  errno,
  reason: `connect: ${errno}`,
  elapsedMs: 1,
});
const pulse = (response: PulseConnectResponse): FakeProbe => ({ name: 'pulse-connect', response });
const rootConnects: FakeProbe = {
  name: 'unix-connect',
  response: { ok: true, errno: null, message: 'connected', resolvedPath: '/run/user/pulse/native' },
};

/** A host whose desktop user (uid 1000) runs a sound server: /run/user/1000/pulse/native is a socket. */
const hostWithPulse: FakeHostScenario = { files: { '/run/user/1000/pulse/native': { socket: true, listening: true, uid: 1000 } } };
const nspawn = { kind: 'nspawn' as const, nspawn: { machine: 'box', nspawnPid: 1, argv: [] }, sharesNetns: false };
const schroot = { kind: 'schroot' as const, schroot: { chroot: 'jammy', session: null } };
const server = { PULSE_SERVER: 'unix:/run/user/pulse/native' };
const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : '')));
const sent = (t: FakeTarget, i = 0) => t.log.probes[i]?.request as PulseConnectRequest | undefined;
const probedAsUser =
  (path: string) =>
  (_o: CheckOutcome, { target }: { target: FakeTarget }) =>
    expect(target.log.probes[0]).toMatchObject({ name: 'pulse-connect', asUser: true, request: { socket: { path } } });

checkTester(check, [
  {
    name: 'working: authenticated as the user, probed as the user',
    target: { env: server, probes: [pulse(OK)] },
    status: 'pass',
    codes: ['pulse-connected', 'pulse-no-cookie'],
    summary: '/run/user/pulse/native: authenticated as user',
    assert: probedAsUser('/run/user/pulse/native'),
  },
  {
    name: 'socket missing, the host has no sound server either: no bind offered, the finding says what is missing and where',
    target: { env: {}, probes: [pulse(connectFail('ENOENT'))] },
    status: 'fail',
    codes: ['pulse-socket-missing', 'pulse-no-cookie'],
    fixes: [],
    summary:
      '/run/user/1000/pulse/native does not exist in the guest (ENOENT): pactl says "Connection failure: Connection refused"; the host has no sound server for uid 1000 either (no /run/user/1000/pulse/native): start PulseAudio or pipewire-pulse as that user on the host',
  },
  {
    name: 'socket missing, the host has it: chroot bind',
    target: { env: {}, probes: [pulse(connectFail('ENOENT'))] },
    host: hostWithPulse,
    status: 'fail',
    codes: ['pulse-socket-missing', 'pulse-no-cookie'],
    fixes: ['audio.chroot-bind-pulse'],
    summary: /the host has \/run\/user\/1000\/pulse\/native, bind it in$/,
    assert: (o) => expect(o.findings.find((f) => f.code === 'pulse-socket-missing')?.evidence.hostSocket).toBe(true),
  },
  {
    name: "nspawn: the seed's bind and PULSE_SERVER, with the .nspawn lines",
    target: { ...nspawn, env: {}, probes: [pulse(connectFail('ENOENT'))] },
    host: hostWithPulse,
    status: 'fail',
    codes: ['pulse-socket-missing', 'pulse-no-cookie'],
    fixes: ['audio.nspawn-bind-pulse'],
    assert: (o) => {
      expect(
        snippets(o).some((s) =>
          s.includes('--bind=/run/user/1000/pulse:/run/user/pulse --setenv=PULSE_SERVER=unix:/run/user/pulse/native'),
        ),
      ).toBe(true);
      expect(snippets(o)).toContain(
        '[Files]\nBind=/run/user/1000/pulse:/run/user/pulse\n\n[Exec]\nEnvironment=PULSE_SERVER=unix:/run/user/pulse/native',
      );
    },
  },
  {
    name: 'schroot: the fstab line and preserve-environment',
    target: { ...schroot, env: {}, probes: [pulse(connectFail('ENOENT'))] },
    host: hostWithPulse,
    status: 'fail',
    codes: ['pulse-socket-missing', 'pulse-no-cookie'],
    fixes: ['audio.schroot-bind-pulse'],
    assert: (o) => {
      expect(snippets(o)).toContain('/run/user/1000/pulse /run/user/1000/pulse none rw,bind 0 0');
      expect(snippets(o)).toContain('preserve-environment=true');
    },
  },
  {
    name: "a missing TCP server (own network namespace) is no bind's business",
    target: { ...nspawn, env: { PULSE_SERVER: 'tcp:192.0.2.9:4713' }, probes: [pulse(connectFail('ENOENT'))] },
    host: hostWithPulse,
    status: 'fail',
    codes: ['pulse-socket-missing', 'pulse-no-cookie'],
    fixes: [],
    assert: (o, { target }) => {
      expect(sent(target)?.socket).toEqual({ host: '192.0.2.9', port: 4713 });
      expect(o.summary).toContain('the host has no sound server for uid 1000 either');
    },
  },
  {
    name: "stale socket (ECONNREFUSED): restart the host's server",
    target: { env: server, probes: [pulse(connectFail('ECONNREFUSED'))] },
    status: 'fail',
    codes: ['pulse-socket-stale', 'pulse-no-cookie'],
    fixes: ['audio.restart-pulse'],
    summary: 'connect to /run/user/pulse/native: Connection refused: the socket file is stale, no sound server listens on it',
  },
  {
    name: "not a socket: connect failed, no bind without the host's socket",
    target: { env: server, probes: [pulse(connectFail('ENOTSOCK'))] },
    status: 'fail',
    codes: ['pulse-connect-failed', 'pulse-no-cookie'],
    fixes: [],
    summary: 'connect to /run/user/pulse/native failed: connect: ENOTSOCK',
  },
  {
    name: 'not a socket, the host has one: the bind',
    target: { env: server, probes: [pulse(connectFail('ENOTSOCK'))] },
    host: hostWithPulse,
    status: 'fail',
    codes: ['pulse-connect-failed', 'pulse-no-cookie'],
    fixes: ['audio.chroot-bind-pulse'],
  },
  {
    name: "cookie refused, chroot: copy the host user's cookie",
    target: {
      env: server,
      files: { '/home/user/.config/pulse/cookie': { content: COOKIE } },
      probes: [pulse({ ok: false, stage: 'auth', errno: null, reason: 'access denied', elapsedMs: 3 })],
    },
    status: 'fail',
    codes: ['pulse-auth-failed'],
    fixes: ['audio.copy-cookie'],
    summary:
      '/run/user/pulse/native refused the cookie from /home/user/.config/pulse/cookie: access denied (pactl: "Connection failure: Access denied")',
  },
  {
    name: 'no cookie and refused, nspawn: bind the cookie',
    target: { ...nspawn, env: server, probes: [pulse({ ok: false, stage: 'auth', errno: null, reason: 'access denied', elapsedMs: 3 })] },
    status: 'fail',
    codes: ['pulse-auth-failed', 'pulse-no-cookie'],
    fixes: ['audio.nspawn-bind-cookie'],
    summary: /refused the cookie \(none found\): access denied/,
  },
  {
    name: 'no answer to AUTH',
    target: {
      env: server,
      probes: [pulse({ ok: false, stage: 'silent', errno: null, reason: 'no answer to AUTH within 500 ms', elapsedMs: 500 })],
    },
    status: 'fail',
    codes: ['pulse-no-answer', 'pulse-no-cookie'],
    fixes: [],
    summary: '/run/user/pulse/native accepted the connection but did not answer AUTH: no answer to AUTH within 500 ms',
  },
  {
    name: 'EACCES for the user is a failure even when root can connect (root probed without dropping)',
    target: {
      env: server,
      files: { '/run/user/pulse': { dir: true, mode: 0o700, uid: 1001 } },
      probes: [pulse(connectFail('EACCES')), rootConnects],
    },
    status: 'fail',
    codes: ['pulse-socket-permission', 'pulse-no-cookie'],
    fixes: ['audio.pulse-permission'],
    summary:
      'connect to /run/user/pulse/native as user (uid 1000): Permission denied (EACCES); root can connect, so it works only for root',
    assert: (o, { target }) => {
      expect(o.findings[1]?.evidence).toMatchObject({ rootCanConnect: true, directoryOwner: 1001 });
      expect(target.log.probes[1]).toMatchObject({ name: 'unix-connect' });
      expect(target.log.probes[1]?.asUser).toBeFalsy();
    },
  },
  {
    name: 'EACCES for root too: no note about root',
    target: {
      env: server,
      probes: [
        pulse(connectFail('EACCES')),
        { name: 'unix-connect', response: { ok: false, errno: 'EACCES', message: 'denied', resolvedPath: null } },
      ],
    },
    status: 'fail',
    codes: ['pulse-socket-permission', 'pulse-no-cookie'],
    fixes: ['audio.pulse-permission'],
    summary: 'connect to /run/user/pulse/native as user (uid 1000): Permission denied (EACCES)',
  },
  {
    name: 'the cookie from ~/.config/pulse/cookie is sent',
    target: { env: server, files: { '/home/user/.config/pulse/cookie': { content: COOKIE } }, probes: [pulse(OK)] },
    status: 'pass',
    codes: ['pulse-connected'],
    assert: (_o, { target }) => expect(sent(target)?.cookieHex).toBe(COOKIE.toString('hex')),
  },
  {
    name: 'the cookie PULSE_COOKIE names is sent',
    target: { env: { ...server, PULSE_COOKIE: '/etc/c' }, files: { '/etc/c': { content: Buffer.alloc(256, 1) } }, probes: [pulse(OK)] },
    status: 'pass',
    codes: ['pulse-connected'],
    assert: (_o, { target }) => expect(sent(target)?.cookieHex).toBe(Buffer.alloc(256, 1).toString('hex')),
  },
  {
    name: 'no cookie: none sent, and said',
    target: { env: { ...server, PULSE_COOKIE: '/etc/none' }, probes: [pulse(OK)] },
    status: 'pass',
    codes: ['pulse-connected', 'pulse-no-cookie'],
    assert: (o, { target }) => {
      expect(sent(target)?.cookieHex).toBeNull();
      expect(o.findings.find((f) => f.code === 'pulse-no-cookie')?.message).toBe(
        'no PulseAudio cookie in the guest (/etc/none); only a server with auth-anonymous=1 will accept',
      );
    },
  },
  {
    name: 'resolves the server from PULSE_SERVER=/path',
    target: { env: { PULSE_SERVER: '/tmp/p/native' }, probes: [pulse(OK)] },
    status: 'pass',
    codes: ['pulse-connected', 'pulse-no-cookie'],
    assert: probedAsUser('/tmp/p/native'),
  },
  {
    name: 'resolves the server from $XDG_RUNTIME_DIR/pulse/native',
    target: { env: { XDG_RUNTIME_DIR: '/run/user/1000/' }, probes: [pulse(OK)] },
    status: 'pass',
    codes: ['pulse-connected', 'pulse-no-cookie'],
    assert: probedAsUser('/run/user/1000/pulse/native'),
  },
  {
    name: 'resolves the server from /run/user/UID/pulse/native',
    target: { env: {}, user: { uid: 1234 }, probes: [pulse(OK)] },
    status: 'pass',
    codes: ['pulse-connected', 'pulse-no-cookie'],
    assert: probedAsUser('/run/user/1234/pulse/native'),
  },
  {
    name: 'an unusable PULSE_SERVER fails without probing',
    target: { env: { PULSE_SERVER: 'unix:relative/path' } },
    status: 'fail',
    codes: ['pulse-server-invalid'],
    fixes: [],
    summary: 'PULSE_SERVER="unix:relative/path" names no usable server (expected unix:/path, /path or tcp:host:port)',
    assert: (_o, { target }) => expect(target.log.probes).toEqual([]),
  },
  {
    name: 'an unusable PULSE_SERVER, the host has a server: the bind',
    target: { env: { PULSE_SERVER: 'unix:relative/path' } },
    host: hostWithPulse,
    status: 'fail',
    codes: ['pulse-server-invalid'],
    fixes: ['audio.chroot-bind-pulse'],
  },
  {
    name: 'a remote TCP server is not probed from a shared network namespace',
    target: { env: { PULSE_SERVER: 'tcp:192.0.2.9:4713' } },
    status: 'pass',
    codes: ['pulse-remote-server', 'pulse-no-cookie'],
    summary: 'no PulseAudio cookie in the guest (~/.config/pulse/cookie); only a server with auth-anonymous=1 will accept',
    assert: (o, { target }) => {
      expect(target.log.probes).toEqual([]);
      expect(o.findings.find((f) => f.code === 'pulse-remote-server')?.message).toBe(
        'PULSE_SERVER names 192.0.2.9:4713, a remote server; not probed, to send nothing from this network namespace',
      );
    },
  },
  {
    name: 'M6: tcp:127.attacker.example is not loopback: not probed from a shared network namespace',
    target: { env: { PULSE_SERVER: 'tcp:127.attacker.example:4713' }, probes: [pulse(OK)] },
    status: 'pass',
    codes: ['pulse-remote-server', 'pulse-no-cookie'],
    assert: (_o, { target }) => expect(target.log.probes).toEqual([]),
  },
  {
    name: 'tcp:localhost is probed, as 127.0.0.1',
    target: { env: { PULSE_SERVER: 'tcp:localhost:4713' }, probes: [pulse(OK)] },
    status: 'pass',
    codes: ['pulse-connected', 'pulse-no-cookie'],
    assert: (_o, { target }) => expect(sent(target)?.socket).toEqual({ host: '127.0.0.1', port: 4713 }),
  },
  {
    name: 'the first server of a list that works is used',
    target: {
      env: { PULSE_SERVER: 'unix:/a/native unix:/b/native' },
      probes: [
        { name: 'pulse-connect', match: (r: PulseConnectRequest) => r.socket.path === '/a/native', response: connectFail('ENOENT') },
        { name: 'pulse-connect', match: (r: PulseConnectRequest) => r.socket.path === '/b/native', response: OK },
      ] as FakeProbe[],
    },
    status: 'pass',
    codes: ['pulse-connected', 'pulse-no-cookie'],
    summary: '/b/native: authenticated as user',
    assert: (o) =>
      expect(o.findings.find((f) => f.code === 'pulse-connected')?.evidence.tried).toEqual([
        { server: '/a/native', ok: false, errno: 'ENOENT' },
        { server: '/b/native', ok: true, errno: null },
      ]),
  },
  {
    name: "notes PipeWire's pipewire-0",
    target: { env: { XDG_RUNTIME_DIR: '/run/user/1000' }, probes: [pulse(OK)] },
    setup: async ({ target }) => {
      servers.push(await listenUnix(target.hostPath('/run/user/1000/pipewire-0')));
    },
    status: 'pass',
    codes: ['pipewire-present', 'pulse-connected', 'pulse-no-cookie'],
    assert: (o) =>
      expect(o.findings[0]?.message).toBe(
        "PipeWire's socket /run/user/1000/pipewire-0 is present; its pulse server (pipewire-pulse) serves /run/user/1000/pulse/native",
      ),
  },
  {
    name: 'a probe that cannot run is an error',
    target: { env: server, probes: [{ name: 'pulse-connect', response: OK, error: 'probe pulse-connect failed' }] },
    status: 'error',
    codes: ['check-could-not-run'],
    summary: 'the PulseAudio probe could not run: probe pulse-connect failed',
  },
  {
    name: 'H1: PULSE_COOKIE naming a root-only file is read as the user, and nothing of it is sent',
    target: {
      env: { ...server, PULSE_COOKIE: '/etc/shadow' },
      files: { '/etc/shadow': { content: 'root:$6$secrethash:19000:0:99999:7:::\n', mode: 0o600, uid: 0 } },
      user: { uid: 4242, gid: 4242 },
      probes: [pulse(OK)],
    },
    status: 'pass',
    codes: ['pulse-connected', 'pulse-no-cookie'],
    assert: (_o, { target }) => {
      expect(target.log.userReads).toEqual([{ path: '/etc/shadow', asUser: true }]);
      expect(sent(target)?.cookieHex).toBeNull();
    },
  },
  {
    name: 'no desktop session: the shared skip',
    target: { session: null, noSessionReason: 'no desktop session' },
    status: 'skip',
    codes: [],
  },
]);
