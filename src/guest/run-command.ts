import { spawn, type ChildProcess } from 'node:child_process';
import type { ExecResult } from '../targets/target.js';
import { trackChild } from '../core/live-children.js';

/** Options for running a host command. */
export interface RunOptions {
  env?: Record<string, string>;
  /** When false (the default for guests) the environment is exactly `env`. */
  extendEnv?: boolean;
  timeoutMs?: number;
  input?: string;
  cwd?: string;
}

/** Output kept per stream; a command printing more is killed (a diagnosis never needs that much). */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

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

/**
 * Runs a command and returns its result; it never throws, a non-zero exit is an answer.
 * Built on node:child_process rather than execa: a run starts a handful of commands, and execa's
 * load and per-command cost was a fifth of a healthy check's wall time (see bench/startup.mjs).
 */
export function runCommand(argv: string[], opts: RunOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.resolve({ exitCode: null, stdout: '', stderr: '', timedOut: false, notFound: true, spawnError: 'empty command' });
  const env = opts.extendEnv ?? opts.env === undefined ? { ...process.env, ...opts.env } : opts.env;
  let child: ChildProcess;
  try {
    child = spawn(file, args, { env, cwd: opts.cwd, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  } catch (error) {
    // Arguments spawn refuses outright (a NUL byte in them).
    return Promise.resolve({ exitCode: null, stdout: '', stderr: '', timedOut: false, notFound: false, spawnError: (error as Error).message });
  }
  trackChild(child);
  return collect(child, file, opts);
}

function collect(child: ChildProcess, file: string, opts: RunOptions): Promise<ExecResult> {
  return new Promise((resolve) => {
    const stdout = new CappedOutput();
    const stderr = new CappedOutput();
    let timedOut = false;
    let startError: NodeJS.ErrnoException | null = null;
    let settled = false;
    const kill = () => { try { child.kill('SIGKILL'); } catch { /* already gone */ } };
    const timer = opts.timeoutMs !== undefined ? setTimeout(() => { timedOut = true; kill(); }, opts.timeoutMs) : undefined;

    const finish = (exitCode: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const overflow = stdout.overflowed || stderr.overflowed;
      const spawnError = startError
        ? `${file}: ${startError.code === 'ENOENT' ? 'command not found' : startError.message}`
        : overflow ? `${file} printed more than ${MAX_OUTPUT_BYTES} bytes` : undefined;
      resolve({
        exitCode: startError || overflow ? null : exitCode,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        notFound: startError?.code === 'ENOENT' || exitCode === 127,
        ...(spawnError !== undefined && !timedOut ? { spawnError } : {}),
      });
    };

    child.stdout?.on('data', (chunk: Buffer) => { if (!stdout.add(chunk)) kill(); });
    child.stderr?.on('data', (chunk: Buffer) => { if (!stderr.add(chunk)) kill(); });
    child.on('error', (error: NodeJS.ErrnoException) => {
      startError ??= error;
      // A command that never started emits no 'close' of its own.
      if (child.pid === undefined) finish(null);
    });
    // 'close', not 'exit': by then both pipes are drained.
    child.on('close', (code) => finish(code));
    if (opts.input !== undefined && child.stdin) {
      // The command may exit without reading its input; EPIPE then is not our failure.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

/** A PATH for guest commands when the session environment has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
