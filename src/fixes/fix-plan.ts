import { findConflicts } from './fix-conflicts.js';
import { FixRegistry } from './fix-registry.js';
import type { Fix, FixSafety, FixStep, Report } from '../core/types.js';

/**
 * What `fix` will do with a fix: `apply` it; show it as `manual` advice; leave it because it is
 * unsafe and `--unsafe` was not given (`needs-unsafe`); leave it because it writes into a
 * guest and no guest was chosen (`no-guest`); or leave it because another fix to apply changes
 * the same file or mount point (`skipped`, with `reason` and `conflictsWith`).
 */
export type PlanAction = 'apply' | 'manual' | 'needs-unsafe' | 'no-guest' | 'skipped';

/** One fix in the plan, with the checks that offered it. */
export interface PlannedFix {
  fixId: string;
  title: string;
  safety: FixSafety;
  /** The checks (failing or warning) that offered this fix; they are run again after applying it. */
  checkIds: string[];
  action: PlanAction;
  /** Why a `skipped` fix is left out, in one line (`conflicts with dns.x: both write /etc/resolv.conf`). */
  reason?: string;
  /** The fix a `skipped` fix gives way to. */
  conflictsWith?: string;
  steps: FixStep[];
}

/** How to plan: `--unsafe`, whether a guest was chosen, and which fixes the user selected (`--fix`, `--only`). */
export interface PlanOptions {
  unsafe: boolean;
  guestChosen: boolean;
  /** Keeps a fix in the plan; all are kept without it. */
  select?: (fix: PlannedFix) => boolean;
}

/** A step the engine can carry out (everything but `manual`). */
export function isAutomatic(step: FixStep): boolean {
  return step.kind !== 'manual';
}

function actionOf(fix: Fix, opts: { unsafe: boolean; guestChosen: boolean }): PlanAction {
  if (fix.safety === 'manual' || !fix.steps.some(isAutomatic)) return 'manual';
  if (fix.safety === 'unsafe' && !opts.unsafe) return 'needs-unsafe';
  if (!opts.guestChosen && fix.steps.some((s) => isAutomatic(s) && s.where === 'guest')) return 'no-guest';
  return 'apply';
}

/**
 * The fixes of every failing and warning check, in report order. A fix offered by several
 * checks appears once, listing them all; one offered under a taken id with other steps is its
 * own entry, `skipped` (see FixRegistry). Of two fixes to apply that change the same guest path
 * or mount point, the later (a safe one goes first) is `skipped`, naming the other.
 */
export function buildPlan(report: Report, opts: PlanOptions): PlannedFix[] {
  const registry = new FixRegistry();
  for (const result of report.results) {
    if (result.status !== 'fail' && result.status !== 'warn') continue;
    for (const fix of result.fixes) registry.offer(result.id, fix);
  }
  const all = registry.all().map(({ fix, checkIds, clashesWith }): PlannedFix => {
    const planned: PlannedFix = {
      fixId: fix.id,
      title: fix.title,
      safety: fix.safety,
      checkIds,
      action: actionOf(fix, opts),
      steps: fix.steps,
    };
    // One id means one content: a second content under a taken id is never applied in its place or merged into it.
    if (clashesWith) {
      planned.action = 'skipped';
      planned.conflictsWith = fix.id;
      planned.reason = `fix id ${fix.id} differs from the one ${clashesWith.checkId} offers: one id means one content; only that one is applied`;
    }
    return planned;
  });
  const plan = all.filter((f) => opts.select?.(f) ?? true);
  const applying = plan.filter((f) => f.action === 'apply');
  for (const c of findConflicts(applying)) {
    const fix = applying.find((f) => f.fixId === c.fixId);
    if (!fix) continue;
    fix.action = 'skipped';
    fix.reason = c.reason;
    fix.conflictsWith = c.conflictsWith;
  }
  return plan;
}
