import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lostAnswer, pathOf, type FileOp } from './guest-file-ops.js';
import type { ServerMessage, ServerReply, ServerRequest } from './guest-files-server.js';
import {
  PROGRESS_BYTES,
  PROGRESS_CELL,
  decodeProgress,
  doneBefore,
  judgeLate,
  monotonicMs,
  type Progress,
} from './guest-files-progress.js';
import { timing } from '../core/timing.js';
import { trackChild } from '../core/live-children.js';

/**
 * The CLI's side of the guest-files server (guest-files-server.ts), used by `check --all` (see
 * {@link useGuestFilesServer}). Requests travel in batches, one batch in flight at a time (what is
 * asked meanwhile goes in the next); the server answers a batch in order, in one message, and
 * writes in its progress cell (guest-files-progress.ts) which request it is on and since when, so
 * that the CLI is not woken once a request. The request it is on gets a deadline ({@link deadlineMs},
 * read from the cell when it fires): past it the server is killed (a hung mount), that request
 * answers as lost, the others of the batch (those done before it but not sent, and those behind
 * it) go to a fresh server, and its guest's later requests to a server of that guest's own, so
 * that one hostile guest cannot stall the others again. Without a cell (no unnamed file could be
 * made) the server answers each request on its own, and the oldest unanswered one is the one it is on.
 */

/** The run's --timeout (see {@link useGuestFilesServer}): a request may take half of it. */
let checkTimeoutMs = 2000;

/**
 * How long the server may work on one request (normal ones take µs to a few ms): half a check's
 * --timeout, at least 1 s, so that the check still ends with the read's own line; or
 * CTR_DOCTOR_FILES_DEADLINE_MS.
 */
export function deadlineMs(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.CTR_DOCTOR_FILES_DEADLINE_MS);
  return Number.isFinite(n) && n > 0 ? n : Math.max(1000, checkTimeoutMs / 2);
}

/** How long a server may take to start (a node, on a loaded host) before its requests answer as lost. */
const START_LIMIT_MS = 10_000;

/** What an asked operation comes back as: its answer, why there is none, or that it is to be made here (no server could start). */
export type Asked = { answer: unknown } | { lost: string } | { here: true };

interface Pending {
  request: ServerRequest;
  resolve: (asked: Asked) => void;
  /** Lets go of what the request uses (the pass's root handle): once answered, or once the server that had it is dead. */
  release: () => void;
  /** Made by a server that then failed before sending its answer, and asked again: not a second time (its answer may be what fails). */
  madeBefore?: true;
}

interface Server {
  key: string;
  child: ChildProcess;
  /** Sent and unanswered, oldest first: the first is being worked on. */
  inFlight: Pending[];
  /** Not yet sent (the next flush sends them in one message). */
  queued: Pending[];
  /** The earliest the server can have started on inFlight[0] (when it was sent, or the answer before it came; monotonicMs). */
  headSince: number;
  /** The progress cell's descriptor here (null: none, the server answers each request on its own). */
  cell: number | null;
  timer: NodeJS.Timeout | null;
  flushing: boolean;
  /** When it said it is up (null: not yet; monotonicMs): no deadline runs before, a loaded host may take long to start a node. */
  readyAt: number | null;
  startedAt: number;
  dead: boolean;
}

const servers = new Map<string, Server>();
/** Guest roots a request of which got stuck: their requests go to a server of their own. */
const suspect = new Set<string>();
let enabled = false;
let nextId = 1;
let cachedPath: string | null | undefined;

/** The server's program: beside this file (dist/bundle, dist/src/guest), or under vitest the build's copy. */
function serverPath(): string | null {
  if (cachedPath !== undefined) return cachedPath;
  const candidates = ['./guest-files-server.js', '../../dist/src/guest/guest-files-server.js'].map((rel) => new URL(rel, import.meta.url));
  cachedPath = candidates.map((url) => fileURLToPath(url)).find((file) => existsSync(file)) ?? null;
  return cachedPath;
}

/**
 * GuestFiles' reads inside a diagnosis pass go to the guest-files server from now on (check
 * --all: many guests, thousands of walks). Starts it at once, so that it is up by the first read.
 * A single check keeps reading on the main thread: the server's start-up (~40 ms of CPU) is more
 * than its reads cost there. `timeoutMs`: the run's --timeout (a request's deadline is half of it).
 */
