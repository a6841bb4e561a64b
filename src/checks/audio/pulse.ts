import path from 'node:path';
import { defineCheck, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import type { PulseServerEntry } from '../../parse/pulse-server.js';
import { chooseServer, describeServer, guestCookie, type ServerChoice } from './pulse-choice.js';
import { pulseCookieFix, pulsePermissionFix, pulseRestartFix, pulseSocketBindFix } from '../../fixes/plans/audio-plans.js';
import type { FixPlace } from '../../fixes/plans/x11-plans.js';
import type { PulseConnectRequest, PulseConnectResponse } from '../../core/probe-types.js';
import type { GuestUser } from '../../core/target.js';
import { isLoopbackLiteral } from '../../parse/loopback.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';

const findings = {
  'pulse-connected': {
    severity: 'info',
    message: 'connected to {server} as {user} and authenticated (protocol {protocol})',
    description: 'Connected and authenticated as the desktop user.',
  },
  'pulse-server-invalid': {
    severity: 'fail',
    message: 'PULSE_SERVER="{value}" names no usable server (expected unix:/path, /path or tcp:host:port)',
    description: 'PULSE_SERVER is set but names no server libpulse can use.',
  },
  'pulse-socket-missing': {
    severity: 'fail',
    message: '{server} does not exist in the guest (ENOENT): pactl says "Connection failure: Connection refused"; {onHost}',
    description: 'The socket does not exist in the guest (ENOENT).',
  },
  'pulse-socket-stale': {
    severity: 'fail',
    message: 'connect to {server}: Connection refused: the socket file is stale, no sound server listens on it',
    description: 'The socket file is there but nothing listens (ECONNREFUSED).',
  },
  'pulse-socket-permission': {
    severity: 'fail',
    message: 'connect to {server} as {user} (uid {uid}): Permission denied (EACCES){rootNote}',
    description: 'The desktop user may not connect (EACCES), whether or not root could.',
  },
  'pulse-connect-failed': {
    severity: 'fail',
    message: 'connect to {server} failed: {reason}',
    description: 'Connecting failed for another reason (timeout, not a socket, path problem).',
  },
  'pulse-auth-failed': {
    severity: 'fail',
    message: '{server} refused the cookie{from}: {reason} (pactl: "Connection failure: Access denied")',
    description: 'The server refused AUTH: pactl says "Connection failure: Access denied".',
  },
  'pulse-no-answer': {
    severity: 'fail',
    message: '{server} accepted the connection but did not answer AUTH: {reason}',
    description: 'The socket accepted but the server did not answer AUTH.',
  },
  'pulse-remote-server': {
    severity: 'info',
    message: 'PULSE_SERVER names {server}, a remote server; not probed, to send nothing from this network namespace',
    description: 'PULSE_SERVER names a remote TCP server; it is not probed from a shared network namespace.',
  },
  'pulse-no-cookie': {
    severity: 'info',
    message: 'no PulseAudio cookie in the guest ({file}); only a server with auth-anonymous=1 will accept',
    description: 'No cookie file was found; only a server with auth-anonymous accepts.',
  },
  'pipewire-present': {
    severity: 'info',
    message: "PipeWire's socket {socket} is present; its pulse server (pipewire-pulse) serves {runtimeDir}/pulse/native",
    description: "PipeWire's socket pipewire-0 is in the runtime directory.",
  },
} as const;

const fixDocs = {
  'audio.nspawn-bind-pulse':
    'nspawn: --bind=/run/user/UID/pulse:/run/user/pulse with PULSE_SERVER=unix:/run/user/pulse/native (or Bind=/Environment= in the .nspawn file).',
  'audio.schroot-bind-pulse': 'schroot: an fstab bind of /run/user/UID/pulse, and preserve-environment=true.',
  'audio.chroot-bind-pulse': 'chroot: mount --bind the pulse directory and export PULSE_SERVER.',
  'audio.restart-pulse': "Restart the host's sound server after it left a stale socket.",
  'audio.pulse-permission': "Run as the socket's owner, or serve a socket the guest user may open.",
  'audio.nspawn-bind-cookie': 'nspawn: bind the cookie read-only and set PULSE_COOKIE.',
  'audio.copy-cookie': 'chroot/schroot: copy the cookie to ~/.config/pulse/cookie.',
} as const;

/** `localhost` is probed as 127.0.0.1 (see socketOf); any other name is not loopback, only a literal is. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || isLoopbackLiteral(host);
}

function socketOf(e: PulseServerEntry): PulseConnectRequest['socket'] {
  return e.kind === 'unix' ? { path: e.path } : { host: e.host === 'localhost' ? '127.0.0.1' : e.host, port: e.port };
}

/** One server tried: the entry and the probe's answer, as the desktop user. */
interface Tried {
  entry: PulseServerEntry;
  result: PulseConnectResponse;
}

interface Facts {
  place: FixPlace;
  user: GuestUser;
  /** PULSE_SERVER as set, when it names no usable server. */
  invalid: string | null;
  choice: ServerChoice | null;
  cookie: { file: string | null; hex: string | null };
  /** PULSE_COOKIE as set, for the message when no cookie is found. */
  cookieEnv: string | null;
  /** PipeWire's pipewire-0 socket in the runtime directory (its guest path), or null. */
  pipewire: string | null;
  /** The entries not probed: remote TCP servers from a shared network namespace. */
  remote: PulseServerEntry[];
  /** Every probed entry with its answer, in PULSE_SERVER's order. */
  tried: Tried[];
  /** The host has /run/user/UID/pulse/native as a socket (looked at only when a bind could help). */
  hostSocket: boolean;
  /** For EACCES on a unix socket: whether root connects, and who owns the socket's directory. */
  permission: { rootCanConnect: boolean | null; directoryOwner: number | null } | null;
}

/** The host's own socket for this uid, to say whether a bind would help. */
async function hostSocketExists(ctx: CheckContext, uid: number): Promise<boolean> {
  return (await ctx.host.stat(`/run/user/${uid}/pulse/native`))?.type === 'socket';
}

/** The entry that decides: the first that worked, else the first tried. */
function decisive(tried: readonly Tried[]): Tried | undefined {
  return tried.find((t) => t.result.ok) ?? tried[0];
}

// What it looks at: the server libpulse would pick, the cookie it would send, PipeWire's socket; then a connect and AUTH
// as the desktop user on every local entry, the host's socket for this uid when that fails, and for EACCES whether root gets in.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const { target } = ctx;
  const { kind, root, schroot, nspawn, user } = target;
  const probeMs = Math.max(100, Math.floor(ctx.options.timeoutMs / 2));
  const base = {
    place: { kind, root, ...(schroot ? { schroot } : {}), ...(nspawn ? { nspawn } : {}) },
    user,
    cookieEnv: target.env.PULSE_COOKIE ?? null,
    permission: null,
  };
  const choice = chooseServer(ctx);
  if ('invalid' in choice) {
    return {
      ...base,
      invalid: choice.invalid,
      choice: null,
      cookie: { file: null, hex: null },
      pipewire: null,
      remote: [],
      tried: [],
      hostSocket: await hostSocketExists(ctx, user.uid),
    };
  }
  const [cookie, pipewire] = await Promise.all([guestCookie(ctx), target.stat(`${choice.runtimeDir.replace(/\/+$/, '')}/pipewire-0`)]);
  const probeable = choice.entries.filter((e) => e.kind === 'unix' || !target.sharesNetns || isLoopback(e.host));
  let results: PulseConnectResponse[];
  try {
    results = await Promise.all(
      probeable.map((e) =>
        target.probe(
          'pulse-connect',
          { socket: socketOf(e), cookieHex: cookie.hex, timeoutMs: probeMs },
          { timeoutMs: probeMs, asUser: true },
        ),
      ),
    );
  } catch (error) {
    return cannotRun(`the PulseAudio probe could not run: ${(error as Error).message}`);
  }
  const tried = probeable.map((entry, i) => ({ entry, result: results[i]! }));
  const facts: Facts = {
    ...base,
    invalid: null,
    choice,
    cookie,
    pipewire: 'type' in pipewire && pipewire.type === 'socket' ? pipewire.guestPath : null,
    remote: choice.entries.filter((e) => !probeable.includes(e)),
    tried,
    hostSocket: false,
  };
  const top = decisive(tried);
  if (top === undefined || top.result.ok) return facts;
  facts.hostSocket = await hostSocketExists(ctx, user.uid);
  if (top.result.stage === 'connect' && top.result.errno === 'EACCES' && top.entry.kind === 'unix') {
    // Root may pass where the user cannot; the user is who plays the sound.
    const socketPath = top.entry.path;
    const asRoot = await target.probe('unix-connect', { path: socketPath, timeoutMs: probeMs }, { timeoutMs: probeMs }).catch(() => null);
    const owner = await target.stat(path.posix.dirname(socketPath));
    facts.permission = { rootCanConnect: asRoot?.ok ?? null, directoryOwner: 'uid' in owner ? owner.uid : null };
  }
  return facts;
}

