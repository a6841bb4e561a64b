import type { HostProcess } from '../host/procfs.js';

/** The process whose environment and uid stand for the desktop session inside a guest. */
export interface SessionProcess {
  pid: number;
  uid: number;
  env: Record<string, string>;
}

/** Variables that mark a process as part of a desktop session. */
const DESKTOP_VARS = ['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_RUNTIME_DIR', 'PULSE_SERVER', 'DBUS_SESSION_BUS_ADDRESS', 'XAUTHORITY'];

/** A process with its environment, as a session candidate. */
export interface SessionCandidate {
  p: Pick<HostProcess, 'pid' | 'uid' | 'startTime'>;
  env: Record<string, string>;
}

/**
 * How well a process stands for the desktop session: a regular user's (uid ≥ 1000, login.defs
 * UID_MIN) over other non-root ones over root; then one with a display, which is what launches
 * GUI programs (a sound server or bus daemon started earlier carries only XDG_RUNTIME_DIR);
 * then the number of desktop variables; then any environment at all.
 */
export function sessionScore({ p, env }: SessionCandidate): number {
  const userTier = p.uid >= 1000 ? 2 : p.uid !== 0 ? 1 : 0;
  const hasDisplay = Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
  const desktopVars = DESKTOP_VARS.filter((v) => env[v]).length;
  return userTier * 1000 + (hasDisplay ? 100 : 0) + desktopVars * 10 + (Object.keys(env).length > 0 ? 1 : 0);
}

/** The best session candidate: highest {@link sessionScore}; among equals the oldest, which outlives a passing command. */
export function bestSessionCandidate<T extends SessionCandidate>(candidates: T[]): T | null {
  const ranked = [...candidates].sort((a, b) => sessionScore(b) - sessionScore(a) || a.p.startTime - b.p.startTime || a.p.pid - b.p.pid);
  return ranked[0] ?? null;
}

/** What schroot passes to a session when `preserve-environment` is off: DISPLAY and friends are dropped. */
export function schrootCleanEnv(
  invoking: Record<string, string | undefined>,
  user: { name: string; home: string },
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: '/bin/sh',
  };
  if (invoking.TERM) env.TERM = invoking.TERM;
  return env;
}
