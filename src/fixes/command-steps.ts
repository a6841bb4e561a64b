import path from 'node:path';
import { DEFAULT_PATH } from '../guest/guest-env.js';
import {
  mountInGuest,
  runHostProgram,
  unmountByFd,
  type MountHost,
  type MountOpResult,
  type MountSource,
  type UnmountRequest,
} from './mount-by-fd.js';
import type { ExecResult, Target } from '../core/target.js';
import type { ExecStep, MountStep, UmountStep } from '../core/types.js';
import type { ChangeLog } from './journal.js';
import type { StepOutcome, StepRef } from './guest-writer.js';

/** How exec and umount steps reach the host and the guest; injected so unit tests can script them. */
export interface CommandRunner {
  /** Runs a command on the host. */
  host(argv: string[], timeoutMs: number): Promise<ExecResult>;
  /** Runs a command inside the guest as root. */
  guest(argv: string[], timeoutMs: number): Promise<ExecResult>;
  /** Unmounts a host mount point through its descriptor (see mount-by-fd.ts). */
  unmount(request: UnmountRequest, timeoutMs: number, beforeChange: () => Promise<void>): Promise<MountOpResult>;
  /** Mounts on a guest directory through its descriptor (see mount-by-fd.ts). */
  mountInGuest(guestPath: string, source: MountSource, timeoutMs: number, beforeChange: () => Promise<void>): Promise<MountOpResult>;
  /** Processes keeping a mount (by mountinfo id) busy, as `pid (comm)` strings. */
  holders(mountId: number): Promise<string[]>;
}

const STEP_TIMEOUT_MS = 60_000;

/**
 * The real runner: host commands through the Host port (a bare name found in the host's fixed PATH only,
 * run with its fixed environment, `LC_ALL=C` so error texts can be matched), guest commands through the Target.
 */
export function realCommandRunner(
  target: Target,
  fileRoot: string,
  holders: (mountId: number) => Promise<string[]>,
  host: MountHost,
): CommandRunner {
  return {
    host: (argv, timeoutMs) => {
      const [name = '', ...args] = argv;
      return runHostProgram(host, name, args, { timeoutMs });
    },
    guest: (argv, timeoutMs) => target.exec(argv, { env: { PATH: DEFAULT_PATH, HOME: '/root', LC_ALL: 'C' }, timeoutMs }),
    unmount: (request, timeoutMs, beforeChange) => unmountByFd(host, request, timeoutMs, beforeChange),
    mountInGuest: (guestPath, source, timeoutMs, beforeChange) => mountInGuest(host, fileRoot, guestPath, source, timeoutMs, beforeChange),
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
    // An `unless` that timed out or left something behind proved nothing.
    if (check.exitCode === 0 && !check.timedOut && check.spawnError === undefined)
      return { status: 'already-done', message: `already done (${step.unless.join(' ')} succeeded)` };
  }
  const index = await log.begin({
    op: 'exec',
    ...ref,
    where: step.where,
    command: step.argv,
    description: step.description,
    ...(step.undo ? { undo: step.undo } : {}),
    state: 'pending',
  });
  const result = await run(step.argv);
  // A step that timed out is failed, never done, whatever its exit status (M5).
  if (result.exitCode !== 0 || result.timedOut || result.spawnError !== undefined)
    return { status: 'failed', message: describeExit(step.argv, result) };
  await log.finish(index);
  return { status: 'done', message: `ran ${step.argv.join(' ')} on the ${step.where}` };
}

/**
 * `mount --make-rslave` (so nothing propagates to the host), then the unmount, deepest first:
 * every mount acted on through the descriptor of the checked mount point, never its path string.
 * A path that is not a mount point is already done.
 */
export async function runUmountStep(step: UmountStep, ref: StepRef, runner: CommandRunner, log: ChangeLog): Promise<StepOutcome> {
  const target = path.posix.normalize(step.path);
  const argv = ['umount', ...(step.recursive ? ['-R'] : []), ...(step.lazy ? ['-l'] : []), target];
  let index = -1;
  const before = async (): Promise<void> => {
    index = await log.begin({ op: 'umount', ...ref, where: 'host', command: argv, description: step.description, state: 'pending' });
  };
  const result = await runner.unmount(
    { path: target, recursive: step.recursive, makeRslave: step.makeRslave, lazy: step.lazy },
    STEP_TIMEOUT_MS,
    before,
  );
  switch (result.status) {
    case 'already-done':
      return { status: 'already-done', message: result.message };
    case 'busy': {
      const holders = await runner.holders(result.mountId).catch(() => []);
      const who = holders.length > 0 ? `held by ${holders.join(', ')}` : 'no process found holding it (a mount namespace may)';
      return { status: 'failed', message: `umount: ${result.mountPoint}: target is busy; ${who}` };
    }
    case 'failed':
      return { status: 'failed', message: result.message };
    case 'done':
      await log.finish(index);
      return { status: 'done', message: result.message };
  }
}

/** Mounts a tmpfs or a host directory on a guest directory, through the descriptor of that directory. */
export async function runMountStep(step: MountStep, ref: StepRef, runner: CommandRunner, log: ChangeLog): Promise<StepOutcome> {
  const what =
    step.source.kind === 'tmpfs'
      ? `mount -t tmpfs -o ${step.source.options} tmpfs ${step.path}`
      : `mount --bind ${step.source.hostPath} ${step.path}`;
  let index = -1;
  const before = async (): Promise<void> => {
    index = await log.begin({
      op: 'exec',
      ...ref,
      where: 'host',
      command: what.split(' '),
      description: step.description,
      state: 'pending',
    });
  };
  const result = await runner.mountInGuest(step.path, step.source, STEP_TIMEOUT_MS, before);
  if (result.status === 'failed' || result.status === 'busy') return { status: 'failed', message: result.message };
  if (result.status === 'done') await log.finish(index);
  return { status: result.status, message: result.message };
}
