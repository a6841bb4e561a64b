import { defineCheck, skip, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';
import { parseDisplay } from '../../parse/display.js';
import { parseUnixListeners } from '../../parse/proc-net-unix.js';
import { idOutside, parseIdMap } from '../../parse/id-map.js';
import { guestCookie } from './guest-xauthority.js';
import { noMitShmFix, shareIpcFix } from '../../fixes/plans/mitshm-plans.js';
import type { FixPlace } from '../../fixes/plans/x11-plans.js';
import type { IpcPlace } from '../../core/host.js';
import type { ShmAttachAnswer, X11MitShmResponse } from '../../core/probe-types.js';

/** What X clients print when X_ShmAttach fails (Xlib's words). */
const USERS_SEE =
  '"X Error of failed request: BadAccess (attempt to access private resource denied)", "Minor opcode of failed request: 1 (X_ShmAttach)"';
/** X servers by comm, looked at first when the socket's owner is searched for. */
const X_SERVERS = ['Xorg', 'X', 'Xvfb', 'Xwayland', 'Xephyr', 'Xvnc', 'Xtigervnc', 'Xnest', 'Xdummy', 'Xpra'];
/** One page: the smallest segment, and all the round trip needs. */
const SEGMENT_BYTES = 4096;
const BAD_ACCESS = 10;

const findings = {
  'mitshm-ok': {
    severity: 'info',
    message:
      "MIT-SHM {version} works for {user}: the X server {server} attached a segment made in the guest's IPC namespace {guestIpc} ({proof})",
    description:
      "A segment made as the desktop user in the guest's IPC namespace was attached by the X server (ShmAttach and a round trip).",
  },
  'mitshm-same-ipc-namespace': {
    severity: 'info',
    message:
      "the guest's X clients and the X server {server} share IPC namespace {guestIpc}, so MIT-SHM {version} can work (no attach round trip: {why})",
    description: 'Same IPC namespace as the X server, decided from /proc/PID/ns/ipc without a round trip (no segment could be made).',
  },
  'mitshm-absent': {
    severity: 'info',
    message:
      'the X server at {socket} offers no MIT-SHM extension: X clients send images through the socket, so the IPC namespace does not matter',
    description: 'The server has no MIT-SHM (QueryExtension): nothing can fail.',
  },
  'mitshm-unknown': {
    severity: 'info',
    message: "cannot tell whether MIT-SHM works for the guest's X clients: {why}",
    description: 'Neither an attach round trip nor a comparison of IPC namespaces was possible.',
  },
  'mitshm-ipc-namespace': {
    severity: 'warn',
    message: `{who} run in IPC namespace {guestIpc} and the X server {server} in {serverIpc}: the server cannot attach the guest's shared memory, so MIT-SHM fails (${USERS_SEE}, major opcode {opcode} MIT-SHM) and Qt or GTK programs crash or draw garbage unless MIT-SHM is off{nspawn}; {proof}`,
    description:
      "The guest's X clients are in another IPC namespace than the X server: X_ShmAttach gives BadAccess (nspawn always unshares IPC).",
  },
  'mitshm-other-user': {
    severity: 'warn',
    message: `the X server {server} cannot attach {user}'s private (0600) segments, only world-readable ones (it runs as uid {serverUid}): X clients whose segments are 0600 fail (${USERS_SEE}); {proof}`,
    description: 'Same IPC namespace, but the server runs as another user and may attach only 0666 segments.',
  },
  'mitshm-attach-refused': {
    severity: 'warn',
    message: `the X server {server} refused X_ShmAttach of a segment made in the guest's IPC namespace ({error}), even a world-readable one, so X clients fail (${USERS_SEE}); {proof}`,
    description: "The server refuses the guest's segments, and the namespaces could not be compared (the server process was not found).",
  },
} as const;

const fixDocs = {
  'x11.nspawn-no-mitshm':
    "nspawn: --setenv=QT_X11_NO_MITSHM=1 or Environment= in the .nspawn file (nspawn cannot share the host's IPC namespace), or per program.",
  'x11.schroot-no-mitshm': "schroot: QT_X11_NO_MITSHM=1 kept with -p / preserve-environment=true, or exported in the user's ~/.profile.",
  'x11.export-no-mitshm': 'chroot, pid: export QT_X11_NO_MITSHM=1 in the guest shell.',
  'x11.share-ipc-namespace':
    "chroot, schroot, pid: start the guest's programs without an IPC namespace of their own, or inside the X server's (nsenter --ipc=/proc/PID/ns/ipc).",
} as const;

/** The X server process behind the guest's display socket. */
interface ServerFacts {
  pid: number;
  comm: string;
  uid: number | null;
  ipc: string | null;
  /** How it was matched: the very socket file the guest sees, or the abstract socket of the guest's network namespace. */
  via: 'path' | 'abstract';
}

/** One attach of one segment: what the server said, and whether our segment shows the attach. */
interface Attempt {
  shmid: number;
  mode: number;
  attach: ShmAttachAnswer | null;
  /** The segment's last-attach time is set: the server attached this very segment. Null when it could not be read. */
  attachedOurs: boolean | null;
  lastPid: number | null;
}

interface Facts {
  place: FixPlace;
  user: { name: string; uid: number };
  display: string;
  socket: string;
  /** The IPC namespace the guest's X clients run in, and whose it is. */
  guestIpc: { pid: number | null; ns: string | null; whose: string };
  server: ServerFacts | null;
  serverWhy: string | null;
  /** QueryExtension / QueryVersion, null when no probe could connect (abstract socket only). */
  query: Extract<X11MitShmResponse, { ok: true }> | null;
  /** The 0600 attempt, then the 0666 one when the first was refused in the same (or an unknown) namespace. */
  attempts: Attempt[];
  /** Why there was no round trip, when there was none. */
  noRoundTrip: string | null;
}

const probeMsOf = (ctx: CheckContext): number => Math.max(200, Math.floor(ctx.options.timeoutMs / 2));

/**
 * The IPC namespace the guest's X clients start in: a pid target's own process's (the one named);
 * else the session process's (a chroot's processes share a root, not always namespaces); else the
 * guest's process; else ctr-doctor's own (a chroot with no process: programs started from this shell get it).
 */
async function guestIpcOf(ctx: CheckContext): Promise<Facts['guestIpc']> {
  const { target, host } = ctx;
  const sessionPid = target.kind === 'pid' ? null : (target.sessionPid ?? target.session?.pid ?? null);
  const pid = sessionPid ?? target.pid;
  if (pid === null)
    return {
      pid: null,
      ns: await host.readlink('/proc/self/ns/ipc'),
      whose: "ctr-doctor's own (the guest has no process; programs started from this shell get it)",
    };
  return {
    pid,
    ns: await host.readlink(`/proc/${pid}/ns/ipc`),
    whose: `${sessionPid !== null ? 'the session process' : "the guest's process"} ${pid}`,
  };
}

/**
 * The X server serving the display: the process holding the listening socket. Path sockets are
 * listed per network namespace (/proc/PID/net/unix of one process in each), and a candidate counts
 * only when the socket file it bound is the very file the guest sees (same device and inode).
 */
async function findServer(
  ctx: CheckContext,
  displayNumber: number,
  guestSocket: { path: string; dev: number; ino: number } | null,
): Promise<{ server: ServerFacts | null; why: string | null }> {
  const { target, host } = ctx;
  const processes = await host.processes();
  const candidates: { inode: number; path: string; via: 'path' | 'abstract' }[] = [];
  const base = `X${displayNumber}`;
  if (guestSocket !== null) {
    const byNetns = new Map<string, number>();
    for (const p of processes) if (p.netns !== null && !byNetns.has(p.netns)) byNetns.set(p.netns, p.pid);
    const listings = await Promise.all(
      [...byNetns.values()].map((pid) => host.readFile(`/proc/${pid}/net/unix`, { maxBytes: 8 * 1024 * 1024 })),
    );
    for (const text of listings) {
      for (const l of parseUnixListeners(text ?? '')) {
        if (l.path.startsWith('/') && l.path.split('/').pop() === base) candidates.push({ ...l, via: 'path' });
      }
    }
  }
  const abstract = `@/tmp/.X11-unix/${base}`;
  for (const l of parseUnixListeners((await target.readProcNet('unix')) ?? ''))
    if (l.path === abstract) candidates.push({ ...l, via: 'abstract' });
  if (candidates.length === 0)
    return { server: null, why: `no process listens on ${guestSocket?.path ?? abstract} in a network namespace the host can see` };
  const holders = await host.socketHolders([...new Set(candidates.map((c) => c.inode))], X_SERVERS);
  let match: { pid: number; via: 'path' | 'abstract' } | null = null;
  for (const c of candidates.filter((x) => x.via === 'path')) {
    for (const h of holders.filter((x) => x.inode === c.inode)) {
      // The file the server bound, through its own root: the same inode as the guest's socket, or another server's.
      const st = await host.stat(`/proc/${h.pid}/root${c.path}`);
      if (st !== null && guestSocket !== null && st.dev === guestSocket.dev && st.ino === guestSocket.ino) {
        match = { pid: h.pid, via: 'path' };
        break;
      }
    }
    if (match) break;
  }
  if (!match) {
    const a = candidates.find((c) => c.via === 'abstract' && holders.some((h) => h.inode === c.inode));
    const h = a ? holders.find((x) => x.inode === a.inode) : undefined;
    if (h) match = { pid: h.pid, via: 'abstract' };
  }
  if (!match)
    return {
      server: null,
      why:
        holders.length === 0
          ? "the process holding the display's socket was not found (another pid namespace, or no right to read its descriptors)"
          : 'no listening socket found is the file the guest sees',
    };
  const p = processes.find((x) => x.pid === match.pid);
  return {
    server: {
      pid: match.pid,
      comm: p?.comm ?? '?',
      uid: p?.uid ?? null,
      ipc: await host.readlink(`/proc/${match.pid}/ns/ipc`),
      via: match.via,
    },
    why: null,
  };
}

/**
 * The host ids the user's X clients (and the probe child) run as: the guest's ids through the user
 * namespace of the process whose IPC namespace is used (identity when its maps cannot be read); null when unmapped.
 */
async function hostOwner(ctx: CheckContext, pid: number | null): Promise<{ uid: number; gid: number } | null> {
  const { uid, gid } = ctx.target.user;
  if (pid === null) return { uid, gid };
  const [u, g] = await Promise.all([ctx.host.readFile(`/proc/${pid}/uid_map`), ctx.host.readFile(`/proc/${pid}/gid_map`)]);
  if (u === null || g === null) return { uid, gid };
  const hostUid = idOutside(parseIdMap(u), uid);
  const hostGid = idOutside(parseIdMap(g), gid);
  return hostUid === null || hostGid === null ? null : { uid: hostUid, gid: hostGid };
}

/** Makes a segment in the guest's IPC namespace, has the server attach it through the guest's socket, reads whether it did, and removes it. */
async function attempt(
  ctx: CheckContext,
  place: IpcPlace,
  owner: { uid: number; gid: number },
  mode: number,
  probe: (shmid: number) => Promise<X11MitShmResponse>,
): Promise<{ attempt: Attempt; response: X11MitShmResponse } | { why: string }> {
  const { host } = ctx;
  const made = await host.createShmSegment(place, owner, { mode, bytes: SEGMENT_BYTES });
  if (!made.ok) return { why: `no segment could be made in the guest's IPC namespace: ${made.reason}` };
  try {
    const response = await probe(made.shmid);
    const seg = (await host.shmSegments(place))?.find((s) => s.shmid === made.shmid) ?? null;
    const attach = response.ok ? response.attach : null;
    return {
      response,
      attempt: { shmid: made.shmid, mode, attach, attachedOurs: seg === null ? null : seg.attachTime > 0, lastPid: seg?.lastPid ?? null },
    };
  } finally {
    await host.removeShmSegment(place, made.shmid);
  }
}

// What it looks at: the display's socket in the guest, the IPC namespace of the guest's session and of the X
// server holding that socket, and a real ShmAttach of a segment made as the user in the guest's namespace.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const { target } = ctx;
  const value = target.env.DISPLAY ?? '';
  if (value === '') return skip('DISPLAY is unset in the guest session (see x11.display)');
  const parsed = parseDisplay(value);
  if (parsed === null) return skip(`DISPLAY="${value}" is not a display name (see x11.display)`);
  if (parsed.protocol === 'tcp') return skip(`DISPLAY=${value} is a TCP display: MIT-SHM is for local displays, not checked`);
  const path = parsed.protocol === 'local-path' && parsed.path !== undefined ? parsed.path : `/tmp/.X11-unix/X${parsed.display}`;
  const seen = await target.stat(path);
  const guestSocket = 'error' in seen ? null : { path, dev: seen.dev, ino: seen.ino };
  const [guestIpc, found, cookie] = await Promise.all([
    guestIpcOf(ctx),
    findServer(ctx, parsed.display, guestSocket),
    guestCookie(target, parsed.display),
  ]);
  const { kind, root, schroot, nspawn } = target;
  const facts: Facts = {
    place: { kind, root, ...(schroot ? { schroot } : {}), ...(nspawn ? { nspawn } : {}) },
    user: { name: target.user.name, uid: target.user.uid },
    display: value,
    socket: guestSocket ? path : `@/tmp/.X11-unix/X${parsed.display}`,
    guestIpc,
    server: found.server,
    serverWhy: found.why,
    query: null,
    attempts: [],
    noRoundTrip: null,
  };
  if (guestSocket === null) {
    // Node cannot connect to an abstract X socket (it pads sun_path), so there is no probe: namespaces only.
    facts.noRoundTrip = `${path} is not in the guest (the abstract socket cannot be probed from Node)`;
    return facts;
  }
  const auth =
    cookie.entry !== null && cookie.reason !== 'hostname-mismatch' && !cookie.unreadableByUser
      ? { name: cookie.entry.name, dataHex: cookie.entry.data.toString('hex') }
      : null;
  const probeMs = probeMsOf(ctx);
  const probe = (shmid: number | null) =>
    target.probe('x11-mitshm', { socket: { path }, auth, shmid, timeoutMs: probeMs }, { timeoutMs: probeMs, asUser: true });
  try {
    const place: IpcPlace | null = guestIpc.ns === null ? null : { pid: guestIpc.pid, ns: guestIpc.ns };
    const owner = await hostOwner(ctx, guestIpc.pid);
    let first =
      place === null
        ? { why: "the guest's IPC namespace could not be read (needs root)" }
        : owner === null
          ? { why: `${target.user.name}'s uid ${target.user.uid} has no host uid in the guest's user namespace` }
          : await attempt(ctx, place, owner, 0o600, probe);
    if ('why' in first) {
      facts.noRoundTrip = first.why;
      const response = await probe(null);
      if (!response.ok) return skip(`the X11 setup on ${path} fails (${response.reason}): see x11.socket`);
      facts.query = response;
      return facts;
    }
    if (!first.response.ok) return skip(`the X11 setup on ${path} fails (${first.response.reason}): see x11.socket`);
    facts.query = first.response;
    facts.attempts.push(first.attempt);
    const refused = first.attempt.attach !== null && !first.attempt.attach.ok;
    const knownApart = facts.server?.ipc != null && guestIpc.ns !== null && facts.server.ipc !== guestIpc.ns;
    if (refused && !knownApart && place !== null && owner !== null) {
      // Refused in the same (or an unknown) namespace: a world-readable segment tells a uid mismatch from the rest.
      first = await attempt(ctx, place, owner, 0o666, probe);
      if (!('why' in first)) facts.attempts.push(first.attempt);
    }
  } catch (error) {
    return cannotRun(`the MIT-SHM probe could not run: ${(error as Error).message}`);
  }
  return facts;
}

