import path from 'node:path';
import { defineCheck, type CheckContext } from '../../core/check.js';
import { couldNotRun, finding, outcomeOf } from '../../core/outcome.js';
import type { PulseServerEntry } from '../../parse/pulse-server.js';
import { chooseServer, describeServer, guestCookie } from './pulse-choice.js';
import { pulseCookieFix, pulsePermissionFix, pulseRestartFix, pulseSocketBindFix } from '../../fixes/plans/audio-plans.js';
import type { PulseConnectRequest, PulseConnectResponse } from '../../core/probe-types.js';
import type { Finding, Fix } from '../../core/types.js';
import { isLoopbackLiteral } from '../../parse/loopback.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';

const describe = describeServer;

/** `localhost` is probed as 127.0.0.1 (see socketOf); any other name is not loopback, only a literal is. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || isLoopbackLiteral(host);
}

/** The host's own socket for this uid, to say whether a bind would help. */
async function hostSocketExists(ctx: CheckContext, uid: number): Promise<boolean> {
  return (await ctx.host.stat(`/run/user/${uid}/pulse/native`))?.type === 'socket';
}

export default defineCheck({
  id: 'audio.pulse',
  group: 'audio',
  title: 'PulseAudio server reachable',
  description: 'Resolves the PulseAudio server as libpulse would (PULSE_SERVER, $XDG_RUNTIME_DIR/pulse/native, /run/user/UID/pulse/native), connects to it as the desktop user from the guest and completes the native protocol\'s AUTH with the user\'s cookie.',
  findings: {
    'pulse-connected': { severity: 'info', description: 'Connected and authenticated as the desktop user.' },
    'pulse-server-invalid': { severity: 'fail', description: 'PULSE_SERVER is set but names no server libpulse can use.' },
    'pulse-socket-missing': { severity: 'fail', description: 'The socket does not exist in the guest (ENOENT).' },
    'pulse-socket-stale': { severity: 'fail', description: 'The socket file is there but nothing listens (ECONNREFUSED).' },
    'pulse-socket-permission': { severity: 'fail', description: 'The desktop user may not connect (EACCES), whether or not root could.' },
    'pulse-connect-failed': { severity: 'fail', description: 'Connecting failed for another reason (timeout, not a socket, path problem).' },
    'pulse-auth-failed': { severity: 'fail', description: 'The server refused AUTH: pactl says "Connection failure: Access denied".' },
    'pulse-no-answer': { severity: 'fail', description: 'The socket accepted but the server did not answer AUTH.' },
    'pulse-remote-server': { severity: 'info', description: 'PULSE_SERVER names a remote TCP server; it is not probed from a shared network namespace.' },
    'pulse-no-cookie': { severity: 'info', description: 'No cookie file was found; only a server with auth-anonymous accepts.' },
    'pipewire-present': { severity: 'info', description: 'PipeWire\'s socket pipewire-0 is in the runtime directory.' },
  },
  fixDocs: {
    'audio.nspawn-bind-pulse': 'nspawn: --bind=/run/user/UID/pulse:/run/user/pulse with PULSE_SERVER=unix:/run/user/pulse/native (or Bind=/Environment= in the .nspawn file).',
    'audio.schroot-bind-pulse': 'schroot: an fstab bind of /run/user/UID/pulse, and preserve-environment=true.',
    'audio.chroot-bind-pulse': 'chroot: mount --bind the pulse directory and export PULSE_SERVER.',
    'audio.restart-pulse': 'Restart the host\'s sound server after it left a stale socket.',
    'audio.pulse-permission': 'Run as the socket\'s owner, or serve a socket the guest user may open.',
    'audio.nspawn-bind-cookie': 'nspawn: bind the cookie read-only and set PULSE_COOKIE.',
    'audio.copy-cookie': 'chroot/schroot: copy the cookie to ~/.config/pulse/cookie.',
  },
  probes: ['user'],
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'the sound server'),

  async run(ctx) {
    const { target } = ctx;
    const findings: Finding[] = [];
    const probeMs = Math.max(100, Math.floor(ctx.options.timeoutMs / 2));

    // What it looks at: the server libpulse would pick, the cookie it would send, PipeWire's socket.
    const choice = chooseServer(ctx);
    if ('invalid' in choice) {
      findings.push(finding('pulse-server-invalid', 'fail', `PULSE_SERVER="${choice.invalid}" names no usable server (expected unix:/path, /path or tcp:host:port)`, { PULSE_SERVER: choice.invalid }));
      // The host's socket is offered only when the host has one for this user.
      const fix = (await hostSocketExists(ctx, target.user.uid)) ? pulseSocketBindFix(target, target.user.uid) : null;
      return outcomeOf(findings, fix ? [fix] : []);
    }
    const [cookie, pipewire] = await Promise.all([guestCookie(ctx), target.stat(`${choice.runtimeDir.replace(/\/+$/, '')}/pipewire-0`)]);
    if ('type' in pipewire && pipewire.type === 'socket') {
      findings.push(finding('pipewire-present', 'info', `PipeWire's socket ${pipewire.guestPath} is present; its pulse server (pipewire-pulse) serves ${choice.runtimeDir}/pulse/native`, { socket: pipewire.guestPath }));
    }
    if (cookie.file === null) {
      findings.push(finding('pulse-no-cookie', 'info', `no PulseAudio cookie in the guest (${target.env.PULSE_COOKIE ?? '~/.config/pulse/cookie'}); only a server with auth-anonymous=1 will accept`, {}));
    }

    const probeable = choice.entries.filter((e) => e.kind === 'unix' || !target.sharesNetns || isLoopback(e.host));
    for (const e of choice.entries.filter((x) => !probeable.includes(x))) {
      findings.push(finding('pulse-remote-server', 'info', `PULSE_SERVER names ${describe(e)}, a remote server; not probed, to send nothing from this network namespace`, { server: describe(e) }));
    }
    if (probeable.length === 0) return outcomeOf(findings);

    // How it decides: connect and AUTH as the desktop user; the errno or the server's refusal says why not.
    const socketOf = (e: PulseServerEntry): PulseConnectRequest['socket'] => (e.kind === 'unix' ? { path: e.path } : { host: e.host === 'localhost' ? '127.0.0.1' : e.host, port: e.port });
    let results: PulseConnectResponse[];
    try {
      results = await Promise.all(probeable.map((e) => target.probe('pulse-connect', { socket: socketOf(e), cookieHex: cookie.hex, timeoutMs: probeMs }, { timeoutMs: probeMs, asUser: true })));
    } catch (error) {
      return couldNotRun(`the PulseAudio probe could not run: ${(error as Error).message}`);
    }
    const okIndex = results.findIndex((r) => r.ok);
    const index = okIndex >= 0 ? okIndex : 0;
    const entry = probeable[index]!;
    const result = results[index]!;
    const server = describe(entry);
    const evidence = {
      server, source: choice.source, user: target.user.name, uid: target.user.uid, cookie: cookie.file,
      tried: probeable.map((e, i) => ({ server: describe(e), ok: results[i]!.ok, errno: results[i]!.ok ? null : (results[i] as { errno: string | null }).errno })),
    };
    if (result.ok) {
      findings.push(finding('pulse-connected', 'info', `connected to ${server} as ${target.user.name} and authenticated (protocol ${result.protocolVersion})`, { ...evidence, protocolVersion: result.protocolVersion, elapsedMs: result.elapsedMs }));
      return outcomeOf(findings, [], `${server}: authenticated as ${target.user.name}`);
    }

    const fixes: Fix[] = [];
    // Binding the host's socket in helps only when the host has one for this user: otherwise no such fix.
    const hostHas = await hostSocketExists(ctx, target.user.uid);
    const bind = hostHas ? pulseSocketBindFix(target, target.user.uid) : null;
    if (result.stage === 'auth') {
      findings.push(finding('pulse-auth-failed', 'fail', `${server} refused the cookie${cookie.file ? ` from ${cookie.file}` : ' (none found)'}: ${result.reason} (pactl: "Connection failure: Access denied")`, { ...evidence, reason: result.reason }));
      const fix = pulseCookieFix(target, target.user, null);
      if (fix) fixes.push(fix);
    } else if (result.stage !== 'connect') {
      findings.push(finding('pulse-no-answer', 'fail', `${server} accepted the connection but did not answer AUTH: ${result.reason}`, { ...evidence, reason: result.reason }));
    } else if (result.errno === 'ENOENT') {
      const onHost = entry.kind === 'unix' && hostHas;
      const hostSocket = `/run/user/${target.user.uid}/pulse/native`;
      findings.push(finding('pulse-socket-missing', 'fail',
        `${server} does not exist in the guest (ENOENT): pactl says "Connection failure: Connection refused"; ${onHost ? `the host has ${hostSocket}, bind it in` : `the host has no sound server for uid ${target.user.uid} either (no ${hostSocket}): start PulseAudio or pipewire-pulse as that user on the host`}`,
        { ...evidence, hostSocket: onHost }));
      if (bind && onHost) fixes.push(bind);
    } else if (result.errno === 'ECONNREFUSED') {
      findings.push(finding('pulse-socket-stale', 'fail', `connect to ${server}: Connection refused: the socket file is stale, no sound server listens on it`, evidence));
      fixes.push(pulseRestartFix(server));
    } else if (result.errno === 'EACCES') {
      // Root may pass where the user cannot; the user is who plays the sound.
      const asRoot = entry.kind === 'unix'
        ? await target.probe('unix-connect', { path: entry.path, timeoutMs: probeMs }, { timeoutMs: probeMs }).catch(() => null)
        : null;
      const owner = entry.kind === 'unix' ? await target.stat(path.posix.dirname(entry.path)) : null;
      const ownerUid = owner && 'uid' in owner ? owner.uid : null;
      findings.push(finding('pulse-socket-permission', 'fail',
        `connect to ${server} as ${target.user.name} (uid ${target.user.uid}): Permission denied (EACCES)${asRoot?.ok ? '; root can connect, so it works only for root' : ''}`,
        { ...evidence, rootCanConnect: asRoot?.ok ?? null, directoryOwner: ownerUid }));
      fixes.push(pulsePermissionFix(server, ownerUid, target.user));
    } else {
      findings.push(finding('pulse-connect-failed', 'fail', `connect to ${server} failed: ${result.reason}`, { ...evidence, errno: result.errno }));
      if (bind) fixes.push(bind);
    }
    return outcomeOf(findings, fixes);
  },
});
