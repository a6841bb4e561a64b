/**
 * The fix loop: apply the chosen fixes under the target's journal lock, run again the checks
 * they touched (and those that depend on them, and every check that still failed), and give
 * each fix its verdict. The CLI only asks, renders and chooses the exit code from this.
 */
import { applyFix, type AppliedFix, type AppliedStep } from './engine.js';
import { removeInterruptedTemps } from './undo.js';
import type { CommandRunner } from './command-steps.js';
import type { PlannedFix } from './fix-plan.js';
import type { TargetJournal } from './journal.js';
import type { Report } from '../core/types.js';

/** A check as the loop sees it: its id and the checks it stands on. */
export interface CheckDeps {
  id: string;
  dependsOn?: readonly string[];
}

/** True when every one of `checkIds` passes (or no longer applies) in `after`. */
export function checksPass(after: Report, checkIds: string[]): boolean {
  return checkIds.every((id) => {
    const result = after.results.find((r) => r.id === id);
    return result === undefined || result.status === 'pass' || result.status === 'skip';
  });
}

/** The verdict on a fix from its steps and the checks run again afterwards. */
export function verdictOf(steps: AppliedStep[], checkIds: string[], after: Report | null): AppliedFix['status'] {
  if (steps.some((s) => s.status === 'failed')) return 'failed';
  const changed = steps.some((s) => s.status === 'done');
  const passes = after !== null && checksPass(after, checkIds);
  if (!changed) return passes ? 'skipped-already-done' : 'still-failing';
  return passes ? 'fixed' : 'still-failing';
}

/**
 * `ids` and, transitively, every check among `checks` that declares it depends on one of them
 * (dns.resolve on dns.resolv-conf): a fix is FIXED only when what stands on it passes too.
 */
export function withDependents(ids: Iterable<string>, checks: readonly CheckDeps[]): string[] {
  const out = new Set(ids);
  for (let grew = true; grew;) {
    grew = false;
    for (const c of checks) {
      if (!out.has(c.id) && c.dependsOn?.some((d) => out.has(d))) {
        out.add(c.id);
        grew = true;
      }
    }
  }
  return [...out];
}

/** The checks that offered the fixes applied. */
export function affectedChecks(fixes: readonly PlannedFix[]): string[] {
  return [...new Set(fixes.flatMap((f) => f.checkIds))];
}

/**
 * The checks to run again after `applied`: those the fixes touched and their dependents (the
 * verdicts), and every check that failed before (under `strict`, warned), so that the exit code
 * speaks of what still fails now, not of what failed before the fixes.
 */
export function recheckIds(applied: readonly PlannedFix[], checks: readonly CheckDeps[], before: Report, strict: boolean): Set<string> {
  const ids = new Set(withDependents(affectedChecks(applied), checks));
  for (const r of before.results) if (r.status === 'fail' || (strict && r.status === 'warn')) ids.add(r.id);
  return ids;
}

/** The guest a fix run changes: where its files are reached, and a way to tell it is still the one diagnosed. */
export interface FixTarget {
  readonly fileRoot: string;
  /** Throws when the guest's process is gone or another took its pid (audit M1). */
  verifyIdentity?(): void;
}

/** What the loop needs: the guest, its journal, a command runner, the checks, and a way to check again. */
export interface FixRunDeps {
  target: FixTarget;
  journal: TargetJournal;
  runner: CommandRunner;
  checks: readonly CheckDeps[];
  /** `--strict`: a warning left counts as failing, so warning checks are run again too. */
  strict: boolean;
  /** Runs the checks with these ids again, on the target opened afresh. */
  recheck(ids: ReadonlySet<string>): Promise<Report>;
  /** Called once the journal is locked, before the first step. */
  onApplying?(): void;
  /** Called after each step, for progress output. */
  onStep?(fix: PlannedFix, step: AppliedStep): void;
}

/** What a fix run did: each fix with its steps and verdict, the checks run again, and the journal entry (null when nothing changed). */
export interface FixRunOutcome {
  applied: AppliedFix[];
  after: Report;
  journal: string | null;
}

/**
 * Applies `chosen` in order under the target's journal lock (a JournalBusyError when another run
 * holds it), then runs the checks again and gives each fix its verdict: FIXED only when the
 * checks it touched and those that depend on them pass again.
 */
export async function applyAndVerify(chosen: readonly PlannedFix[], before: Report, deps: FixRunDeps): Promise<FixRunOutcome> {
  const { target, journal, runner } = deps;
  // The prompt may have waited for minutes: the guest must still be the one diagnosed (audit M1).
  target.verifyIdentity?.();
  // One run at a time changes a target: two would interleave their journals and backups.
  const release = await journal.lock();
  const log = journal.startEntry();
  const stepsByFix = new Map<string, AppliedStep[]>();
  try {
    // A run that crashed mid-write left its temp file under a journalled name: remove it first.
    for (const { entry } of await journal.entries()) await removeInterruptedTemps(target.fileRoot, entry).catch(() => []);
    deps.onApplying?.();
    for (const fix of chosen) {
      target.verifyIdentity?.();
      stepsByFix.set(
        fix.fixId,
        await applyFix(fix, { fileRoot: target.fileRoot, log, runner, onStep: (f, step) => deps.onStep?.(f, step) }),
      );
    }
  } finally {
    await release();
  }
  const after = await deps.recheck(recheckIds(chosen, deps.checks, before, deps.strict));
  const applied = chosen.map((fix): AppliedFix => {
    const steps = stepsByFix.get(fix.fixId) ?? [];
    return {
      fixId: fix.fixId,
      title: fix.title,
      checkIds: fix.checkIds,
      status: verdictOf(steps, withDependents(fix.checkIds, deps.checks), after),
      steps,
    };
  });
  return { applied, after, journal: log.used ? log.dir : null };
}
