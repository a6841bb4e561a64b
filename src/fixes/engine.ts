import { runExecStep, runMountStep, runUmountStep, type CommandRunner } from './command-steps.js';
import { GuestWriter, type StepOutcome, type StepRef } from './guest-writer.js';
import type { ChangeLog } from './journal.js';
import type { PlannedFix } from './fix-plan.js';
import type { FixStep, StepWhere } from '../core/types.js';

/** How one step of an applied fix went. `not-run` follows a failed step; `manual` is left to the user. */
export interface AppliedStep {
  index: number;
  kind: FixStep['kind'];
  where: StepWhere;
  description: string;
  status: 'done' | 'already-done' | 'failed' | 'not-run' | 'manual';
  message: string;
}

/** The verdict on one fix after its checks ran again. */
export type FixStatus = 'fixed' | 'still-failing' | 'failed' | 'skipped-already-done';

/** One fix as applied and verified. */
export interface AppliedFix {
  fixId: string;
  title: string;
  checkIds: string[];
  status: FixStatus;
  steps: AppliedStep[];
}

/** What the engine needs: the guest's file root, the journal, and a way to run commands. */
export interface EngineDeps {
  /** Host path through which the guest's files are reached (`GuestTarget.fileRoot`). */
  fileRoot: string;
  log: ChangeLog;
  runner: CommandRunner;
  /** Called after each step, for progress output. */
  onStep?(fix: PlannedFix, step: AppliedStep): void;
}

async function applyStep(step: FixStep, ref: StepRef, writer: GuestWriter, deps: EngineDeps): Promise<StepOutcome> {
  switch (step.kind) {
    case 'write':
    case 'symlink':
    case 'mkdir':
      // The types allow these in the guest only; a plugin (plain JavaScript) may still hand one for the host: refused, so every write stays inside a guest.
      if ((step as { where: string }).where !== 'guest')
        return { status: 'failed', message: `refused: ${step.kind} steps on the host are not applied; do it by hand: ${step.description}` };
      return step.kind === 'write'
        ? writer.write(step, ref)
        : step.kind === 'symlink'
          ? writer.symlink(step, ref)
          : writer.mkdir(step, ref);
    case 'exec':
      return runExecStep(step, ref, deps.runner, deps.log);
    case 'umount':
      return runUmountStep(step, ref, deps.runner, deps.log);
    case 'mount':
      return runMountStep(step, ref, deps.runner, deps.log);
    case 'manual':
      return { status: 'already-done', message: 'manual' };
  }
}

/**
 * Applies one fix's steps in order. A failed step stops the fix (its earlier changes stay
 * recorded for undo); manual steps are listed, never run.
 */
export async function applyFix(fix: PlannedFix, deps: EngineDeps): Promise<AppliedStep[]> {
  const writer = new GuestWriter(deps.fileRoot, deps.log);
  const steps: AppliedStep[] = [];
  let stopped = false;
  for (const [index, step] of fix.steps.entries()) {
    const base = { index, kind: step.kind, where: step.where, description: step.description };
    let applied: AppliedStep;
    if (step.kind === 'manual') applied = { ...base, status: 'manual', message: step.snippet ?? step.description };
    else if (stopped) applied = { ...base, status: 'not-run', message: 'not run: an earlier step failed' };
    else {
      const outcome = await applyStep(step, { fixId: fix.fixId, step: index }, writer, deps).catch((error: unknown) => ({
        status: 'failed' as const,
        message: error instanceof Error ? error.message.split('\n')[0]! : String(error),
      }));
      applied = { ...base, ...outcome };
      if (outcome.status === 'failed') stopped = true;
    }
    steps.push(applied);
    deps.onStep?.(fix, applied);
  }
  return steps;
}
