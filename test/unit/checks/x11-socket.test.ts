import { expect } from 'vitest';
import check from '../../../src/checks/x11/socket.js';
import { makeXauthEntry, printXauthority, XauthFamily } from '../../../src/parse/xauthority.js';
import type { X11SetupRequest, X11SetupResponse } from '../../../src/core/probe-types.js';
import type { CheckOutcome } from '../../../src/core/types.js';
import { checkTester } from '../support/check-tester.js';
import type { FakeCommand, FakeFile, FakeProbe, FakeScenario, FakeTarget } from '../support/fake-target.js';
import type { FakeHostScenario } from '../support/fake-host.js';

const COOKIE = '0123456789abcdef0123456789abcdef';
/** An Xauthority with one cookie for display 0 and `host`, the desktop user's (uid 1000), 0600. */
const cookieFile = (host: string, family: number = XauthFamily.Local, uid = 1000): FakeFile => ({
  content: printXauthority([makeXauthEntry(family, Buffer.from(host), '0', 'MIT-MAGIC-COOKIE-1', Buffer.from(COOKIE, 'hex'))]),
  mode: 0o600,
  uid,
  gid: uid,
});
const uname = (name: string): FakeCommand => ({ argv: ['uname', '-n'], result: { stdout: `${name}\n` } });

const NET_UNIX_HEADER = 'Num       RefCount Protocol Flags    Type St Inode Path\n';
const procNetUnix = (lines: string): Record<string, string> => ({ unix: NET_UNIX_HEADER + lines });
const OK: X11SetupResponse = {
  ok: true,
  vendor: 'The X.Org Foundation',
  release: 12101007,
  screens: [{ width: 1024, height: 768 }],
  elapsedMs: 3,
};
const setupFail = (reason: string): X11SetupResponse => ({ ok: false, stage: 'setup', errno: null, reason, elapsedMs: 2 });
const connectFail = (errno: string): X11SetupResponse => ({
  ok: false,
  stage: 'connect',
  errno,
  reason: `connect: ${errno}`,
  elapsedMs: 1,
});
const REFUSED = connectFail('ECONNREFUSED');

/** Scripted answers for the path socket and the abstract socket. */
function x11(path: X11SetupResponse, abstract: X11SetupResponse): FakeProbe[] {
  return [
    { name: 'x11-setup', match: (r: X11SetupRequest) => r.socket.path !== undefined, response: path },
    { name: 'x11-setup', match: (r: X11SetupRequest) => r.socket.abstract !== undefined, response: abstract },
  ] as FakeProbe[];
}

const home = { '/home/user/.Xauthority': cookieFile('box') };
/** A guest named `box` whose session has DISPLAY=:0 and the user's cookie for it, unless a case says otherwise. */
const guest = (probes: FakeProbe[], more: FakeScenario = {}): FakeScenario => ({
  env: { DISPLAY: ':0' },
  files: home,
  commands: [uname('box')],
  procNet: procNetUnix(''),
  probes,
  ...more,
});
/** A host that runs :0 (a live /tmp/.X11-unix/X0), and optionally more displays. */
const hostRuns = (...displays: number[]): FakeHostScenario => ({
  files: Object.fromEntries(displays.map((d) => [`/tmp/.X11-unix/X${d}`, { socket: true, listening: true }])),
});
const HOST_PASSWD = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n';
const nspawn = { kind: 'nspawn' as const, nspawn: { machine: 'box', nspawnPid: 1, argv: [] as string[] }, sharesNetns: false };
const schroot = { kind: 'schroot' as const, schroot: { chroot: 'jammy', session: null } };
const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : '')));
const sentAuth = (t: FakeTarget) => t.log.probes.map((p) => (p.request as X11SetupRequest).auth);
const message = (o: CheckOutcome, code: string) => o.findings.find((f) => f.code === code)?.message;
/** Both sockets are tried, always as the desktop user. */
const bothAsUser = (_o: CheckOutcome, { target }: { target: FakeTarget }) =>
  expect(target.log.probes.map((p) => p.asUser)).toEqual([true, true]);

