import { defineCheck, type CheckContext } from '../../core/check.js';
import { finding, outcomeOf } from '../../core/outcome.js';
import { sessionRoot } from '../../parse/schroot-config.js';
import type { SchrootSessionState } from '../../core/host.js';
import { isUnder } from '../../parse/mountinfo.js';
import { endStaleSessionFix, forceRemoveSessionFix } from '../../fixes/plans/schroot-plans.js';
import type { Finding, Fix } from '../../core/types.js';

/** The sessions this run is about: all of them on the host, or those of the target's chroot (its own included). */
function relevant(ctx: CheckContext, sessions: SchrootSessionState[]): SchrootSessionState[] {
  const s = ctx.target.schroot;
  if (ctx.target.kind === 'host' || ctx.target.kind === 'self' || !s) return sessions;
  return sessions.filter((x) => x.id === s.session || x.chroot === s.chroot);
}

export default defineCheck({
  id: 'schroot.sessions',
  group: 'schroot',
  title: 'schroot sessions',
  description: 'Reads /var/lib/schroot/session/* (and schroot --list --all-sessions): a session whose mounts are gone, as after a reboot, is stale. schroot still lists it, but "schroot -r" fails, and it stays until ended.',
  findings: {
    'session-stale': { severity: 'fail', description: 'A session whose mounts are gone (after a reboot): "schroot -r" fails with "E: Failed to change to directory".' },
    'session-chroot-missing': { severity: 'info', description: 'A session made from a chroot that is no longer configured (its state file keeps a copy of the settings).' },
    'session-idle': { severity: 'info', description: 'An open session with its mounts but no process: fine if meant, forgotten otherwise.' },
    'session-active': { severity: 'info', description: 'An open session with processes running in it.' },
    'session-unlisted': { severity: 'info', description: 'A state file that schroot --list --all-sessions does not show.' },
  },
  fixDocs: {
    'schroot.end-stale-session': 'schroot --recover-session -c session:ID, then schroot --end-session -c session:ID.',
    'schroot.force-remove-session': 'Unsafe fallback: --end-session --force, unmount what is left, delete the state file.',
  },
  appliesTo: (ctx) => (['host', 'self', 'schroot'].includes(ctx.target.kind) ? true : `not a schroot guest (${ctx.target.kind})`),

  async run(ctx) {
    // What it looks at: every session state file, the host's mounts and processes, and schroot's own list.
    const [all, processes, config, listed] = await Promise.all([
      ctx.host.schrootSessions(), ctx.host.processes(), ctx.host.schrootConfig(), ctx.host.schrootListedSessions(),
    ]);
    const sessions = relevant(ctx, all);
    if (sessions.length === 0) return outcomeOf([], [], ctx.target.kind !== 'schroot' ? 'no schroot sessions on this host' : 'no schroot session for this chroot');

    // How it decides: state file with no mounts → stale; mounts with processes → active; without → idle.
    const findings: Finding[] = [];
    const fixes: Fix[] = [];
    for (const s of sessions) {
      const ref = { id: s.id, stateFile: s.stateFile, mountLocation: sessionRoot(s) };
      const configured = s.chroot === null || config.chroots.some((c) => c.name === s.chroot || c.aliases.includes(s.chroot ?? ''));
      const evidence = { session: s.id, chroot: s.chroot, stateFile: s.stateFile, mountLocation: ref.mountLocation, listedBySchroot: listed === null ? null : listed.includes(s.id) };
      if (listed !== null && !listed.includes(s.id)) {
        findings.push(finding('session-unlisted', 'info', `${s.stateFile} exists but schroot --list --all-sessions does not show session:${s.id}`, evidence));
      }
      if (!configured) {
        findings.push(finding('session-chroot-missing', 'info', `session:${s.id} was made from chroot ${s.chroot}, which is no longer in /etc/schroot`, evidence));
      }
      if (s.stale) {
        findings.push(finding('session-stale', 'fail',
          `schroot session ${s.id} is stale: its mounts at ${ref.mountLocation} are gone (after a reboot?), so "schroot -r -c session:${s.id}" fails with "E: Failed to change to directory"; end it with schroot -c session:${s.id} --end-session`,
          evidence));
        fixes.push(endStaleSessionFix(ref), forceRemoveSessionFix(ref));
        continue;
      }
      const pids = processes.filter((p) => p.rootLink !== null && isUnder(p.rootLink, ref.mountLocation)).map((p) => p.pid);
      findings.push(pids.length > 0
        ? finding('session-active', 'info', `session:${s.id} is open with ${pids.length} process(es) in it`, { ...evidence, pids: pids.slice(0, 20) })
        : finding('session-idle', 'info', `session:${s.id} is open but no process runs in it; when done, end it with schroot -c session:${s.id} --end-session`, evidence));
    }
    // What it offers: the recover-and-end plan (safe) and the forced removal (unsafe), built above.
    const stale = findings.filter((f) => f.code === 'session-stale').length;
    const summary = stale === 0 ? `${sessions.length} session(s), none stale` : undefined;
    return outcomeOf(findings, fixes, summary);
  },
});
