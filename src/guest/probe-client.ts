import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../core/live-children.js';
import { HOST_ENV, hostTool } from '../host/host-programs.js';
import type { ProbeCredentials, ProbeName, ProbeReply, ProbeRequests, ProbeServeRequest } from './probe-protocol.js';
import { prepareProbeSocket, type PreparedSocket } from './probe-socket-plan.js';

/** Where a probe runs: the guest root as its cwd, the guest's netns, the user it drops to. */
export interface ProbePlace {
  rootHostPath: string;
  /** `/proc/PID/ns/net` or `/run/netns/X`; null to stay in our own namespace. */
  netnsPath: string | null;
  credentials: ProbeCredentials | null;
}

/** Grace on top of the probe's own timeout for the child's start-up and the reply's way back. */
const KILL_GRACE_MS = 500;
/** A reply line longer than this means the child is misbehaving: it is killed. */
const MAX_LINE_BYTES = 1024 * 1024;
const MAX_STDERR_BYTES = 16 * 1024;

/** A request sent to a pooled child and not answered yet. */
interface Pending {
  name: ProbeName;
  finish: (reply: ProbeReply) => void;
}

/** One long-lived `probe-main.js --serve` child, shared by every probe with the same place. */
interface PooledChild {
  child: ChildProcessWithoutNullStreams;
  place: ProbePlace;
  pending: Map<number, Pending>;
  /** Incomplete last line of stdout. */
  partial: string;
  stderr: string;
  /** The first line of stdout that was not a reply, to explain a death. */
  stray: string | null;
  /** Why it was killed by us, when it was. */
  killedFor: string | null;
}

/** Children of this run by place; a child leaves the pool when it exits (the next probe respawns). */
const pool = new Map<string, PooledChild>();
let nextId = 1;
let cachedMainPath: string | null | undefined;

/**
 * The probe child's program: beside this file (dist/bundle/probe-main.js, or the compiled module
 * in dist/src), or, when this file runs from src/ (under vitest), the copy in the build output.
 */
export function probeMainPath(): string | null {
  if (cachedMainPath !== undefined) return cachedMainPath;
  const candidates = ['./probe-main.js', '../../dist/src/guest/probe-main.js'].map((rel) => new URL(rel, import.meta.url));
  cachedMainPath = candidates.map((url) => fileURLToPath(url)).find((file) => existsSync(file)) ?? null;
  return cachedMainPath;
}

/** How many pooled probe children are running (for tests and diagnostics). */
export function pooledProbeChildCount(): number {
  return pool.size;
}

/**
 * Ends every pooled probe child and resolves once they have exited (their cwd, the guest root,
 * no longer pins its mount). For callers of runProbe outside a run; the runner kills them itself.
 */
export async function endProbeChildren(): Promise<void> {
  const children = [...pool.values()].map((entry) => entry.child);
  await Promise.all(children.map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => { resolve(); });
    // A child that never started emits only 'error'.
    child.once('error', () => { resolve(); });
    child.kill('SIGKILL');
  })));
}

function firstLine(text: string): string {
  return text.split('\n').map((line) => line.trim()).find((line) => line !== '') ?? '';
}

function keyOf(place: ProbePlace): string {
  return JSON.stringify([place.rootHostPath, place.netnsPath, place.credentials]);
}

/** A reply line, or null when it is not one. */
function parseReply(line: string): { id: number; reply: ProbeReply } | null {
  try {
    const value = JSON.parse(line) as { id?: unknown; ok?: unknown; response?: unknown; error?: unknown } | null;
    if (typeof value?.id !== 'number') return null;
    const { id, ...rest } = value as { id: number; ok?: unknown; response?: unknown; error?: unknown };
    if (rest.ok === true && typeof rest.response === 'object' && rest.response !== null) return { id, reply: rest as ProbeReply };
    if (rest.ok === false && typeof rest.error === 'string') return { id, reply: rest as ProbeReply };
  } catch {
    // Not JSON: remembered to explain the child's death, if it dies.
  }
  return null;
}

function isGone(entry: PooledChild): boolean {
  const { child } = entry;
  return child.killed || child.exitCode !== null || child.signalCode !== null;
}

/** Removes `entry` from the pool and fails its pending requests, each with `why(name)`. */
function retire(entry: PooledChild, why: (name: ProbeName) => string): void {
  const key = keyOf(entry.place);
  if (pool.get(key) === entry) pool.delete(key);
  const pending = [...entry.pending.values()];
  entry.pending.clear();
  for (const p of pending) p.finish({ ok: false, error: why(p.name) });
}

function onStdout(entry: PooledChild, chunk: string): void {
  const lines = (entry.partial + chunk).split('\n');
  entry.partial = lines.pop() ?? '';
  if (entry.partial.length > MAX_LINE_BYTES) {
    entry.partial = '';
    entry.killedFor = `a reply longer than ${MAX_LINE_BYTES} bytes`;
    entry.child.kill('SIGKILL');
    return;
  }
  for (const line of lines) {
    if (line.trim() === '') continue;
    const parsed = parseReply(line);
    if (!parsed) {
      entry.stray ??= line.trim().slice(0, 200);
      continue;
    }
    const pending = entry.pending.get(parsed.id);
    // A reply to a request that already timed out is dropped.
    if (!pending) continue;
    entry.pending.delete(parsed.id);
    pending.finish(parsed.reply);
  }
}