const found = findingBuilder(findings);

// How it decides: the first working server passes; otherwise the first one's refusal or errno says why not.
function judge(f: Facts) {
  if (f.invalid !== null) return [found('pulse-server-invalid', { value: f.invalid }, { PULSE_SERVER: f.invalid })];
  const out: Reported<typeof findings>[] = [];
  if (f.pipewire !== null)
    out.push(found('pipewire-present', { socket: f.pipewire, runtimeDir: f.choice?.runtimeDir ?? '' }, { socket: f.pipewire }));
  if (f.cookie.file === null) out.push(found('pulse-no-cookie', { file: f.cookieEnv ?? '~/.config/pulse/cookie' }, {}));
  for (const e of f.remote) out.push(found('pulse-remote-server', { server: describeServer(e) }, { server: describeServer(e) }));
  const top = decisive(f.tried);
  if (top === undefined) return out;
  const { result } = top;
  const server = describeServer(top.entry);
  const { user } = f;
  const evidence = {
    server,
    source: f.choice?.source ?? null,
    user: user.name,
    uid: user.uid,
    cookie: f.cookie.file,
    tried: f.tried.map((t) => ({ server: describeServer(t.entry), ok: t.result.ok, errno: t.result.ok ? null : t.result.errno })),
  };
  if (result.ok) {
    out.push(
      found(
        'pulse-connected',
        { server, user: user.name, protocol: result.protocolVersion },
        { ...evidence, protocolVersion: result.protocolVersion, elapsedMs: result.elapsedMs },
      ),
    );
    return { findings: out, summary: `${server}: authenticated as ${user.name}` };
  }
  if (result.stage === 'auth') {
    out.push(
      found(
        'pulse-auth-failed',
        { server, from: f.cookie.file ? ` from ${f.cookie.file}` : ' (none found)', reason: result.reason },
        { ...evidence, reason: result.reason },
      ),
    );
  } else if (result.stage !== 'connect') {
    out.push(found('pulse-no-answer', { server, reason: result.reason }, { ...evidence, reason: result.reason }));
  } else if (result.errno === 'ENOENT') {
    const onHost = top.entry.kind === 'unix' && f.hostSocket;
    const hostSocket = `/run/user/${user.uid}/pulse/native`;
    const note = onHost
      ? `the host has ${hostSocket}, bind it in`
      : `the host has no sound server for uid ${user.uid} either (no ${hostSocket}): start PulseAudio or pipewire-pulse as that user on the host`;
    out.push(found('pulse-socket-missing', { server, onHost: note }, { ...evidence, hostSocket: onHost }));
  } else if (result.errno === 'ECONNREFUSED') {
    out.push(found('pulse-socket-stale', { server }, evidence));
  } else if (result.errno === 'EACCES') {
    const rootCanConnect = f.permission?.rootCanConnect ?? null;
    out.push(
      found(
        'pulse-socket-permission',
        {
          server,
          user: user.name,
          uid: user.uid,
          rootNote: rootCanConnect === true ? '; root can connect, so it works only for root' : '',
        },
        { ...evidence, rootCanConnect, directoryOwner: f.permission?.directoryOwner ?? null },
      ),
    );
  } else {
    out.push(found('pulse-connect-failed', { server, reason: result.reason }, { ...evidence, errno: result.errno }));
  }
  return out;
}

