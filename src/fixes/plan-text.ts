import { painter } from '../report/style.js';
import type { FixStep } from '../core/types.js';
import type { AppliedFix, AppliedStep } from './engine.js';
import type { PlannedFix } from './fix-plan.js';

/** One line saying what a step does, where. */
export function stepLine(step: FixStep): string {
  switch (step.kind) {
    case 'write': return `write ${step.path}${step.mode !== undefined ? ` (mode ${step.mode.toString(8)})` : ''}: ${step.description}`;
    case 'symlink': return `symlink ${step.path} -> ${step.target}: ${step.description}`;
    case 'mkdir': return `mkdir ${step.path}${step.mode !== undefined ? ` mode ${step.mode.toString(8)}` : ''}${step.uid !== undefined ? ` owner ${step.uid}:${step.gid ?? step.uid}` : ''}: ${step.description}`;
    case 'exec': return `run \`${step.argv.join(' ')}\`${step.unless ? ` unless \`${step.unless.join(' ')}\` succeeds` : ''}: ${step.description}`;
    case 'umount': return `${step.makeRslave ? `mount --make-rslave ${step.path}; ` : ''}umount${step.recursive ? ' -R' : ''}${step.lazy ? ' -l' : ''} ${step.path}: ${step.description}`;
    case 'manual': return `by hand: ${step.description}`;
  }
}

const ACTION_LABEL: Record<PlannedFix['action'], string> = {
  apply: 'will be applied',
  manual: 'manual: shown, never applied',
  'needs-unsafe': 'unsafe: applied only with --unsafe',
  'no-guest': 'not applied: it writes into a guest and no guest was chosen (give a TARGET)',
};

/** The plan as text: each fix, its safety and what happens to it, and its steps with where they run. */
export function planLines(plan: PlannedFix[], color: boolean): string[] {
  const p = painter(color);
  if (plan.length === 0) return ['Plan: nothing to do.'];
  const applying = plan.filter((f) => f.action === 'apply').length;
  const lines = [p.bold(`Plan: ${plan.length} fix(es), ${applying} to apply`)];
  plan.forEach((fix, i) => {
    lines.push(`  ${i + 1}. ${p.bold(fix.fixId)} [${fix.safety}] ${fix.title}`);
    lines.push(p.gray(`     for ${fix.checkIds.join(', ')}; ${ACTION_LABEL[fix.action]}`));
    fix.steps.forEach((step, n) => {
      lines.push(`     ${n + 1}) ${step.where.padEnd(5)} ${stepLine(step)}`);
      if (step.kind === 'manual' && step.snippet) lines.push(...step.snippet.split('\n').map((l) => p.gray(`          ${l}`)));
    });
  });
  return lines;
}

const STEP_LABEL: Record<AppliedStep['status'], string> = { done: 'done', 'already-done': 'skip', failed: 'FAIL', 'not-run': '-', manual: 'hand' };

/** One applied step as a progress line. */
export function appliedStepLine(fix: PlannedFix, step: AppliedStep, color: boolean): string {
  const p = painter(color);
  const label = STEP_LABEL[step.status].padEnd(4);
  const painted = step.status === 'failed' ? p.red(label) : step.status === 'done' ? p.green(label) : p.gray(label);
  return `  ${painted} ${fix.fixId} step ${step.index + 1} (${step.where}): ${step.message}`;
}

const VERDICT_LABEL: Record<AppliedFix['status'], string> = {
  fixed: 'FIXED', 'still-failing': 'STILL FAILING', failed: 'FAILED', 'skipped-already-done': 'ALREADY DONE',
};

/** The verdict per fix after its checks ran again. */
export function verdictLines(applied: AppliedFix[], color: boolean): string[] {
  const p = painter(color);
  return applied.map((f) => {
    const label = VERDICT_LABEL[f.status];
    const painted = f.status === 'fixed' || f.status === 'skipped-already-done' ? p.green(label) : p.red(label);
    const why = f.status === 'failed' ? `: ${f.steps.find((s) => s.status === 'failed')?.message ?? ''}` : '';
    return `  ${painted} ${f.fixId} (checked again: ${f.checkIds.join(', ')})${why}`;
  });
}
