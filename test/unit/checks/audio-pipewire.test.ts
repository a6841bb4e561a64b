import net from 'node:net';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import check from '../../../src/checks/audio/pipewire.js';
import { checkTester } from '../support/check-tester.js';
import type { FakeFile, FakeProbe, FakeProbeOf } from '../support/fake-target.js';
import type { CheckOutcome } from '../../../src/core/types.js';
import type { PipewireCoreResponse, PulseConnectResponse } from '../../../src/core/probe-types.js';

const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : '')));
const core: PipewireCoreResponse = {
  ok: true,
  stage: 'sync',
  core: { name: 'pipewire-0', version: '0.3.65', userName: 'user', hostName: 'box', cookie: 1 },
  elapsedMs: 3,
};
const refused = (errno: string): PipewireCoreResponse => ({
  ok: false,
  stage: 'connect',
  errno,
  reason: `connect: ${errno}`,
  elapsedMs: 1,
});
const pw = (response: PipewireCoreResponse, socket?: string): FakeProbeOf<'pipewire-core'> => ({
  name: 'pipewire-core',
  response,
  ...(socket ? { match: (r: { socket: { path: string } }) => r.socket.path === socket } : {}),
});
const pulseAs = (name: string, version = '15.0.0'): FakeProbe => ({
  name: 'pulse-connect',
  response: {
    ok: true,
    stage: 'auth',
    protocolVersion: 35,
    elapsedMs: 1,
    server: { ok: true, name, version },
  } satisfies PulseConnectResponse,
});
const pipewirePulse = pulseAs('PulseAudio (on PipeWire 0.3.65)');
const noPulse: FakeProbe = {
  name: 'pulse-connect',
  response: { ok: false, stage: 'connect', errno: 'ENOENT', reason: 'connect: ENOENT', elapsedMs: 1 },
};
const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
const hostPw = { files: { '/run/user/1000/pipewire-0': { socket: true, listening: true, uid: 1000 } } };
const hostStale = { files: { '/run/user/1000/pipewire-0': { socket: true, listening: false, uid: 1000 } } };
const LIB = '/usr/lib/x86_64-linux-gnu/alsa-lib';
/** pipewire-alsa as Debian installs it: the files in /usr/share, symlinks in /etc/alsa/conf.d, the plugin. */
const pipewireAlsa: Record<string, FakeFile> = {
  '/usr/share/alsa/alsa.conf.d/50-pipewire.conf': 'pcm.pipewire { type pipewire }\n',
  '/usr/share/alsa/alsa.conf.d/99-pipewire-default.conf': 'pcm.!default { type pipewire }\n',
  '/etc/alsa/conf.d/50-pipewire.conf': { symlink: '/usr/share/alsa/alsa.conf.d/50-pipewire.conf' },
  '/etc/alsa/conf.d/99-pipewire-default.conf': { symlink: '/usr/share/alsa/alsa.conf.d/99-pipewire-default.conf' },
  [`${LIB}/libasound_module_pcm_pipewire.so`]: '',
};
const pulseAlsa: Record<string, FakeFile> = {
  '/usr/share/alsa/alsa.conf.d/pulse.conf': '@hooks [ ]\n',
  '/etc/alsa/conf.d/99-pulse.conf': { symlink: '/usr/share/alsa/alsa.conf.d/pulse.conf' },
  [`${LIB}/libasound_module_pcm_pulse.so`]: '',
};
const apt: Record<string, FakeFile> = { '/usr/bin/apt-get': { content: '', mode: 0o755 } };
const nspawn = { kind: 'nspawn' as const, nspawn: { machine: 'box', nspawnPid: 1, argv: [] as string[] } };
const working = { env, files: pipewireAlsa, probes: [pw(core), pipewirePulse] };

/** A listening socket at a guest path of the fake root (the bound host socket). */
const servers: net.Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});
function guestSocket(guestPath: string) {
  return async ({ target }: { target: { hostPath(p: string): string } }) => {
    const at = target.hostPath(guestPath);
    mkdirSync(path.dirname(at), { recursive: true });
    const s = net.createServer();
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(at, resolve));
  };
}

