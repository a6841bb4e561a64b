/**
 * A real PipeWire for audio.pipewire (and any desktop world that wants one): `pipewire` and,
 * unless told otherwise, `pipewire-pulse`, run as a given user with XDG_RUNTIME_DIR a directory
 * of the test's. No D-Bus is needed: without a session bus PipeWire logs that rtkit and the
 * portal are unavailable and serves anyway. No session manager either: the core answers
 * Core::Hello, and pipewire-pulse answers GET_SERVER_INFO, with no wireplumber running.
 */
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { spawnDaemon, waitFor } from './proc.js';

/** Options of {@link startPipewire}. */
export interface PipewireOptions {
  /** Run as this uid (gid = uid unless `gid`); the runtime dir is chowned to it, mode 0700. Default root. */
  uid?: number;
  gid?: number;
  /** Also start pipewire-pulse (its socket at `<dir>/pulse/native`). Default true. */
  pulse?: boolean;
  /** Run inside this netns path; default a private empty one (`unshare --net`). Path sockets do not care. */
  netns?: string;
}

/** A running PipeWire (and pipewire-pulse). */
export interface PipewireHandle {
  pid: number;
  /** `<dir>/pipewire-0`. */
  socketPath: string;
  /** pipewire-pulse's pid and socket, or null when not started. */
  pulsePid: number | null;
  pulseSocket: string | null;
  /** `unix:<dir>/pulse/native` for PULSE_SERVER, or null. */
  pulseServer: string | null;
  /** Stops pipewire-pulse, then pipewire (each by its PID). */
  stop(): Promise<void>;
}

/**
 * `XDG_RUNTIME_DIR=dir pipewire` (then `pipewire-pulse`) as `uid`, each waited for its socket
 * (≈100 ms each). Each is registered on `cleanup` by PID; `dir` is made, chowned and 0700.
 */
export async function startPipewire(dir: string, cleanup: Cleanup, opts: PipewireOptions = {}): Promise<PipewireHandle> {
  const uid = opts.uid ?? 0;
  const gid = opts.gid ?? uid;
  mkdirSync(dir, { recursive: true });
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
  const prefix = [
    ...(opts.netns ? ['nsenter', `--net=${opts.netns}`] : ['unshare', '--net']),
    ...(uid !== 0 ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'] : []),
  ];
  // No session bus to find (nor to autolaunch): the address names a path that does not exist.
  const env = {
    PATH: '/usr/bin:/bin',
    XDG_RUNTIME_DIR: dir,
    HOME: dir,
    LANG: 'C',
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dir, 'no-bus')}`,
    PIPEWIRE_DEBUG: '1',
  };
  const start = async (program: string, socket: string) => {
    const d = spawnDaemon(`${program} ${dir}`, [...prefix, program], cleanup, { cleanEnv: true, cwd: '/', env });
    await waitFor(
      `${program} socket ${socket}`,
      () => {
        if (d.child.exitCode !== null) throw new Error(`${program} exited: ${d.output()}`);
        return existsSync(socket);
      },
      { timeoutMs: 15_000, intervalMs: 20 },
    );
    return d;
  };
  const socketPath = join(dir, 'pipewire-0');
  const core = await start('pipewire', socketPath);
  const pulseSocket = join(dir, 'pulse', 'native');
  const pulse = opts.pulse === false ? null : await start('pipewire-pulse', pulseSocket);
  return {
    pid: core.pid,
    socketPath,
    pulsePid: pulse?.pid ?? null,
    pulseSocket: pulse ? pulseSocket : null,
    pulseServer: pulse ? `unix:${pulseSocket}` : null,
    stop: async () => {
      await pulse?.stop();
      await core.stop();
    },
  };
}
