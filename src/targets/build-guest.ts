import { GuestFiles } from '../guest/guest-files.js';
import { readEnviron, readProcess } from '../host/procfs.js';
import { GuestTarget, type GuestDescription } from './guest-target.js';
import { resolveGuestUser } from './guest-user.js';
import { TargetError } from './target-error.js';
import type { OpenOptions } from './open-options.js';
import type { SessionProcess } from './session-process.js';

/** The parts of a guest that differ by kind; the rest is worked out here. */
export interface GuestBasics {
  kind: GuestDescription['kind'];
  name: string;
  /** Host directory of the root; null when only reachable through a process. */
  dir: string | null;
  /** The process whose namespaces are used, if any. */
  pid: number | null;
  session: SessionProcess | null;
  /** Environment to use when there is no session process. */
  fallbackEnv: Record<string, string>;
  fallbackEnvSource: string;
  schroot?: GuestDescription['schroot'];
  nspawn?: GuestDescription['nspawn'];
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Turns what an opener found into a Target: namespaces, environment and desktop user. */
export async function buildGuest(basics: GuestBasics, opts: OpenOptions): Promise<GuestTarget> {
  const own = await readProcess(process.pid);
  const leader = basics.pid !== null ? await readProcess(basics.pid) : null;
  if (basics.pid !== null && leader === null) {
    throw new TargetError(`process ${basics.pid} of ${basics.name} vanished`, 'run `ctr-doctor list` to see what is running now');
  }
  const ownMountNs = leader !== null && own !== null && leader.mntns !== own.mntns;
  const root = basics.dir !== null && !ownMountNs ? basics.dir : `/proc/${basics.pid}/root`;
  const sharesNetns = leader === null || (own !== null && leader.netns === own.netns);

  let env: Record<string, string>;
  let envSource: string;
  let sessionUid: number | undefined;
  if (opts.envFrom !== undefined) {
    const fromPid = await readEnviron(opts.envFrom);
    if (fromPid === null) throw new TargetError(`cannot read the environment of process ${opts.envFrom}`, 'check the PID given to --env-from (and run as root)');
    env = fromPid;
    envSource = `--env-from ${opts.envFrom}`;
    sessionUid = (await readProcess(opts.envFrom))?.uid;
  } else if (basics.session) {
    env = basics.session.env;
    envSource = `process ${basics.session.pid}`;
    sessionUid = basics.session.uid;
  } else {
    env = basics.fallbackEnv;
    envSource = basics.fallbackEnvSource;
  }
  const files = new GuestFiles(root);
  if (!(await files.rootExists())) {
    throw new TargetError(`the root of ${basics.name} (${root}) cannot be opened`, 'run as root, and check the guest still exists');
  }
  let user;
  try {
    user = await resolveGuestUser(files, { option: opts.user, sudoUid: opts.host.invokingEnv.SUDO_UID, sessionUid });
  } catch (error) {
    throw new TargetError((error as Error).message, 'give --user a name from the guest\'s /etc/passwd, or a numeric uid');
  }
  const ownUserns = await import('node:fs/promises').then((fs) => Promise.all([
    fs.readlink('/proc/self/ns/user').catch(() => null),
    basics.pid !== null ? fs.readlink(`/proc/${basics.pid}/ns/user`).catch(() => null) : null,
  ]));
  return new GuestTarget({
    kind: basics.kind,
    name: basics.name,
    root,
    displayRoot: basics.dir ?? root,
    pid: basics.pid,
    netnsPath: sharesNetns ? null : `/proc/${basics.pid}/ns/net`,
    sharesNetns,
    ownMountNs,
    enterUserns: ownUserns[1] !== null && ownUserns[0] !== ownUserns[1],
    env,
    envSource,
    sessionPid: opts.envFrom ?? basics.session?.pid ?? null,
    user,
    ...(basics.schroot ? { schroot: basics.schroot } : {}),
    ...(basics.nspawn ? { nspawn: basics.nspawn } : {}),
    hostProcesses: () => opts.host.processes(),
  });
}

export { definedOnly };
