import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { childExited, trackChild, type ChildScope } from '../core/live-children.js';
import { HOST_ENV, hostTool } from '../host/host-programs.js';
import type { ProbeCredentials, ProbeName, ProbeRequests } from '../core/probe-types.js';
import type { ProbeReply, ProbeServeRequest } from './probe-protocol.js';
import { prepareProbeSocket, type PreparedSocket } from './probe-socket-plan.js';

/** Where a probe runs: the guest root as its cwd, the guest's netns, the user it drops to. */
export interface ProbePlace {
  rootHostPath: string;
  /** `/proc/PID/ns/net` or `/run/netns/X`; null to stay in our own namespace. */
  netnsPath: string | null;
  credentials: ProbeCredentials | null;
  /** The run of the guest whose place this is: a child serving only its root ends with that run. */
  scope?: ChildScope | undefined;
}

/** Grace on top of the probe's own timeout for the child's start-up and the reply's way back. */
const KILL_GRACE_MS = 500;
/** A reply line longer than this means the child is misbehaving: it is killed. */
const MAX_LINE_BYTES = 1024 * 1024;
const MAX_STDERR_BYTES = 16 * 1024;
/** Linux's O_PATH (absent from fs.constants): a handle on a directory that needs only search permission. */
const O_PATH = 0o10000000;

/** A request sent to a pooled child and not answered yet. */
interface Pending {
  name: ProbeName;
  finish: (reply: ProbeReply) => void;
  /** The place it is about (its root), to send it again to a child of its own. */
  place: ProbePlace;
  /** The message without its root index (the index is the child's). */
  message: Omit<ProbeServeRequest, 'root'>;
  /** Sent again already (once only). */
  resent: boolean;
  /** The child it waits on. */
  holder: PooledChild | null;
}

/**
 * One long-lived `probe-main.js --serve` child, shared by every probe with the same network
 * namespace and credentials whose guest root it holds (one root, or several for `check --all`).
 */
interface PooledChild {
  child: ChildProcessWithoutNullStreams;
  key: string;
  /** The guest roots it holds, as descriptors 3…; a request names one by index. */
  roots: string[];
  /** Each root's index in `roots`. */
  indexOf: Map<string, number>;
  pending: Map<number, Pending>;
  /** Incomplete last line of stdout. */
  partial: string;
  stderr: string;
  /** The first line of stdout that was not a reply, to explain a death. */
  stray: string | null;
  /** Why it was killed by us, when it was. */
  killedFor: string | null;
  /** Request lines of this turn not written yet (see {@link dispatch}). */
  outbox: string[];
}

/** Children of this run by key; a child leaves the pool when it exits (the next probe respawns). */
const pool = new Map<string, PooledChild>();
/** Guest roots that may share one child (a sharing group): its roots in order, and the key of its child once made. */
interface SharingGroup {
  roots: string[];
  members: Set<string>;
  /** The key of the child holding exactly `roots`; null after they change (a new child is then due). */
  key: string | null;
}

/** Guest roots that may share one child, by (netns, credentials): see {@link shareProbeChildren}. */
const sharing = new Map<string, SharingGroup>();
/** Sharing groups whose shared child died: from then on each root gets a child of its own. */
const unshared = new Set<string>();
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
 * Ends every pooled probe child and resolves once they have exited (the guest roots they hold no
 * longer pin their mounts). For callers of runProbe outside a run; the runner kills them itself.
 */
export async function endProbeChildren(): Promise<void> {
  const children = [...pool.values()].map((entry) => entry.child);
  await Promise.all(
    children.map((child) => {
      const gone = childExited(child);
      child.kill('SIGKILL');
      return gone;
    }),
  );
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line !== '') ?? ''
  );
}

/** Places in one group may share a child: same network namespace, same credentials (the child's whole identity). */
function groupOf(place: ProbePlace): string {
  return JSON.stringify([place.netnsPath, place.credentials]);
}

/**
 * Lets the probe children of these places be shared (issue 14: `check --all`): places with the
 * same network namespace and the same credentials get one child that holds all of their roots,
 * instead of one child each. A child is one identity (a uid and its groups in one netns), so
 * sharing gives no guest anything its own child would not have; a guest whose requests kill the
 * shared child ends the sharing (see retire()). Call before their first probe.
 */
export function shareProbeChildren(places: ProbePlace[]): void {
  for (const place of places) {
    const group = groupOf(place);
    const shared = sharing.get(group) ?? { roots: [], members: new Set<string>(), key: null };
    if (!shared.members.has(place.rootHostPath)) {
      shared.roots.push(place.rootHostPath);
      shared.members.add(place.rootHostPath);
      shared.key = null;
    }
    sharing.set(group, shared);
  }
}

