import { defineCheck, cannotRun, skip, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';
import type { PipewireCoreResponse, PulseConnectResponse } from '../../core/probe-types.js';
import { runtimeDirBindFix } from '../../fixes/plans/runtime-dir-plans.js';
import { pipewireAlsaFix, pipewireRemoteFix, pipewireRestartFix, type GuestPackageManager } from '../../fixes/plans/pipewire-plans.js';
import type { FixPlace } from '../../fixes/plans/x11-plans.js';
import { targetSchrootFstab } from '../schroot-fstab.js';
import { readAsUser } from '../user-files.js';
import { chooseServer, guestCookie } from './pulse-choice.js';

/** What pw-cli, wpctl and every libpipewire client print when the socket is not there (ENOENT becomes EHOSTDOWN). */
const HOST_IS_DOWN = 'pw_context_connect() failed: Host is down';
/** What ALSA prints when `default` falls through to a card whose /dev/snd node the guest lacks (the host's /proc/asound lists it). */
const UNABLE_TO_OPEN_SLAVE = 'ALSA lib pcm_dmix.c:1000:(snd_pcm_dmix_open) unable to open slave';
/** What ALSA 1.2 prints when `default` falls through and there is no card at all (seen here with aplay -D default). */
const NO_CARD = 'ALSA lib confmisc.c:855:(parse_card) cannot find card \'0\'" … "Unknown PCM default';
/** libpipewire's fallback when the runtime dir has no socket (local-socket.c DEFAULT_SYSTEM_RUNTIME_DIR). */
const SYSTEM_DIR = '/run/pipewire';

const findings = {
  'pipewire-connected': {
    severity: 'info',
    message:
      'connected to {socket} as {user} and did Core::Hello + Core::Sync: the core "{name}" answered (PipeWire {version}, run by {serverUser})',
    description: 'The PipeWire core answered Hello with its info event, and the sync, as the desktop user.',
  },
  'pipewire-no-runtime-dir': {
    severity: 'fail',
    message: `neither PIPEWIRE_RUNTIME_DIR nor XDG_RUNTIME_DIR is set in the guest session (from {envSource}) and there is no ${SYSTEM_DIR}/{remote}: PipeWire clients say "${HOST_IS_DOWN}"`,
    description: 'No runtime directory to find pipewire-0 in, and no system-wide socket.',
  },
  'pipewire-socket-missing': {
    severity: 'fail',
    message: `{socket} does not exist in the guest (ENOENT): PipeWire clients say "${HOST_IS_DOWN}"{hint}`,
    description: 'The socket is not in the guest (not bound in).',
  },
  'pipewire-socket-stale': {
    severity: 'fail',
    message: 'connect to {socket}: Connection refused: the socket file is stale, no PipeWire listens on it{hint}',
    description: 'A socket file with nothing listening (ECONNREFUSED).',
  },
  'pipewire-socket-permission': {
    severity: 'fail',
    message: 'connect to {socket} as {user} (uid {uid}): Permission denied (EACCES): the socket or its directory belongs to uid {owner}',
    description: 'The desktop user may not reach the socket.',
  },
  'pipewire-connect-failed': {
    severity: 'fail',
    message: 'connect to {socket} failed: {reason}',
    description: 'Connecting failed for another reason (not a socket, timeout, symlink loop).',
  },
  'pipewire-refused': {
    severity: 'fail',
    message: '{socket} answered Core::Hello with an error: {reason}',
    description: 'The core refused the client (an access module, a portal-gated socket).',
  },
  'pipewire-no-answer': {
    severity: 'fail',
    message: '{socket} accepted the connection but did not answer Core::Hello + Core::Sync: {reason}',
    description: 'The socket accepted, but no PipeWire core answered.',
  },
  'pulse-is-pipewire': {
    severity: 'info',
    message: 'the pulse socket {server} is pipewire-pulse: the server calls itself "{name}"',
    description: "PulseAudio clients reach PipeWire through pipewire-pulse (GET_SERVER_INFO's name).",
  },
  'pulse-not-pipewire': {
    severity: 'info',
    message:
      'the pulse socket {server} is "{name}" {version}, not pipewire-pulse: PulseAudio clients and PipeWire clients reach different servers',
    description: "The pulse socket is a PulseAudio of its own, not PipeWire's.",
  },
  'pulse-unreached': {
    severity: 'info',
    message: 'the pulse socket {server} did not say which server it is ({reason}); audio.pulse looks at it',
    description: 'The pulse socket did not authenticate or name itself; audio.pulse says why.',
  },
  'alsa-route-pipewire': {
    severity: 'info',
    message: "ALSA's default device goes to PipeWire in the guest ({files})",
    description: "pipewire-alsa's default route and plugin are in the guest.",
  },
  'alsa-route-pulse': {
    severity: 'info',
    message: "ALSA's default device goes to the pulse plugin in the guest ({files}){via}",
    description: 'ALSA goes through the pulse plugin, which reaches PipeWire when the pulse socket is pipewire-pulse.',
  },
  'alsa-route-broken': {
    severity: 'warn',
    message: '{files} routes ALSA\'s default device to {kind}, but {library} is not in the guest: ALSA apps fail to open "default"',
    description: 'A route file without its plugin library (a removed package, a partial copy).',
  },
  'alsa-route-hardware': {
    severity: 'info',
    message:
      "no PipeWire or pulse route in the guest's ALSA, but the guest has {devices}: ALSA apps open the card directly, beside the host's PipeWire",
    description: 'ALSA apps use /dev/snd directly.',
  },
  'alsa-no-route': {
    severity: 'warn',
    message:
      'the guest\'s ALSA has no PipeWire or pulse route (none in /etc/alsa/conf.d, /etc/asound.conf or ~/.asoundrc) and there is no /dev/snd: ALSA-only apps fail with "{words}"',
    description:
      'ALSA apps in the guest have nowhere to play: "unable to open slave" when /proc/asound lists the host\'s cards, else "cannot find card \'0\'".',
  },
  'alsa-route-pulse-down': {
    severity: 'warn',
    message:
      '{files} sends ALSA\'s default device to pulse, but the pulse socket {server} did not answer ({reason}): ALSA-only apps fail with "{words}"',
    description: 'The pulse route is there, the pulse server is not (99-pulse.conf loads only while one answers).',
  },
} as const;

const fixDocs = {
  'audio.nspawn-bind-pipewire-runtime-dir':
    'nspawn: --bind=/run/user/UID with --setenv=PIPEWIRE_RUNTIME_DIR=/run/user/UID (and the .nspawn lines); pair --bind-user= with it (systemd#41546). Shown when the host has /run/user/UID/pipewire-0.',
  'audio.schroot-bind-pipewire-runtime-dir':
    "schroot: the fstab line binding /run/user/UID in the profile's file, and preserve-environment=true. Shown when the host has /run/user/UID/pipewire-0.",
  'audio.chroot-bind-pipewire-runtime-dir':
    'chroot: mount --bind /run/user/UID and export XDG_RUNTIME_DIR and PIPEWIRE_RUNTIME_DIR. Shown when the host has /run/user/UID/pipewire-0.',
  'audio.set-pipewire-remote':
    'The guest has /run/user/UID/pipewire-0 but its clients look elsewhere: PIPEWIRE_REMOTE=<that socket> (export, --setenv=, Environment=).',
  'audio.restart-pipewire': 'The socket is stale on the host too: restart pipewire and pipewire-pulse as the user (systemctl --user).',
  'audio.install-pipewire-alsa':
    "Install pipewire-alsa in the guest (the line for its package manager), so ALSA's default device goes to PipeWire. Shown for no route, a broken one, or a dead pulse route while the PipeWire core answers.",
} as const;

/** One socket libpipewire would try, and how the core answered there. */
interface Tried {
  socket: string;
  result: PipewireCoreResponse;
}

/** The guest's ALSA configuration, as far as the route to a sound server goes. */
interface AlsaFacts {
  /** Active (resolving) route files: conf.d entries, /etc/asound.conf, ~/.asoundrc. */
  pipewireFiles: string[];
  pulseFiles: string[];
  /** Whether the guest has each plugin library. */
  pipewireLib: boolean;
  pulseLib: boolean;
  /** /dev/snd/pcm* in the guest. */
  pcmDevices: string[];
  /** The guest's /proc/asound/cards lists a card (the host's, through a shared /proc): ALSA then tries it and says "unable to open slave". */
  cardsListed: boolean;
  managers: GuestPackageManager[];
}

interface Facts {
  place: FixPlace;
  user: { name: string; uid: number };
  envSource: string;
  remote: string;
  runtimeVar: 'PIPEWIRE_RUNTIME_DIR' | 'XDG_RUNTIME_DIR' | null;
  tried: Tried[];
  /** Owner of the first socket tried, when it exists. */
  owner: number | null;
  /** The host's own socket for this uid (or the system one), and whether it answers. */
  host: { socket: string; live: boolean } | null;
  /** The guest has /run/user/UID/pipewire-0 as a socket (it was bound there). */
  guestStandard: boolean;
  pulse: { server: string; result: PulseConnectResponse } | null;
  alsa: AlsaFacts;
  fstabFile: string | null;
}

const ALSA_LIBS = { pipewire: 'libasound_module_pcm_pipewire.so', pulse: 'libasound_module_pcm_pulse.so' } as const;
const MANAGERS: readonly GuestPackageManager[] = ['apt-get', 'dnf', 'pacman'];

/** Whether guest path `p` is an existing regular file (symlinks followed inside the root). */
async function isFile(ctx: CheckContext, p: string): Promise<boolean> {
  const s = await ctx.target.stat(p);
  return 'type' in s && s.type === 'file';
}

/** Whether an ALSA plugin library is in one of the guest's library directories (multiarch ones included). */
async function hasAlsaLib(ctx: CheckContext, lib: string, libDirs: readonly string[]): Promise<boolean> {
  const found = await Promise.all(libDirs.map((d) => isFile(ctx, `${d}/alsa-lib/${lib}`)));
  return found.includes(true);
}

/** Which route a config text sets `pcm.!default` to, if any (a plain text look, no ALSA parser). */
function defaultRouteOf(text: string): 'pipewire' | 'pulse' | null {
  const body = /pcm\.!?default\s*\{[^}]*\btype\s+(pipewire|pulse)\b/.exec(text) ?? /pcm\.!?default\s+(pipewire|pulse)\b/.exec(text);
  return (body?.[1] as 'pipewire' | 'pulse' | undefined) ?? null;
}

// The ALSA side: which conf.d files set the default device (99-pipewire-default.conf, 99-pulse.conf), /etc/asound.conf and
// ~/.asoundrc (read as the user), the plugin libraries, /dev/snd, and the package manager for the install line.
async function gatherAlsa(ctx: CheckContext): Promise<AlsaFacts> {
  const { target } = ctx;
  const [confd, usrLib, snd, cards] = await Promise.all([
    target.readdir('/etc/alsa/conf.d'),
    target.readdir('/usr/lib'),
    target.readdir('/dev/snd'),
    target.readFile('/proc/asound/cards', { maxBytes: 16 * 1024 }),
  ]);
  const libDirs = [
    '/usr/lib',
    '/usr/lib64',
    ...(usrLib ?? []).filter((d) => /^[a-z0-9_]+-linux-[a-z0-9_]+$/.test(d)).map((d) => `/usr/lib/${d}`),
  ];
  const pipewireFiles: string[] = [];
  const pulseFiles: string[] = [];
  // ALSA loads only *.conf there; 50-pipewire.conf and 50-pulseaudio.conf only name a device, the default is set by these.
  const entries = (confd ?? []).filter((e) => e.endsWith('.conf')).sort();
  const active = await Promise.all(entries.map(async (e) => ((await isFile(ctx, `/etc/alsa/conf.d/${e}`)) ? e : null)));
  for (const e of active) {
    if (e === null) continue;
    if (/pipewire.*default|default.*pipewire/.test(e)) pipewireFiles.push(`/etc/alsa/conf.d/${e}`);
    else if (/^\d*-?pulse\.conf$|pulse.*default|default.*pulse/.test(e)) pulseFiles.push(`/etc/alsa/conf.d/${e}`);
  }
  const home = target.user.home.replace(/\/+$/, '');
  const [system, own] = await Promise.all([
    target.readFile('/etc/asound.conf', { maxBytes: 64 * 1024 }),
    home.startsWith('/') ? readAsUser(target, `${home}/.asoundrc`, 64 * 1024) : null,
  ]);
  for (const [file, text] of [
    ['/etc/asound.conf', system.ok ? system.text : null],
    [`${home}/.asoundrc`, own?.ok ? own.bytes.toString('utf8') : null],
  ] as const) {
    const route = text === null ? null : defaultRouteOf(text);
    if (route === 'pipewire') pipewireFiles.push(file);
    if (route === 'pulse') pulseFiles.push(file);
  }
  const [pipewireLib, pulseLib, managers] = await Promise.all([
    hasAlsaLib(ctx, ALSA_LIBS.pipewire, libDirs),
    hasAlsaLib(ctx, ALSA_LIBS.pulse, libDirs),
    Promise.all(MANAGERS.map(async (m) => ((await isFile(ctx, `/usr/bin/${m}`)) ? m : null))),
  ]);
  return {
    pipewireFiles,
    pulseFiles,
    pipewireLib,
    pulseLib,
    pcmDevices: (snd ?? []).filter((d) => d.startsWith('pcm')).sort(),
    cardsListed: cards.ok && /^\s*\d+\s+\[/m.test(cards.text),
    managers: managers.filter((m) => m !== null),
  };
}

// The pulse side: the socket libpulse would use (unix only), asked GET_SERVER_INFO after AUTH as the user.
async function gatherPulse(ctx: CheckContext, probeMs: number): Promise<Facts['pulse']> {
  const choice = chooseServer(ctx);
  if ('invalid' in choice) return null;
  const entry = choice.entries.find((e) => e.kind === 'unix');
  if (entry?.kind !== 'unix') return null;
  const cookie = await guestCookie(ctx);
  const result = await ctx.target.probe(
    'pulse-connect',
    { socket: { path: entry.path }, cookieHex: cookie.hex, timeoutMs: probeMs, serverInfo: true },
    { timeoutMs: probeMs, asUser: true },
  );
  return { server: entry.path, result };
}

// What it looks at: the sockets libpipewire tries (PIPEWIRE_REMOTE, else pipewire-0 in PIPEWIRE_RUNTIME_DIR or XDG_RUNTIME_DIR,
// then /run/pipewire), a Hello + Sync round trip on each as the desktop user, the host's own socket, the pulse server's name, ALSA.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const { target } = ctx;
  const uid = target.user.uid;
  const probeMs = Math.max(100, Math.floor(ctx.options.timeoutMs / 2));
  const env = target.env;
  const remote = env.PIPEWIRE_REMOTE?.trim() || 'pipewire-0';
  if (remote.startsWith('@'))
    return skip(
      `PIPEWIRE_REMOTE=${remote} names an abstract socket: not probed (it is reachable only from the network namespace that made it)`,
    );
  const runtimeVar = env.PIPEWIRE_RUNTIME_DIR?.trim() ? 'PIPEWIRE_RUNTIME_DIR' : env.XDG_RUNTIME_DIR?.trim() ? 'XDG_RUNTIME_DIR' : null;
  const runtimeDir = runtimeVar ? env[runtimeVar]!.trim().replace(/(.)\/+$/, '$1') : null;
  const sockets = remote.startsWith('/') ? [remote] : [...(runtimeDir ? [`${runtimeDir}/${remote}`] : []), `${SYSTEM_DIR}/${remote}`];
  const tried: Tried[] = [];
  try {
    // In libpipewire's order, stopping at the first that answers.
    for (const socket of sockets) {
      const result = await target.probe(
        'pipewire-core',
        { socket: { path: socket }, timeoutMs: probeMs },
        { timeoutMs: probeMs, asUser: true },
      );
      tried.push({ socket, result });
      if (result.ok) break;
    }
  } catch (error) {
    return cannotRun(`the PipeWire probe could not run: ${(error as Error).message}`);
  }
  const hostSocket = await hostPipewire(ctx, uid);
  const answered = tried.some((t) => t.result.ok);
  const asked = env.PIPEWIRE_REMOTE !== undefined || env.PIPEWIRE_RUNTIME_DIR !== undefined;
  if (hostSocket === null && !answered && !asked) {
    return skip(
      `the host runs no PipeWire for uid ${uid} (no /run/user/${uid}/pipewire-0, no ${SYSTEM_DIR}/pipewire-0) and the guest has none answering: nothing to reach`,
    );
  }
  const standard = `/run/user/${uid}/pipewire-0`;
  const [seen, guestStandard, pulse, alsa, fstab] = await Promise.all([
    target.stat(tried[0]?.socket ?? standard),
    sockets.includes(standard) ? Promise.resolve(null) : target.stat(standard),
    gatherPulse(ctx, probeMs).catch(() => null),
    gatherAlsa(ctx),
    targetSchrootFstab(ctx),
  ]);
  const { kind, root, schroot, nspawn } = target;
  return {
    place: { kind, root, ...(schroot ? { schroot } : {}), ...(nspawn ? { nspawn } : {}) },
    user: { name: target.user.name, uid },
    envSource: target.envSource,
    remote,
    runtimeVar,
    tried,
    owner: 'uid' in seen ? seen.uid : null,
    host: hostSocket,
    guestStandard: guestStandard !== null && 'type' in guestStandard && guestStandard.type === 'socket',
    pulse,
    alsa,
    fstabFile: fstab?.file ?? null,
  };
}

/** The host's PipeWire for this uid: /run/user/UID/pipewire-0, else the system-wide socket; null when neither is a socket. */
async function hostPipewire(ctx: CheckContext, uid: number): Promise<Facts['host']> {
  for (const socket of [`/run/user/${uid}/pipewire-0`, `${SYSTEM_DIR}/pipewire-0`]) {
    if ((await ctx.host.stat(socket))?.type !== 'socket') continue;
    return { socket, live: (await ctx.host.connectUnix(socket, 1000)).ok };
  }
  return null;
}

const found = findingBuilder(findings);
type Found = Reported<typeof findings>;

/** "PulseAudio (on PipeWire 0.3.65)": pipewire-pulse's GET_SERVER_INFO name. */
const PIPEWIRE_PULSE_NAME = /\bon PipeWire\b/;

function judgePulse(f: Facts): Found[] {
  if (f.pulse === null) return [];
  const { server, result } = f.pulse;
  const ev = { server };
  if (!result.ok) return [found('pulse-unreached', { server, reason: result.reason }, { ...ev, stage: result.stage, errno: result.errno })];
  const info = result.server;
  if (!info?.ok)
    return [found('pulse-unreached', { server, reason: info ? `GET_SERVER_INFO: ${info.reason}` : 'no GET_SERVER_INFO answer' }, ev)];
  if (PIPEWIRE_PULSE_NAME.test(info.name))
    return [found('pulse-is-pipewire', { server, name: info.name }, { ...ev, name: info.name, version: info.version })];
  return [
    found('pulse-not-pipewire', { server, name: info.name, version: info.version }, { ...ev, name: info.name, version: info.version }),
  ];
}

function judgeAlsa(f: Facts): Found[] {
  const a = f.alsa;
  const ev = {
    pipewireFiles: a.pipewireFiles,
    pulseFiles: a.pulseFiles,
    pipewireLib: a.pipewireLib,
    pulseLib: a.pulseLib,
    pcmDevices: a.pcmDevices,
  };
  if (a.pipewireFiles.length > 0 && a.pipewireLib) return [found('alsa-route-pipewire', { files: a.pipewireFiles.join(', ') }, ev)];
  const words = a.cardsListed ? UNABLE_TO_OPEN_SLAVE : NO_CARD;
  if (a.pulseFiles.length > 0 && a.pulseLib) {
    const pulse = f.pulse;
    // The pulse route lives only while a pulse server answers (99-pulse.conf's hook loads it "if running").
    if (pulse !== null && !pulse.result.ok && a.pcmDevices.length === 0) {
      return [
        found('alsa-route-pulse-down', { files: a.pulseFiles.join(', '), server: pulse.server, reason: pulse.result.reason, words }, ev),
      ];
    }
    const isPipewire = pulse?.result.ok === true && pulse.result.server?.ok === true && PIPEWIRE_PULSE_NAME.test(pulse.result.server.name);
    return [
      found(
        'alsa-route-pulse',
        { files: a.pulseFiles.join(', '), via: isPipewire ? ', and the pulse socket is pipewire-pulse: ALSA apps reach PipeWire' : '' },
        ev,
      ),
    ];
  }
  if (a.pipewireFiles.length > 0)
    return [found('alsa-route-broken', { files: a.pipewireFiles.join(', '), kind: 'PipeWire', library: ALSA_LIBS.pipewire }, ev)];
  if (a.pulseFiles.length > 0)
    return [found('alsa-route-broken', { files: a.pulseFiles.join(', '), kind: 'pulse', library: ALSA_LIBS.pulse }, ev)];
  if (a.pcmDevices.length > 0)
    return [
      found(
        'alsa-route-hardware',
        {
          devices: a.pcmDevices
            .map((d) => `/dev/snd/${d}`)
            .slice(0, 4)
            .join(', '),
        },
        ev,
      ),
    ];
  return [found('alsa-no-route', { words }, { ...ev, cardsListed: a.cardsListed })];
}

/** The answer that stands for the socket: the first that answered, else the first tried (the one the user's clients report). */
function standing(f: Facts): Tried | null {
  return f.tried.find((t) => t.result.ok) ?? f.tried[0] ?? null;
}

function judgeSocket(f: Facts): Found[] {
  const who = { user: f.user.name, uid: f.user.uid };
  const t = standing(f);
  if (t === null) return [];
  const { socket, result } = t;
  const ev = {
    socket,
    remote: f.remote,
    runtimeVar: f.runtimeVar,
    tried: f.tried.map((x) => ({ socket: x.socket, ok: x.result.ok, stage: x.result.stage, errno: x.result.ok ? null : x.result.errno })),
    host: f.host,
    ...who,
  };
  if (result.ok) {
    const c = result.core;
    return [
      found('pipewire-connected', { socket, ...who, name: c.name, version: c.version, serverUser: c.userName || '?' }, { ...ev, core: c }),
    ];
  }
  const hostHint = f.host?.live ? `; the host has ${f.host.socket}` : '';
  if (result.stage === 'error') return [found('pipewire-refused', { socket, reason: result.reason }, ev)];
  if (result.stage !== 'connect') return [found('pipewire-no-answer', { socket, reason: result.reason }, ev)];
  switch (result.errno) {
    case 'ENOENT':
      if (f.runtimeVar === null && !f.remote.startsWith('/'))
        return [found('pipewire-no-runtime-dir', { envSource: f.envSource, remote: f.remote }, ev)];
      return [
        found(
          'pipewire-socket-missing',
          {
            socket,
            hint: f.guestStandard ? `; the guest has /run/user/${f.user.uid}/pipewire-0` : hostHint ? `${hostHint}, bind it in` : '',
          },
          ev,
        ),
      ];
    case 'ECONNREFUSED':
      return [
        found(
          'pipewire-socket-stale',
          {
            socket,
            hint:
              f.host === null
                ? ''
                : f.host.live
                  ? `; the host's ${f.host.socket} answers: bind it in instead of the copy`
                  : `; the host's ${f.host.socket} is stale too`,
          },
          ev,
        ),
      ];
    case 'EACCES':
      return [found('pipewire-socket-permission', { socket, ...who, owner: f.owner ?? '?' }, ev)];
    default:
      return [found('pipewire-connect-failed', { socket, reason: result.reason }, ev)];
  }
}

// How it decides: the socket's round trip first (connected, or why not), then what the pulse socket is, then ALSA's route.
function judge(f: Facts) {
  const out = [...judgeSocket(f), ...judgePulse(f), ...judgeAlsa(f)];
  const t = standing(f);
  if (t?.result.ok) {
    const pulse = out.some((x) => x.code === 'pulse-is-pipewire') ? '; pulse is pipewire-pulse' : '';
    return { findings: out, summary: `${t.socket}: PipeWire ${t.result.core.version} for ${f.user.name}${pulse}` };
  }
  return out;
}

// What it offers: the host's runtime dir bound in (only when the host has /run/user/UID/pipewire-0 answering), PIPEWIRE_REMOTE when
// the guest has the socket elsewhere, a restart when the host's socket is stale too, pipewire-alsa when ALSA has no route.
function offer(f: Facts, reported: readonly Found[]) {
  const codes = new Set(reported.map((r) => r.code));
  const uid = f.user.uid;
  const hostRunUser = f.host?.live === true && f.host.socket === `/run/user/${uid}/pipewire-0`;
  const out = [];
  const missing = codes.has('pipewire-socket-missing') || codes.has('pipewire-no-runtime-dir');
  if (missing && f.guestStandard) out.push(pipewireRemoteFix(f.place, `/run/user/${uid}/pipewire-0`));
  else if ((missing || codes.has('pipewire-socket-stale')) && hostRunUser) {
    out.push(
      runtimeDirBindFix(f.place, {
        ids: {
          nspawn: 'audio.nspawn-bind-pipewire-runtime-dir',
          schroot: 'audio.schroot-bind-pipewire-runtime-dir',
          chroot: 'audio.chroot-bind-pipewire-runtime-dir',
        },
        what: 'the PipeWire socket',
        uid,
        env: { name: 'PIPEWIRE_RUNTIME_DIR', value: `/run/user/${uid}` },
        fstabFile: f.fstabFile,
      }),
    );
  }
  if (codes.has('pipewire-socket-stale') && f.host !== null && !f.host.live) out.push(pipewireRestartFix(uid));
  // pipewire-alsa goes straight to pipewire-0: it helps a dead pulse route only when the core answered.
  const coreAnswered = f.tried.some((t) => t.result.ok);
  if (codes.has('alsa-no-route') || codes.has('alsa-route-broken') || (codes.has('alsa-route-pulse-down') && coreAnswered))
    out.push(pipewireAlsaFix(f.alsa.managers));
  return out;
}

export default defineCheck({
  id: 'audio.pipewire',
  group: 'audio',
  title: 'PipeWire, pipewire-pulse and the ALSA route',
  description:
    'Finds the socket libpipewire opens (PIPEWIRE_REMOTE, else pipewire-0 in PIPEWIRE_RUNTIME_DIR or XDG_RUNTIME_DIR, then /run/pipewire) and, as the desktop user from the guest, sends Core::Hello and Core::Sync, expecting the core\'s info event (name, version) and Core::Done. Separates ENOENT ("Host is down"), ECONNREFUSED, EACCES, a Core::Error and silence. Asks the pulse socket GET_SERVER_INFO to tell pipewire-pulse ("PulseAudio (on PipeWire X)") from PulseAudio itself. Reads the guest\'s /etc/alsa/conf.d, /etc/asound.conf and ~/.asoundrc for a default route to PipeWire or pulse with its plugin library, and warns when there is none and no /dev/snd ("unable to open slave" or "cannot find card"), or when the route is pulse and no pulse server answers. Skips when the host runs no PipeWire for the user and the guest has none.',
  findings,
  fixDocs,
  probes: ['user'],
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'PipeWire'),
  gather,
  judge,
  offer,
});
