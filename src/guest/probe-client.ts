import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../core/live-children.js';
import type { ProbeCredentials, ProbeEnvelope, ProbeName, ProbeReply, ProbeRequests } from './probe-protocol.js';

/** Where a probe runs: the guest root as its cwd, the guest's netns, the user it drops to. */
export interface ProbePlace {
  rootHostPath: string;
  /** `/proc/PID/ns/net` or `/run/netns/X`; null to stay in our own namespace. */
  netnsPath: string | null;
  credentials: ProbeCredentials | null;
}

/** Grace on top of the probe's own timeout for the child's start-up and exit. */
const KILL_GRACE_MS = 500;
const MAX_STDOUT_BYTES = 1024 * 1024;
const MAX_STDERR_BYTES = 16 * 1024;

let cachedMainPath: string | null | undefined;

/**
 * The compiled probe-main.js: next to this file in dist/, or, when this file runs from
 * src/ (under vitest), the copy in the build output.
 */
export function probeMainPath(): string | null {
  if (cachedMainPath !== undefined) return cachedMainPath;
  const candidates = [new URL('./probe-main.js', import.meta.url), new URL('../../dist/src/guest/probe-main.js', import.meta.url)];
  cachedMainPath = candidates.map((url) => fileURLToPath(url)).find((file) => existsSync(file)) ?? null;
  return cachedMainPath;
}

function firstLine(text: string): string {
  return text.split('\n').map((line) => line.trim()).find((line) => line !== '') ?? '';
}

function parseReply<K extends ProbeName>(stdout: string): ProbeReply<K> | null {
  try {
    const value = JSON.parse(stdout) as { ok?: unknown; response?: unknown; error?: unknown } | null;
    if (value?.ok === true && typeof value.response === 'object' && value.response !== null) return value as ProbeReply<K>;
    if (value?.ok === false && typeof value.error === 'string') return value as ProbeReply<K>;
  } catch {
    // Not JSON: explained from the exit status and stderr below.
  }
  return null;
}

/**
 * Runs probe `name` in a child process placed at `place` and returns its one JSON reply.
 * Never throws: a child that cannot start, overruns `timeoutMs` (plus a short grace),
 * crashes or prints something else comes back as `{ok: false, error}` with one clear line.
 */
export function runProbe<K extends ProbeName>(
  place: ProbePlace,
  name: K,
  request: ProbeRequests[K],
  timeoutMs: number,
): Promise<ProbeReply<K>> {
  const main = probeMainPath();
  if (!main) return Promise.resolve({ ok: false, error: 'probe-main.js not found: build ctr-doctor first (npm run build)' });
  const argv = [process.execPath, main];
  if (place.netnsPath !== null) argv.unshift('nsenter', `--net=${place.netnsPath}`, '--');
  const envelope: ProbeEnvelope<K> = { name, request, credentials: place.credentials };
  const limitMs = timeoutMs + KILL_GRACE_MS;

  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (reply: ProbeReply<K>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(reply);
    };
    let child: ChildProcessWithoutNullStreams;
    let input: string;
    try {
      input = JSON.stringify(envelope);
      child = trackChild(spawn(argv[0]!, argv.slice(1), { cwd: place.rootHostPath, stdio: ['pipe', 'pipe', 'pipe'] }));
    } catch (error) {
      // Bad arguments (a NUL in a path, an unserialisable request) throw synchronously.
      return resolve({ ok: false, error: `cannot start probe ${name}: ${(error as Error).message}` });
    }
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);

    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_STDOUT_BYTES) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr += chunk;
    });
    // The child may die before reading its envelope; EPIPE then is not our failure.
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => {
      // The guest root is its cwd: a root-only guest directory refuses an unprivileged run here.
      const code = (error as NodeJS.ErrnoException).code;
      const needsRoot = process.getuid?.() !== 0 && (code === 'EACCES' || code === 'EPERM');
      finish({ ok: false, error: `${needsRoot ? 'needs root: run with sudo (' : ''}cannot start probe ${name} in ${place.rootHostPath}: ${error.message}${needsRoot ? ')' : ''}` });
    });
    child.on('close', (code, signal) => {
      if (timedOut) return finish({ ok: false, error: `probe timed out after ${limitMs} ms` });
      const reply = parseReply<K>(stdout.trim());
      if (reply) return finish(reply);
      const why = firstLine(stderr) || (stdout.trim() ? `unexpected output: ${firstLine(stdout).slice(0, 200)}` : 'no reply');
      const status = signal ? `killed by ${signal}` : `exit code ${String(code)}`;
      finish({ ok: false, error: `probe ${name} failed (${status}): ${why}` });
    });
    child.stdin.end(input);
  });
}