checkTester(check, [
  {
    name: 'the right cookie on the path socket: vendor and screen size',
    target: guest(x11(OK, REFUSED)),
    status: 'pass',
    codes: ['x11-connected'],
    summary: ':0 via /tmp/.X11-unix/X0: The X.Org Foundation, 1024x768',
    assert: (o, w) => {
      bothAsUser(o, w);
      expect(sentAuth(w.target)[0]).toEqual({ name: 'MIT-MAGIC-COOKIE-1', dataHex: COOKIE });
      expect(message(o, 'x11-connected')).toBe('X11 setup on /tmp/.X11-unix/X0 succeeded as user: The X.Org Foundation, 1024x768');
      expect(o.findings[0]?.evidence.via).toBe('path');
    },
  },
  {
    name: "a wrong cookie: the host's cookie copied in, and xhost for the host account of the uid",
    target: guest(x11(setupFail('Invalid MIT-MAGIC-COOKIE-1 key'), setupFail('Invalid MIT-MAGIC-COOKIE-1 key'))),
    host: { files: { '/etc/passwd': HOST_PASSWD }, invokingEnv: { XAUTHORITY: '/home/alice/.Xauthority' } },
    status: 'fail',
    codes: ['x11-cookie-invalid'],
    fixes: ['x11.copy-xauthority', 'x11.xhost-localuser'],
    summary:
      'the X server at /tmp/.X11-unix/X0 rejects the cookie from /home/user/.Xauthority: "Invalid MIT-MAGIC-COOKIE-1 key" (the file holds an old cookie)',
    assert: (o) => {
      expect(snippets(o).some((s) => s.startsWith('xauth -f /home/alice/.Xauthority extract - :0 | xauth -f '))).toBe(true);
      expect(o.fixes.find((f) => f.id === 'x11.xhost-localuser')?.steps[0]).toMatchObject({
        kind: 'exec',
        argv: ['env', 'DISPLAY=:0', 'xhost', '+si:localuser:alice'],
      });
    },
  },
  {
    name: 'a wrong cookie, no host account for the uid: no xhost; nspawn binds the Xauthority',
    target: guest(x11(setupFail('Invalid MIT-MAGIC-COOKIE-1 key'), REFUSED), nspawn),
    status: 'fail',
    codes: ['x11-cookie-invalid'],
    fixes: ['x11.nspawn-bind-xauthority'],
  },
  {
    name: 'no cookie: "Authorization required"',
    target: guest(x11(setupFail('Authorization required, but no authorization protocol specified'), REFUSED), { files: {} }),
    status: 'fail',
    codes: ['xauthority-missing', 'x11-no-cookie'],
    fixes: ['x11.copy-xauthority'],
    summary:
      'the X server at /tmp/.X11-unix/X0 wants a cookie and user has none for "box": "Authorization required, but no authorization protocol specified"',
    assert: (o, w) => {
      bothAsUser(o, w);
      expect(message(o, 'xauthority-missing')).toMatch(
        /^cannot read the Xauthority file \/home\/user\/\.Xauthority: .*; X clients will send no cookie$/,
      );
    },
  },
  {
    name: 'no cookie: "No protocol specified", schroot',
    target: guest(x11(setupFail('No protocol specified'), REFUSED), { ...schroot, files: {} }),
    status: 'fail',
    codes: ['xauthority-missing', 'x11-no-cookie'],
    fixes: ['x11.copy-xauthority'],
  },
  {
    name: 'a server that hangs up on a connection with no cookie refused it for the missing cookie',
    target: guest(x11({ ok: false, stage: 'closed', errno: 'EPIPE', reason: 'write EPIPE', elapsedMs: 2 }, REFUSED), { files: {} }),
    status: 'fail',
    codes: ['xauthority-missing', 'x11-no-cookie'],
    fixes: ['x11.copy-xauthority'],
  },
  {
    name: 'a hang-up after a cookie was sent is no answer, not a missing cookie',
    target: guest(x11({ ok: false, stage: 'closed', errno: 'EPIPE', reason: 'write EPIPE', elapsedMs: 2 }, REFUSED)),
    status: 'fail',
    codes: ['x11-no-answer'],
    summary: '/tmp/.X11-unix/X0 accepted the connection but the X setup did not complete: write EPIPE',
  },
  {
    name: 'a cookie for another hostname is not sent: mismatch flagged, wildcard cookie and (unsafe) xhost offered',
    target: guest(x11(setupFail('Authorization required, but no authorization protocol specified'), REFUSED), {
      files: { '/home/user/.Xauthority': cookieFile('laptop') },
    }),
    host: { files: { '/etc/passwd': HOST_PASSWD } },
    status: 'fail',
    codes: ['xauth-hostname-mismatch', 'x11-no-cookie'],
    fixes: ['x11.wildcard-cookie', 'x11.xhost-localuser'],
    assert: (o, { target }) => {
      expect(sentAuth(target).every((a) => a === null)).toBe(true);
      expect(message(o, 'xauth-hostname-mismatch')).toBe(
        'the cookie for :0 in /home/user/.Xauthority is for host "laptop" but the guest\'s hostname is "box", so X clients find no cookie ("No protocol specified")',
      );
      expect(o.fixes.find((f) => f.id === 'x11.xhost-localuser')?.safety).toBe('unsafe');
    },
  },
  {
    name: 'a FamilyWild cookie matches any hostname',
    target: guest(x11(OK, OK), { files: { '/home/user/.Xauthority': cookieFile('', XauthFamily.Wild) } }),
    status: 'pass',
    codes: ['x11-connected'],
    assert: (_o, { target }) => expect(sentAuth(target)[0]?.dataHex).toBe(COOKIE),
  },
  {
    name: 'XAUTHORITY is read, and /etc/hostname stands in without uname',
    target: guest(x11(OK, OK), {
      env: { DISPLAY: ':0', XAUTHORITY: '/run/xauth' },
      files: { '/run/xauth': cookieFile('etcname'), '/etc/hostname': 'etcname\n' },
      commands: [{ argv: ['uname', '-n'], result: { exitCode: 127, notFound: true } }],
    }),
    status: 'pass',
    codes: ['x11-connected'],
    assert: (o, { target }) => {
      expect(sentAuth(target)[0]?.dataHex).toBe(COOKIE);
      expect(o.findings[0]?.evidence).toMatchObject({ hostnameSource: '/etc/hostname', xauthoritySource: 'env' });
    },
  },
  {
    name: 'a cookie file the user cannot read is no cookie at all',
    target: guest(x11(setupFail('No protocol specified'), REFUSED), { user: { uid: 4242, gid: 4242 } }),
    status: 'fail',
    codes: ['xauthority-unreadable', 'x11-no-cookie'],
    fixes: ['x11.copy-xauthority'],
    assert: (o, { target }) => {
      expect(sentAuth(target)[0]).toBeNull();
      expect(message(o, 'xauthority-unreadable')).toBe(
        '/home/user/.Xauthority is not readable by user (uid 4242), so X clients send no cookie',
      );
    },
  },
  {
    name: 'H1/L3: XAUTHORITY naming a file only root may read is read as the user, and no cookie from it is sent',
    target: guest(x11(setupFail('No protocol specified'), REFUSED), {
      env: { DISPLAY: ':0', XAUTHORITY: '/root/.Xauthority' },
      files: { '/root/.Xauthority': cookieFile('box', XauthFamily.Local, 0) },
      user: { uid: 4242, gid: 4242 },
    }),
    status: 'fail',
    codes: ['xauthority-unreadable', 'x11-no-cookie'],
    fixes: ['x11.copy-xauthority'],
    assert: (_o, { target }) => {
      expect(target.log.userReads).toEqual([{ path: '/root/.Xauthority', asUser: true }]);
      expect(sentAuth(target)[0]).toBeNull();
    },
  },
  {
    name: 'another refusal',
    target: guest(x11(setupFail('Maximum number of clients reached'), OK)),
    status: 'fail',
    codes: ['x11-setup-refused'],
    fixes: [],
    summary: 'the X server at /tmp/.X11-unix/X0 refused the connection: "Maximum number of clients reached"',
  },
  {
    name: 'the server never answers',
    target: guest(x11({ ok: false, stage: 'silent', errno: null, reason: 'no answer', elapsedMs: 500 }, REFUSED)),
    status: 'fail',
    codes: ['x11-no-answer'],
    fixes: [],
  },
  {
    name: 'a stale socket, the host runs no other display: nothing to offer',
    target: guest(x11(REFUSED, REFUSED)),
    status: 'fail',
    codes: ['x11-socket-stale'],
    fixes: [],
    summary: 'connect to /tmp/.X11-unix/X0: Connection refused: a stale socket left by an X server that is gone',
  },
  {
    name: 'a stale :0, the host runs :1: DISPLAY=:1 offered',
    target: guest(x11(REFUSED, REFUSED)),
    host: hostRuns(1),
    status: 'fail',
    codes: ['x11-socket-stale'],
    fixes: ['x11.export-display'],
    assert: (o) => expect(snippets(o)).toContain('export DISPLAY=:1'),
  },
  {
    name: 'not reachable by the user (EACCES)',
    target: guest(x11(connectFail('EACCES'), REFUSED)),
    status: 'fail',
    codes: ['x11-socket-permission'],
    fixes: [],
    summary: 'connect to /tmp/.X11-unix/X0 as user: Permission denied (EACCES)',
  },
  {
    name: 'another connect failure',
    target: guest(x11(connectFail('ETIMEDOUT'), REFUSED)),
    status: 'fail',
    codes: ['x11-connect-failed'],
    fixes: [],
    summary: 'connect to /tmp/.X11-unix/X0 failed: connect: ETIMEDOUT',
  },
  {
    name: 'not in the guest, no X server on the host: no bind, the finding says what is missing there',
    target: guest(x11(connectFail('ENOENT'), REFUSED)),
    status: 'fail',
    codes: ['x11-socket-missing'],
    fixes: [],
    summary:
      '/tmp/.X11-unix/X0 does not exist in the guest (ENOENT) and no abstract socket @/tmp/.X11-unix/X0 answers in its network namespace (X clients say: unable to open display ":0"); the host has no X server on :0 either (no live /tmp/.X11-unix/X0): start one, or use Xvfb for a test',
  },
  {
    name: 'not in the guest, the host runs :0: bind /tmp/.X11-unix in',
    target: guest(x11(connectFail('ENOENT'), REFUSED)),
    host: hostRuns(0),
    status: 'fail',
    codes: ['x11-socket-missing'],
    fixes: ['x11.chroot-bind-socket'],
    summary: /; the host's \/tmp\/\.X11-unix\/X0 is live: bind \/tmp\/\.X11-unix in$/,
    assert: (o) => expect(o.findings[0]?.evidence.hostDisplayLive).toBe(true),
  },
  {
    name: 'nspawn, the host runs :0: the read-only bind and the .nspawn lines',
    target: guest(x11(connectFail('ENOENT'), REFUSED), nspawn),
    host: hostRuns(0),
    status: 'fail',
    codes: ['x11-socket-missing'],
    fixes: ['x11.nspawn-bind-socket'],
    assert: (o) => {
      expect(snippets(o)).toContain('[Files]\nBindReadOnly=/tmp/.X11-unix');
      expect(snippets(o).some((s) => s.includes('--bind-ro=/tmp/.X11-unix'))).toBe(true);
    },
  },
  {
    name: 'schroot, the host runs :0: the fstab line',
    target: guest(x11(connectFail('ENOENT'), REFUSED), schroot),
    host: hostRuns(0),
    status: 'fail',
    codes: ['x11-socket-missing'],
    fixes: ['x11.schroot-bind-socket'],
    assert: (o) => expect(snippets(o)).toContain('/tmp/.X11-unix /tmp/.X11-unix none rw,bind 0 0'),
  },
  {
    name: 'only the abstract socket answers (shared netns): a warning and the bind',
    target: guest(x11(connectFail('ENOENT'), OK)),
    status: 'warn',
    codes: ['x11-abstract-only', 'x11-connected'],
    fixes: ['x11.chroot-bind-socket'],
    summary:
      '/tmp/.X11-unix/X0 is not reachable in the guest (connect: ENOENT); X clients reach the server only through the abstract socket @/tmp/.X11-unix/X0, which answered the X setup in this network namespace only: an nspawn guest or another namespace needs /tmp/.X11-unix/X0 bound in',
    assert: (o) => expect(o.findings.find((f) => f.code === 'x11-connected')?.evidence.via).toBe('abstract'),
  },
  {
    name: 'only the abstract socket, with a wrong cookie: the bind and the cookie fixes',
    target: guest(x11(connectFail('ENOENT'), setupFail('Invalid MIT-MAGIC-COOKIE-1 key'))),
    status: 'fail',
    codes: ['x11-abstract-only', 'x11-cookie-invalid'],
    fixes: ['x11.chroot-bind-socket', 'x11.copy-xauthority'],
    assert: (o) => expect(o.fixes.map((f) => f.id)).toEqual(['x11.chroot-bind-socket', 'x11.copy-xauthority']),
  },
  {
    name: 'an abstract listener in /proc/net/unix counts even when Node cannot connect to it',
    target: guest(x11(connectFail('ENOENT'), REFUSED), {
      procNet: procNetUnix(
        '0000000000000000: 00000002 00000000 00010000 0001 01 134052 @/tmp/.X11-unix/X0\n0000000000000000: 00000002 00000000 00010000 0001 01 134053 /tmp/.X11-unix/X0\n',
      ),
    }),
    status: 'warn',
    codes: ['x11-abstract-only'],
    fixes: ['x11.chroot-bind-socket'],
    assert: (o) => {
      expect(o.summary).toContain(
        'which listens (seen in /proc/net/unix; the cookie is not verified over it) in this network namespace only',
      );
      expect(o.findings[0]?.evidence.abstract).toMatchObject({ listening: true });
    },
  },
  {
    name: 'a probe that cannot run is an error, not a verdict',
    target: guest([{ name: 'x11-setup', response: OK, error: 'cannot start probe' }]),
    status: 'error',
    codes: ['check-could-not-run'],
    summary: 'the X11 probe could not run: cannot start probe',
  },
  {
    name: 'DISPLAY unset and the host has no display: skip, nothing probed',
    target: { env: {} },
    status: 'skip',
    codes: [],
    summary: 'DISPLAY is unset and the host has no live X display (see x11.display)',
    assert: (_o, { target }) => expect(target.log.probes).toEqual([]),
  },
  {
    name: 'DISPLAY unset, the host runs :0: that display is tried, and said',
    target: guest(x11(OK, REFUSED), { env: {} }),
    host: hostRuns(0),
    status: 'pass',
    codes: ['display-assumed', 'x11-connected'],
    summary: ':0 via /tmp/.X11-unix/X0: The X.Org Foundation, 1024x768',
    assert: (o) => expect(message(o, 'display-assumed')).toBe("DISPLAY is unset; trying the host's live display :0"),
  },
  {
    name: 'DISPLAY that is no display name: skip',
    target: { env: { DISPLAY: 'nonsense' } },
    status: 'skip',
    codes: [],
    summary: 'DISPLAY="nonsense" is not a display name (see x11.display)',
  },
  {
    name: 'a remote TCP display is not probed from a shared network namespace',
    target: { env: { DISPLAY: '192.0.2.7:0' } },
    status: 'pass',
    codes: ['display-remote'],
    summary: 'DISPLAY=192.0.2.7:0 is a remote TCP display; not probed, to send nothing from this network namespace',
    assert: (_o, { target }) => expect(target.log.probes).toEqual([]),
  },
  {
    name: 'M6: a name that merely starts with 127. is a remote display, not probed from a shared netns',
    target: { env: { DISPLAY: '127.attacker.example:0' } },
    status: 'pass',
    codes: ['display-remote'],
    assert: (_o, { target }) => expect(target.log.probes).toEqual([]),
  },
  {
    name: 'a loopback TCP display (ssh -X) is probed over TCP only',
    target: guest(
      [
        { name: 'x11-setup', match: (r: X11SetupRequest) => r.socket.port === 6010 && r.socket.host === '127.0.0.1', response: OK },
      ] as FakeProbe[],
      { env: { DISPLAY: 'localhost:10.0' } },
    ),
    status: 'pass',
    codes: ['x11-connected'],
    summary: 'localhost:10.0 via localhost:6010: The X.Org Foundation, 1024x768',
    assert: (o, { target }) => {
      expect(target.log.probes).toHaveLength(1);
      expect(o.findings[0]?.evidence.via).toBe('tcp');
    },
  },
  {
    name: "a remote TCP display from a guest's own network namespace is probed there",
    target: guest([{ name: 'x11-setup', match: (r: X11SetupRequest) => r.socket.host === '192.0.2.7', response: OK }] as FakeProbe[], {
      env: { DISPLAY: '192.0.2.7:0' },
      sharesNetns: false,
    }),
    status: 'pass',
    codes: ['x11-connected'],
  },
  {
    name: 'a socket path in DISPLAY is connected to as given',
    target: guest(x11(OK, REFUSED), { env: { DISPLAY: '/tmp/xsock/X3' } }),
    status: 'pass',
    codes: ['x11-connected'],
    assert: (_o, { target }) =>
      expect(target.log.probes.map((p) => (p.request as X11SetupRequest).socket)).toEqual([
        { path: '/tmp/xsock/X3' },
        { abstract: '/tmp/.X11-unix/X3' },
      ]),
  },
  {
    name: 'no desktop session: the shared skip',
    target: { session: null, noSessionReason: 'no desktop session' },
    status: 'skip',
    codes: [],
  },
]);
