import { readEnviron, type HostProcess } from '../host/procfs.js';

/** The process whose environment and uid stand for the desktop session inside a guest. */
export interface SessionProcess {
  pid: number;
  uid: number;
  env: Record<string, string>;
}

/** Prefers a non-root process that carries a desktop environment, then any non-root one, then the newest. */
export async function pickSessionProcess(processes: HostProcess[]): Promise<SessionProcess | null> {
  const withEnv = await Promise.all(
    processes.map(async (p) => ({ p, env: await readEnviron(p.pid) })),
  );
  const readable = withEnv.filter((x): x is { p: HostProcess; env: Record<string, string> } => x.env !== null);
  const score = (x: { p: HostProcess; env: Record<string, string> }) =>
    (x.p.uid !== 0 ? 4 : 0) + (x.env.DISPLAY || x.env.XDG_RUNTIME_DIR ? 2 : 0) + (Object.keys(x.env).length > 0 ? 1 : 0);
  readable.sort((a, b) => score(b) - score(a) || b.p.pid - a.p.pid);
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