const found = findingBuilder(findings);

function serverName(f: Facts): string {
  return f.server ? `${f.server.comm} (pid ${f.server.pid})` : `at ${f.socket}`;
}

function attachText(a: Attempt | undefined): string {
  if (!a?.attach) return 'no answer';
  if (a.attach.ok) return 'attached';
  const name = a.attach.errorCode === BAD_ACCESS ? 'BadAccess' : a.attach.error;
  return `${name} (X error ${a.attach.errorCode}, major ${a.attach.majorOpcode}, minor ${a.attach.minorOpcode})`;
}

// How it decides: no MIT-SHM, then the attach round trip (0600, then 0666), then the namespaces when no round trip was possible.
function judge(f: Facts) {
  const guestIpc = f.guestIpc.ns ?? 'unknown';
  const serverIpc = f.server?.ipc ?? null;
  const apart = serverIpc !== null && f.guestIpc.ns !== null && serverIpc !== f.guestIpc.ns;
  const same = serverIpc !== null && f.guestIpc.ns !== null && serverIpc === f.guestIpc.ns;
  const server = serverName(f);
  const version = f.query?.version ?? '';
  const opcode = f.query?.majorOpcode ?? '?';
  const evidence = {
    display: f.display,
    socket: f.socket,
    user: f.user.name,
    uid: f.user.uid,
    guestIpc: f.guestIpc.ns,
    guestIpcOf: f.guestIpc.whose,
    serverIpc,
    server: f.server,
    serverNotFound: f.serverWhy,
    mitShm: f.query
      ? {
          present: f.query.present,
          version: f.query.version,
          majorOpcode: f.query.majorOpcode,
          sharedPixmaps: f.query.sharedPixmaps,
          vendor: f.query.vendor,
        }
      : null,
    attempts: f.attempts.map((a) => ({
      shmid: a.shmid,
      mode: `0${a.mode.toString(8)}`,
      attach: a.attach,
      attachedOurs: a.attachedOurs,
      lastPid: a.lastPid,
    })),
    roundTrip:
      f.noRoundTrip === null
        ? "ShmAttach of a segment made as the user in the guest's IPC namespace, then GetInputFocus"
        : `none: ${f.noRoundTrip}`,
  };
  const nspawn = f.place.kind === 'nspawn' ? ' (systemd-nspawn always gives a machine its own IPC namespace)' : '';
  const apartFinding = (proof: string) =>
    found(
      'mitshm-ipc-namespace',
      {
        who: `the guest's X clients (${f.guestIpc.whose})`,
        guestIpc,
        server,
        serverIpc: serverIpc ?? 'another one',
        opcode,
        nspawn,
        proof,
      },
      evidence,
    );

  if (f.query !== null && !f.query.present) return [found('mitshm-absent', { socket: f.socket }, evidence)];
  const [first, second] = f.attempts;
  if (first?.attach) {
    if (first.attach.ok) {
      if (first.attachedOurs === false)
        return [
          apartFinding(
            `proof: the server answered ShmAttach of segment ${first.shmid}, but that segment shows no attach in the guest's namespace: the server attached another segment of that id in its own`,
          ),
        ];
      if (first.attachedOurs === null && apart)
        return [
          apartFinding(
            "the namespaces differ (/proc/PID/ns/ipc); the attach succeeded on some segment of that id in the server's namespace",
          ),
        ];
      const proof = first.attachedOurs
        ? `segment ${first.shmid} shows the server's attach${first.lastPid ? ` (last pid ${first.lastPid})` : ''}`
        : 'the attach succeeded; whether on this very segment could not be read back';
      return {
        findings: [found('mitshm-ok', { version, user: f.user.name, server, guestIpc, proof }, evidence)],
        summary: `MIT-SHM ${version} works for ${f.user.name} with ${server}`,
      };
    }
    const error = attachText(first);
    if (apart)
      return [apartFinding(`proof: ShmAttach of a 0600 segment made as ${f.user.name} in the guest's namespace was refused: ${error}`)];
    if (second?.attach?.ok === true && second.attachedOurs !== false) {
      return [
        found(
          'mitshm-other-user',
          {
            server,
            user: f.user.name,
            serverUid: f.server?.uid ?? '?',
            proof: `proof: a 0600 segment was refused (${error}), a 0666 one attached${same ? ', in the same IPC namespace' : ''}`,
          },
          evidence,
        ),
      ];
    }
    return [
      found(
        'mitshm-attach-refused',
        {
          server,
          error,
          proof: f.server
            ? `both namespaces are ${guestIpc}`
            : `the server process was not found to compare namespaces (${f.serverWhy ?? 'unknown'}): another IPC namespace is the likely cause`,
        },
        evidence,
      ),
    ];
  }
  // No round trip: the namespaces decide.
  const why = f.noRoundTrip ?? 'no attach answer';
  if (apart)
    return [
      apartFinding(
        `from /proc/PID/ns/ipc (no attach round trip: ${why}${f.query ? '' : '; whether the server offers MIT-SHM is not known'})`,
      ),
    ];
  if (same) return [found('mitshm-same-ipc-namespace', { server, guestIpc, version: version || '(presence not known)', why }, evidence)];
  return [
    found(
      'mitshm-unknown',
      { why: `${why}; ${f.server ? "the guest's IPC namespace could not be read" : (f.serverWhy ?? 'the X server was not found')}` },
      evidence,
    ),
  ];
}

