import { defineCheck, skip, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { parseDisplay, type ParsedDisplay } from '../../parse/display.js';
import { liveHostDisplays, type HostDisplay } from '../../host/live-displays.js';
import { guestCookie, type GuestCookie } from './guest-xauthority.js';
import { isLoopbackLiteral } from '../../parse/loopback.js';
import { parsePasswd } from '../../parse/passwd.js';
import {
  displayEnvFix,
  wildcardCookieFix,
  x11SocketBindFix,
  xauthorityFix,
  xhostLocalUserFix,
  type FixPlace,
} from '../../fixes/plans/x11-plans.js';
import type { X11SetupRequest, X11SetupResponse } from '../../core/probe-types.js';
import type { GuestUser } from '../../core/target.js';
import type { Fix } from '../../core/types.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';
import { abstractListens } from '../abstract-listener.js';

const findings = {
  'x11-connected': {
    severity: 'info',
    message: 'X11 setup on {socket} succeeded as {user}: {vendor}, {size}',
    description: "The X11 setup succeeded: the server's vendor and screen size.",
  },
  'x11-abstract-only': {
    severity: 'warn',
    message:
      '{path} is not reachable in the guest ({reason}); X clients reach the server only through the abstract socket @{path}, which {seen} in this network namespace only: an nspawn guest or another namespace needs {path} bound in',
    description:
      'Only the abstract socket works (or listens, per /proc/net/unix): it belongs to this network namespace, so a guest in another one (nspawn) needs the /tmp/.X11-unix bind.',
  },
  'x11-no-cookie': {
    severity: 'fail',
    message: 'the X server at {socket} wants a cookie and {user} has none for "{hostname}": "{reason}"',
    description:
      'The server wants a cookie and the client has none: "No protocol specified" / "Authorization required, but no authorization protocol specified".',
  },
  'x11-cookie-invalid': {
    severity: 'fail',
    message: 'the X server at {socket} rejects the cookie from {file}: "Invalid MIT-MAGIC-COOKIE-1 key" (the file holds an old cookie)',
    description: 'The server rejects the cookie: "Invalid MIT-MAGIC-COOKIE-1 key".',
  },
  'x11-setup-refused': {
    severity: 'fail',
    message: 'the X server at {socket} refused the connection: "{reason}"',
    description: 'The server refused the connection setup for another reason.',
  },
  'x11-no-answer': {
    severity: 'fail',
    message: '{socket} accepted the connection but the X setup did not complete: {reason}',
    description: 'The socket accepted but the server did not complete the setup.',
  },
  'x11-socket-missing': {
    severity: 'fail',
    message:
      '{path} does not exist in the guest (ENOENT) and no abstract socket @{path} answers in its network namespace (X clients say: unable to open display "{display}"); {onHost}',
    description: 'No socket for the display in the guest (ENOENT), and no abstract socket in its network namespace.',
  },
  'x11-socket-stale': {
    severity: 'fail',
    message: 'connect to {socket}: Connection refused: a stale socket left by an X server that is gone',
    description: 'The socket file is there but nothing listens (ECONNREFUSED): left by an X server that died.',
  },
  'x11-socket-permission': {
    severity: 'fail',
    message: 'connect to {socket} as {user}: Permission denied (EACCES)',
    description: 'The desktop user may not connect to the socket (EACCES).',
  },
  'x11-connect-failed': {
    severity: 'fail',
    message: 'connect to {socket} failed: {reason}',
    description: 'Connecting failed for another reason (timeout, path problem).',
  },
  'xauth-hostname-mismatch': {
    severity: 'fail',
    message:
      'the cookie for {display} in {file} is for host "{cookieHost}" but the guest\'s hostname is "{hostname}", so X clients find no cookie ("No protocol specified")',
    description: 'The Xauthority cookie is for another hostname, so X clients in the guest do not send it.',
  },
  'xauthority-missing': {
    severity: 'warn',
    message: 'cannot read the Xauthority file {problem}; X clients will send no cookie',
    description: 'The Xauthority file does not exist or cannot be read in the guest.',
  },
  'xauthority-unreadable': {
    severity: 'fail',
    message: '{file} is not readable by {user} (uid {uid}), so X clients send no cookie',
    description: 'The Xauthority file exists but the desktop user cannot read it.',
  },
  'display-assumed': {
    severity: 'info',
    message: "DISPLAY is unset; trying the host's live display {display}",
    description: "DISPLAY is unset; the host's live display was tried instead.",
  },
  'display-remote': {
    severity: 'info',
    message: 'DISPLAY={display} is a remote TCP display; not probed, to send nothing from this network namespace',
    description: 'DISPLAY names a non-loopback TCP display; it is not probed from a shared network namespace.',
  },
} as const;

const fixDocs = {
  'x11.nspawn-bind-socket': "nspawn: --bind-ro=/tmp/.X11-unix (read-only, or the guest's systemd deletes it on the host).",
  'x11.schroot-bind-socket': 'schroot: /tmp/.X11-unix /tmp/.X11-unix none rw,bind 0 0 in the profile fstab.',
  'x11.chroot-bind-socket': 'chroot: mount --bind /tmp/.X11-unix into the root.',
  'x11.nspawn-bind-xauthority': "nspawn: bind the host's Xauthority read-only and set XAUTHORITY.",
  'x11.copy-xauthority': "chroot/schroot: merge the display's cookie into the guest user's ~/.Xauthority.",
  'x11.wildcard-cookie': 'Rewrite the cookie as FamilyWild so any hostname matches.',
  'x11.xhost-localuser': 'Unsafe: xhost +si:localuser:USER on the host display.',
  // A stale socket while the host runs another display: point DISPLAY at that one (the same plans as x11.display's).
  'x11.nspawn-setenv-display':
    'A stale socket, the host runs another display: nspawn --setenv=DISPLAY=:N, or Environment=DISPLAY=:N in the .nspawn file.',
  'x11.schroot-preserve-display':
    'A stale socket, the host runs another display: schroot preserve-environment=true so that DISPLAY survives.',
  'x11.export-display': 'A stale socket, the host runs another display: export DISPLAY=:N in the guest shell.',
} as const;

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

/** Only `localhost` and loopback IP literals: a name like 127.attacker.example resolves wherever its owner wants. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || isLoopbackLiteral(host);
}

/** Real clients send the cookie only when it matches the hostname and they can read the file. */
function cookieToSend(c: GuestCookie): X11SetupRequest['auth'] {
  return c.entry !== null && c.reason !== 'hostname-mismatch' && !c.unreadableByUser
    ? { name: c.entry.name, dataHex: c.entry.data.toString('hex') }
    : null;
}

/** The two connection attempts (path or TCP, and abstract) and what a client would come to through them. */
interface Attempts {
  viaPath: X11SetupResponse;
  /** The abstract socket's answer; null for a TCP display, which has none. */
  viaAbstract: X11SetupResponse | null;
  /** Nothing connected on the path socket or the abstract one, but an abstract socket listens (/proc/net/unix). */
  listensAbstract: boolean;
}

/** Which attempt decides, and its verdict: the abstract socket only when the path socket did not connect and it did. */
function decide(
  a: Pick<Attempts, 'viaPath' | 'viaAbstract'>,
  sentCookie: boolean,
): { usedAbstract: boolean; verdict: Verdict; result: X11SetupResponse } {
  const pathVerdict = verdictOf(a.viaPath, sentCookie);
  const abstractVerdict = a.viaAbstract ? verdictOf(a.viaAbstract, sentCookie) : 'connect';
  const usedAbstract = pathVerdict === 'connect' && a.viaAbstract !== null && abstractVerdict !== 'connect';
  return usedAbstract && a.viaAbstract
    ? { usedAbstract, verdict: abstractVerdict, result: a.viaAbstract }
    : { usedAbstract, verdict: pathVerdict, result: a.viaPath };
}

interface Facts {
  place: FixPlace;
  user: GuestUser;
  /** The DISPLAY value looked at: the session's, or the host's live display when the session has none. */
  display: string;
  /** DISPLAY was unset and the host's live display was taken. */
  assumed: boolean;
  parsed: ParsedDisplay;
  /** A non-loopback TCP display from a shared network namespace: nothing is probed. */
  remote: boolean;
  cookie: GuestCookie | null;
  attempts: Attempts | null;
  /** The host's live displays, when they matter (a missing or stale socket); else null. */
  hostLive: HostDisplay[] | null;
  /** The host's Xauthority (from the invoking shell) and the host account of the user's uid, for the cookie fixes. */
  hostXauthority: string | null;
  hostAccount: string | null;
}

// What it looks at: the display DISPLAY names (or the host's live one), the user's cookie for it, and, as the desktop user,
// the X setup on the path socket and on the abstract one (or over TCP); then what the host has that a fix would bring in.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const { target, host } = ctx;
  const probeMs = Math.max(100, Math.floor(ctx.options.timeoutMs / 2));
  let display = target.env.DISPLAY ?? '';
  const assumed = display === '';
  if (assumed) {
    const live = await liveHostDisplays(host, probeMs);
    if (live[0] === undefined) return skip('DISPLAY is unset and the host has no live X display (see x11.display)');
    display = live[0].name;
  }
  const parsed = parseDisplay(display);
  if (parsed === null) return skip(`DISPLAY="${display}" is not a display name (see x11.display)`);
  const { kind, root, schroot, nspawn } = target;
  const facts: Facts = {
    place: { kind, root, ...(schroot ? { schroot } : {}), ...(nspawn ? { nspawn } : {}) },
    user: target.user,
    display,
    assumed,
    parsed,
    remote: false,
    cookie: null,
    attempts: null,
    hostLive: null,
    hostXauthority: null,
    hostAccount: null,
  };
  if (parsed.protocol === 'tcp' && target.sharesNetns && !isLoopback(parsed.host)) return { ...facts, remote: true };

  const cookie = await guestCookie(target, parsed.display);
  const auth = cookieToSend(cookie);
  const socketPath = `/tmp/.X11-unix/X${parsed.display}`;
  const attempt = (socket: X11SetupRequest['socket']) =>
    target.probe('x11-setup', { socket, auth, timeoutMs: probeMs }, { timeoutMs: probeMs, asUser: true });
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
    return cannotRun(`the X11 probe could not run: ${(error as Error).message}`);
  }
  const { usedAbstract, verdict } = decide({ viaPath, viaAbstract }, auth !== null);
  // Node cannot connect to a real X server's abstract name (it pads sun_path), so a refused one is looked up instead.
  const listensAbstract = verdict === 'connect' && viaAbstract !== null && !usedAbstract && (await abstractListens(target, socketPath));
  const errno = viaPath.ok ? null : viaPath.errno;
  const needsHostDisplays = verdict === 'connect' && !listensAbstract && (errno === 'ENOENT' || errno === 'ECONNREFUSED');
  const needsHostAccount = !listensAbstract && (verdict === 'bad-cookie' || verdict === 'no-cookie');
  // The host account of the user's uid: a guest's passwd must not choose who gets the display (L5).
  const hostAccount = needsHostAccount
    ? (parsePasswd((await host.readFileOnce('/etc/passwd')) ?? '').find((p) => p.uid === target.user.uid)?.name ?? null)
    : null;
  return {
    ...facts,
    cookie,
    attempts: { viaPath, viaAbstract, listensAbstract },
    hostLive: needsHostDisplays ? await liveHostDisplays(host, probeMs) : null,
    hostXauthority: host.invokingEnv.XAUTHORITY ?? null,
    hostAccount,
  };
}

