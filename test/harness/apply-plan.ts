/**
 * A tiny stand-in for the fix engine, for integration tests of fix plans: it does
 * exactly what each step says and nothing else (umount: `mount --make-rslave P`
 * then `umount [-R] [-l] P`; exec: the argv unless `unless` succeeds; mount: mount(8) on the path; mkdir:
 * inside the guest root). Manual steps are refused: a plan under test must be
 * automatic.
 */
import { chownSync, chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Fix, FixStep } from '../../src/core/types.js';
import { must, run } from './proc.js';
import { CLI_PATH } from './tool.js';

/** Apply one step; throws with the command's output when it fails. */
export async function applyStep(step: FixStep, guestRoot: string): Promise<void> {
  switch (step.kind) {
    case 'umount':
      if (step.makeRslave) await must(['mount', '--make-rslave', step.path]);
      await must(['umount', ...(step.recursive ? ['-R'] : []), ...(step.lazy ? ['-l'] : []), step.path]);
      return;
    case 'exec':
      if (step.where !== 'host') throw new Error(`applyStep: guest exec not supported here: ${step.argv.join(' ')}`);
      if (step.unless && (await run(step.unless)).exitCode === 0) return;
      await must(step.argv, { timeoutMs: 60_000 });
      return;
    case 'mount': {
      // The tool mounts through descriptors; this stand-in uses paths, in a world it built itself.
      const at = join(guestRoot, step.path);
      await must(
        step.source.kind === 'tmpfs'
          ? ['mount', '-t', 'tmpfs', '-o', step.source.options, 'tmpfs', at]
          : ['mount', '--bind', step.source.hostPath, at],
      );
      return;
    }
    case 'mkdir': {
      const p = join(guestRoot, step.path);
      if (!existsSync(p)) mkdirSync(p, { recursive: true });
      if (step.mode !== undefined) chmodSync(p, step.mode);
      if (step.uid !== undefined) chownSync(p, step.uid, step.gid ?? step.uid);
      return;
    }
    default:
      throw new Error(`applyStep: ${step.kind} steps are not automatic: ${step.description}`);
  }
}

/** Apply every step of a fix in order. */
export async function applyFix(fix: Fix, guestRoot: string): Promise<void> {
  for (const step of fix.steps) await applyStep(step, guestRoot);
}

/** True when the built CLI has a `fix` command (the fix engine has landed). */
export async function fixCommandAvailable(): Promise<boolean> {
  if (!existsSync(CLI_PATH) || !existsSync(join(CLI_PATH, '../../src/fixes/engine.js'))) return false;
  const r = await run(['unshare', '--net', process.execPath, CLI_PATH, 'fix', '--help']);
  return r.exitCode === 0 && /--yes/.test(r.stdout + r.stderr);
}

/** Validate the reports inside `fix --json` output (`before`, and `after` when something was applied). */
export async function validateFixOutput(json: unknown, validate: (report: unknown) => Promise<void>): Promise<void> {
  const out = json as { before?: unknown; after?: unknown } | undefined;
  if (!out || out.before === undefined) return validate(json);
  await validate(out.before);
  if (out.after !== null && out.after !== undefined) await validate(out.after);
}
