import { defineCheck, type CheckContext, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { sessionRoot } from '../../parse/schroot-config.js';
import { isUnder } from '../../parse/mountinfo.js';
import { endStaleSessionFix, forceRemoveSessionFix, type SessionRef } from '../../fixes/plans/schroot-plans.js';
import type { SchrootSessionState } from '../../core/host.js';
import type { TargetKind } from '../../core/types.js';

const findings = {
  'session-stale': {
    severity: 'fail',
    message:
      'schroot session {id} is stale: its mounts at {mountLocation} are gone (after a reboot?), so "schroot -r -c session:{id}" fails with "E: Failed to change to directory"; end it with schroot -c session:{id} --end-session',
    description: 'A session whose mounts are gone (after a reboot): "schroot -r" fails with "E: Failed to change to directory".',
  },
  'session-chroot-missing': {
    severity: 'info',
    message: 'session:{id} was made from chroot {chroot}, which is no longer in /etc/schroot',
    description: 'A session made from a chroot that is no longer configured (its state file keeps a copy of the settings).',
  },
  'session-idle': {
    severity: 'info',
    message: 'session:{id} is open but no process runs in it; when done, end it with schroot -c session:{id} --end-session',
    description: 'An open session with its mounts but no process: fine if meant, forgotten otherwise.',
  },
  'session-active': {
    severity: 'info',
    message: 'session:{id} is open with {count} process(es) in it',
    description: 'An open session with processes running in it.',
  },
  'session-unlisted': {
    severity: 'info',
    message: '{stateFile} exists but schroot --list --all-sessions does not show session:{id}',
    description: 'A state file that schroot --list --all-sessions does not show.',
  },
} as const;

const fixDocs = {
  'schroot.end-stale-session': 'schroot --recover-session -c session:ID, then schroot --end-session -c session:ID.',
  'schroot.force-remove-session': 'Unsafe fallback: --end-session --force, unmount what is left, delete the state file.',
} as const;

/** One session this run is about, with what the host knows of it. */
interface SessionFacts {
  state: SchrootSessionState;
  ref: SessionRef;
  /** Its chroot is still configured (or the state file names none). */
  configured: boolean;
  /** `schroot --list --all-sessions` shows it; null when schroot could not be asked. */
  listed: boolean | null;
  /** Host processes whose root is in the session's mount location. */
  pids: number[];
}

interface Facts {
  kind: TargetKind;
  sessions: SessionFacts[];
}

/** The sessions this run is about: all of them on the host, or those of the target's chroot (its own included). */
function relevant(ctx: CheckContext, sessions: SchrootSessionState[]): SchrootSessionState[] {
  const s = ctx.target.schroot;
  if (ctx.target.kind === 'host' || ctx.target.kind === 'self' || !s) return sessions;
  return sessions.filter((x) => x.id === s.session || x.chroot === s.chroot);
}

// What it looks at: every session state file, the host's mounts and processes, the configured chroots, and schroot's own list.
async function gather(ctx: CheckContext): Promise<Facts> {
  const { host } = ctx;
  const [all, processes, config, listed] = await Promise.all([
    host.schrootSessions(),
    host.processes(),
    host.schrootConfig(),
    host.schrootListedSessions(),
  ]);
  const sessions = relevant(ctx, all).map((state): SessionFacts => {
    const ref = { id: state.id, stateFile: state.stateFile, mountLocation: sessionRoot(state) };
    return {
      state,
      ref,
      configured: state.chroot === null || config.chroots.some((c) => c.name === state.chroot || c.aliases.includes(state.chroot ?? '')),
      listed: listed === null ? null : listed.includes(state.id),
      pids: processes.filter((p) => p.rootLink !== null && isUnder(p.rootLink, ref.mountLocation)).map((p) => p.pid),
    };
  });
  return { kind: ctx.target.kind, sessions };
}

const found = findingBuilder(findings);

// How it decides: a state file with no mounts is stale; mounted with processes, active; without, idle.
function judge(f: Facts) {
  if (f.sessions.length === 0)
    return { findings: [], summary: f.kind !== 'schroot' ? 'no schroot sessions on this host' : 'no schroot session for this chroot' };
  const out: Reported<typeof findings>[] = [];
  for (const s of f.sessions) {
    const { id, stateFile, mountLocation } = s.ref;
    const evidence = { session: id, chroot: s.state.chroot, stateFile, mountLocation, listedBySchroot: s.listed };
    if (s.listed === false) out.push(found('session-unlisted', { stateFile, id }, evidence));
    if (!s.configured) out.push(found('session-chroot-missing', { id, chroot: s.state.chroot ?? '' }, evidence));
    if (s.state.stale) out.push(found('session-stale', { id, mountLocation }, evidence));
    else if (s.pids.length > 0) out.push(found('session-active', { id, count: s.pids.length }, { ...evidence, pids: s.pids.slice(0, 20) }));
    else out.push(found('session-idle', { id }, evidence));
  }
  return { findings: out, summary: `${f.sessions.length} session(s), none stale` };
}

// What it offers: for each stale session, the recover-and-end plan (safe) and the forced removal (unsafe).
function offer(f: Facts) {
  return f.sessions.filter((s) => s.state.stale).flatMap((s) => [endStaleSessionFix(s.ref), forceRemoveSessionFix(s.ref)]);
}

export default defineCheck({
  id: 'schroot.sessions',
  group: 'schroot',
  title: 'schroot sessions',
  description:
    'Reads /var/lib/schroot/session/* (and schroot --list --all-sessions): a session whose mounts are gone, as after a reboot, is stale. schroot still lists it, but "schroot -r" fails, and it stays until ended.',
  findings,
  fixDocs,
  appliesTo: (ctx) => (['host', 'self', 'schroot'].includes(ctx.target.kind) ? true : `not a schroot guest (${ctx.target.kind})`),
  gather,
  judge,
  offer,
});