checkTester(check, [
  {
    name: 'the core answers, pulse is pipewire-pulse, ALSA goes to PipeWire: pass',
    target: working,
    host: hostPw,
    status: 'pass',
    codes: ['pipewire-connected', 'pulse-is-pipewire', 'alsa-route-pipewire'],
    summary: '/run/user/1000/pipewire-0: PipeWire 0.3.65 for user; pulse is pipewire-pulse',
    assert: (o, { target }) => {
      expect(target.log.probes[0]).toMatchObject({
        name: 'pipewire-core',
        asUser: true,
        request: { socket: { path: '/run/user/1000/pipewire-0' } },
      });
      expect(target.log.probes.find((p) => p.name === 'pulse-connect')).toMatchObject({
        asUser: true,
        request: { socket: { path: '/run/user/1000/pulse/native' }, serverInfo: true },
      });
      expect(o.findings[0]?.message).toContain('the core "pipewire-0" answered (PipeWire 0.3.65');
      expect(o.findings.find((f) => f.code === 'alsa-route-pipewire')?.message).toContain('/etc/alsa/conf.d/99-pipewire-default.conf');
    },
  },
  {
    name: 'PIPEWIRE_RUNTIME_DIR comes before XDG_RUNTIME_DIR',
    target: { ...working, env: { ...env, PIPEWIRE_RUNTIME_DIR: '/run/pw' } },
    status: 'pass',
    codes: ['pipewire-connected', 'pulse-is-pipewire', 'alsa-route-pipewire'],
    assert: (_o, { target }) => expect(target.log.probes[0]?.request).toMatchObject({ socket: { path: '/run/pw/pipewire-0' } }),
  },
  {
    name: 'an absolute PIPEWIRE_REMOTE is used as it is',
    target: { ...working, env: { PIPEWIRE_REMOTE: '/srv/pw/sock' } },
    status: 'pass',
    codes: ['pipewire-connected', 'pulse-is-pipewire', 'alsa-route-pipewire'],
    assert: (_o, { target }) =>
      expect(target.log.probes.filter((p) => p.name === 'pipewire-core').map((p) => p.request)).toEqual([
        { socket: { path: '/srv/pw/sock' }, timeoutMs: expect.any(Number) as number },
      ]),
  },
  {
    name: "the runtime dir has none, /run/pipewire answers: libpipewire's fallback, pass",
    target: {
      ...working,
      probes: [pw(refused('ENOENT'), '/run/user/1000/pipewire-0'), pw(core, '/run/pipewire/pipewire-0'), pipewirePulse],
    },
    status: 'pass',
    codes: ['pipewire-connected', 'pulse-is-pipewire', 'alsa-route-pipewire'],
    summary: /^\/run\/pipewire\/pipewire-0: PipeWire/,
  },
  {
    name: 'no PipeWire on the host and none in the guest: skip',
    target: { env, probes: [pw(refused('ENOENT'))] },
    status: 'skip',
    codes: [],
    summary: /the host runs no PipeWire for uid 1000/,
  },
  { name: 'an abstract PIPEWIRE_REMOTE: skip, not probed', target: { env: { PIPEWIRE_REMOTE: '@pw' } }, status: 'skip', codes: [] },
  {
    name: 'not in the guest, the host has it: chroot binds /run/user/UID and exports PIPEWIRE_RUNTIME_DIR',
    target: { env, files: pulseAlsa, probes: [pw(refused('ENOENT')), pipewirePulse] },
    host: hostPw,
    status: 'fail',
    codes: ['pipewire-socket-missing', 'pulse-is-pipewire', 'alsa-route-pulse'],
    fixes: ['audio.chroot-bind-pipewire-runtime-dir'],
    assert: (o) => {
      expect(o.findings[0]?.message).toContain(
        '"pw_context_connect() failed: Host is down"; the host has /run/user/1000/pipewire-0, bind it in',
      );
      expect(snippets(o).some((s) => s.includes('mount --bind /run/user/1000 '))).toBe(true);
      expect(snippets(o)).toContain('export XDG_RUNTIME_DIR=/run/user/1000 PIPEWIRE_RUNTIME_DIR=/run/user/1000');
      expect(o.findings.find((f) => f.code === 'alsa-route-pulse')?.message).toContain(
        'the pulse socket is pipewire-pulse: ALSA apps reach PipeWire',
      );
    },
  },
  {
    name: 'nspawn: --bind=/run/user/UID --setenv=PIPEWIRE_RUNTIME_DIR, with the --bind-user caveat',
    target: { ...nspawn, env, files: pipewireAlsa, probes: [pw(refused('ENOENT')), noPulse] },
    host: hostPw,
    status: 'fail',
    codes: ['pipewire-socket-missing', 'pulse-unreached', 'alsa-route-pipewire'],
    fixes: ['audio.nspawn-bind-pipewire-runtime-dir'],
    assert: (o) => {
      expect(snippets(o).some((s) => s.includes('--bind=/run/user/1000 --setenv=PIPEWIRE_RUNTIME_DIR=/run/user/1000'))).toBe(true);
      expect(o.fixes[0]?.steps[0]).toMatchObject({ description: expect.stringContaining('systemd#41546') as string });
    },
  },
  {
    name: 'schroot: the fstab line',
    target: {
      kind: 'schroot',
      schroot: { chroot: 'jammy', session: null },
      env,
      files: pipewireAlsa,
      probes: [pw(refused('ENOENT')), pipewirePulse],
    },
    host: hostPw,
    status: 'fail',
    codes: ['pipewire-socket-missing', 'pulse-is-pipewire', 'alsa-route-pipewire'],
    fixes: ['audio.schroot-bind-pipewire-runtime-dir'],
    assert: (o) => expect(snippets(o)).toContain('/run/user/1000 /run/user/1000 none rw,bind 0 0'),
  },
  {
    name: 'missing, and the host has no socket for the user: no bind offered',
    target: { env: { PIPEWIRE_RUNTIME_DIR: '/run/user/1000' }, files: pipewireAlsa, probes: [pw(refused('ENOENT')), pipewirePulse] },
    status: 'fail',
    codes: ['pipewire-socket-missing', 'pulse-is-pipewire', 'alsa-route-pipewire'],
    fixes: [],
  },
  {
    name: 'the guest has /run/user/UID/pipewire-0 but XDG_RUNTIME_DIR points elsewhere: PIPEWIRE_REMOTE, quoted',
    target: { env: { XDG_RUNTIME_DIR: '/tmp/rt x' }, files: pipewireAlsa, probes: [pw(refused('ENOENT')), pipewirePulse] },
    host: hostPw,
    setup: guestSocket('/run/user/1000/pipewire-0'),
    status: 'fail',
    codes: ['pipewire-socket-missing', 'pulse-is-pipewire', 'alsa-route-pipewire'],
    fixes: ['audio.set-pipewire-remote'],
    assert: (o) => {
      expect(o.findings[0]?.message).toContain('/tmp/rt x/pipewire-0 does not exist in the guest (ENOENT)');
      expect(o.findings[0]?.message).toContain('the guest has /run/user/1000/pipewire-0');
      expect(snippets(o)).toEqual(['export PIPEWIRE_REMOTE=/run/user/1000/pipewire-0']);
    },
  },
  {
    name: 'no runtime dir at all and no /run/pipewire: the variables are named',
    target: { env: {}, files: pipewireAlsa, probes: [pw(refused('ENOENT')), pipewirePulse] },
    host: hostPw,
    status: 'fail',
    codes: ['pipewire-no-runtime-dir', 'pulse-is-pipewire', 'alsa-route-pipewire'],
    fixes: ['audio.chroot-bind-pipewire-runtime-dir'],
    assert: (o, { target }) => {
      expect(
        target.log.probes.filter((p) => p.name === 'pipewire-core').map((p) => (p.request as { socket: { path: string } }).socket.path),
      ).toEqual(['/run/pipewire/pipewire-0']);
      expect(o.findings[0]?.message).toContain('neither PIPEWIRE_RUNTIME_DIR nor XDG_RUNTIME_DIR is set');
    },
  },
  {
    name: 'stale in the guest, live on the host: bind the live one in',
    target: { env, files: pipewireAlsa, probes: [pw(refused('ECONNREFUSED')), pipewirePulse] },
    host: hostPw,
    status: 'fail',
    codes: ['pipewire-socket-stale', 'pulse-is-pipewire', 'alsa-route-pipewire'],
    fixes: ['audio.chroot-bind-pipewire-runtime-dir'],
    assert: (o) => expect(o.findings[0]?.message).toContain("the host's /run/user/1000/pipewire-0 answers"),
  },
  {
    name: 'stale on the host too: restart PipeWire as the user',
    target: { env, files: pipewireAlsa, probes: [pw(refused('ECONNREFUSED')), noPulse] },
    host: hostStale,
    status: 'fail',
    codes: ['pipewire-socket-stale', 'pulse-unreached', 'alsa-route-pipewire'],
    fixes: ['audio.restart-pipewire'],
    assert: (o) => expect(snippets(o)[0]).toContain('systemctl --user restart pipewire.socket'),
  },
  {
    name: 'EACCES names the owner',
    target: {
      env,
      files: { ...pipewireAlsa, '/run/user/1000/pipewire-0': { content: '', uid: 0 } as FakeFile },
      probes: [pw(refused('EACCES')), pipewirePulse],
    },
    host: hostPw,
    status: 'fail',
    codes: ['pipewire-socket-permission', 'pulse-is-pipewire', 'alsa-route-pipewire'],
    assert: (o) => expect(o.findings[0]?.message).toContain('belongs to uid 0'),
  },
  {
    name: 'ELOOP and friends: connect failed with the reason',
    target: { env, files: pipewireAlsa, probes: [pw(refused('ELOOP')), pipewirePulse] },
    host: hostPw,
    status: 'fail',
    codes: ['pipewire-connect-failed', 'pulse-is-pipewire', 'alsa-route-pipewire'],
  },
  {
    name: 'a Core::Error in answer to Hello',
    target: {
      env,
      files: pipewireAlsa,
      probes: [
        pw({ ok: false, stage: 'error', errno: 'EACCES', reason: 'Core::Error EACCES: no permission', elapsedMs: 1 }),
        pipewirePulse,
      ],
    },
    host: hostPw,
    status: 'fail',
    codes: ['pipewire-refused', 'pulse-is-pipewire', 'alsa-route-pipewire'],
  },
  {
    name: 'a socket that says nothing',
    target: {
      env,
      files: pipewireAlsa,
      probes: [pw({ ok: false, stage: 'silent', errno: null, reason: 'no answer', elapsedMs: 1 }), pipewirePulse],
    },
    host: hostPw,
    status: 'fail',
    codes: ['pipewire-no-answer', 'pulse-is-pipewire', 'alsa-route-pipewire'],
  },
  {
    name: 'the pulse socket is PulseAudio itself',
    target: { ...working, probes: [pw(core), pulseAs('pulseaudio', '16.1')] },
    host: hostPw,
    status: 'pass',
    codes: ['pipewire-connected', 'pulse-not-pipewire', 'alsa-route-pipewire'],
    assert: (o) =>
      expect(o.findings.find((f) => f.code === 'pulse-not-pipewire')?.message).toContain('"pulseaudio" 16.1, not pipewire-pulse'),
  },
  {
    name: 'PULSE_SERVER over TCP: the pulse side is not asked',
    target: { ...working, env: { ...env, PULSE_SERVER: 'tcp:192.0.2.1:4713' }, probes: [pw(core)] },
    host: hostPw,
    status: 'pass',
    codes: ['pipewire-connected', 'alsa-route-pipewire'],
  },
  {
    name: 'no ALSA route and no /dev/snd: "unable to open slave", install pipewire-alsa with the guest\'s apt-get',
    target: { env, files: apt, probes: [pw(core), pipewirePulse] },
    host: hostPw,
    status: 'warn',
    codes: ['pipewire-connected', 'pulse-is-pipewire', 'alsa-no-route'],
    fixes: ['audio.install-pipewire-alsa'],
    assert: (o) => {
      expect(o.findings.find((f) => f.code === 'alsa-no-route')?.message).toContain(
        '"ALSA lib confmisc.c:855:(parse_card) cannot find card \'0\'" … "Unknown PCM default"',
      );
      expect(snippets(o)).toEqual(['apt-get install --no-install-recommends pipewire-alsa']);
    },
  },
  {
    name: 'no route, and /proc/asound lists the host\'s card: "unable to open slave"',
    target: {
      env,
      files: {
        ...apt,
        '/proc/asound/cards': ' 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n                      HDA Intel PCH at 0xf7f10000 irq 32\n',
      },
      probes: [pw(core), pipewirePulse],
    },
    host: hostPw,
    status: 'warn',
    codes: ['pipewire-connected', 'pulse-is-pipewire', 'alsa-no-route'],
    fixes: ['audio.install-pipewire-alsa'],
    assert: (o) =>
      expect(o.findings.find((f) => f.code === 'alsa-no-route')?.message).toContain(
        'ALSA lib pcm_dmix.c:1000:(snd_pcm_dmix_open) unable to open slave',
      ),
  },
  {
    name: 'the pulse route with no pulse server answering: dead; pipewire-alsa offered since the core answers',
    target: { env, files: { ...pulseAlsa, ...apt }, probes: [pw(core), noPulse] },
    host: hostPw,
    status: 'warn',
    codes: ['pipewire-connected', 'pulse-unreached', 'alsa-route-pulse-down'],
    fixes: ['audio.install-pipewire-alsa'],
    assert: (o) =>
      expect(o.findings.find((f) => f.code === 'alsa-route-pulse-down')?.message).toContain(
        "/etc/alsa/conf.d/99-pulse.conf sends ALSA's default device to pulse, but the pulse socket /run/user/1000/pulse/native did not answer",
      ),
  },
  {
    name: 'a dead pulse route and no core either: no pipewire-alsa (it would not help)',
    target: { env, files: { ...pulseAlsa, ...apt }, probes: [pw(refused('ENOENT')), noPulse] },
    host: hostPw,
    status: 'fail',
    codes: ['pipewire-socket-missing', 'pulse-unreached', 'alsa-route-pulse-down'],
    fixes: ['audio.chroot-bind-pipewire-runtime-dir'],
  },
  {
    name: 'a route file whose target was removed (dangling symlink) is no route',
    target: {
      env,
      files: { '/etc/alsa/conf.d/99-pipewire-default.conf': { symlink: '/usr/share/alsa/alsa.conf.d/99-pipewire-default.conf' } },
      probes: [pw(core), pipewirePulse],
    },
    host: hostPw,
    status: 'warn',
    codes: ['pipewire-connected', 'pulse-is-pipewire', 'alsa-no-route'],
    fixes: ['audio.install-pipewire-alsa'],
    assert: (o) => expect(snippets(o)).toHaveLength(3),
  },
  {
    name: 'the route file without its plugin library: broken',
    target: {
      env,
      files: { '/etc/alsa/conf.d/99-pipewire-default.conf': 'pcm.!default { type pipewire }\n' },
      probes: [pw(core), pipewirePulse],
    },
    host: hostPw,
    status: 'warn',
    codes: ['pipewire-connected', 'pulse-is-pipewire', 'alsa-route-broken'],
    fixes: ['audio.install-pipewire-alsa'],
    assert: (o) =>
      expect(o.findings.find((f) => f.code === 'alsa-route-broken')?.message).toContain(
        'libasound_module_pcm_pipewire.so is not in the guest',
      ),
  },
  {
    name: '/etc/asound.conf sets the default to pipewire',
    target: {
      env,
      files: { '/etc/asound.conf': 'pcm.!default {\n  type pipewire\n}\n', [`${LIB}/libasound_module_pcm_pipewire.so`]: '' },
      probes: [pw(core), pipewirePulse],
    },
    host: hostPw,
    status: 'pass',
    codes: ['pipewire-connected', 'pulse-is-pipewire', 'alsa-route-pipewire'],
  },
  {
    name: 'no route, but /dev/snd in the guest: ALSA opens the card',
    target: { env, files: { '/dev/snd/pcmC0D0p': '', '/dev/snd/controlC0': '' }, probes: [pw(core), pipewirePulse] },
    host: hostPw,
    status: 'pass',
    codes: ['pipewire-connected', 'pulse-is-pipewire', 'alsa-route-hardware'],
  },
  {
    name: 'the probe cannot start: error',
    target: { env, probes: [{ name: 'pipewire-core', response: core, error: 'spawn failed' }] },
    host: hostPw,
    status: 'error',
    codes: ['check-could-not-run'],
  },
  {
    name: 'no desktop session: the shared skip',
    target: { session: null, noSessionReason: 'no desktop session' },
    status: 'skip',
    codes: [],
  },
]);