export function useGuestFilesServer(timeoutMs?: number): void {
  if (timeoutMs !== undefined) checkTimeoutMs = timeoutMs;
  if (serverPath() === null) return;
  if (!enabled) process.once('exit', killServers);
  enabled = true;
  serverFor('');
}

/** At exit: a server still working (a request cut off by a check's timeout, on a hung mount) must not outlive the CLI. */
function killServers(): void {
  for (const server of servers.values()) if (server.child.exitCode === null) server.child.kill('SIGKILL');
}

/** The process ids of the running servers (for tests and diagnostics). */
export function guestFilesServerPids(): number[] {
  return [...servers.values()].flatMap((s) => (s.child.pid === undefined ? [] : [s.child.pid]));
}

/** Whether reads go to the server (see {@link useGuestFilesServer}). */
export function guestFilesServerInUse(): boolean {
  return enabled;
}

/** Linux's O_TMPFILE (absent from fs.constants): an unnamed file in a directory, gone when its last descriptor closes. */
const O_TMPFILE = 0o20200000;

/** A progress cell: an unnamed file (in /dev/shm, else /tmp) of PROGRESS_BYTES zeros, or null. */
function progressCell(): number | null {
  for (const dir of ['/dev/shm', '/tmp']) {
    let fd: number;
    try {
      fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600);
    } catch {
      // No such directory, or a file system without O_TMPFILE.
      continue;
    }
    try {
      // Its bytes exist from now on: the server's writes never need room (a full /dev/shm fails here, not there).
      if (writeSync(fd, new Uint8Array(PROGRESS_BYTES), 0, PROGRESS_BYTES, 0) === PROGRESS_BYTES) return fd;
    } catch {
      // Tried in the next place.
    }
    closeSync(fd);
  }
  return null;
}

const cellRead = new Float64Array(PROGRESS_BYTES / 8);
const cellReadBytes = new Uint8Array(cellRead.buffer);

/** What `server`'s cell says now (a read torn by the server's write is made again, a few times), or null without a cell. */
function readCell(server: Server): Progress {
  if (server.cell === null) return null;
  let read: Progress = null;
  for (let i = 0; i < 3; i++) {
    try {
      if (readSync(server.cell, cellReadBytes, 0, PROGRESS_BYTES, 0) !== PROGRESS_BYTES) return null;
    } catch {
      return null;
    }
    read = decodeProgress(cellRead);
    if (read !== 'torn') return read;
  }
  return read;
}

function serverFor(key: string): Server | null {
  const existing = servers.get(key);
  if (existing && !existing.dead) return existing;
  const main = serverPath();
  if (main === null) return null;
  let child: ChildProcess;
  const cell = progressCell();
  try {
    const env: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    if (process.env.CTR_DOCTOR_TEST_HANG_PATH !== undefined) env.CTR_DOCTOR_TEST_HANG_PATH = process.env.CTR_DOCTOR_TEST_HANG_PATH;
    // The cell is its descriptor 4 (after the IPC channel's 3); nothing else of ours reaches it.
    if (cell !== null) env[PROGRESS_CELL] = '4';
    const stdio: StdioOptions = cell === null ? ['ignore', 'ignore', 'ignore', 'ipc'] : ['ignore', 'ignore', 'ignore', 'ipc', cell];
    child = spawn(process.execPath, [main], { cwd: '/', env, stdio, serialization: 'advanced' });
    // It serves every guest of the run: only the CLI's end stops it, and waits for it (nothing of ours outlives the CLI).
    trackChild(child, { unscoped: true });
  } catch {
    if (cell !== null) closeSync(cell);
    return null;
  }
  const server: Server = {
    key,
    child,
    inFlight: [],
    queued: [],
    headSince: 0,
    cell,
    timer: null,
    flushing: false,
    dead: false,
    readyAt: null,
    startedAt: monotonicMs(),
  };
  servers.set(key, server);
  idle(server);
  child.on('message', (message: ServerReply) => {
    if ('ready' in message) {
      server.readyAt = server.headSince = monotonicMs();
      return;
    }
    if (server.dead || server.inFlight[0]?.request.id !== message.first) return;
    const answered = server.inFlight.splice(0, message.answers.length);
    server.headSince = monotonicMs();
    answered.forEach((p, i) => {
      p.release();
      p.resolve({ answer: message.answers[i] });
    });
    if (server.inFlight.length > 0) return;
    // Everything asked while that batch was worked on goes in the next one.
    if (server.queued.length > 0) flush(server);
    else idle(server);
  });
  child.on('error', (error) => {
    retire(server, `the guest-files server could not start: ${error.message}`);
  });
  child.on('exit', (code, signal) => {
    retire(server, `the guest-files server ended (${signal ? `killed by ${signal}` : `exit code ${String(code)}`})`);
  });
  return server;
}

