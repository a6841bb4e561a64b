import { defineCheck } from '../../core/check.js';
import { finding, outcomeOf } from '../../core/outcome.js';
import { parseDisplay } from '../../parse/display.js';
import { liveHostDisplays } from '../../host/live-displays.js';
import { displayEnvFix, x11SocketBindFix } from '../../fixes/plans/x11-plans.js';
import type { Finding, Fix } from '../../core/types.js';

/** The message X11 programs print without DISPLAY (firefox's wording). */
const NO_DISPLAY = 'Error: no DISPLAY environment variable specified';

export default defineCheck({
  id: 'x11.display',
  group: 'x11',
  title: 'DISPLAY names an X display',
  description: 'Reads DISPLAY from the guest session and checks it names a display whose socket /tmp/.X11-unix/XN exists in the guest; suggests the host\'s live displays (sockets that accept connections).',
  findings: {
    'display-unset': { severity: 'fail', description: 'DISPLAY is not set in the session: X11 programs say "Error: no DISPLAY environment variable specified".' },
    'display-invalid': { severity: 'fail', description: 'DISPLAY is set but is not a display name X11 programs can use.' },
    'display-socket-missing': { severity: 'fail', description: 'DISPLAY names a display with no socket in the guest and no live display of that number on the host.' },
    'display-socket-not-in-guest': { severity: 'warn', description: 'The host has this display, but its socket is not visible in the guest (only the abstract socket of a shared network namespace can reach it).' },
    'display-remote': { severity: 'info', description: 'DISPLAY names a TCP display; its socket is not a file in the guest.' },
    'display-ok': { severity: 'info', description: 'DISPLAY names a display whose socket exists in the guest.' },
    'host-displays': { severity: 'info', description: 'The host\'s live X displays.' },
  },
  fixDocs: {
    'x11.nspawn-setenv-display': 'nspawn: --setenv=DISPLAY=:N, or Environment=DISPLAY=:N in the .nspawn file.',
    'x11.schroot-preserve-display': 'schroot: preserve-environment=true so DISPLAY survives.',
    'x11.export-display': 'chroot: export DISPLAY=:N in the guest shell.',
    'x11.nspawn-bind-socket': 'nspawn: --bind-ro=/tmp/.X11-unix, or BindReadOnly= in the .nspawn file.',
    'x11.schroot-bind-socket': 'schroot: an fstab bind of /tmp/.X11-unix.',
    'x11.chroot-bind-socket': 'chroot: mount --bind /tmp/.X11-unix.',
  },
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: DISPLAY is a guest session setting' : true),

  async run(ctx) {
    const { target } = ctx;
    const findings: Finding[] = [];
    const fixes: Fix[] = [];

    // What it looks at: DISPLAY in the session, and the host's displays that answer.
    const value = target.env.DISPLAY;
    const live = await liveHostDisplays(ctx.host, Math.max(100, Math.floor(ctx.options.timeoutMs / 2)));
    const liveNames = live.map((d) => d.name);
    const suggestion = live[0]?.name ?? ':0';
    const liveText = liveNames.length > 0 ? `the host's live displays: ${liveNames.join(', ')}` : 'the host has no live X display in /tmp/.X11-unix';
    if (liveNames.length > 0) findings.push(finding('host-displays', 'info', liveText, { displays: liveNames }));

    // How it decides: unset, unparseable, TCP, then the socket as the guest sees it.
    if (value === undefined || value === '') {
      findings.push(finding('display-unset', 'fail',
        `DISPLAY is not set in the guest session (from ${target.envSource}), so X11 programs fail with "${NO_DISPLAY}"; ${liveText}`,
        { envSource: target.envSource, liveDisplays: liveNames }));
      const fix = displayEnvFix(target, suggestion);
      return outcomeOf(findings, fix ? [fix] : []);
    }
    const parsed = parseDisplay(value);
    if (parsed === null) {
      findings.push(finding('display-invalid', 'fail', `DISPLAY="${value}" is not a valid X display name (like :0 or localhost:10.0); ${liveText}`, { display: value, liveDisplays: liveNames }));
      const fix = displayEnvFix(target, suggestion);
      return outcomeOf(findings, fix ? [fix] : []);
    }
    if (parsed.protocol === 'tcp') {
      findings.push(finding('display-remote', 'info', `DISPLAY=${value} is a TCP display (${parsed.host}, port ${6000 + parsed.display}); x11.socket tries to connect`, { display: value, host: parsed.host, port: 6000 + parsed.display }));
      return outcomeOf(findings);
    }
    if (parsed.protocol === 'local-path' && parsed.path !== undefined && !parsed.path.startsWith('/tmp/.X11-unix/')) {
      const at = await target.stat(parsed.path);
      const ok = 'type' in at && at.type === 'socket';
      findings.push(ok
        ? finding('display-ok', 'info', `DISPLAY=${value}: the socket ${parsed.path} exists in the guest`, { display: value, socket: parsed.path })
        : finding('display-socket-missing', 'fail', `DISPLAY=${value}: there is no socket ${parsed.path} in the guest; ${liveText}`, { display: value, socket: parsed.path, liveDisplays: liveNames }));
      return outcomeOf(findings);
    }

    const socket = `/tmp/.X11-unix/X${parsed.display}`;
    const at = await target.stat(socket);
    const inGuest = 'type' in at && at.type === 'socket';
    const onHost = live.some((d) => d.display === parsed.display);
    if (inGuest) {
      findings.push(finding('display-ok', 'info', `DISPLAY=${value}: the socket ${socket} exists in the guest`, { display: value, socket }));
      return outcomeOf(findings, [], `DISPLAY=${value}, socket ${socket} present`);
    }
    if (onHost) {
      findings.push(finding('display-socket-not-in-guest', 'warn',
        `DISPLAY=${value}: the host's ${socket} is live but the guest has no ${socket}; only the abstract socket @${socket} of a shared network namespace can reach it (see x11.socket)`,
        { display: value, socket, guestSees: 'error' in at ? at.error : at.type }));
    } else {
      findings.push(finding('display-socket-missing', 'fail',
        `DISPLAY=${value} names a display that does not exist: no ${socket} in the guest and no live display ${value} on the host; ${liveText}`,
        { display: value, socket, liveDisplays: liveNames }));
      const fix = liveNames.length > 0 ? displayEnvFix(target, suggestion) : null;
      if (fix) fixes.push(fix);
    }
    // What it offers: the socket directory bound in, and DISPLAY pointed at a live display.
    const bind = onHost || liveNames.length > 0 ? x11SocketBindFix(target) : null;
    if (bind) fixes.push(bind);
    return outcomeOf(findings, fixes);
  },
});
