import { defineCheck, type CheckContext } from '../../core/check.js';
import { couldNotRun, finding, outcomeOf, skipped } from '../../core/outcome.js';
import { parseDisplay } from '../../parse/display.js';
import { liveHostDisplays } from '../../host/live-displays.js';
import { guestCookie, type GuestCookie } from './guest-xauthority.js';
import { isLoopbackLiteral } from '../../parse/loopback.js';
import { parsePasswd } from '../../parse/passwd.js';
import { displayEnvFix, wildcardCookieFix, x11SocketBindFix, xauthorityFix, xhostLocalUserFix } from '../../fixes/plans/x11-plans.js';
import type { X11SetupRequest, X11SetupResponse } from '../../core/probe-types.js';
import type { Finding, Fix } from '../../core/types.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';

/** What one connection attempt came to. */
type Verdict = 'ok' | 'bad-cookie' | 'no-cookie' | 'refused' | 'silent' | 'connect';

function verdictOf(r: X11SetupResponse, sentCookie: boolean): Verdict {
  if (r.ok) return 'ok';
  if (r.stage === 'connect') return 'connect';
  // Offered no cookie, a real X server sends its refusal and hangs up while node-x11 is still writing (EPIPE).
  if (r.stage === 'closed' && !sentCookie && (r.errno === 'EPIPE' || r.errno === 'ECONNRESET')) return 'no-cookie';
  if (r.stage === 'setup') {
    if (/Invalid MIT-MAGIC-COOKIE-1 key/i.test(r.reason)) return 'bad-cookie';
    if (/No protocol specified|Authorization required|authoriz/i.test(r.reason)) return 'no-cookie';
    return 'refused';
  }
  return 'silent';
}

/**
 * Whether an abstract X socket listens in the guest's network namespace, from /proc/net/unix there.
 * Node 20 connects to abstract names padded to the full sun_path, which real X servers never bind,
 * so a listener is looked up instead of trusting an ECONNREFUSED.
 */
async function abstractListener(ctx: CheckContext, name: string): Promise<boolean> {
  const listing = await ctx.target.readProcNet('unix');
  if (listing === null) return false;
  return listing.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    // Flags 00010000 is __SO_ACCEPTCON: a listening socket.
    return f.length >= 8 && f[3] === '00010000' && f[7] === `@${name}`;
  });
}

/** Only `localhost` and loopback IP literals: a name like 127.attacker.example resolves wherever its owner wants. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || isLoopbackLiteral(host);
}

function cookieEvidence(c: GuestCookie): Record<string, unknown> {
  return {
    xauthority: c.file, xauthoritySource: c.fileSource, readProblem: c.readProblem, hostname: c.hostname, hostnameSource: c.hostnameSource,
    etcHostname: c.etcHostname, cookie: c.reason, cookieHost: c.entry?.addressText ?? null, cookieFamily: c.entry?.familyName ?? null,
  };
}

/** Fixes for a server that refuses the guest's credentials. Host paths and the xhost user come from the host, never the guest. */
async function authFixes(ctx: CheckContext, display: string, cookie: GuestCookie): Promise<Fix[]> {
  const { target, host } = ctx;
  const fixes: (Fix | null)[] = [];
  const hostXauthority = host.invokingEnv.XAUTHORITY ?? null;
  if (cookie.reason === 'hostname-mismatch') fixes.push(wildcardCookieFix(target, { display, guestXauthority: cookie.file }));
  else fixes.push(xauthorityFix(target, { display, hostXauthority, user: target.user }));
  // The host account of the user's uid: a guest's passwd must not choose who gets the display (L5).
  const hostAccount = parsePasswd((await host.readFile('/etc/passwd')) ?? '').find((p) => p.uid === target.user.uid);
  if (hostAccount) fixes.push(xhostLocalUserFix(display, hostAccount.name));
  return fixes.filter((f): f is Fix => f !== null);
}

