import type net from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/audio/pulse.js';
import type { PulseConnectRequest, PulseConnectResponse } from '../../../src/guest/probe-protocol.js';
import { FakeHost } from '../support/fake-host.js';
import { FakeTarget, fakeContext, type FakeProbe, type FakeScenario } from '../support/fake-target.js';
import { listenUnix } from '../support/unix-socket.js';

const made: FakeTarget[] = [];
const servers: net.Server[] = [];
afterEach(() => { while (made.length) made.pop()!.dispose(); });
afterAll(async () => { for (const s of servers) await new Promise((r) => s.close(r)); });

const COOKIE = Buffer.alloc(256, 0xab);
const OK: PulseConnectResponse = { ok: true, stage: 'auth', protocolVersion: 35, elapsedMs: 2 };
const connectFail = (errno: string): PulseConnectResponse => ({ ok: false, stage: 'connect', errno, reason: `connect: ${errno}`, elapsedMs: 1 });
const pulse = (response: PulseConnectResponse): FakeProbe => ({ name: 'pulse-connect', response });

/** A host whose desktop user (uid 1000) runs a sound server: /run/user/1000/pulse/native is a socket. */
const hostWithPulse = () => new FakeHost({ files: { '/run/user/1000/pulse/native': { socket: true, listening: true, uid: 1000 } } });

async function run(scenario: FakeScenario, setup?: (t: FakeTarget) => Promise<void>, host?: FakeHost) {
  const target = new FakeTarget(scenario);
  made.push(target);
  await setup?.(target);
  const outcome = await check.run(fakeContext(target, {}, host));
  return { outcome, target };
}

const codes = (o: { findings: { code: string }[] }) => o.findings.map((f) => f.code);
const nspawn = { kind: 'nspawn' as const, nspawn: { machine: 'box', nspawnPid: 1, argv: [] }, sharesNetns: false };
const server = { PULSE_SERVER: 'unix:/run/user/pulse/native' };

