import { isUnder } from '../../parse/mountinfo.js';
import type { RunReplacement } from '../../fixes/plans/mount-plans.js';
import type { Host } from '../../core/host.js';

/** Host directories whose daemons a guest must not reach, with what reaching them means. */
export const COUPLED_RUN_DIRS = [
  {
    dir: '/run',
    code: 'host-run-mounted',
    severity: 'fail',
    why: 'the guest talks to the host\'s init and buses: "poweroff" inside the guest shuts the host down',
  },
  {
    dir: '/run/systemd',
    code: 'host-systemd-run-mounted',
    severity: 'fail',
    why: 'the guest talks to the host\'s systemd (/run/systemd/private): "poweroff" inside the guest shuts the host down',
  },
  { dir: '/run/dbus', code: 'host-dbus-mounted', severity: 'fail', why: "the guest's clients use the host's system bus and its daemons" },
  {
    dir: '/run/user',
    code: 'host-user-run-mounted',
    severity: 'warn',
    why: "the guest uses the host session's bus, systemd --user and dconf daemons",
  },
] as const;

/** One of {@link COUPLED_RUN_DIRS}. */
export type CoupledRunDir = (typeof COUPLED_RUN_DIRS)[number];

/**
 * The coupled directory a bind of host `source` brings into a guest, the most serious first:
 * the directory itself or `/run/user/UID`, or, for a recursive bind of an ancestor such as `/`,
 * all of /run. Null when it brings in none.
 */
export function coupledDirOfBind(source: string, recursive: boolean): CoupledRunDir | null {
  const clean = source.replace(/(.)\/+$/, '$1');
  const exact = COUPLED_RUN_DIRS.find((c) => c.dir === clean) ?? (/^\/run\/user\/\d+$/.test(clean) ? COUPLED_RUN_DIRS[3] : undefined);
  if (exact) return exact;
  return recursive && isUnder('/run', clean) ? COUPLED_RUN_DIRS[0] : null;
}

/** What replaces the host's /run for `user`: a private runtime dir, binding only the host's pulse and dconf dirs that exist. */
export async function runReplacementFor(host: Host, user: { uid: number; gid: number }): Promise<RunReplacement> {
  const wanted = [`/run/user/${user.uid}/pulse`, `/run/user/${user.uid}/dconf`];
  const binds = (await Promise.all(wanted.map(async (d) => ((await host.stat(d)) !== null ? d : null)))).filter(
    (d): d is string => d !== null,
  );
  return { uid: user.uid, gid: user.gid, binds };
}
