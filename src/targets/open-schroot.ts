import { buildGuest, definedOnly } from './build-guest.js';
import { chrootMembers } from './open-chroot.js';
import { schrootCleanEnv } from './session-process.js';
import { sessionRoot, type SchrootSessionState } from '../host/schroot-state.js';
import { TargetError } from './target-error.js';
import type { GuestTarget } from './guest-target.js';
import type { OpenOptions } from './open-options.js';
import type { SchrootChroot } from '../parse/schroot-config.js';

function chrootNameOf(session: SchrootSessionState): string | null {
  return session.chroot;
}

async function openSessionState(session: SchrootSessionState, chroot: SchrootChroot | undefined, opts: OpenOptions): Promise<GuestTarget> {
  const root = sessionRoot(session);
  const dir = session.mounted ? root : (session.directory ?? chroot?.directory ?? null);
  if (dir === null) {
    throw new TargetError(
      `schroot session ${session.id} is stale and its chroot directory is unknown`,
      // A pasteable line only for an id no shell would expand (a user may choose a session's name).
      /^[A-Za-z0-9_.:+@-]+$/.test(session.id)
        ? `end it with: schroot -e -c session:${session.id}`
        : 'end it with schroot -e -c session:ID, the id as `schroot --list --all-sessions` prints it',
    );
  }
  const { rule, members } = session.mounted ? await chrootMembers(root, opts) : { rule: null, members: [] };
  const preserve = chroot?.preserveEnvironment === true;
  const fallbackEnv = preserve
    ? definedOnly(opts.host.invokingEnv)
    : schrootCleanEnv(opts.host.invokingEnv, { name: 'root', home: '/root' });
  return buildGuest(
    {
      kind: 'schroot',
      name: session.id,
      dir,
      pid: null,
      membership: rule,
      members,
      fallbackEnv,
      fallbackEnvSource: preserve
        ? 'the invoking shell (preserve-environment=true)'
        : "schroot's reset environment (preserve-environment is off)",
      schroot: { chroot: chrootNameOf(session) ?? chroot?.name ?? session.id, session: session.id },
    },
    opts,
  );
}

/** Opens `session:ID`. */
export async function openSchrootSession(id: string, opts: OpenOptions): Promise<GuestTarget> {
  const sessions = await opts.host.schrootSessions();
  const session = sessions.find((s) => s.id === id);
  if (!session) {
    throw new TargetError(`no schroot session named ${id}`, 'list sessions with `schroot --list --all-sessions` or `ctr-doctor list`');
  }
  const { chroots } = await opts.host.schrootConfig();
  return openSessionState(
    session,
    chroots.find((c) => c.name === session.chroot),
    opts,
  );
}

/** Opens `schroot:NAME`: its session when exactly one is open, else the chroot directory itself. */
export async function openSchroot(name: string, opts: OpenOptions): Promise<GuestTarget> {
  const { chroots } = await opts.host.schrootConfig();
  const chroot = chroots.find((c) => c.name === name || c.aliases.includes(name));
  const sessions = (await opts.host.schrootSessions()).filter((s) => s.chroot === name || (chroot && s.chroot === chroot.name));
  const open = sessions.filter((s) => !s.stale);
  if (!chroot && sessions.length === 0) {
    throw new TargetError(`no schroot chroot named ${name}`, 'see `schroot --list` or the files in /etc/schroot/chroot.d');
  }
  if (open.length > 1) {
    throw new TargetError(
      `schroot ${name} has ${open.length} open sessions: ${open.map((s) => s.id).join(', ')}`,
      'pick one with session:ID',
    );
  }
  const only = open[0] ?? (sessions.length === 1 ? sessions[0] : undefined);
  if (only) return openSessionState(only, chroot, opts);
  if (!chroot?.directory) {
    throw new TargetError(
      `schroot ${name} has no directory= (type ${chroot?.type ?? 'unknown'})`,
      'only directory-type schroot chroots can be checked without a session',
    );
  }
  const preserve = chroot.preserveEnvironment === true;
  return buildGuest(
    {
      kind: 'schroot',
      name,
      dir: chroot.directory,
      pid: null,
      membership: null,
      members: [],
      fallbackEnv: preserve ? definedOnly(opts.host.invokingEnv) : schrootCleanEnv(opts.host.invokingEnv, { name: 'root', home: '/root' }),
      fallbackEnvSource: preserve
        ? 'the invoking shell (preserve-environment=true)'
        : "schroot's reset environment (preserve-environment is off)",
      schroot: { chroot: chroot.name, session: null },
    },
    opts,
  );
}
