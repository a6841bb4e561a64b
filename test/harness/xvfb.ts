/**
 * A real X server (Xvfb) with a fresh MIT-MAGIC-COOKIE-1 (test-targets.md §7).
 */
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { must, spawnDaemon, waitFor } from './proc.js';

/** A running Xvfb. */
export interface XvfbHandle {
  display: number;
  /** `:N`. */
  displayName: string;
  pid: number;
  /** Xauthority file holding the cookie for `:N`. */
  authFile: string;
  /** The cookie, 32 hex digits. */
  cookieHex: string;
  /** `/tmp/.X11-unix/XN`. */
  socketPath: string;
  stop(): Promise<void>;
}

/** Options of {@link startXvfb}. */
export interface XvfbOptions {
  /** Also listen on the abstract socket `@/tmp/.X11-unix/XN` (per netns). Default false: `-nolisten local`. */
  listenLocal?: boolean;
  /** Directory for the Xauthority file; default a new temp dir (removed at cleanup). */
  dir?: string;
  /**
   * Run Xvfb inside this netns path (matters for the abstract socket). Default:
   * a private empty netns (`unshare --net`), so the server can never send a packet.
   */
  netns?: string;
  /** Also give the server an IPC namespace of its own (`unshare --ipc`): MIT-SHM then works only for clients inside it. */
  ownIpc?: boolean;
  /** Run the server as this user (setpriv), not root; the Xauthority file is given to it. */
  user?: { uid: number; gid: number };
}

/** Display numbers handed out by {@link allocDisplay} in this process. */
export const allocatedDisplays = new Set<number>();
const reserved = allocatedDisplays;

/** A display number ≥ 150 with no socket, no lock file, and not handed out before in this process. */
export function allocDisplay(start = 150): number {
  for (let n = start; n < 1000; n++) {
    if (reserved.has(n)) continue;
    if (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) continue;
    reserved.add(n);
    return n;
  }
  throw new Error('no free X display number');
}

/** Start `Xvfb :N -nolisten tcp [-nolisten local] -auth F` and wait for its socket (≈230 ms). */
export async function startXvfb(display: number, cleanup: Cleanup, opts: XvfbOptions = {}): Promise<XvfbHandle> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ctrtest-x-'));
  if (!opts.dir) cleanup.defer(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const authFile = join(dir, `Xauthority.${display}`);
  const cookieHex = (await must(['mcookie'])).trim();
  await must(['unshare', '--net', 'xauth', '-q', '-f', authFile, 'add', `:${display}`, '.', cookieHex]);
  const socketPath = `/tmp/.X11-unix/X${display}`;
  const lock = `/tmp/.X${display}-lock`;
  cleanup.defer(
    `remove X${display} socket/lock`,
    () => {
      rmSync(socketPath, { force: true });
      rmSync(lock, { force: true });
    },
    {
      sync: () => {
        rmSync(socketPath, { force: true });
        rmSync(lock, { force: true });
      },
    },
  );
  if (opts.user) chownSync(authFile, opts.user.uid, opts.user.gid);
  const argv = [
    ...(opts.netns ? ['nsenter', `--net=${opts.netns}`] : ['unshare', '--net']),
    ...(opts.ownIpc ? (opts.netns ? ['unshare', '--ipc'] : ['--ipc']) : []),
    ...(opts.user ? ['setpriv', `--reuid=${opts.user.uid}`, `--regid=${opts.user.gid}`, '--clear-groups'] : []),
    'Xvfb',
    `:${display}`,
    '-screen',
    '0',
    '1024x768x24',
    '-nolisten',
    'tcp',
    ...(opts.listenLocal ? [] : ['-nolisten', 'local']),
    '-auth',
    authFile,
  ];
  const d = spawnDaemon(`Xvfb :${display}`, argv, cleanup);
  await waitFor(
    `Xvfb :${display} socket`,
    () => {
      if (d.child.exitCode !== null) throw new Error(`Xvfb exited: ${d.output()}`);
      return existsSync(socketPath);
    },
    { timeoutMs: 10_000, intervalMs: 20 },
  );
  return { display, displayName: `:${display}`, pid: d.pid, authFile, cookieHex, socketPath, stop: () => d.stop() };
}
