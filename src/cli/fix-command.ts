import { shellQuote } from '../fixes/plans/shell-quote.js';
import { buildPlan } from '../fixes/fix-plan.js';
import type { Fix, Report } from '../core/types.js';

/**
 * The command that applies just this fix: `ctr-doctor fix TARGET --only FIX-ID` (fix accepts fix
 * ids in --only), with `--unsafe` for an unsafe one; every word shell-quoted.
 */
export function fixCommand(spec: string | null, fix: Fix): string {
  const words = ['ctr-doctor', 'fix', ...(spec ? [spec] : []), '--only', fix.id, ...(fix.safety === 'unsafe' ? ['--unsafe'] : [])];
  return words.map(shellQuote).join(' ');
}

/** How many fixes `ctr-doctor fix` (safe fixes only) would apply to this report. */
export function applicableFixes(report: Report): number {
  return buildPlan(report, { unsafe: false, guestChosen: report.target.kind !== 'host' }).filter((f) => f.action === 'apply').length;
}
