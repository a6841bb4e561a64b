import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseMountinfo } from '../parse/mountinfo.js';
import { runCommand } from '../host/run-command.js';
import { DEFAULT_PATH } from '../guest/guest-env.js';
import type { ExecResult, Target } from '../targets/target.js';
import type { ExecStep, UmountStep } from '../core/types.js';
import type { ChangeLog } from './journal.js';
import type { StepOutcome, StepRef } from './guest-writer.js';

/** How exec and umount steps reach the host and the guest; injected so unit tests can script them. */
export interface CommandRunner {
  /** Runs a command on the host. */
  host(argv: string[], timeoutMs: number): Promise<ExecResult>;
  /** Runs a command inside the guest as root. */
  guest(argv: string[], timeoutMs: number): Promise<ExecResult>;
  /** The host's current mount points. */
  mountPoints(): Promise<Set<string>>;
  /** Processes keeping a mount busy, as `pid (comm)` strings. */
  holders(mountPoint: string): Promise<string[]>;
}

const STEP_TIMEOUT_MS = 60_000;

/** The real runner: host commands with the fixed host environment (`LC_ALL=C`, so error texts can be matched), guest commands through the Target. */
export function realCommandRunner(target: Target, holders: (mountPoint: string) => Promise<string[]>): CommandRunner {
  return {
    host: (argv, timeoutMs) => runCommand(argv, { timeoutMs }),
    guest: (argv, timeoutMs) => target.exec(argv, { env: { PATH: DEFAULT_PATH, HOME: '/root', LC_ALL: 'C' }, timeoutMs }),
    mountPoints: async () => new Set(parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8')).map((m) => m.mountPoint)),
    holders,
  };
}

/** One line describing how a command ended. */
export function describeExit(argv: string[], r: ExecResult): string {
  if (r.notFound) return `${argv[0]}: command not found`;
  if (r.timedOut) return `${argv.join(' ')} timed out`;
  if (r.spawnError) return `${argv.join(' ')} could not start: ${r.spawnError}`;
  const text = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-2).join(' ');
  return `${argv.join(' ')} exited with ${r.exitCode}${text ? `: ${text}` : ''}`;
}

/** Runs an exec step where it says; skipped when its `unless` command succeeds. */
export async function runExecStep(step: ExecStep, ref: StepRef, runner: CommandRunner, log: ChangeLog): Promise<StepOutcome> {
  const run = (argv: string[]) => (step.where === 'guest' ? runner.guest(argv, STEP_TIMEOUT_MS) : runner.host(argv, STEP_TIMEOUT_MS));
  if (step.unless && step.unless.length > 0) {
    const check = await run(step.unless);
    if (check.exitCode === 0) return { status: 'already-done', message: `already done (${step.unless.join(' ')} succeeded)` };
  }
  const index = await log.begin({ op: 'exec', ...ref, where: step.where, command: step.argv, description: step.description, state: 'pending' });
  const result = await run(step.argv);
  if (result.exitCode !== 0) return { status: 'failed', message: describeExit(step.argv, result) };
  await log.finish(index);
  return { status: 'done', message: `ran ${step.argv.join(' ')} on the ${step.where}` };
}

/** `mount --make-rslave` (so nothing propagates to the host), then `umount [-R] [-l]`; a path that is not mounted is already done. */
export async function runUmountStep(step: UmountStep, ref: StepRef, runner: CommandRunner, log: ChangeLog): Promise<StepOutcome> {
  const target = path.posix.normalize(step.path);
  if (!(await runner.mountPoints()).has(target)) return { status: 'already-done', message: `${target} is not a mount point` };
  const argv = ['umount', ...(step.recursive ? ['-R'] : []), ...(step.lazy ? ['-l'] : []), target];
  const index = await log.begin({ op: 'umount', ...ref, where: 'host', command: argv, description: step.description, state: 'pending' });
  if (step.makeRslave) {
    const slave = await runner.host(['mount', '--make-rslave', target], STEP_TIMEOUT_MS);
    if (slave.exitCode !== 0) return { status: 'failed', message: describeExit(['mount', '--make-rslave', target], slave) };
  }
  const result = await runner.host(argv, STEP_TIMEOUT_MS);
  if (result.exitCode !== 0) {
    if (/target is busy/i.test(result.stderr)) {
      const holders = await runner.holders(target).catch(() => []);
      const who = holders.length > 0 ? `held by ${holders.join(', ')}` : 'no process found holding it (a mount namespace may)';
      return { status: 'failed', message: `umount: ${target}: target is busy; ${who}` };
    }
    return { status: 'failed', message: describeExit(argv, result) };
  }
  await log.finish(index);
  return { status: 'done', message: `unmounted ${target}${step.recursive ? ' and everything below it' : ''}${step.lazy ? ' (lazily)' : ''}` };
}
