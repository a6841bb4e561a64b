/**
 * A real PulseAudio daemon with a null sink and an anonymous unix socket
 * (test-targets.md §8), plus stale sockets for the ECONNREFUSED case.
 */
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { run, spawnDaemon, waitFor } from './proc.js';

/** Options of {@link startPulse}. */
export interface PulseOptions {
  /** Run as this uid (and its gid = uid unless `ownerGid`); `dir` is chowned to it, mode 0700. Default root. */
  ownerUid?: number;
  ownerGid?: number;
  /** Run inside this netns path; default a private empty netns (`unshare --net`). */
  netns?: string;
}

/** A running pulseaudio. */
export interface PulseHandle {
  pid: number;
  /** `<dir>/native`. */
  socketPath: string;
  /** `unix:<dir>/native`, for PULSE_SERVER. */
  server: string;
  stop(): Promise<void>;
}

/**
 * `HOME=D XDG_RUNTIME_DIR=D pulseaudio -n --daemonize=no --exit-idle-time=-1 --use-pid-file=no
 *  -L "module-null-sink sink_name=ctrtest" -L "module-native-protocol-unix auth-anonymous=1 socket=D/native"`;
 * waits for the socket (≈130 ms). Killed by `cleanup`.
 */
export async function startPulse(dir: string, cleanup: Cleanup, opts: PulseOptions = {}): Promise<PulseHandle> {
  mkdirSync(dir, { recursive: true });
  const uid = opts.ownerUid ?? 0;
  const gid = opts.ownerGid ?? uid;
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
  const socketPath = join(dir, 'native');
  const argv = [
    ...(opts.netns ? ['nsenter', `--net=${opts.netns}`] : ['unshare', '--net']),
    ...(uid !== 0 ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'] : []),
    'pulseaudio',
    '-n',
    '--daemonize=no',
    '--exit-idle-time=-1',
    '--use-pid-file=no',
    '-L',
    'module-null-sink sink_name=ctrtest',
    '-L',
    `module-native-protocol-unix auth-anonymous=1 socket=${socketPath}`,
  ];
  const d = spawnDaemon(`pulseaudio ${dir}`, argv, cleanup, {
    cleanEnv: true,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: dir, XDG_RUNTIME_DIR: dir, LANG: 'C' },
  });
  await waitFor(
    `pulseaudio socket ${socketPath}`,
    () => {
      if (d.child.exitCode !== null) throw new Error(`pulseaudio exited: ${d.output()}`);
      return existsSync(socketPath);
    },
    { timeoutMs: 15_000, intervalMs: 20 },
  );
  return { pid: d.pid, socketPath, server: `unix:${socketPath}`, stop: () => d.stop() };
}

/**
 * Leave a unix socket file at `path` with nothing listening (connect → ECONNREFUSED):
 * a child node binds it and is SIGKILLed, so the file is never unlinked.
 */
export async function makeStaleSocket(path: string): Promise<void> {
  const script = `require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))`;
  await run([process.execPath, '-e', script, path]);
  if (!existsSync(path)) throw new Error(`stale socket ${path} was not created`);
}