/** Takes `root` out of its sharing group (it could not be opened): the group's next child holds the others. */
function leaveSharing(group: string, root: string): void {
  const shared = sharing.get(group);
  if (!shared?.members.delete(root)) return;
  shared.roots.splice(shared.roots.indexOf(root), 1);
  shared.key = null;
}

/** Which child serves `place`: its key and the roots it holds (the group's own list: copy it before changing the group). */
function servingOf(place: ProbePlace): { key: string; roots: readonly string[] } {
  const group = groupOf(place);
  const shared = sharing.get(group);
  if (shared && shared.roots.length > 1 && shared.members.has(place.rootHostPath) && !unshared.has(group)) {
    // The roots are part of the key: roots shared after a child started get the next child. Made once per set of roots.
    shared.key ??= JSON.stringify(['shared', group, shared.roots]);
    return { key: shared.key, roots: shared.roots };
  }
  return { key: JSON.stringify([place.rootHostPath, group]), roots: [place.rootHostPath] };
}

/** A reply line, or null when it is not one. */
function parseReply(line: string): { id: number; reply: ProbeReply } | null {
  try {
    const value = JSON.parse(line) as { id?: unknown; ok?: unknown; response?: unknown; error?: unknown } | null;
    if (typeof value?.id !== 'number') return null;
    const { id, ok, response, error } = value as { id: number; ok?: unknown; response?: unknown; error?: unknown };
    // Only the fields of a reply are passed on, made afresh (no copy of whatever else the line had).
    if (ok === true && typeof response === 'object' && response !== null) return { id, reply: { ok, response } as ProbeReply };
    if (ok === false && typeof error === 'string') return { id, reply: { ok, error } };
  } catch {
    // Not JSON: remembered to explain the child's death, if it dies.
  }
  return null;
}

function isGone(entry: PooledChild): boolean {
  const { child } = entry;
  return child.killed || child.exitCode !== null || child.signalCode !== null;
}

/**
 * Removes `entry` from the pool and fails its pending requests, each with `why(pending)`. A shared
 * child's death is never another guest's failure: whatever caused it (one guest's probe may have),
 * its group stops sharing and each pending request is sent once more, to a child of its own root.
 */
function retire(entry: PooledChild, why: (p: Pending) => string): void {
  if (pool.get(entry.key) === entry) pool.delete(entry.key);
  const pending = [...entry.pending.entries()];
  entry.pending.clear();
  const shared = entry.roots.length > 1;
  if (shared) for (const [, p] of pending) unshared.add(groupOf(p.place));
  for (const [id, p] of pending) {
    if (shared && !p.resent) {
      p.resent = true;
      if (dispatch(id, p) === null) continue;
    }
    p.finish({ ok: false, error: why(p) });
  }
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

/** Why a guest root cannot be handed to a child, as a probe's error; unprivileged runs are told to use sudo. */
function rootError(name: ProbeName, root: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const needsRoot = process.getuid?.() !== 0 && (code === 'EACCES' || code === 'EPERM');
  return `${needsRoot ? 'needs root: run with sudo (' : ''}cannot start probe ${name} in ${root}: ${(error as Error).message}${needsRoot ? ')' : ''}`;
}

/**
 * Starts a pooled child holding `roots` (their descriptors `fds`, opened here as root, become its
 * fds 3…). It runs in `place`'s netns with `place`'s credentials, with `/` as its working
 * directory: it reaches a guest only through the roots it holds. Throws only on arguments spawn
 * refuses outright (a NUL).
 */
function spawnPooled(key: string, roots: string[], fds: number[], place: ProbePlace, main: string): PooledChild {
  const argv = [process.execPath, main, '--serve', `--roots=${roots.length}`];
  if (place.credentials) argv.push(`--credentials=${JSON.stringify(place.credentials)}`);
  if (place.netnsPath !== null) argv.unshift(hostTool('nsenter'), `--net=${place.netnsPath}`, '--');
  const spawned = spawn(argv[0]!, argv.slice(1), {
    cwd: '/',
    stdio: ['pipe', 'pipe', 'pipe', ...fds],
    env: childEnv(),
  }) as unknown as ChildProcessWithoutNullStreams;
  // A child shared by several guests' runs outlives each of them: the CLI ends it when it exits.
  const child = trackChild(spawned, roots.length > 1 ? { unscoped: true } : { scope: place.scope });
  const indexOf = new Map(roots.map((root, i) => [root, i]));
  const entry: PooledChild = {
    child,
    key,
    roots,
    indexOf,
    pending: new Map(),
    partial: '',
    stderr: '',
    stray: null,
    killedFor: null,
    outbox: [],
  };
  // An idle child must not keep the CLI alive: a pending request's own timer does that.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();

  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    onStdout(entry, chunk);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (entry.stderr.length < MAX_STDERR_BYTES) entry.stderr += chunk;
  });
  // The child may die before reading its requests; EPIPE then is not our failure.
  child.stdin.on('error', () => undefined);
  child.on('exit', () => {
    // Out of the pool at once: a probe started now gets a fresh child.
    if (pool.get(key) === entry) pool.delete(key);
  });
  child.on('error', (error) => {
    retire(entry, (p) => `cannot start probe ${p.name} in ${p.place.rootHostPath}: ${error.message}`);
  });
  child.on('close', (code, signal) => {
    const why = entry.killedFor ?? (firstLine(entry.stderr) || (entry.stray !== null ? `unexpected output: ${entry.stray}` : 'no reply'));
    const status = signal ? `killed by ${signal}` : `exit code ${String(code)}`;
    retire(entry, (p) => `probe ${p.name} failed (${status}): ${why}`);
  });
  return entry;
}