/**
 * The fixed host environment: nothing of the invoking shell's (NODE_OPTIONS, LD_PRELOAD) or a
 * guest's reaches the child, which starts as root in the guest's network namespace.
 */
function childEnv(): NodeJS.ProcessEnv {
  return { ...HOST_ENV };
}

/** Starts the pooled child for `place`. Throws only on arguments spawn refuses outright (a NUL). */
function spawnPooled(place: ProbePlace, main: string): PooledChild {
  const argv = [process.execPath, main, '--serve'];
  if (place.credentials) argv.push(`--credentials=${JSON.stringify(place.credentials)}`);
  if (place.netnsPath !== null) argv.unshift(hostTool('nsenter'), `--net=${place.netnsPath}`, '--');
  const child = trackChild(spawn(argv[0]!, argv.slice(1), { cwd: place.rootHostPath, stdio: ['pipe', 'pipe', 'pipe'], env: childEnv() }));
  const entry: PooledChild = { child, place, pending: new Map(), partial: '', stderr: '', stray: null, killedFor: null };
  // An idle child must not keep the CLI alive: a pending request's own timer does that.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();

  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { onStdout(entry, chunk); });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (entry.stderr.length < MAX_STDERR_BYTES) entry.stderr += chunk;
  });
  // The child may die before reading its requests; EPIPE then is not our failure.
  child.stdin.on('error', () => undefined);
  child.on('exit', () => {
    // Out of the pool at once: a probe started now gets a fresh child.
    const key = keyOf(place);
    if (pool.get(key) === entry) pool.delete(key);
  });
  child.on('error', (error) => {
    // The guest root is its cwd: a root-only guest directory refuses an unprivileged run here.
    const code = (error as NodeJS.ErrnoException).code;
    const needsRoot = process.getuid?.() !== 0 && (code === 'EACCES' || code === 'EPERM');
    retire(entry, (name) => `${needsRoot ? 'needs root: run with sudo (' : ''}cannot start probe ${name} in ${place.rootHostPath}: ${error.message}${needsRoot ? ')' : ''}`);
  });
  child.on('close', (code, signal) => {
    const why = entry.killedFor ?? (firstLine(entry.stderr) || (entry.stray !== null ? `unexpected output: ${entry.stray}` : 'no reply'));
    const status = signal ? `killed by ${signal}` : `exit code ${String(code)}`;
    retire(entry, (name) => `probe ${name} failed (${status}): ${why}`);
  });
  return entry;
}

/** The pooled child for `place`, started on first use. */
function childFor(place: ProbePlace, main: string): PooledChild {
  const key = keyOf(place);
  const existing = pool.get(key);
  if (existing && !isGone(existing)) return existing;
  const entry = spawnPooled(place, main);
  pool.set(key, entry);
  return entry;
}

/**
 * Starts the pooled child for `place` now, so that its start-up (a whole Node process) overlaps
 * with the rest of the run instead of delaying the first probe. Never throws; a child that cannot
 * start reports that to the first probe that uses it.
 */
export function warmProbeChild(place: ProbePlace): void {
  const main = probeMainPath();
  if (!main) return;
  try {
    childFor(place, main);
  } catch {
    // Arguments spawn refuses (a NUL in the root path): runProbe says so when it is asked.
  }
}

/** The request's socket resolved inside the guest root, here, as root (the child may run as the user). */
async function prepare<K extends ProbeName>(place: ProbePlace, name: K, request: ProbeRequests[K]): Promise<PreparedSocket | null> {
  try {
    return (await prepareProbeSocket(place.rootHostPath, name, request)) ?? null;
  } catch (error) {
    return { target: { kind: 'unusable', errno: 'EIO', message: (error as Error).message }, guestPath: null };
  }
}

/**
 * Runs probe `name` in the pooled child for `place` (one per root, netns and credentials, started
 * on first use and reused for the rest of the run) and returns its reply. Never throws: a child
 * that cannot start, a probe overrunning `timeoutMs` (plus a short grace), a child that crashes
 * or prints something else comes back as `{ok: false, error}` with one clear line.
 */
export async function runProbe<K extends ProbeName>(
  place: ProbePlace,
  name: K,
  request: ProbeRequests[K],
  timeoutMs: number,
): Promise<ProbeReply<K>> {
  const main = probeMainPath();
  if (!main) return { ok: false, error: 'probe-main.js not found: build ctr-doctor first (npm run build)' };
  const socket = await prepare(place, name, request);
  const id = nextId++;
  const limitMs = timeoutMs + KILL_GRACE_MS;
  let line: string;
  let entry: PooledChild;
  try {
    const message: ProbeServeRequest<K> = { id, name, request, socket };
    line = JSON.stringify(message) + '\n';
    entry = childFor(place, main);
  } catch (error) {
    // Bad arguments (a NUL in a path, an unserialisable request) throw synchronously.
    return { ok: false, error: `cannot start probe ${name}: ${(error as Error).message}` };
  }

  return new Promise((resolve) => {
    let settled = false;
    const finish = (reply: ProbeReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(reply as ProbeReply<K>);
    };
    // Only this request gives up: the shared child keeps serving the others.
    const timer = setTimeout(() => {
      entry.pending.delete(id);
      finish({ ok: false, error: `probe timed out after ${limitMs} ms` });
    }, limitMs);
    entry.pending.set(id, { name, finish });
    entry.child.stdin.write(line);
  });
}
