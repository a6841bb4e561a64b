import { execa } from 'execa';
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

/** Runs a command and returns its result; it never throws, a non-zero exit is an answer. */
export async function runCommand(argv: string[], opts: RunOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) return { exitCode: null, stdout: '', stderr: '', timedOut: false, notFound: true, spawnError: 'empty command' };
  const subprocess = execa(file, args, {
    reject: false,
    env: opts.env,
    extendEnv: opts.extendEnv ?? opts.env === undefined,
    timeout: opts.timeoutMs,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
    cwd: opts.cwd,
    stripFinalNewline: false,
    maxBuffer: 4 * 1024 * 1024,
    killSignal: 'SIGKILL',
  });
  // execa's subprocess is a ChildProcess and a promise; only the process is tracked.
  trackChild(subprocess);
  const result = await subprocess;
  const errnoCode = (result as { code?: string }).code;
  const spawnFailed = result.exitCode === undefined && !result.timedOut;
  return {
    exitCode: result.exitCode ?? null,
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr: typeof result.stderr === 'string' ? result.stderr : '',
    timedOut: result.timedOut,
    notFound: errnoCode === 'ENOENT' || result.exitCode === 127,
    ...(spawnFailed ? { spawnError: result.shortMessage ?? 'could not start' } : {}),
  };
}

/** A PATH for guest commands when the session environment has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
