import { EXIT } from '../core/exit-code.js';
import type { Report } from '../core/types.js';
import type { AppliedFix } from './engine.js';
import type { PlannedFix } from './fix-plan.js';

/**
 * The JSON that `fix --json` writes to stdout (`schemaVersion` 1):
 * - `before`: the report of the first diagnosis (the `check` report, schema of `ctr-doctor schema`);
 * - `plan`: every fix offered by a failing or warning check, with its `action`
 *   (`apply`, `manual`, `needs-unsafe`, `no-guest`, `skipped`), its steps, and for a skipped
 *   fix the `reason` and the fix it `conflictsWith`;
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
 * As DESIGN's exit-code table says for `fix`: 0 when every fix it applied was checked again and
 * passes and nothing else still fails; 1 when a fix failed or its checks still fail, or when any
 * check of the run still fails at its latest diagnosis (the re-check where there was one, else
 * the first): a problem left for a manual, unsafe, declined or skipped fix, or with no fix at all.
 * Under `--strict` a warning left counts as failing too.
 */
export function fixExitCode(applied: AppliedFix[], before: Report, after: Report | null = null, strict = false): number {
  if (applied.some((f) => f.status === 'failed' || f.status === 'still-failing')) return EXIT.problems;
  const latest = (id: string) => (after?.results.find((r) => r.id === id) ?? before.results.find((r) => r.id === id))?.status;
  const bad = (s: string | undefined) => s === 'fail' || (strict && s === 'warn');
  return before.results.some((r) => bad(latest(r.id))) ? EXIT.problems : EXIT.ok;
}
