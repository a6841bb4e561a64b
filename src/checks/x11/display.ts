import { defineCheck, type CheckContext, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { parseDisplay, type ParsedDisplay } from '../../parse/display.js';
import { liveHostDisplays } from '../../host/live-displays.js';
import { displayEnvFix, x11SocketBindFix, type FixPlace } from '../../fixes/plans/x11-plans.js';
import type { GuestStat, GuestPathError } from '../../core/target.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';

/** The message X11 programs print without DISPLAY (firefox's wording). */
const NO_DISPLAY = 'Error: no DISPLAY environment variable specified';

/** What is missing when no display can be offered, and where it would be. */
const NO_X_SERVER = 'the host has no X server (no live socket in /tmp/.X11-unix): start one, or use Xvfb for a test (Xvfb :99)';

const findings = {
  'display-unset': {
    severity: 'fail',
    message: `DISPLAY is not set in the guest session (from {envSource}), so X11 programs fail with "${NO_DISPLAY}"; {live}`,
    description: `DISPLAY is not set in the session: X11 programs say "${NO_DISPLAY}".`,
  },
  'display-invalid': {
    severity: 'fail',
    message: 'DISPLAY="{display}" is not a valid X display name (like :0 or localhost:10.0); {live}',
    description: 'DISPLAY is set but is not a display name X11 programs can use.',
  },
  'display-socket-missing': {
    severity: 'fail',
    message:
      'DISPLAY={display} names a display that does not exist: no {socket} in the guest and no live display {display} on the host; {live}',
    description: 'DISPLAY names a display with no socket in the guest and no live display of that number on the host.',
  },
  'display-path-missing': {
    severity: 'fail',
    message: 'DISPLAY={display}: there is no socket {socket} in the guest; {live}',
    description: 'DISPLAY names a socket path that is not a socket in the guest.',
  },
  'display-socket-not-in-guest': {
    severity: 'warn',
    message:
      "DISPLAY={display}: the host's {socket} is live but the guest has no {socket}; only the abstract socket @{socket} of a shared network namespace can reach it (see x11.socket)",
    description:
      'The host has this display, but its socket is not visible in the guest (only the abstract socket of a shared network namespace can reach it).',
  },
  'display-remote': {
    severity: 'info',
    message: 'DISPLAY={display} is a TCP display ({host}, port {port}); x11.socket tries to connect',
    description: 'DISPLAY names a TCP display; its socket is not a file in the guest.',
  },
  'display-ok': {
    severity: 'info',
    message: 'DISPLAY={display}: the socket {socket} exists in the guest',
    description: 'DISPLAY names a display whose socket exists in the guest.',
  },
  'host-displays': { severity: 'info', message: "the host's live displays: {displays}", description: "The host's live X displays." },
} as const;

const fixDocs = {
  'x11.nspawn-setenv-display': 'nspawn: --setenv=DISPLAY=:N, or Environment=DISPLAY=:N in the .nspawn file.',
  'x11.schroot-preserve-display': 'schroot: preserve-environment=true so DISPLAY survives.',
  'x11.export-display': 'chroot: export DISPLAY=:N in the guest shell.',
  'x11.nspawn-bind-socket': 'nspawn: --bind-ro=/tmp/.X11-unix, or BindReadOnly= in the .nspawn file.',
  'x11.schroot-bind-socket': 'schroot: an fstab bind of /tmp/.X11-unix.',
  'x11.chroot-bind-socket': 'chroot: mount --bind /tmp/.X11-unix.',
} as const;

/** What x11.display looks at. */
interface Facts {
  place: FixPlace;
  envSource: string;
  /** DISPLAY as the session has it ('' when unset). */
  value: string;
  parsed: ParsedDisplay | null;
  /** The host's live displays (`:N`), lowest first, their numbers and their sockets' owners. */
  live: { name: string; display: number; owner: number | null }[];
  /** The desktop user's uid, to prefer the display that user runs. */
  uid: number;
  /** The socket DISPLAY names, as the guest sees it; null for TCP or an invalid DISPLAY. */
  socket: { path: string; seen: GuestStat['type'] | GuestPathError } | null;
}

// What it looks at: DISPLAY in the session, the host's displays that answer, and the socket in the guest.
async function gather(ctx: CheckContext): Promise<Facts> {
  const { target } = ctx;
  const value = target.env.DISPLAY ?? '';
  const live = await liveHostDisplays(ctx.host, Math.max(100, Math.floor(ctx.options.timeoutMs / 2)));
  const parsed = value === '' ? null : parseDisplay(value);
  let socket: Facts['socket'] = null;
  if (parsed !== null && parsed.protocol !== 'tcp') {
    const path =
      parsed.protocol === 'local-path' && parsed.path !== undefined && !parsed.path.startsWith('/tmp/.X11-unix/')
        ? parsed.path
        : `/tmp/.X11-unix/X${parsed.display}`;
    const at = await target.stat(path);
    socket = { path, seen: 'error' in at ? at.error : at.type };
  }
  const { kind, root, schroot, nspawn } = target;
  // Whose display each is: the X server's socket belongs to the user who runs it.
  const owners = await Promise.all(live.map(async (d) => (await ctx.host.stat(d.path))?.uid ?? null));
  return {
    place: { kind, root, ...(schroot ? { schroot } : {}), ...(nspawn ? { nspawn } : {}) },
    envSource: target.envSource,
    value,
    parsed,
    socket,
    uid: target.user.uid,
    live: live.map((d, i) => ({ name: d.name, display: d.display, owner: owners[i] ?? null })),
  };
}

const found = findingBuilder(findings);

// How it decides: unset, unparseable, TCP, then the socket as the guest sees it against the host's displays.
function judge(facts: Facts) {
  const { value, parsed, socket } = facts;
  const liveNames = facts.live.map((d) => d.name);
  const live = liveNames.length > 0 ? `the host's live displays: ${liveNames.join(', ')}` : NO_X_SERVER;
  const out: Reported<typeof findings>[] =
    liveNames.length > 0 ? [found('host-displays', { displays: liveNames.join(', ') }, { displays: liveNames })] : [];
  if (value === '')
    return [...out, found('display-unset', { envSource: facts.envSource, live }, { envSource: facts.envSource, liveDisplays: liveNames })];
  if (parsed === null) return [...out, found('display-invalid', { display: value, live }, { display: value, liveDisplays: liveNames })];
  if (parsed.protocol === 'tcp' || socket === null) {
    const port = 6000 + parsed.display;
    return [...out, found('display-remote', { display: value, host: parsed.host, port }, { display: value, host: parsed.host, port })];
  }
  if (socket.seen === 'socket') {
    return {
      findings: [...out, found('display-ok', { display: value, socket: socket.path }, { display: value, socket: socket.path })],
      summary: `DISPLAY=${value}, socket ${socket.path} present`,
    };
  }
  if (!socket.path.startsWith('/tmp/.X11-unix/'))
    return [
      ...out,
      found(
        'display-path-missing',
        { display: value, socket: socket.path, live },
        { display: value, socket: socket.path, liveDisplays: liveNames },
      ),
    ];
  if (facts.live.some((d) => d.display === parsed.display)) {
    return [
      ...out,
      found(
        'display-socket-not-in-guest',
        { display: value, socket: socket.path },
        { display: value, socket: socket.path, guestSees: socket.seen },
      ),
    ];
  }
  return [
    ...out,
    found(
      'display-socket-missing',
      { display: value, socket: socket.path, live },
      { display: value, socket: socket.path, liveDisplays: liveNames },
    ),
  ];
}

// What it offers: DISPLAY pointed at a live display of the host (the user's own first), and the
// socket directory bound in. With no live display there is nothing to point at: no fix, the finding says so.
function offer(facts: Facts, reported: readonly Reported<typeof findings>[]) {
  const code = reported.find((r) => r.code !== 'host-displays')?.code;
  const suggestion = (facts.live.find((d) => d.owner === facts.uid) ?? facts.live[0])?.name;
  if (suggestion === undefined) return [];
  if (code === 'display-unset' || code === 'display-invalid') return [displayEnvFix(facts.place, suggestion)];
  if (code === 'display-socket-missing') return [displayEnvFix(facts.place, suggestion), x11SocketBindFix(facts.place)];
  if (code === 'display-socket-not-in-guest') return [x11SocketBindFix(facts.place)];
  return [];
}

export default defineCheck({
  id: 'x11.display',
  group: 'x11',
  title: 'DISPLAY names an X display',
  description:
    "Reads DISPLAY from the guest session and checks it names a display whose socket /tmp/.X11-unix/XN exists in the guest; suggests the host's live displays (sockets that accept connections), the user's own first, and none when the host has no X server.",
  findings,
  fixDocs,
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'DISPLAY'),
  gather,
  judge,
  offer,
});