/** An idle server keeps nothing alive: the CLI may exit whenever it has nothing more to ask. */
function idle(server: Server): void {
  server.child.unref();
  server.child.channel?.unref();
  if (server.timer) clearTimeout(server.timer);
  server.timer = null;
}

/**
 * Asks `op` on a guest path of `shownRoot` (walked from `walkRoot`, a handle the caller holds
 * until `release` is called; of diagnosis pass `pass`, when it is one's). Null when no server can
 * serve it (then read in this thread).
 */
function askGuestFilesServer(op: FileOp, walkRoot: string, shownRoot: string, release: () => void, pass?: number): Promise<Asked> | null {
  if (!enabled) return null;
  const server = serverFor(suspect.has(shownRoot) ? shownRoot : '');
  if (server === null) return null;
  const request: ServerRequest =
    pass === undefined ? { id: nextId++, op, walkRoot, shownRoot } : { id: nextId++, op, walkRoot, shownRoot, pass };
  return new Promise<Asked>((resolve) => {
    enqueue(server, { request, resolve, release });
  });
}

/**
 * Tells every server that diagnosis pass `pass` has ended, so that they close the root and the
 * directories they hold for it. Call it once none of the pass's requests is unanswered (its root
 * handle is about to be closed): a later pass may reuse that descriptor number for another root.
 */
export function endGuestFilesPass(pass: number): void {
  const message: ServerMessage = { endPass: pass };
  for (const server of servers.values()) {
    if (server.dead || !server.child.connected) continue;
    // Nothing waits for it: an idle server is not kept up by it.
    server.child.send(message, (error) => {
      if (error) retire(server, `the guest-files server could not be told: ${error.message}`);
    });
  }
}

function enqueue(server: Server, pending: Pending): void {
  server.queued.push(pending);
  server.child.ref();
  server.child.channel?.ref();
  // One batch at a time: with one in flight, this request waits for the next (sent when that one is answered).
  if (server.flushing || server.inFlight.length > 0) return;
  server.flushing = true;
  // Everything asked in this turn of the loop goes in one message.
  setImmediate(() => {
    flush(server);
  });
}

function flush(server: Server): void {
  server.flushing = false;
  if (server.dead || server.queued.length === 0) return;
  const batch = server.queued.splice(0);
  if (server.inFlight.length === 0) server.headSince = monotonicMs();
  server.inFlight.push(...batch);
  server.child.send(
    batch.map((p) => p.request),
    (error) => {
      if (error) retire(server, `the guest-files server could not be asked: ${error.message}`);
    },
  );
  watch(server);
}

/** Arms the deadline of the request the server works on. */
function watch(server: Server): void {
  if (server.timer || server.dead || server.inFlight.length === 0) return;
  const limit = deadlineMs();
  arm(server, server.readyAt === null ? limit : server.headSince + limit - monotonicMs());
}

function arm(server: Server, wait: number): void {
  if (server.timer) clearTimeout(server.timer);
  server.timer = setTimeout(
    () => {
      server.timer = null;
      late(server, false);
    },
    Math.max(1, wait),
  );
}

/** A deadline fired: is the request the server is on (the cell says which) past it? `polled`: the pipe was polled since. */
function late(server: Server, polled: boolean): void {
  if (server.dead || server.inFlight.length === 0) return;
  if (server.readyAt === null) {
    if (monotonicMs() - server.startedAt < START_LIMIT_MS) arm(server, deadlineMs());
    else retire(server, `the guest-files server did not start in ${START_LIMIT_MS} ms`);
    return;
  }
  const limit = deadlineMs();
  const ids = server.inFlight.map((p) => p.request.id);
  const verdict = judgeLate(ids, server.headSince, readCell(server), monotonicMs(), limit);
  if ('wait' in verdict) {
    arm(server, verdict.wait);
    return;
  }
  if (!polled) {
    const head = server.inFlight[0];
    // After one more poll of the pipe: answers that came in while this thread was busy are not a hang.
    setImmediate(() => {
      if (server.dead || server.inFlight[0] !== head) watch(server);
      else late(server, true);
    });
    return;
  }
  if ('hung' in verdict) abandon(server, server.inFlight[verdict.hung]!, limit);
  // Done, but its answers never came: asked again elsewhere, none of them is lost.
  else retire(server, null);
}

