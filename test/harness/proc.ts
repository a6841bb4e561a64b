/**
 * Small process helpers shared by the harness: run a command without throwing,
 * run one that must succeed, poll for a condition, spawn and kill daemons we own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { Cleanup } from './cleanup.js';
import { killSync } from './cleanup.js';

/** Result of {@link run}. Never thrown. */
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** Options of {@link run}. */
export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** When false, only `env` is passed (plus nothing else). Default true. */
  extendEnv?: boolean;
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

/** Run `argv`; a non-zero exit, a timeout or a missing binary are reported, never thrown. */
export async function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  const t0 = performance.now();
  const r = await execa(file, args, {
    reject: false,
    env: opts.env,
    extendEnv: opts.extendEnv ?? true,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    timeout: opts.timeoutMs ?? 30_000,
    cwd: opts.cwd,
    stripFinalNewline: false,
  });
  return {
    exitCode: r.exitCode ?? (r.timedOut ? 124 : r.failed && r.code === 'ENOENT' ? 127 : 128),
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? '') + (r.exitCode === undefined && !r.timedOut ? (r.shortMessage ?? '') : ''),
    timedOut: r.timedOut,
    durationMs: performance.now() - t0,
  };
}

/** Run `argv` and throw a descriptive error unless it exits 0. Returns stdout. */
export async function must(argv: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.exitCode !== 0) {
    throw new Error(`command failed (rc ${r.exitCode}): ${argv.join(' ')}\n${r.stderr}${r.stdout}`.trim());
  }
  return r.stdout;
}

/** Poll `fn` until it returns a truthy value; throw `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** True when `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** `comm` of a process, or null when it is gone. */
export function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Direct children of `pid` (from /proc/PID/task/*\/children). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** All descendants of `pid`, breadth first. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of childrenOf(queue.shift()!)) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** The host path of a process's root directory (`/proc/PID/root`), or null. */
export function rootOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/root`);
  } catch {
    return null;
  }
}

/**
 * Send `signal` to a PID we own and wait until it is gone; SIGKILL after `graceMs`.
 * A ChildProcess (when given) is awaited so it is reaped and leaves no zombie.
 */
export async function killAndWait(
  pid: number,
  { signal = 'SIGTERM', graceMs = 5_000, child }: { signal?: NodeJS.Signals; graceMs?: number; child?: ChildProcess } = {},
): Promise<void> {
  const exited =
    child && child.exitCode === null && child.signalCode === null ? new Promise<void>((r) => child.once('exit', () => r())) : null;
  const gone = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) return true;
      await sleep(25);
    }
    return !isAlive(pid);
  };
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
  if (!(await gone(graceMs))) {
    killSync(pid);
    if (!(await gone(5_000))) throw new Error(`pid ${pid} survived SIGKILL`);
  }
  if (exited) await Promise.race([exited, sleep(2_000)]);
}

/** PIDs of every daemon this process spawned (for leak attribution). */
export const spawnedPids = new Set<number>();

/** A long-running process we started, with a bounded tail of its output. */
export interface Daemon {
  pid: number;
  child: ChildProcess;
  /** The last ~16 KiB of stdout+stderr, for error messages. */
  output(): string;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`, and wait. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** Options of {@link spawnDaemon}. */
export interface SpawnDaemonOptions {
  env?: Record<string, string>;
  /** Replace the environment instead of extending process.env. */
  cleanEnv?: boolean;
  cwd?: string;
  /** Called with every chunk of stdout (e.g. to wait for "ready"). */
  onStdout?: (chunk: string) => void;
}

/**
 * Spawn a long-running process, keep a tail of its output, and register its
 * termination on `cleanup` (with a SIGKILL `exit` fallback).
 */
export function spawnDaemon(label: string, argv: string[], cleanup: Cleanup, opts: SpawnDaemonOptions = {}): Daemon {
  const [file, ...args] = argv;
  if (!file) throw new Error('spawnDaemon: empty argv');
  const env = opts.cleanEnv ? { ...opts.env } : { ...process.env, ...opts.env };
  const child = spawn(file, args, { env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`failed to spawn ${argv.join(' ')}`);
  const pid = child.pid;
  spawnedPids.add(pid);
  let tail = '';
  const keep = (s: string): void => {
    tail = (tail + s).slice(-16_384);
  };
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    keep(s);
    opts.onStdout?.(s);
  });
  child.stderr!.setEncoding('utf8').on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (e) => {
      keep(String(e));
      resolve({ code: 127, signal: null });
    });
  });
  let stopping: Promise<void> | null = null;
  const stop = (graceMs = 5_000): Promise<void> => {
    stopping ??= killAndWait(pid, { graceMs, child });
    return stopping;
  };
  cleanup.defer(`stop ${label} (pid ${pid})`, () => stop(), { sync: () => killSync(pid) });
  return { pid, child, output: () => tail, exited, stop };
}

/** True when a file or socket exists. */
export const exists = (p: string): boolean => existsSync(p);
