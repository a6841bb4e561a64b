/**
 * schroot guests (test-targets.md §4): a `type=directory` chroot with its own
 * profile, sessions begun in the host mount namespace, commands run in the
 * world's guest netns, and a simulated reboot that leaves a stale session.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Cleanup } from './cleanup.js';
import { killSync, runSyncQuiet } from './cleanup.js';
import { netOf, type NetWorld, type WorldLike } from './networld.js';
import { commOf, descendantsOf, killAndWait, must, run, type RunResult, spawnDaemon, waitFor } from './proc.js';
import { umountTree } from './rootfs.js';

/** Options of {@link createSchroot}. */
export interface SchrootOptions {
  /** Profile fstab lines; default proc, sys, dev, dev/pts binds. */
  fstabLines?: string[];
  /** Profile copyfiles; default none (the default profile's /etc/resolv.conf would overwrite the guest's). */
  copyfiles?: string[];
  /** Profile nssdatabases; default passwd, group. */
  nssdatabases?: string[];
  /** `preserve-environment=true` in the chroot config. */
  preserveEnvironment?: boolean;
}

/** A schroot chroot definition created by {@link createSchroot}. */
export interface SchrootChroot {
  /** The chroot name (also the profile directory name). */
  name: string;
  root: string;
  configPath: string;
  profileDir: string;
}

/**
 * The default profile fstab. /dev is bound non-recursively, as in schroot's own profiles, so
 * /dev/shm gets its own line (stock profiles ship it commented out, which leaves the guest the
 * devtmpfs directory under the host's shm mount: root's, 0755, a dev.shm failure).
 */
export const DEFAULT_SCHROOT_FSTAB = [
  '/proc /proc none rw,bind 0 0',
  '/sys /sys none rw,bind 0 0',
  '/dev /dev none rw,bind 0 0',
  '/dev/pts /dev/pts none rw,bind 0 0',
  '/dev/shm /dev/shm none rw,bind 0 0',
];

const SESSION_DIR = '/var/lib/schroot/session';
/** chroot name → open session ids we began. */
const sessionsOf = new Map<string, Set<string>>();
/** session id → pids of processes we started in it. */
const procsOf = new Map<string, Set<number>>();

/**
 * Write `/etc/schroot/chroot.d/<name>.conf` and `/etc/schroot/<name>/{fstab,copyfiles,nssdatabases}`.
 * `name` should be unique per world (e.g. `ctd-<id>-s`). Cleanup ends every session
 * begun on it, then removes config and profile.
 */
export function createSchroot(
  worldLike: WorldLike,
  root: string,
  name: string,
  cleanup: Cleanup,
  opts: SchrootOptions = {},
): SchrootChroot {
  void worldLike; // kept for symmetry: the session runs in its guest netns (see runInSession)
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`bad schroot name ${name}`);
  const configPath = `/etc/schroot/chroot.d/${name}.conf`;
  const profileDir = `/etc/schroot/${name}`;
  if (existsSync(configPath) || existsSync(profileDir)) throw new Error(`schroot ${name} already exists`);
  sessionsOf.set(name, new Set());
  cleanup.defer(
    `remove schroot ${name}`,
    async () => {
      for (const s of [...(sessionsOf.get(name) ?? [])]) await endSession(s);
      sessionsOf.delete(name);
      rmSync(configPath, { force: true });
      rmSync(profileDir, { recursive: true, force: true });
    },
    {
      sync: () => {
        for (const s of sessionsOf.get(name) ?? []) runSyncQuiet(['schroot', '-e', '-f', '-c', `session:${s}`]);
        rmSync(configPath, { force: true });
        rmSync(profileDir, { recursive: true, force: true });
      },
    },
  );
  mkdirSync(profileDir, { recursive: true });
  const lines = (a: string[]): string => (a.length ? `${a.join('\n')}\n` : '');
  writeFileSync(`${profileDir}/fstab`, lines(opts.fstabLines ?? DEFAULT_SCHROOT_FSTAB));
  writeFileSync(`${profileDir}/copyfiles`, lines(opts.copyfiles ?? []));
  writeFileSync(`${profileDir}/nssdatabases`, lines(opts.nssdatabases ?? ['passwd', 'group']));
  writeFileSync(
    configPath,
    [
      `[${name}]`,
      'description=ctr-doctor test chroot',
      'type=directory',
      `directory=${root}`,
      'users=root',
      'root-users=root',
      `profile=${name}`,
      ...(opts.preserveEnvironment ? ['preserve-environment=true'] : []),
      '',
    ].join('\n'),
  );
  return { name, root, configPath, profileDir };
}

/** `schroot -b -c NAME -n ID` in the host mount namespace (0.5 s). Returns the session id. */
export async function beginSession(name: string, sessionId: string): Promise<string> {
  const out = await must(['schroot', '-b', '-c', name, '-n', sessionId], { timeoutMs: 30_000 });
  const id = out.trim() || sessionId;
  if (!sessionsOf.has(name)) sessionsOf.set(name, new Set());
  sessionsOf.get(name)!.add(id);
  return id;
}

/** Options of {@link runInSession} and {@link startSessionProcess}. */
export interface SessionRunOptions {
  /** `-u USER`. */
  user?: string;
  /** `-p` (preserve environment). */
  preserveEnvironment?: boolean;
  env?: Record<string, string>;
  timeoutMs?: number;
}

