import { afterEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/x11/socket.js';
import { makeXauthEntry, printXauthority, XauthFamily } from '../../../src/parse/xauthority.js';
import type { X11SetupRequest, X11SetupResponse } from '../../../src/core/probe-types.js';
import { FakeTarget, fakeContext, type FakeCommand, type FakeProbe, type FakeScenario } from '../support/fake-target.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostWithX11Sockets, listenUnix } from '../support/unix-socket.js';

const made: FakeTarget[] = [];
afterEach(() => { while (made.length) made.pop()!.dispose(); });

const COOKIE = '0123456789abcdef0123456789abcdef';
const cookieFile = (host: string, family: number = XauthFamily.Local) =>
  ({ content: printXauthority([makeXauthEntry(family, Buffer.from(host), '0', 'MIT-MAGIC-COOKIE-1', Buffer.from(COOKIE, 'hex'))]), mode: 0o600 });
const uname = (name: string): FakeCommand => ({ argv: ['uname', '-n'], result: { stdout: `${name}\n` } });

const NET_UNIX_HEADER = 'Num       RefCount Protocol Flags    Type St Inode Path\n';
const procNetUnix = (lines: string): Record<string, string> => ({ unix: NET_UNIX_HEADER + lines });
const OK: X11SetupResponse = { ok: true, vendor: 'The X.Org Foundation', release: 12101007, screens: [{ width: 1024, height: 768 }], elapsedMs: 3 };
const setupFail = (reason: string): X11SetupResponse => ({ ok: false, stage: 'setup', errno: null, reason, elapsedMs: 2 });
const connectFail = (errno: string): X11SetupResponse => ({ ok: false, stage: 'connect', errno, reason: `connect: ${errno}`, elapsedMs: 1 });

/** Scripted answers for the path socket and the abstract socket. */
function x11(path: X11SetupResponse, abstract: X11SetupResponse): FakeProbe[] {
  return [
    { name: 'x11-setup', match: (r: X11SetupRequest) => r.socket.path !== undefined, response: path },
    { name: 'x11-setup', match: (r: X11SetupRequest) => r.socket.abstract !== undefined, response: abstract },
  ] as FakeProbe[];
}

async function run(scenario: FakeScenario, hostSockets: { display: number; path: string }[] = []) {
  // The cookie files belong to whoever runs the tests: make that the desktop user.
  const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const target = new FakeTarget({ commands: [uname('box')], procNet: procNetUnix(''), ...scenario, user: { ...me, ...scenario.user } });
  made.push(target);
  const outcome = await check.run(fakeContext(target, {}, hostWithX11Sockets(hostSockets)));
  return { outcome, target };
}

/** Runs `fn` while a real X-like socket listens, standing for the host's live display :0. */
async function withLiveHostDisplay<T>(fn: (sockets: { display: number; path: string }[]) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ctd-x11-host-'));
  const server = await listenUnix(join(dir, 'X0'));
  try {
    return await fn([{ display: 0, path: join(dir, 'X0') }]);
  } finally {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const home = { '/home/user/.Xauthority': cookieFile('box') };
const codes = (o: { findings: { code: string }[] }) => o.findings.map((f) => f.code);

describe('x11.socket', () => {
  it.each([
    ['right cookie on the path socket', home, x11(OK, OK), 'pass', 'x11-connected'],
    ['wrong cookie', home, x11(setupFail('Invalid MIT-MAGIC-COOKIE-1 key'), setupFail('Invalid MIT-MAGIC-COOKIE-1 key')), 'fail', 'x11-cookie-invalid'],
    ['no cookie: Authorization required', {}, x11(setupFail('Authorization required, but no authorization protocol specified'), connectFail('ECONNREFUSED')), 'fail', 'x11-no-cookie'],
    ['no cookie: No protocol specified', {}, x11(setupFail('No protocol specified'), connectFail('ECONNREFUSED')), 'fail', 'x11-no-cookie'],
    ['stale socket', home, x11(connectFail('ECONNREFUSED'), connectFail('ECONNREFUSED')), 'fail', 'x11-socket-stale'],
    ['socket not mounted', home, x11(connectFail('ENOENT'), connectFail('ECONNREFUSED')), 'fail', 'x11-socket-missing'],
    ['socket not reachable by the user', home, x11(connectFail('EACCES'), connectFail('ECONNREFUSED')), 'fail', 'x11-socket-permission'],
    ['abstract only (shared netns)', home, x11(connectFail('ENOENT'), OK), 'warn', 'x11-abstract-only'],
    ['server never answers', home, x11({ ok: false, stage: 'silent', errno: null, reason: 'no answer', elapsedMs: 500 }, connectFail('ECONNREFUSED')), 'fail', 'x11-no-answer'],
    ['other refusal', home, x11(setupFail('Maximum number of clients reached'), OK), 'fail', 'x11-setup-refused'],
  ] as const)('%s', async (_name, files, probes, status, code) => {
    const { outcome, target } = await run({ env: { DISPLAY: ':0' }, files: files as FakeScenario['files'], probes: probes as FakeProbe[] });
    expect(outcome.status).toBe(status);
    expect(codes(outcome)).toContain(code);
    // Both sockets are tried, always as the desktop user.
    expect(target.log.probes.map((p) => p.asUser)).toEqual([true, true]);
  });

  it('an abstract listener in /proc/net/unix counts even when Node cannot connect to it', async () => {
    const { outcome } = await run({
      env: { DISPLAY: ':0' }, files: home, probes: x11(connectFail('ENOENT'), connectFail('ECONNREFUSED')),
      procNet: procNetUnix('0000000000000000: 00000002 00000000 00010000 0001 01 134052 @/tmp/.X11-unix/X0\n0000000000000000: 00000002 00000000 00010000 0001 01 134053 /tmp/.X11-unix/X0\n'),
    });
    expect(outcome.status).toBe('warn');
    expect(codes(outcome)).toEqual(['x11-abstract-only']);
    expect(outcome.fixes.map((f) => f.id)).toContain('x11.chroot-bind-socket');
  });

  it('a server that hangs up on a connection with no cookie refused it for the missing cookie', async () => {
    const { outcome } = await run({
      env: { DISPLAY: ':0' }, probes: x11({ ok: false, stage: 'closed', errno: 'EPIPE', reason: 'write EPIPE', elapsedMs: 2 }, connectFail('ECONNREFUSED')),
    });
    expect(codes(outcome)).toContain('x11-no-cookie');
  });

  it('sends the cookie picked for the guest\'s hostname and reports vendor and screen size', async () => {
    const { outcome, target } = await run({ env: { DISPLAY: ':0' }, files: home, probes: x11(OK, connectFail('ECONNREFUSED')) });
    const sent = target.log.probes.map((p) => (p.request as X11SetupRequest).auth);
    expect(sent[0]).toEqual({ name: 'MIT-MAGIC-COOKIE-1', dataHex: COOKIE });
    const connected = outcome.findings.find((f) => f.code === 'x11-connected');
    expect(connected?.message).toContain('The X.Org Foundation, 1024x768');
    expect(connected?.evidence.via).toBe('path');
  });

  it('sends no cookie when the file has one for another hostname, and flags the mismatch', async () => {
    const { outcome, target } = await run({
      env: { DISPLAY: ':0' }, files: { '/home/user/.Xauthority': cookieFile('laptop') },
      probes: x11(setupFail('Authorization required, but no authorization protocol specified'), connectFail('ECONNREFUSED')),
    });
    expect(target.log.probes.every((p) => (p.request as X11SetupRequest).auth === null)).toBe(true);
    expect(codes(outcome)).toEqual(expect.arrayContaining(['xauth-hostname-mismatch', 'x11-no-cookie']));
    expect(outcome.fixes.map((f) => f.id)).toEqual(expect.arrayContaining(['x11.wildcard-cookie', 'x11.xhost-localuser']));
    expect(outcome.fixes.find((f) => f.id === 'x11.xhost-localuser')?.safety).toBe('unsafe');
  });

  it('a FamilyWild cookie matches any hostname', async () => {
    const { outcome, target } = await run({
      env: { DISPLAY: ':0' }, files: { '/home/user/.Xauthority': cookieFile('', XauthFamily.Wild) }, probes: x11(OK, OK),
    });
    expect(outcome.status).toBe('pass');
    expect((target.log.probes[0]?.request as X11SetupRequest).auth?.dataHex).toBe(COOKIE);
  });

  it('reads XAUTHORITY, and falls back to /etc/hostname without uname', async () => {
    const { outcome, target } = await run({
      env: { DISPLAY: ':0', XAUTHORITY: '/run/xauth' },
      files: { '/run/xauth': cookieFile('etcname'), '/etc/hostname': 'etcname\n' },
      commands: [{ argv: ['uname', '-n'], result: { exitCode: 127, notFound: true } }],
      probes: x11(OK, OK),
    });
    expect(outcome.status).toBe('pass');
    expect((target.log.probes[0]?.request as X11SetupRequest).auth?.dataHex).toBe(COOKIE);
    expect(outcome.findings[0]?.evidence.hostnameSource).toBe('/etc/hostname');
  });

  it('a cookie file the user cannot read is no cookie at all', async () => {
    const { outcome, target } = await run({
      env: { DISPLAY: ':0' }, files: home, user: { uid: 4242, gid: 4242 },
      probes: x11(setupFail('No protocol specified'), connectFail('ECONNREFUSED')),
    });
    expect(codes(outcome)).toContain('xauthority-unreadable');
    expect((target.log.probes[0]?.request as X11SetupRequest).auth).toBeNull();
  });

  it('offers the read-only nspawn bind when the socket is missing and the host runs the display', async () => {
    const { outcome } = await withLiveHostDisplay((sockets) => run({
      kind: 'nspawn', nspawn: { machine: 'box', nspawnPid: 1, argv: [] }, sharesNetns: false,
      env: { DISPLAY: ':0' }, files: home, probes: x11(connectFail('ENOENT'), connectFail('ECONNREFUSED')),
    }, sockets));
    const steps = outcome.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? s.snippet : '')));
    expect(steps).toContain('[Files]\nBindReadOnly=/tmp/.X11-unix');
    expect(steps.some((s) => s?.includes('--bind-ro=/tmp/.X11-unix'))).toBe(true);
  });

  it('a probe that cannot run is an error, not a verdict', async () => {
    const { outcome } = await run({ env: { DISPLAY: ':0' }, files: home, probes: [{ name: 'x11-setup', response: OK, error: 'cannot start probe' }] });
    expect(outcome.status).toBe('error');
  });

  it('skips when DISPLAY is unset and the host has no display', async () => {
    const { outcome, target } = await run({});
    expect(outcome.status).toBe('skip');
    expect(target.log.probes).toEqual([]);
  });

  it('does not probe a remote TCP display from a shared network namespace', async () => {
    const { outcome, target } = await run({ env: { DISPLAY: '192.0.2.7:0' } });
    expect(codes(outcome)).toEqual(['display-remote']);
    expect(target.log.probes).toEqual([]);
  });

  it('probes a loopback TCP display (ssh -X) over TCP only', async () => {
    const { outcome, target } = await run({
      env: { DISPLAY: 'localhost:10.0' }, files: home,
      probes: [{ name: 'x11-setup', match: (r: X11SetupRequest) => r.socket.port === 6010 && r.socket.host === '127.0.0.1', response: OK }] as FakeProbe[],
    });
    expect(outcome.status).toBe('pass');
    expect(target.log.probes).toHaveLength(1);
  });

  it('H1/L3: XAUTHORITY naming a file only root may read is read as the user, and no cookie from it is sent', async () => {
    const { outcome, target } = await run({
      env: { DISPLAY: ':0', XAUTHORITY: '/root/.Xauthority' }, files: { '/root/.Xauthority': cookieFile('box') }, user: { uid: 4242, gid: 4242 },
      probes: x11(setupFail('No protocol specified'), connectFail('ECONNREFUSED')),
    });
    expect(target.log.userReads).toEqual([{ path: '/root/.Xauthority', asUser: true }]);
    expect(codes(outcome)).toContain('xauthority-unreadable');
    expect((target.log.probes[0]?.request as X11SetupRequest).auth).toBeNull();
  });

  it('M6: a name that merely starts with 127. is a remote display, not probed from a shared netns', async () => {
    const { outcome, target } = await run({ env: { DISPLAY: '127.attacker.example:0' } });
    expect(codes(outcome)).toEqual(['display-remote']);
    expect(target.log.probes).toEqual([]);
  });

  describe('the socket is not in the guest: a bind is offered only when the host runs that display', () => {
    const scenario = () => ({ env: { DISPLAY: ':0' }, files: home as FakeScenario['files'], probes: x11(connectFail('ENOENT'), connectFail('ECONNREFUSED')) as FakeProbe[] });

    it('no X server on the host: no bind fix, and the finding says what is missing there', async () => {
      const { outcome } = await run(scenario());
      expect(codes(outcome)).toContain('x11-socket-missing');
      expect(outcome.fixes.map((f) => f.id)).not.toContain('x11.chroot-bind-socket');
      expect(outcome.summary).toContain('the host has no X server on :0 either (no live /tmp/.X11-unix/X0): start one, or use Xvfb for a test');
    });

    it('the host runs :0: bind /tmp/.X11-unix in', async () => {
      const { outcome } = await withLiveHostDisplay((sockets) => run(scenario(), sockets));
      expect(codes(outcome)).toContain('x11-socket-missing');
      expect(outcome.fixes.map((f) => f.id)).toContain('x11.chroot-bind-socket');
      expect(outcome.summary).toContain("the host's /tmp/.X11-unix/X0 is live: bind /tmp/.X11-unix in");
    });
  });
});
