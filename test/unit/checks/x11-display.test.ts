import type net from 'node:net';
import { afterAll, expect } from 'vitest';
import check from '../../../src/checks/x11/display.js';
import { checkTester } from '../support/check-tester.js';
import { x11Files } from '../support/fake-host.js';
import { listenUnix } from '../support/unix-socket.js';
import type { CheckOutcome } from '../../../src/core/types.js';

const servers: net.Server[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
});

const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? s.snippet : '')));
const liveFive = { files: x11Files([{ display: 5, live: true }]) };
const liveFiveDeadSix = {
  files: x11Files([
    { display: 5, live: true },
    { display: 6, live: false },
  ]),
};
const nspawn = { kind: 'nspawn' as const, nspawn: { machine: 'box', nspawnPid: 1, argv: [] as string[] } };
const schroot = { kind: 'schroot', schroot: { chroot: 'jammy', session: null } } as const;

checkTester(check, [
  {
    name: 'DISPLAY unset, no host display: no display to offer; the finding says what is missing and where',
    target: {},
    status: 'fail',
    codes: ['display-unset'],
    fixes: [],
    assert: (o) =>
      expect(o.summary).toContain('the host has no X server (no live socket in /tmp/.X11-unix): start one, or use Xvfb for a test'),
  },
  { name: 'DISPLAY empty counts as unset', target: { env: { DISPLAY: '' } }, status: 'fail', codes: ['display-unset'], fixes: [] },
  { name: 'DISPLAY malformed', target: { env: { DISPLAY: 'nonsense' } }, status: 'fail', codes: ['display-invalid'], fixes: [] },
  {
    name: 'DISPLAY malformed, a live host display: point DISPLAY at it',
    target: { env: { DISPLAY: 'nonsense' } },
    host: liveFive,
    status: 'fail',
    codes: ['host-displays', 'display-invalid'],
    fixes: ['x11.export-display'],
    assert: (o) => expect(snippets(o)).toContain('export DISPLAY=:5'),
  },
  { name: 'a DECnet display is not valid', target: { env: { DISPLAY: 'host::0' } }, status: 'fail', codes: ['display-invalid'], fixes: [] },
  {
    name: "two live displays: the desktop user's own is offered, not another user's lower one",
    target: { kind: 'chroot' },
    host: {
      files: {
        '/tmp/.X11-unix/X0': { socket: true, listening: true, uid: 0 },
        '/tmp/.X11-unix/X3': { socket: true, listening: true, uid: 1000 },
      },
    },
    status: 'fail',
    codes: ['host-displays', 'display-unset'],
    fixes: ['x11.export-display'],
    assert: (o) => expect(snippets(o)).toContain('export DISPLAY=:3'),
  },
  {
    name: 'a TCP display is left to x11.socket',
    target: { env: { DISPLAY: 'localhost:10.0' } },
    status: 'pass',
    codes: ['display-remote'],
    assert: (o) => expect(o.findings[0]?.evidence).toMatchObject({ host: 'localhost', port: 6010 }),
  },
  {
    name: 'no such display anywhere, nothing to suggest',
    target: { env: { DISPLAY: ':7' } },
    status: 'fail',
    codes: ['display-socket-missing'],
  },
  {
    name: "unset on nspawn: firefox's error quoted, the live display suggested, not the dead one",
    target: nspawn,
    host: liveFiveDeadSix,
    status: 'fail',
    codes: ['host-displays', 'display-unset'],
    fixes: ['x11.nspawn-setenv-display'],
    assert: (o) => {
      const unset = o.findings.find((f) => f.code === 'display-unset');
      expect(unset?.message).toContain('Error: no DISPLAY environment variable specified');
      expect(unset?.evidence.liveDisplays).toEqual([':5']);
      expect(snippets(o)).toContain('[Exec]\nEnvironment=DISPLAY=:5');
      expect(snippets(o).some((s) => s?.includes('--setenv=DISPLAY=:5'))).toBe(true);
    },
  },
  {
    name: 'the socket exists in the guest',
    target: { env: { DISPLAY: ':7' } },
    status: 'pass',
    codes: ['display-ok'],
    summary: 'DISPLAY=:7, socket /tmp/.X11-unix/X7 present',
    setup: async ({ target }) => {
      servers.push(await listenUnix(target.hostPath('/tmp/.X11-unix/X7')));
    },
  },
  {
    name: 'a regular file where the socket should be is not a display',
    target: { env: { DISPLAY: ':7' }, files: { '/tmp/.X11-unix/X7': 'not a socket' } },
    status: 'fail',
    codes: ['display-socket-missing'],
  },
  {
    name: 'the host has the display but the guest lacks the socket: the schroot fstab bind',
    target: { ...schroot, env: { DISPLAY: ':5' } },
    host: liveFive,
    status: 'warn',
    codes: ['host-displays', 'display-socket-not-in-guest'],
    fixes: ['x11.schroot-bind-socket'],
    assert: (o) => expect(snippets(o)).toContain('/tmp/.X11-unix /tmp/.X11-unix none rw,bind 0 0'),
  },
  {
    name: 'a display that exists nowhere, with a live one on the host: point DISPLAY at it and bind the sockets',
    target: { env: { DISPLAY: ':9' } },
    host: liveFive,
    status: 'fail',
    codes: ['host-displays', 'display-socket-missing'],
    fixes: ['x11.export-display', 'x11.chroot-bind-socket'],
    assert: (o) => expect(snippets(o)).toContain('export DISPLAY=:5'),
  },
  {
    name: 'a stale host socket is not offered as a live display',
    target: { env: { DISPLAY: ':6' } },
    host: { files: x11Files([{ display: 6, live: false }]) },
    status: 'fail',
    codes: ['display-socket-missing'],
  },
  {
    name: 'unset in a chroot: export the live display',
    target: { kind: 'chroot' },
    host: liveFive,
    status: 'fail',
    codes: ['host-displays', 'display-unset'],
    fixes: ['x11.export-display'],
    assert: (o) => expect(snippets(o)).toContain('export DISPLAY=:5'),
  },
  {
    name: 'a socket path DISPLAY that is not there',
    target: { env: { DISPLAY: '/run/x/sock:0' } },
    status: 'fail',
    codes: ['display-path-missing'],
  },
  { name: 'not on the bare host', target: { kind: 'host' }, status: 'skip', codes: [] },
]);
