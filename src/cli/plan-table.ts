import { stepLine } from '../fixes/plan-text.js';
import { fitTable } from '../report/fit-table.js';
import type { PlannedFix } from '../fixes/fix-plan.js';

const ACTION: Record<PlannedFix['action'], string> = {
  apply: 'applied',
  manual: 'shown, never applied',
  'needs-unsafe': 'only with --unsafe',
  'no-guest': 'not applied: no guest chosen (give a TARGET)',
  skipped: 'skipped',
};

/** `fix --dry-run`: one row per fix (its id, what happens to it, for which checks, what it does), fitted to the width. */
export function planTable(plan: PlannedFix[], width: number, color: boolean): string {
  return fitTable({
    width,
    color,
    columns: [
      { head: 'fix', min: 10 },
      { head: 'action', min: 13 },
      { head: 'for', min: 10, dropOrder: 1 },
      { head: 'what it does', min: 16 },
    ],
    rows: plan.map((fix) => [
      fix.fixId,
      `${fix.safety}: ${ACTION[fix.action]}${fix.reason ? `: ${fix.reason}` : ''}`,
      fix.checkIds.join(', '),
      [fix.title, ...fix.steps.map((s, n) => `${n + 1}) ${s.where}: ${stepLine(s)}`)].join('\n'),
    ]),
  });
}