/**
 * The pooled child for `place`, started on first use with every root it is to hold, each opened
 * here (O_PATH, as root). Another guest's root that cannot be opened leaves the sharing (that
 * guest finds out on its own probe); `place`'s own gives its error.
 */
function childFor(place: ProbePlace, main: string, name: ProbeName): PooledChild | { error: string } {
  let serving = servingOf(place);
  const existing = pool.get(serving.key);
  if (existing && !isGone(existing)) return existing;
  const fds: number[] = [];
  const held: string[] = [];
  const wanted = [...serving.roots];
  try {
    for (const root of wanted) {
      try {
        fds.push(openSync(root, O_PATH | constants.O_DIRECTORY));
        held.push(root);
      } catch (error) {
        if (root === place.rootHostPath) return { error: rootError(name, root, error) };
        leaveSharing(groupOf(place), root);
      }
    }
    if (held.length !== wanted.length) {
      serving = servingOf(place);
      const again = pool.get(serving.key);
      if (again && !isGone(again)) return again;
    }
    const entry = spawnPooled(serving.key, held, fds, place, main);
    pool.set(serving.key, entry);
    return entry;
  } finally {
    // The child has its own copies from the moment spawn returns.
    for (const fd of fds) closeSync(fd);
  }
}

/** Sends pending request `id` to the child that serves its place now; null when sent, else why not. */
function dispatch(id: number, p: Pending): string | null {
  const main = probeMainPath();
  if (!main) return 'probe-main.js not found';
  let entry;
  try {
    entry = childFor(p.place, main, p.name);
  } catch (error) {
    return `cannot start probe ${p.name}: ${(error as Error).message}`;
  }
  if ('error' in entry) return entry.error;
  const message: ProbeServeRequest = { ...p.message, root: entry.indexOf.get(p.place.rootHostPath) ?? -1 };
  const line = JSON.stringify(message) + '\n';
  entry.pending.set(id, p);
  p.holder = entry;
  // The requests of one turn (a guest's checks ask together) go out in one write, not a stream write and syscall each.
  if (entry.outbox.push(line) === 1) process.nextTick(flushOutbox, entry);
  return null;
}

function flushOutbox(entry: PooledChild): void {
  const text = entry.outbox.join('');
  entry.outbox = [];
  entry.child.stdin.write(text);
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
    childFor(place, main, 'unix-connect');
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
  return new Promise((resolve) => {
    let settled = false;
    const finish = (reply: ProbeReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(reply as ProbeReply<K>);
    };
    const pending: Pending = { name, finish, place, message: { id, name, request, socket }, resent: false, holder: null };
    // Only this request gives up: the shared child keeps serving the others.
    const timer = setTimeout(() => {
      pending.holder?.pending.delete(id);
      finish({ ok: false, error: `probe timed out after ${limitMs} ms` });
    }, limitMs);
    let refused: string | null;
    try {
      refused = dispatch(id, pending);
    } catch (error) {
      // An unserialisable request throws synchronously.
      refused = `cannot start probe ${name}: ${(error as Error).message}`;
    }
    if (refused !== null) finish({ ok: false, error: refused });
  });
}