/**
 * The server is stuck on `head`: kill it, answer `head` as lost, and send the others of its batch
 * (done before it but not sent, or behind it) elsewhere.
 */
function abandon(server: Server, head: Pending, limit: number): void {
  const { op, shownRoot } = head.request;
  const at = server.inFlight.indexOf(head);
  timing(
    `guest files: ${op.op} ${pathOf(op)} in ${shownRoot || 'the host'} had no answer in ${limit} ms ` +
      `(request ${at + 1} of ${server.inFlight.length} unanswered); its server is killed`,
  );
  suspect.add(shownRoot);
  server.inFlight.splice(at, 1);
  // The handle it walked from stays open until that server is dead: its number must not be reused under it.
  server.child.once('exit', () => {
    head.release();
  });
  head.resolve({ lost: `${pathOf(op)}: no answer in ${limit} ms (a hung file system${shownRoot ? ' in the guest' : ''}?)` });
  retire(server, null);
}

/**
 * Ends `server` (killed when still running): its unanswered requests are sent again to a fresh
 * server, except when `why` says it failed by itself (then they answer as lost, with `why`, but
 * those its cell says it had made, their answers unsent: they are asked again, as they had been
 * answered before it failed when it answered each on its own). A
 * server that never came up (it cannot be spawned, or died loading: a broken install) ends the
 * use of servers for the run: its requests, and every later one, are made on the main thread.
 */
function retire(server: Server, why: string | null, ending = false): void {
  if (server.dead) return;
  server.dead = true;
  const made = ending
    ? 0
    : doneBefore(
        server.inFlight.map((p) => p.request.id),
        readCell(server),
      );
  if (servers.get(server.key) === server) servers.delete(server.key);
  idle(server);
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  if (server.cell !== null) closeSync(server.cell);
  server.cell = null;
  const neverUp = why !== null && !ending && server.readyAt === null;
  if (neverUp) {
    timing(`guest files: ${why}; reading on the main thread`);
    enabled = false;
  }
  const left = [...server.inFlight.splice(0), ...server.queued.splice(0)];
  for (const [i, p] of left.entries()) {
    // Made, its answer unsent: asked again once (a server that fails again on it fails on its answer, as on a hang).
    const again = i < made && !neverUp && p.madeBefore === undefined;
    if (i < made) p.madeBefore = true;
    const askAgain = again || (why === null && i >= made);
    const next = askAgain ? serverFor(suspect.has(p.request.shownRoot) ? p.request.shownRoot : '') : null;
    if (next) enqueue(next, p);
    // Not released: the caller makes it here, with the handle it still holds.
    else if (neverUp || askAgain) p.resolve({ here: true });
    else {
      p.release();
      p.resolve({ lost: `${pathOf(p.request.op)}: ${why ?? 'the guest-files server made it twice and never sent its answer'}` });
    }
  }
}

/**
 * `op`'s answer: from the server when it is in use (walked from `walkRoot`, held by the caller
 * until `release` is called; `pass`: the diagnosis pass it is of, see {@link endGuestFilesPass}),
 * else, or when no server could start, from `here` on this thread. A request the server had no
 * answer for answers as an `io` failure (lostAnswer).
 */
export async function askOrHere(
  op: FileOp,
  walkRoot: string,
  shownRoot: string,
  here: () => Promise<unknown>,
  release: () => void = () => undefined,
  pass?: number,
): Promise<unknown> {
  const asked = askGuestFilesServer(op, walkRoot, shownRoot, release, pass);
  if (asked !== null) {
    const result = await asked;
    if ('answer' in result) return result.answer;
    if ('lost' in result) return lostAnswer(op, result.lost);
  }
  try {
    return await here();
  } finally {
    release();
  }
}

/** Ends every server (for tests; the CLI's exit ends them too: they go when their IPC channel closes). */
export function endGuestFilesServers(): void {
  if (enabled) process.off('exit', killServers);
  enabled = false;
  for (const server of [...servers.values()]) retire(server, 'the guest-files server was ended', true);
  suspect.clear();
}