describe('audio.pulse', () => {
  it.each([
    ['working', pulse(OK), 'pass', 'pulse-connected'],
    ['socket missing (ENOENT)', pulse(connectFail('ENOENT')), 'fail', 'pulse-socket-missing'],
    ['stale socket (ECONNREFUSED)', pulse(connectFail('ECONNREFUSED')), 'fail', 'pulse-socket-stale'],
    ['not a socket', pulse(connectFail('ENOTSOCK')), 'fail', 'pulse-connect-failed'],
    ['cookie refused', pulse({ ok: false, stage: 'auth', errno: null, reason: 'access denied', elapsedMs: 3 }), 'fail', 'pulse-auth-failed'],
    ['no answer to AUTH', pulse({ ok: false, stage: 'silent', errno: null, reason: 'no answer to AUTH within 500 ms', elapsedMs: 500 }), 'fail', 'pulse-no-answer'],
  ] as const)('%s', async (_name, probe, status, code) => {
    const { outcome, target } = await run({ env: server, probes: [probe] });
    expect(outcome.status).toBe(status);
    expect(codes(outcome)).toContain(code);
    expect(target.log.probes[0]).toMatchObject({ name: 'pulse-connect', asUser: true, request: { socket: { path: '/run/user/pulse/native' } } });
  });

  it('EACCES for the user is a failure even when root can connect', async () => {
    const { outcome, target } = await run({
      env: server, files: { '/run/user/pulse': { dir: true, mode: 0o700 } },
      probes: [pulse(connectFail('EACCES')), { name: 'unix-connect', response: { ok: true, errno: null, message: 'connected', resolvedPath: '/run/user/pulse/native' } }],
    });
    expect(outcome.status).toBe('fail');
    const denied = outcome.findings.find((f) => f.code === 'pulse-socket-permission');
    expect(denied?.message).toContain('root can connect');
    expect(denied?.evidence.rootCanConnect).toBe(true);
    // The root probe runs without dropping privileges.
    expect(target.log.probes[1]).toMatchObject({ name: 'unix-connect' });
    expect(target.log.probes[1]?.asUser).toBeFalsy();
  });

  it('sends the cookie from ~/.config/pulse/cookie, or PULSE_COOKIE', async () => {
    const home = await run({ env: server, files: { '/home/user/.config/pulse/cookie': { content: COOKIE } }, probes: [pulse(OK)] });
    expect((home.target.log.probes[0]?.request as PulseConnectRequest).cookieHex).toBe(COOKIE.toString('hex'));
    const env = await run({ env: { ...server, PULSE_COOKIE: '/etc/c' }, files: { '/etc/c': { content: Buffer.alloc(256, 1) } }, probes: [pulse(OK)] });
    expect((env.target.log.probes[0]?.request as PulseConnectRequest).cookieHex).toBe(Buffer.alloc(256, 1).toString('hex'));
    const none = await run({ env: server, probes: [pulse(OK)] });
    expect((none.target.log.probes[0]?.request as PulseConnectRequest).cookieHex).toBeNull();
    expect(codes(none.outcome)).toContain('pulse-no-cookie');
  });

  it.each([
    ['PULSE_SERVER=/path', { PULSE_SERVER: '/tmp/p/native' }, '/tmp/p/native'],
    ['$XDG_RUNTIME_DIR/pulse/native', { XDG_RUNTIME_DIR: '/run/user/1000' }, '/run/user/1000/pulse/native'],
    ['/run/user/UID/pulse/native', {}, '/run/user/1234/pulse/native'],
  ])('resolves the server from %s', async (_name, env, path) => {
    const { target } = await run({ env, user: { uid: 1234 }, probes: [pulse(OK)] });
    expect((target.log.probes[0]?.request as PulseConnectRequest).socket).toEqual({ path });
  });

  it('an unusable PULSE_SERVER fails without probing', async () => {
    const { outcome, target } = await run({ env: { PULSE_SERVER: 'unix:relative/path' } });
    expect(codes(outcome)).toEqual(['pulse-server-invalid']);
    expect(target.log.probes).toEqual([]);
  });

  it('does not probe a remote TCP server from a shared network namespace', async () => {
    const { outcome, target } = await run({ env: { PULSE_SERVER: 'tcp:192.0.2.9:4713' } });
    expect(codes(outcome)).toContain('pulse-remote-server');
    expect(target.log.probes).toEqual([]);
  });

  it('uses the first server of a list that works', async () => {
    const { outcome } = await run({
      env: { PULSE_SERVER: 'unix:/a/native unix:/b/native' },
      probes: [
        { name: 'pulse-connect', match: (r: PulseConnectRequest) => r.socket.path === '/a/native', response: connectFail('ENOENT') },
        { name: 'pulse-connect', match: (r: PulseConnectRequest) => r.socket.path === '/b/native', response: OK },
      ] as FakeProbe[],
    });
    expect(outcome.status).toBe('pass');
    expect(outcome.summary).toContain('/b/native');
  });

  it('notes PipeWire\'s pipewire-0', async () => {
    const { outcome } = await run({ env: { XDG_RUNTIME_DIR: '/run/user/1000' }, probes: [pulse(OK)] }, async (t) => {
      servers.push(await listenUnix(t.hostPath('/run/user/1000/pipewire-0')));
    });
    expect(codes(outcome)).toContain('pipewire-present');
  });

  it('offers the seed\'s nspawn bind and PULSE_SERVER, with the .nspawn lines', async () => {
    const { outcome } = await run({ ...nspawn, env: {}, probes: [pulse(connectFail('ENOENT'))] }, undefined, hostWithPulse());
    const snippets = outcome.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? s.snippet : '')));
    expect(snippets.some((s) => s?.includes('--bind=/run/user/1000/pulse:/run/user/pulse --setenv=PULSE_SERVER=unix:/run/user/pulse/native'))).toBe(true);
    expect(snippets).toContain('[Files]\nBind=/run/user/1000/pulse:/run/user/pulse\n\n[Exec]\nEnvironment=PULSE_SERVER=unix:/run/user/pulse/native');
  });

  it('offers the schroot fstab line', async () => {
    const { outcome } = await run({ kind: 'schroot', schroot: { chroot: 'jammy', session: null }, env: {}, probes: [pulse(connectFail('ENOENT'))] }, undefined, hostWithPulse());
    const snippets = outcome.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? s.snippet : '')));
    expect(snippets).toContain('/run/user/1000/pulse /run/user/1000/pulse none rw,bind 0 0');
    expect(snippets).toContain('preserve-environment=true');
  });

  it('the host has no sound server for the user: no bind is offered, the finding says what is missing and where', async () => {
    const { outcome } = await run({ kind: 'chroot', env: {}, probes: [pulse(connectFail('ENOENT'))] });
    expect(codes(outcome)).toContain('pulse-socket-missing');
    expect(outcome.fixes.map((f) => f.id)).not.toContain('audio.chroot-bind-pulse');
    expect(outcome.summary).toContain('the host has no sound server for uid 1000 either (no /run/user/1000/pulse/native): start PulseAudio or pipewire-pulse as that user on the host');
    const withPulse = await run({ kind: 'chroot', env: {}, probes: [pulse(connectFail('ENOENT'))] }, undefined, hostWithPulse());
    expect(withPulse.outcome.fixes.map((f) => f.id)).toContain('audio.chroot-bind-pulse');
    expect(withPulse.outcome.summary).toContain('the host has /run/user/1000/pulse/native, bind it in');
  });

  it('a probe that cannot run is an error', async () => {
    const { outcome } = await run({ env: server, probes: [{ name: 'pulse-connect', response: OK, error: 'probe pulse-connect failed' }] });
    expect(outcome.status).toBe('error');
  });

  it('H1: PULSE_COOKIE naming a root-only file is read as the user, and nothing of it is sent', async () => {
    const { target } = await run({
      env: { ...server, PULSE_COOKIE: '/etc/shadow' }, files: { '/etc/shadow': { content: 'root:$6$secrethash:19000:0:99999:7:::\n', mode: 0o600 } },
      user: { uid: 4242, gid: 4242 }, probes: [pulse(OK)],
    });
    expect(target.log.userReads).toEqual([{ path: '/etc/shadow', asUser: true }]);
    expect((target.log.probes[0]?.request as PulseConnectRequest).cookieHex).toBeNull();
  });

  it('M6: tcp:127.attacker.example is not loopback: not probed from a shared network namespace', async () => {
    const { outcome, target } = await run({ env: { PULSE_SERVER: 'tcp:127.attacker.example:4713' }, probes: [pulse(OK)] });
    expect(codes(outcome)).toContain('pulse-remote-server');
    expect(target.log.probes).toEqual([]);
  });
});
