import { expect } from 'vitest';
import check from '../../../src/checks/wayland/socket.js';
import { checkTester } from '../support/check-tester.js';
import type { CheckOutcome } from '../../../src/core/types.js';
import type { WaylandRegistryResponse } from '../../../src/core/probe-types.js';

const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : '')));
const ok: WaylandRegistryResponse = {
  ok: true,
  stage: 'sync',
  globals: ['wl_compositor', 'wl_shm', 'xdg_wm_base'],
  globalCount: 3,
  elapsedMs: 2,
};
const refused = (errno: string): WaylandRegistryResponse => ({
  ok: false,
  stage: 'connect',
  errno,
  reason: `connect: ${errno}`,
  elapsedMs: 1,
});
const probe = (response: WaylandRegistryResponse) => ({ name: 'wayland-registry' as const, response });
const env = { WAYLAND_DISPLAY: 'wayland-1', XDG_RUNTIME_DIR: '/run/user/1000' };
const hostSocket = { files: { '/run/user/1000/wayland-1': { socket: true, listening: true, uid: 1000 } } };
const nspawn = { kind: 'nspawn' as const, nspawn: { machine: 'box', nspawnPid: 1, argv: [] as string[] } };
const owned = (uid: number) => ({ '/run/user/1000/wayland-1': { content: '', uid } });

checkTester(check, [
  {
    name: 'the compositor answers: pass, probed as the user at $XDG_RUNTIME_DIR/$WAYLAND_DISPLAY',
    target: { env, probes: [probe(ok)] },
    status: 'pass',
    codes: ['wayland-connected'],
    summary: '/run/user/1000/wayland-1: 3 globals for user',
    assert: (_o, { target }) =>
      expect(target.log.probes[0]).toMatchObject({ asUser: true, request: { socket: { path: '/run/user/1000/wayland-1' } } }),
  },
  {
    name: 'an absolute WAYLAND_DISPLAY is used as is',
    target: { env: { WAYLAND_DISPLAY: '/tmp/wl/sock' }, probes: [probe(ok)] },
    status: 'pass',
    codes: ['wayland-connected'],
    assert: (_o, { target }) => expect(target.log.probes[0]?.request).toMatchObject({ socket: { path: '/tmp/wl/sock' } }),
  },
  {
    name: 'unset, no wayland-0: not a Wayland session, only said',
    target: { env: { XDG_RUNTIME_DIR: '/run/user/1000' }, probes: [probe(refused('ENOENT'))] },
    status: 'pass',
    codes: ['wayland-unset'],
  },
  {
    name: 'unset, wayland-0 answers: pass',
    target: { env: { XDG_RUNTIME_DIR: '/run/user/1000' }, probes: [probe(ok)] },
    status: 'pass',
    codes: ['wayland-connected'],
  },
  { name: 'unset and no runtime dir', target: { env: {} }, status: 'pass', codes: ['wayland-unset'] },
  {
    name: "a name but no XDG_RUNTIME_DIR: libwayland's words",
    target: { env: { WAYLAND_DISPLAY: 'wayland-1' } },
    status: 'fail',
    codes: ['wayland-no-runtime-dir'],
    assert: (o) => expect(o.findings[0]?.message).toContain('XDG_RUNTIME_DIR is invalid or not set'),
  },
  {
    name: 'missing in the guest, no host socket: no fix',
    target: { env, probes: [probe(refused('ENOENT'))] },
    status: 'fail',
    codes: ['wayland-socket-missing'],
    fixes: [],
  },
  {
    name: 'missing in the guest, the host has it: nspawn binds /run/user/UID with --setenv=WAYLAND_DISPLAY',
    target: { ...nspawn, env, probes: [probe(refused('ENOENT'))] },
    host: hostSocket,
    status: 'fail',
    codes: ['wayland-socket-missing'],
    fixes: ['wayland.nspawn-bind-runtime-dir'],
    assert: (o) => expect(snippets(o).some((s) => s.includes('--bind=/run/user/1000 --setenv=WAYLAND_DISPLAY=wayland-1'))).toBe(true),
  },
  {
    name: 'schroot: the fstab line',
    target: { kind: 'schroot', schroot: { chroot: 'jammy', session: null }, env, probes: [probe(refused('ENOENT'))] },
    host: hostSocket,
    status: 'fail',
    codes: ['wayland-socket-missing'],
    fixes: ['wayland.schroot-bind-runtime-dir'],
    assert: (o) => expect(snippets(o)).toContain('/run/user/1000 /run/user/1000 none rw,bind 0 0'),
  },
  { name: 'stale', target: { env, probes: [probe(refused('ECONNREFUSED'))] }, status: 'fail', codes: ['wayland-socket-stale'] },
  {
    name: 'EACCES names the owner',
    target: { env, files: owned(0), probes: [probe(refused('EACCES'))] },
    status: 'fail',
    codes: ['wayland-socket-permission'],
    assert: (o) => expect(o.findings[0]?.message).toContain('belongs to uid 0'),
  },
  {
    name: "another user's compositor answers: a warning",
    target: { env, files: owned(1001), probes: [probe(ok)] },
    status: 'warn',
    codes: ['wayland-connected', 'wayland-socket-not-owned'],
  },
  {
    name: 'wl_display.error',
    target: {
      env,
      probes: [probe({ ok: false, stage: 'protocol', errno: null, reason: 'wl_display.error 1: invalid method', elapsedMs: 1 })],
    },
    status: 'fail',
    codes: ['wayland-no-answer'],
  },
  {
    name: 'no desktop session: the shared skip',
    target: { session: null, noSessionReason: 'no desktop session' },
    status: 'skip',
    codes: [],
  },
]);