function sessionArgv(world: NetWorld, sessionId: string, argv: string[], o: SessionRunOptions): string[] {
  return [
    'nsenter',
    `--net=${world.guestNsPath}`,
    'schroot',
    '-r',
    '-c',
    `session:${sessionId}`,
    '-d',
    '/',
    ...(o.user ? ['-u', o.user] : []),
    ...(o.preserveEnvironment ? ['-p'] : []),
    '--',
    ...argv,
  ];
}

/** Run `argv` in the session, in the world's guest netns (30–65 ms). Never throws. */
export function runInSession(worldLike: WorldLike, sessionId: string, argv: string[], opts: SessionRunOptions = {}): Promise<RunResult> {
  const world = netOf(worldLike);
  return run(sessionArgv(world, sessionId, argv, opts), { env: opts.env, timeoutMs: opts.timeoutMs });
}

/** A long-running process inside a session. */
export interface SessionProcess {
  /** PID of the command itself (a child of schroot). */
  pid: number;
  /** PID of the `schroot -r` process waiting for it. */
  schrootPid: number;
  stop(): Promise<void>;
}

/**
 * Start `cmd` (default `sleep 100000`) in the session in the guest netns and
 * return its PID. Killed by `cleanup` (and by {@link simulateReboot}).
 */
export async function startSessionProcess(
  worldLike: WorldLike,
  sessionId: string,
  cleanup: Cleanup,
  opts: SessionRunOptions & { cmd?: string[] } = {},
): Promise<SessionProcess> {
  const world = netOf(worldLike);
  const cmd = opts.cmd ?? ['sleep', '100000'];
  const d = spawnDaemon(`schroot session ${sessionId} ${cmd[0]}`, sessionArgv(world, sessionId, cmd, opts), cleanup, {
    env: opts.env,
  });
  const want = cmd[0]!.split('/').pop()!.slice(0, 15);
  const pid = await waitFor(
    `${want} in session ${sessionId}`,
    () => {
      if (d.child.exitCode !== null) throw new Error(`schroot exited: ${d.output()}`);
      return descendantsOf(d.pid).find((p) => commOf(p) === want);
    },
    { timeoutMs: 10_000, intervalMs: 20 },
  );
  if (!procsOf.has(sessionId)) procsOf.set(sessionId, new Set());
  procsOf.get(sessionId)!.add(pid);
  const stop = async (): Promise<void> => {
    procsOf.get(sessionId)?.delete(pid);
    await killAndWait(pid, { graceMs: 3_000 });
    await d.stop();
  };
  cleanup.defer(`kill session process ${pid}`, stop, { sync: () => killSync(pid) });
  return { pid, schrootPid: d.pid, stop };
}

/** The session's mount location from its state file (`/run/schroot/mount/ID`). */
export function sessionMountLocation(sessionId: string): string {
  let loc = `/run/schroot/mount/${sessionId}`;
  try {
    const m = /^mount-location=(.*)$/m.exec(readFileSync(`${SESSION_DIR}/${sessionId}`, 'utf8'));
    if (m?.[1]) loc = m[1].trim();
  } catch {
    /* default */
  }
  try {
    return realpathSync(loc);
  } catch {
    return loc.replace(/^\/var\/run\//, '/run/');
  }
}

/** True when schroot still lists the session. */
export async function sessionListed(sessionId: string): Promise<boolean> {
  const r = await run(['schroot', '--list', '--all-sessions']);
  return r.stdout.split('\n').some((l) => l.trim() === `session:${sessionId}`);
}

/**
 * End a session: `schroot -e`; if that fails (stale), `--recover-session` then
 * `-e`; as a last resort unmount its mounts and remove its state file.
 */
export async function endSession(sessionId: string): Promise<void> {
  for (const pid of procsOf.get(sessionId) ?? []) await killAndWait(pid, { graceMs: 2_000 });
  procsOf.delete(sessionId);
  for (const set of sessionsOf.values()) set.delete(sessionId);
  if (!existsSync(`${SESSION_DIR}/${sessionId}`)) return;
  const end = (): Promise<RunResult> => run(['schroot', '-e', '-c', `session:${sessionId}`], { timeoutMs: 30_000 });
  let r = await end();
  if (existsSync(`${SESSION_DIR}/${sessionId}`)) {
    await run(['schroot', '--recover-session', '-c', `session:${sessionId}`], { timeoutMs: 30_000 });
    r = await end();
  }
  if (existsSync(`${SESSION_DIR}/${sessionId}`)) {
    const loc = sessionMountLocation(sessionId);
    await umountTree(loc).catch(() => undefined);
    rmSync(`${SESSION_DIR}/${sessionId}`, { force: true });
    try {
      rmdirSync(loc);
    } catch {
      /* not empty or gone */
    }
    throw new Error(`schroot -e failed for ${sessionId} (forced removal): ${r.stderr}`);
  }
}

/**
 * Simulate a host reboot for a session: kill the processes we started in it,
 * then unmount everything under its mount location (make-rslave + umount -R).
 * The state file stays, so schroot lists a stale session.
 */
export async function simulateReboot(sessionId: string): Promise<void> {
  for (const pid of procsOf.get(sessionId) ?? []) await killAndWait(pid, { graceMs: 2_000 });
  procsOf.delete(sessionId);
  await umountTree(sessionMountLocation(sessionId));
}
