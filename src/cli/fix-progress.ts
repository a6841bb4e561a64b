import { painter } from '../report/style.js';
import { escapeTerminal, wrapText } from '../report/terminal-text.js';
import type { AppliedFix, AppliedStep } from '../fixes/engine.js';
import type { PlannedFix } from '../fixes/fix-plan.js';

const STEP_LABEL: Record<AppliedStep['status'], string> = {
  done: 'done',
  'already-done': 'skip',
  failed: 'FAIL',
  'not-run': '-',
  manual: 'hand',
};

const VERDICT_LABEL: Record<AppliedFix['status'], string> = {
  fixed: 'FIXED',
  'still-failing': 'STILL FAILING',
  failed: 'FAILED',
  'skipped-already-done': 'ALREADY DONE',
};

/** Wraps `label rest` under a hanging indent and paints only the label. */
function labelled(label: string, paint: (s: string) => string, rest: string, width: number, indent: string): string[] {
  const lead = `${indent}${label} `;
  return wrapText(`${label} ${rest}`, width, indent, `${indent}    `).map((l, i) =>
    i === 0 && l.startsWith(lead) ? `${indent}${paint(label)} ${l.slice(lead.length)}` : l,
  );
}

/** One applied step as progress lines: its status, the fix, the step number, where, and what happened. */
export function stepProgressLines(fix: PlannedFix, step: AppliedStep, width: number, color: boolean): string[] {
  const p = painter(color);
  const paint = step.status === 'failed' ? p.red : step.status === 'done' ? p.green : p.gray;
  return labelled(
    STEP_LABEL[step.status].padEnd(4),
    paint,
    escapeTerminal(`${fix.fixId} step ${step.index + 1} (${step.where}): ${step.message}`),
    width,
    '  ',
  );
}

/** The verdict per fix after its checks ran again, fitted to the width. */
export function verdictLinesFitted(applied: AppliedFix[], width: number, color: boolean): string[] {
  const p = painter(color);
  return applied.flatMap((f) => {
    const ok = f.status === 'fixed' || f.status === 'skipped-already-done';
    const why = f.status === 'failed' ? `: ${f.steps.find((s) => s.status === 'failed')?.message ?? ''}` : '';
    return labelled(
      VERDICT_LABEL[f.status],
      ok ? p.green : p.red,
      escapeTerminal(`${f.fixId} (checked again: ${f.checkIds.join(', ')})${why}`),
      width,
      '  ',
    );
  });
}
