import { EXIT } from '../core/exit-code.js';
import type { Report } from '../core/types.js';
import type { AppliedFix } from './engine.js';
import type { PlannedFix } from './fix-plan.js';

/**
 * The JSON that `fix --json` writes to stdout (`schemaVersion` 1):
 * - `before`: the report of the first diagnosis (the `check` report, schema of `ctr-doctor schema`);
 * - `plan`: every fix offered by a failing or warning check, with its `action`
 *   (`apply`, `manual`, `needs-unsafe`, `no-guest`) and its steps;
 * - `declined`: ids of fixes to apply that the user said no to;
 * - `applied`: each fix carried out, its per-step outcome and its verdict
 *   (`fixed`, `still-failing`, `failed`, `skipped-already-done`);
 * - `after`: the report of the affected checks run again, or null when nothing was applied;
 * - `journal`: the journal entry directory, or null when nothing changed;
 * - `exitCode`: the exit code of the run.
 */
export interface FixRunResult {
  schemaVersion: 1;
  dryRun: boolean;
  before: Report;
  plan: PlannedFix[];
  declined: string[];
  applied: AppliedFix[];
  after: Report | null;
  journal: string | null;
  exitCode: number;
}

/**
 * 0 when every fix applied was checked again and passes; 1 when one failed or its checks still
 * fail, or when a failing check's automatic fix was not applied (declined, or unsafe without
 * `--unsafe`). Fixes that are manual only do not change the code: `check` reports them.
 */
export function fixExitCode(plan: PlannedFix[], declined: string[], applied: AppliedFix[], before: Report, after: Report | null = null): number {
  if (applied.some((f) => f.status === 'failed' || f.status === 'still-failing')) return EXIT.problems;
  // A fix left out matters only if its check still fails once the applied fixes were checked again.
  const latest = (id: string) => (after?.results.find((r) => r.id === id) ?? before.results.find((r) => r.id === id))?.status;
  const leftFailing = plan.filter((f) => f.action === 'needs-unsafe' || declined.includes(f.fixId))
    .some((f) => f.checkIds.some((id) => latest(id) === 'fail'));
  return leftFailing ? EXIT.problems : EXIT.ok;
}
