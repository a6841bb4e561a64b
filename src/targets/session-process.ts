import { readEnviron, type HostProcess } from '../host/procfs.js';

/** The process whose environment and uid stand for the desktop session inside a guest. */
export interface SessionProcess {
  pid: number;
  uid: number;
  env: Record<string, string>;
}

/** Variables that mark a process as part of a desktop session. */
const DESKTOP_VARS = ['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_RUNTIME_DIR', 'PULSE_SERVER', 'DBUS_SESSION_BUS_ADDRESS', 'XAUTHORITY'];

/** Prefers a regular user's process that carries a desktop environment, then other non-root ones; among equals the oldest, which outlives a passing command. */
export async function pickSessionProcess(processes: HostProcess[]): Promise<SessionProcess | null> {
  const withEnv = await Promise.all(
    processes.map(async (p) => ({ p, env: await readEnviron(p.pid) })),
  );
  const readable = withEnv.filter((x): x is { p: HostProcess; env: Record<string, string> } => x.env !== null);
  // Regular users start at uid 1000 (login.defs UID_MIN); below that are system daemons such as messagebus.
  const score = (x: { p: HostProcess; env: Record<string, string> }) =>
    (x.p.uid >= 1000 ? 8 : 0) + (x.p.uid !== 0 ? 4 : 0) + (DESKTOP_VARS.some((v) => x.env[v]) ? 2 : 0) + (Object.keys(x.env).length > 0 ? 1 : 0);
  readable.sort((a, b) => score(b) - score(a) || a.p.startTime - b.p.startTime || a.p.pid - b.p.pid);
  const best = readable[0];
  return best ? { pid: best.p.pid, uid: best.p.uid, env: best.env } : null;
}

/** What schroot passes to a session when `preserve-environment` is off: DISPLAY and friends are dropped. */
export function schrootCleanEnv(invoking: Record<string, string | undefined>, user: { name: string; home: string }): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: user.home, USER: user.name, LOGNAME: user.name, SHELL: '/bin/sh',
  };
  if (invoking.TERM) env.TERM = invoking.TERM;
  return env;
}