function cookieEvidence(c: GuestCookie): Record<string, unknown> {
  return {
    xauthority: c.file,
    xauthoritySource: c.fileSource,
    readProblem: c.readProblem,
    hostname: c.hostname,
    hostnameSource: c.hostnameSource,
    etcHostname: c.etcHostname,
    cookie: c.reason,
    cookieHost: c.entry?.addressText ?? null,
    cookieFamily: c.entry?.familyName ?? null,
  };
}

const reasonOf = (r: X11SetupResponse): string => (r.ok ? '' : r.reason);
const found = findingBuilder(findings);

// How it decides: the cookie a client would send, then the path socket and the abstract socket separately, as the desktop user;
// when neither connected, the path socket's errno says why.
function judge(f: Facts) {
  const out: Reported<typeof findings>[] = [];
  const { display, user } = f;
  if (f.assumed) out.push(found('display-assumed', { display }, { display }));
  if (f.remote) return [...out, found('display-remote', { display }, { display })];
  const { cookie, attempts } = f;
  if (cookie === null || attempts === null) return out;
  const ce = cookieEvidence(cookie);
  if (cookie.readProblem !== null) out.push(found('xauthority-missing', { problem: cookie.readProblem }, ce));
  else if (cookie.unreadableByUser) out.push(found('xauthority-unreadable', { file: cookie.file, user: user.name, uid: user.uid }, ce));
  if (cookie.reason === 'hostname-mismatch') {
    out.push(
      found(
        'xauth-hostname-mismatch',
        { display, file: cookie.file, cookieHost: cookie.entry?.addressText ?? '', hostname: cookie.hostname },
        ce,
      ),
    );
  }

  const { viaPath, viaAbstract, listensAbstract } = attempts;
  const { parsed } = f;
  const { usedAbstract, verdict, result } = decide(attempts, cookieToSend(cookie) !== null);
  const path = `/tmp/.X11-unix/X${parsed.display}`;
  const socket = parsed.protocol === 'tcp' ? `${parsed.host}:${6000 + parsed.display}` : usedAbstract ? `@${path}` : path;
  const evidence = {
    display,
    socket,
    via: parsed.protocol === 'tcp' ? 'tcp' : usedAbstract ? 'abstract' : 'path',
    path: viaPath.ok ? 'ok' : { stage: viaPath.stage, errno: viaPath.errno, reason: viaPath.reason },
    abstract:
      viaAbstract === null
        ? null
        : viaAbstract.ok
          ? 'ok'
          : { stage: viaAbstract.stage, errno: viaAbstract.errno, reason: viaAbstract.reason, listening: listensAbstract },
    ...ce,
  };
  if (usedAbstract || listensAbstract) {
    const seen = usedAbstract ? 'answered the X setup' : 'listens (seen in /proc/net/unix; the cookie is not verified over it)';
    out.push(found('x11-abstract-only', { path, reason: reasonOf(viaPath), seen }, evidence));
    if (listensAbstract) return out;
  }
  switch (verdict) {
    case 'ok': {
      if (!result.ok) return out;
      const screen = result.screens[0];
      const size = screen ? `${screen.width}x${screen.height}` : 'no screen';
      out.push(
        found(
          'x11-connected',
          { socket, user: user.name, vendor: result.vendor, size },
          { ...evidence, vendor: result.vendor, release: result.release, screens: result.screens, elapsedMs: result.elapsedMs },
        ),
      );
      return { findings: out, summary: `${display} via ${socket}: ${result.vendor}, ${size}` };
    }
    case 'bad-cookie':
      return [...out, found('x11-cookie-invalid', { socket, file: cookie.file }, evidence)];
    case 'no-cookie':
      return [...out, found('x11-no-cookie', { socket, user: user.name, hostname: cookie.hostname, reason: reasonOf(result) }, evidence)];
    case 'refused':
      return [...out, found('x11-setup-refused', { socket, reason: reasonOf(result) }, evidence)];
    case 'silent':
      return [...out, found('x11-no-answer', { socket, reason: reasonOf(result) }, evidence)];
    case 'connect':
      break;
  }
  const errno = viaPath.ok ? null : viaPath.errno;
  if (errno === 'ENOENT') {
    // Binding the host's sockets in helps only when the host runs that display: otherwise say what is missing there.
    const hostHas = hostRuns(f);
    const onHost = hostHas
      ? `the host's ${path} is live: bind /tmp/.X11-unix in`
      : `the host has no X server on :${parsed.display} either (no live ${path}): start one, or use Xvfb for a test`;
    return [...out, found('x11-socket-missing', { path, display, onHost }, { ...evidence, hostDisplayLive: hostHas })];
  }
  if (errno === 'ECONNREFUSED') return [...out, found('x11-socket-stale', { socket }, evidence)];
  if (errno === 'EACCES') return [...out, found('x11-socket-permission', { socket, user: user.name }, evidence)];
  return [...out, found('x11-connect-failed', { socket, reason: reasonOf(viaPath) }, evidence)];
}