// What it offers: the host's socket bound in (only when the host has one for this user), the cookie, a restart, or who may connect.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const bind = f.hostSocket ? pulseSocketBindFix(f.place, f.user.uid) : null;
  // The deciding finding comes last (after pipewire-present, pulse-no-cookie, pulse-remote-server).
  const code = reported.at(-1)?.code;
  const top = decisive(f.tried);
  if (code === 'pulse-server-invalid') return [bind];
  if (top === undefined) return [];
  const server = describeServer(top.entry);
  switch (code) {
    case 'pulse-connect-failed':
      return [bind];
    case 'pulse-socket-missing':
      return [top.entry.kind === 'unix' ? bind : null];
    case 'pulse-auth-failed':
      return [pulseCookieFix(f.place, f.user, null)];
    case 'pulse-socket-stale':
      return [pulseRestartFix(server)];
    case 'pulse-socket-permission':
      return [pulsePermissionFix(server, f.permission?.directoryOwner ?? null, f.user)];
    default:
      return [];
  }
}

export default defineCheck({
  id: 'audio.pulse',
  group: 'audio',
  title: 'PulseAudio server reachable',
  description:
    "Resolves the PulseAudio server as libpulse would (PULSE_SERVER, $XDG_RUNTIME_DIR/pulse/native, /run/user/UID/pulse/native), connects to it as the desktop user from the guest and completes the native protocol's AUTH with the user's cookie.",
  findings,
  fixDocs,
  probes: ['user'],
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'the sound server'),
  gather,
  judge,
  offer,
});
