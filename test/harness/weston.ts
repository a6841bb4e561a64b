/**
 * A real Weston compositor, headless, for wayland.socket: its socket NAME in a runtime dir of the
 * test's, the fullscreen shell and no input method (so it starts no client processes of its own).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { spawnDaemon, waitFor } from './proc.js';

/** A running weston. */
export interface WestonHandle {
  pid: number;
  socketPath: string;
  stop(): Promise<void>;
}

/** `weston --backend=headless-backend.so --socket=NAME` with XDG_RUNTIME_DIR=dir, as uid (dir chowned to it, mode 0700); waits for the socket. Killed by `cleanup`. */
export async function startWeston(
  dir: string,
  name: string,
  cleanup: Cleanup,
  opts: { uid?: number; gid?: number } = {},
): Promise<WestonHandle> {
  const uid = opts.uid ?? 0;
  const gid = opts.gid ?? uid;
  mkdirSync(dir, { recursive: true });
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
  const config = join(dir, '..', `weston-${name}.ini`);
  writeFileSync(config, '[core]\nshell=fullscreen-shell.so\n[input-method]\npath=\n', { mode: 0o644 });
  const socketPath = join(dir, name);
  const argv = [
    'unshare',
    '--net',
    ...(uid !== 0 ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'] : []),
    'weston',
    `--config=${config}`,
    '--backend=headless-backend.so',
    `--socket=${name}`,
    '--idle-time=0',
  ];
  const d = spawnDaemon(`weston ${socketPath}`, argv, cleanup, {
    cleanEnv: true,
    cwd: '/',
    env: { PATH: '/usr/bin:/bin', XDG_RUNTIME_DIR: dir, HOME: dir, LANG: 'C' },
  });
  await waitFor(
    `weston socket ${socketPath}`,
    () => {
      if (d.child.exitCode !== null) throw new Error(`weston exited: ${d.output()}`);
      return existsSync(socketPath);
    },
    { timeoutMs: 15_000, intervalMs: 20 },
  );
  return { pid: d.pid, socketPath, stop: () => d.stop() };
}