// What it offers: MIT-SHM off for the guest's clients, per kind; and, where the kind allows it, the guest's
// programs in the X server's IPC namespace (nspawn cannot: it always unshares IPC).
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const code = reported[0]?.code;
  if (code === 'mitshm-ipc-namespace') return [noMitShmFix(f.place), shareIpcFix(f.place, f.server?.pid ?? null)];
  if (code === 'mitshm-other-user' || code === 'mitshm-attach-refused') return [noMitShmFix(f.place)];
  return [];
}

export default defineCheck({
  id: 'x11.mitshm',
  group: 'x11',
  title: 'MIT-SHM shared memory with the X server',
  description:
    "Finds the X server behind the guest's display socket (the process holding the listening socket, matched by the socket file's inode) and compares its IPC namespace (/proc/PID/ns/ipc) with the guest session's. Then proves it: a System V segment is made as the desktop user in the guest's IPC namespace (host ipcmk), and the user, from the guest, sends MIT-SHM QueryExtension, QueryVersion and ShmAttach of it with a round trip; the segment's attach time says whether the server attached that very segment. Across IPC namespaces the server answers BadAccess (X_ShmAttach), which Qt and GTK programs die of; nspawn always gives its own IPC namespace.",
  findings,
  fixDocs,
  probes: ['user'],
  dependsOn: ['x11.display', 'x11.socket'],
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'MIT-SHM with the X server'),
  gather,
  judge,
  offer,
});
