import { spawn, type ChildProcess } from 'node:child_process';
import type { ExecResult } from '../core/target.js';
import { trackChild, type ChildScope } from '../core/live-children.js';
import { HOST_ENV, hostProgram } from './host-programs.js';
import { hostSpawner, RemoteChild } from './host-spawner.js';

/** A command started here (a ChildProcess) or by the host spawner (a RemoteChild). */
type Started = ChildProcess | RemoteChild;

/** Options for running a host command. Its environment is always {@link HOST_ENV}: nothing a caller or a guest passes. */
export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  cwd?: string;
  /** Descriptors the command gets as fd 3, 4… (a guest root opened before any privilege is dropped). */
  passFds?: number[];
  /** Sees each stdout chunk kept (within the cap) as it comes. */
  onStdout?: (chunk: Buffer) => void;
  /** The run the command belongs to (a guest's Target's scope): its end kills the command if still running. */
  scope?: ChildScope | undefined;
}

/** Output kept per stream; a command printing more is killed (a diagnosis never needs that much). */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
/** How long the output may stay open after the command exited: longer means a process it left behind holds it. */
export const DRAIN_GRACE_MS = 200;

/** Collects one output stream up to MAX_OUTPUT_BYTES. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  overflowed = false;

  /** Keeps `chunk`; false once the cap is passed. */
  add(chunk: Buffer): boolean {
    if (this.overflowed) return false;
    this.bytes += chunk.length;
    if (this.bytes > MAX_OUTPUT_BYTES) {
      this.overflowed = true;
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  /** Decoded once at the end, so a multi-byte character split across chunks stays whole. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const refused = (spawnError: string, notFound = false): Promise<ExecResult> =>
  Promise.resolve({ exitCode: null, stdout: '', stderr: '', timedOut: false, notFound, spawnError });

/**
 * Runs a host program and returns its result; it never throws, a non-zero exit is an answer.
 * - argv[0] is an absolute path, or a bare name looked up in HOST_PATH only (never through any PATH
 *   a guest or the invoking shell chose), and the environment is exactly HOST_ENV.
 * - The command leads its own process group: a timeout kills the group, and so does its exit, so
 *   nothing it started is left running. The result comes on exit plus DRAIN_GRACE_MS even when a
 *   process it left behind still holds the output pipes (that is a failure, not a success).
 * Built on node:child_process rather than execa (see bench/startup.mjs).
 */
export function runCommand(argv: string[], opts: RunOptions = {}): Promise<ExecResult> {
  const [name, ...args] = argv;
  if (!name) return refused('empty command', true);
  const file = hostProgram(name);
  if (file === null)
    return refused(`${name}: command not found${name.includes('/') ? ' (a host program is named by an absolute path)' : ''}`, true);
  // A NUL byte is refused below, by spawn, with its own message; descriptors to pass can only be passed from here.
  const spawner =
    (opts.passFds ?? []).length === 0 && ![file, ...args, opts.cwd ?? ''].some((a) => a.includes('\0')) ? hostSpawner() : null;
  let child: Started;
  if (spawner) {
    // The spawner is another process: our /proc/self is its /proc/OUR_PID.
    const cwd = opts.cwd?.replace(/^\/proc\/self\//, `/proc/${process.pid}/`);
    child = spawner.spawn(file, args, { cwd, input: opts.input ?? null });
  } else {
    try {
      child = spawn(file, args, {
        env: { ...HOST_ENV },
        cwd: opts.cwd,
        detached: true,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(opts.passFds ?? [])],
      });
    } catch (error) {
      // Arguments spawn refuses outright (a NUL byte in them).
      return refused((error as Error).message);
    }
  }
  trackChild(child, { group: true, scope: opts.scope });
  return collect(child, file, opts);
}

/** SIGKILLs the process group led by `child` (it was spawned detached). */
export function killGroup(child: Started): void {
  if (child instanceof RemoteChild) {
    child.killGroup();
    return;
  }
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is empty.
  }
}

/** True while the process group led by `child` still has a member (its leader has exited). */
function groupHasMembers(child: Started): boolean {
  if (child.pid === undefined) return false;
  // Nearly every finished command's group is empty: the ESRCH error then thrown needs no stack trace (most of its cost).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function collect(child: Started, file: string, opts: RunOptions): Promise<ExecResult> {
  return new Promise((resolve) => {
    const stdout = new CappedOutput();
    const stderr = new CappedOutput();
    let timedOut = false;
    let heldOpen = false;
    let leftRunning = false;
    let startError: NodeJS.ErrnoException | null = null;
    let settled = false;
    let exitCode: number | null = null;
    let drain: NodeJS.Timeout | undefined;
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            killGroup(child);
          }, opts.timeoutMs)
        : undefined;

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drain);
      const overflow = stdout.overflowed || stderr.overflowed;
      const spawnError = startError
        ? `${file}: ${startError.code === 'ENOENT' ? 'command not found' : startError.message}`
        : overflow
          ? `${file} printed more than ${MAX_OUTPUT_BYTES} bytes`
          : leftRunning
            ? `${file} exited, but left processes running; they were killed`
            : heldOpen
              ? `${file} exited, but a process it started kept its output open`
              : undefined;
      resolve({
        exitCode: startError || overflow || heldOpen || leftRunning || timedOut ? null : exitCode,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        notFound: startError?.code === 'ENOENT' || (exitCode === 127 && !heldOpen && !leftRunning),
        ...(spawnError !== undefined && !timedOut ? { spawnError } : {}),
      });
    };

    child.stdout?.on('data', (chunk: Buffer) => {
      if (!stdout.add(chunk)) killGroup(child);
      else opts.onStdout?.(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (!stderr.add(chunk)) killGroup(child);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      startError ??= error;
      // A command that never started emits no 'close' of its own.
      if (child.pid === undefined) finish();
    });
    child.on('exit', (code: number | null) => {
      exitCode = code;
      // Whatever it left in its group goes with it: a step that leaves something running has not finished.
      leftRunning = !timedOut && groupHasMembers(child);
      killGroup(child);
      drain = setTimeout(() => {
        // Someone outside the group (it called setsid) still holds a pipe: stop waiting for it.
        heldOpen = !timedOut;
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, DRAIN_GRACE_MS);
    });
    // 'close' comes once both pipes are drained, normally right after 'exit'.
    child.on('close', () => {
      finish();
    });
    if (opts.input !== undefined && child.stdin) {
      // The command may exit without reading its input; EPIPE then is not our failure.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}