export default defineCheck({
  id: 'x11.socket',
  group: 'x11',
  title: 'X11 socket accepts the user',
  description: 'Connects to /tmp/.X11-unix/XN as the guest sees it (path socket) and to the abstract socket @/tmp/.X11-unix/XN of the guest\'s network namespace, as the desktop user, and performs the X11 connection setup with the cookie the user\'s Xauthority holds for the guest\'s hostname.',
  findings: {
    'x11-connected': { severity: 'info', description: 'The X11 setup succeeded: the server\'s vendor and screen size.' },
    'x11-abstract-only': { severity: 'warn', description: 'Only the abstract socket works (or listens, per /proc/net/unix): it belongs to this network namespace, so a guest in another one (nspawn) needs the /tmp/.X11-unix bind.' },
    'x11-no-cookie': { severity: 'fail', description: 'The server wants a cookie and the client has none: "No protocol specified" / "Authorization required, but no authorization protocol specified".' },
    'x11-cookie-invalid': { severity: 'fail', description: 'The server rejects the cookie: "Invalid MIT-MAGIC-COOKIE-1 key".' },
    'x11-setup-refused': { severity: 'fail', description: 'The server refused the connection setup for another reason.' },
    'x11-no-answer': { severity: 'fail', description: 'The socket accepted but the server did not complete the setup.' },
    'x11-socket-missing': { severity: 'fail', description: 'No socket for the display in the guest (ENOENT), and no abstract socket in its network namespace.' },
    'x11-socket-stale': { severity: 'fail', description: 'The socket file is there but nothing listens (ECONNREFUSED): left by an X server that died.' },
    'x11-socket-permission': { severity: 'fail', description: 'The desktop user may not connect to the socket (EACCES).' },
    'x11-connect-failed': { severity: 'fail', description: 'Connecting failed for another reason (timeout, path problem).' },
    'xauth-hostname-mismatch': { severity: 'fail', description: 'The Xauthority cookie is for another hostname, so X clients in the guest do not send it.' },
    'xauthority-missing': { severity: 'warn', description: 'The Xauthority file does not exist or cannot be read in the guest.' },
    'xauthority-unreadable': { severity: 'fail', description: 'The Xauthority file exists but the desktop user cannot read it.' },
    'display-assumed': { severity: 'info', description: 'DISPLAY is unset; the host\'s live display was tried instead.' },
    'display-remote': { severity: 'info', description: 'DISPLAY names a non-loopback TCP display; it is not probed from a shared network namespace.' },
  },
  fixDocs: {
    'x11.nspawn-bind-socket': 'nspawn: --bind-ro=/tmp/.X11-unix (read-only, or the guest\'s systemd deletes it on the host).',
    'x11.schroot-bind-socket': 'schroot: /tmp/.X11-unix /tmp/.X11-unix none rw,bind 0 0 in the profile fstab.',
    'x11.chroot-bind-socket': 'chroot: mount --bind /tmp/.X11-unix into the root.',
    'x11.nspawn-bind-xauthority': 'nspawn: bind the host\'s Xauthority read-only and set XAUTHORITY.',
    'x11.copy-xauthority': 'chroot/schroot: merge the display\'s cookie into the guest user\'s ~/.Xauthority.',
    'x11.wildcard-cookie': 'Rewrite the cookie as FamilyWild so any hostname matches.',
    'x11.xhost-localuser': 'Unsafe: xhost +si:localuser:USER on the host display.',
  },
  probes: ['user'],
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'the X11 socket'),

  async run(ctx) {
    const { target } = ctx;
    const findings: Finding[] = [];
    const probeMs = Math.max(100, Math.floor(ctx.options.timeoutMs / 2));

    // What it looks at: the display DISPLAY names (or the host's live one), and the user's cookie for it.
    let value = target.env.DISPLAY ?? '';
    if (value === '') {
      const live = await liveHostDisplays(ctx.host, probeMs);
      if (live[0] === undefined) return skipped('DISPLAY is unset and the host has no live X display (see x11.display)');
      value = live[0].name;
      findings.push(finding('display-assumed', 'info', `DISPLAY is unset; trying the host's live display ${value}`, { display: value }));
    }
    const parsed = parseDisplay(value);
    if (parsed === null) return skipped(`DISPLAY="${value}" is not a display name (see x11.display)`);
    if (parsed.protocol === 'tcp' && target.sharesNetns && !isLoopback(parsed.host)) {
      findings.push(finding('display-remote', 'info', `DISPLAY=${value} is a remote TCP display; not probed, to send nothing from this network namespace`, { display: value }));
      return outcomeOf(findings);
    }
    const cookie = await guestCookie(target, parsed.display);
    if (cookie.readProblem !== null) {
      findings.push(finding('xauthority-missing', 'warn', `cannot read the Xauthority file ${cookie.readProblem}; X clients will send no cookie`, cookieEvidence(cookie)));
    } else if (cookie.unreadableByUser) {
      findings.push(finding('xauthority-unreadable', 'fail', `${cookie.file} is not readable by ${target.user.name} (uid ${target.user.uid}), so X clients send no cookie`, cookieEvidence(cookie)));
    }
    if (cookie.reason === 'hostname-mismatch') {
      findings.push(finding('xauth-hostname-mismatch', 'fail',
        `the cookie for ${value} in ${cookie.file} is for host "${cookie.entry?.addressText ?? ''}" but the guest's hostname is "${cookie.hostname}", so X clients find no cookie ("No protocol specified")`,
        cookieEvidence(cookie)));
    }
    // Real clients send the cookie only when it matches the hostname and they can read the file.
    const sent = cookie.entry !== null && cookie.reason !== 'hostname-mismatch' && !cookie.unreadableByUser
      ? { name: cookie.entry.name, dataHex: cookie.entry.data.toString('hex') }
      : null;

    // How it decides: the path socket and the abstract socket separately, as the desktop user.
    const socketPath = `/tmp/.X11-unix/X${parsed.display}`;
    const attempt = (socket: X11SetupRequest['socket']) => target.probe('x11-setup', { socket, auth: sent, timeoutMs: probeMs }, { timeoutMs: probeMs, asUser: true });
    let viaPath: X11SetupResponse;
    let viaAbstract: X11SetupResponse | null = null;
    try {
      if (parsed.protocol === 'tcp') {
        viaPath = await attempt({ host: parsed.host === 'localhost' ? '127.0.0.1' : parsed.host, port: 6000 + parsed.display });
      } else {
        const path = parsed.protocol === 'local-path' && parsed.path !== undefined ? parsed.path : socketPath;
        [viaPath, viaAbstract] = await Promise.all([attempt({ path }), attempt({ abstract: socketPath })]);
      }
    } catch (error) {
      return couldNotRun(`the X11 probe could not run: ${(error as Error).message}`);
    }
    const pathVerdict = verdictOf(viaPath, sent !== null);
    const abstractVerdict = viaAbstract ? verdictOf(viaAbstract, sent !== null) : 'connect';
    const usedAbstract = pathVerdict === 'connect' && viaAbstract !== null && abstractVerdict !== 'connect';
    const listensAbstract = pathVerdict === 'connect' && viaAbstract !== null && !usedAbstract && (await abstractListener(ctx, socketPath));
    const result = usedAbstract && viaAbstract ? viaAbstract : viaPath;
    const verdict = usedAbstract ? abstractVerdict : pathVerdict;
    const where = parsed.protocol === 'tcp' ? `${parsed.host}:${6000 + parsed.display}` : usedAbstract ? `@${socketPath}` : socketPath;
    const evidence = {
      display: value, socket: where, via: parsed.protocol === 'tcp' ? 'tcp' : usedAbstract ? 'abstract' : 'path',
      path: viaPath.ok ? 'ok' : { stage: viaPath.stage, errno: viaPath.errno, reason: viaPath.reason },
      abstract: viaAbstract === null ? null : viaAbstract.ok ? 'ok' : { stage: viaAbstract.stage, errno: viaAbstract.errno, reason: viaAbstract.reason, listening: listensAbstract },
      ...cookieEvidence(cookie),
    };
    const fixes: Fix[] = [];
    if (usedAbstract) {
      findings.push(finding('x11-abstract-only', 'warn',
        `${socketPath} is not reachable in the guest (${viaPath.ok ? '' : viaPath.reason}); only the abstract socket @${socketPath} answered, which exists only in this network namespace: an nspawn guest or another namespace needs ${socketPath} bound in`,
        evidence));
      const bind = x11SocketBindFix(target);
      if (bind) fixes.push(bind);
    }

    if (listensAbstract) {
      findings.push(finding('x11-abstract-only', 'warn',
        `${socketPath} is not reachable in the guest (${viaPath.ok ? '' : viaPath.reason}); X clients reach the server only through the abstract socket @${socketPath} listening in this network namespace (seen in /proc/net/unix; the cookie is not verified over it), which an nspawn guest or another namespace does not have: bind ${socketPath} in`,
        evidence));
      const bind = x11SocketBindFix(target);
      return outcomeOf(findings, bind ? [bind] : []);
    }

    switch (verdict) {
      case 'ok': {
        const r = result as Extract<X11SetupResponse, { ok: true }>;
        const screen = r.screens[0];
        const size = screen ? `${screen.width}x${screen.height}` : 'no screen';
        findings.push(finding('x11-connected', 'info', `X11 setup on ${where} succeeded as ${target.user.name}: ${r.vendor}, ${size}`,
          { ...evidence, vendor: r.vendor, release: r.release, screens: r.screens, elapsedMs: r.elapsedMs }));
        return outcomeOf(findings, fixes, `${value} via ${where}: ${r.vendor}, ${size}`);
      }
      case 'bad-cookie':
        findings.push(finding('x11-cookie-invalid', 'fail', `the X server at ${where} rejects the cookie from ${cookie.file}: "Invalid MIT-MAGIC-COOKIE-1 key" (the file holds an old cookie)`, evidence));
        return outcomeOf(findings, [...fixes, ...(await authFixes(ctx, value, cookie))]);
      case 'no-cookie': {
        const reason = result.ok ? '' : result.reason;
        findings.push(finding('x11-no-cookie', 'fail', `the X server at ${where} wants a cookie and ${target.user.name} has none for "${cookie.hostname}": "${reason}"`, evidence));
        return outcomeOf(findings, [...fixes, ...(await authFixes(ctx, value, cookie))]);
      }
      case 'refused':
        findings.push(finding('x11-setup-refused', 'fail', `the X server at ${where} refused the connection: "${result.ok ? '' : result.reason}"`, evidence));
        return outcomeOf(findings, fixes);
      case 'silent':
        findings.push(finding('x11-no-answer', 'fail', `${where} accepted the connection but the X setup did not complete: ${result.ok ? '' : result.reason}`, evidence));
        return outcomeOf(findings, fixes);
      case 'connect':
        break;
    }

    // Neither socket connected: the path socket's errno says why.
    const errno = viaPath.ok ? null : viaPath.errno;
    if (errno === 'ENOENT') {
      // Binding the host's sockets in helps only when the host runs that display: otherwise say what is missing there.
      const hostHas = (await liveHostDisplays(ctx.host, probeMs)).some((d) => d.display === parsed.display);
      const onHost = hostHas ? `; the host's ${socketPath} is live: bind /tmp/.X11-unix in` : `; the host has no X server on :${parsed.display} either (no live ${socketPath}): start one, or use Xvfb for a test`;
      findings.push(finding('x11-socket-missing', 'fail', `${socketPath} does not exist in the guest (ENOENT) and no abstract socket @${socketPath} answers in its network namespace (X clients say: unable to open display "${value}")${onHost}`, { ...evidence, hostDisplayLive: hostHas }));
      const bind = hostHas ? x11SocketBindFix(target) : null;
      if (bind) fixes.push(bind);
    } else if (errno === 'ECONNREFUSED') {
      findings.push(finding('x11-socket-stale', 'fail', `connect to ${where}: Connection refused: a stale socket left by an X server that is gone`, evidence));
      const live = (await liveHostDisplays(ctx.host, probeMs)).filter((d) => d.display !== parsed.display);
      const other = live[0] ? displayEnvFix(target, live[0].name) : null;
      if (other) fixes.push(other);
    } else if (errno === 'EACCES') {
      findings.push(finding('x11-socket-permission', 'fail', `connect to ${where} as ${target.user.name}: Permission denied (EACCES)`, evidence));
    } else {
      findings.push(finding('x11-connect-failed', 'fail', `connect to ${where} failed: ${viaPath.ok ? '' : viaPath.reason}`, evidence));
    }
    return outcomeOf(findings, fixes);
  },
});