/** The host runs the display DISPLAY names (a live socket in its /tmp/.X11-unix). */
function hostRuns(f: Facts): boolean {
  return (f.hostLive ?? []).some((d) => d.display === f.parsed.display);
}

// What it offers: the socket directory bound in (for the abstract-only case, or a missing socket the host has), another live
// display for a stale one, and for a refused cookie the host's cookie (or a wildcard one) and, unsafe, xhost for the user.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const codes = new Set(reported.map((r) => r.code));
  const bind = codes.has('x11-abstract-only') || (codes.has('x11-socket-missing') && hostRuns(f)) ? x11SocketBindFix(f.place) : null;
  const fixes: (Fix<keyof typeof fixDocs> | null)[] = [bind];
  if (codes.has('x11-socket-stale')) {
    const other = (f.hostLive ?? []).find((d) => d.display !== f.parsed.display);
    fixes.push(other ? displayEnvFix(f.place, other.name) : null);
  }
  const { cookie } = f;
  if (cookie !== null && (codes.has('x11-cookie-invalid') || codes.has('x11-no-cookie'))) {
    fixes.push(
      cookie.reason === 'hostname-mismatch'
        ? wildcardCookieFix(f.place, { display: f.display, guestXauthority: cookie.file })
        : xauthorityFix(f.place, { display: f.display, hostXauthority: f.hostXauthority, user: f.user }),
    );
    fixes.push(f.hostAccount !== null ? xhostLocalUserFix(f.display, f.hostAccount) : null);
  }
  return fixes;
}

export default defineCheck({
  id: 'x11.socket',
  group: 'x11',
  title: 'X11 socket accepts the user',
  description:
    "Connects to /tmp/.X11-unix/XN as the guest sees it (path socket) and to the abstract socket @/tmp/.X11-unix/XN of the guest's network namespace, as the desktop user, and performs the X11 connection setup with the cookie the user's Xauthority holds for the guest's hostname.",
  findings,
  fixDocs,
  probes: ['user'],
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'the X11 socket'),
  gather,
  judge,
  offer,
});
