/**
 * The guest-files server: a child process that answers GuestFiles' operations (stat, read,
 * readlink, readdir) with synchronous system calls, so that `check --all`'s thousands of walk
 * steps cost a few µs each here instead of a threadpool round trip each on the CLI's main thread.
 * A process, not a thread: a thread stuck in a system call (a hung FUSE or NFS mount in a guest)
 * cannot be left behind (Node joins every thread at exit, process.exit() too), a process can be
 * killed. It walks from the CLI's held root handle (/proc/CLI-PID/fd/N, the very directory), runs
 * no program, and answers a batch in order: with one message for the whole batch when the CLI gave
 * it a progress cell (see {@link PROGRESS_CELL}), else one message a request (guest-files-client.ts relies on it).
 * A request of a diagnosis pass (its `pass` id) walks from the root this server opened once for
 * that pass, through the pass's cache of directories (dir-cache.ts), until the CLI says the pass
 * has ended; a pass's handles never serve another pass (the CLI's fd N may stand for another root later).
 */
import * as fs from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { fileOpSteps, type FileOp } from './guest-file-ops.js';
import { O_PATH, runStepsSync } from './walk-steps.js';
import { DirCache, HandleBudget } from './dir-cache.js';
import { PROGRESS_BYTES, PROGRESS_CELL, encodeProgress, monotonicMs } from './guest-files-progress.js';

/** One request: `op` on a guest path, walked from `walkRoot`; `shownRoot` is the root as reports show it. */
export interface ServerRequest {
  id: number;
  op: FileOp;
  walkRoot: string;
  shownRoot: string;
  /** The diagnosis pass it belongs to (unique in the CLI's run), whose root `walkRoot` is held until the pass ends. */
  pass?: number;
}

/** What the CLI sends: a batch of requests, or the end of a pass (none of its requests is left unanswered by then). */
export type ServerMessage = ServerRequest[] | { endPass: number };

/** What the server sends: that it is up, or the answers of consecutive requests of a batch, in order, from request `first`. */
export type ServerReply = { ready: true } | { first: number; answers: unknown[] };

/** Descriptors all passes' caches may hold at once (24 guests' passes take a few dozen each). */
const SERVER_CACHED_HANDLES = 4096;

/** A pass's root, opened once, and its cached directories. */
interface PassHandles {
  walkRoot: string;
  root: number;
  cache: DirCache<number>;
}

const passes = new Map<number, PassHandles>();
/** Passes the CLI said have ended: a stray request of one walks on its own, nothing is kept for it. */
const ended = new Set<number>();
const budget = new HandleBudget(SERVER_CACHED_HANDLES);

// A short-lived process: TurboFan's compiles of its few hot functions cost more CPU than they save (measured 330 → 196 ms over
// 24 guests). Set here, not on the command line: a V8 that no longer knows the flag ignores it instead of refusing to start.
setFlagsFromString('--no-turbofan');

/** A test's stand-in for a hung mount (CTR_DOCTOR_TEST_HANG_PATH, set by tests only): a read of this guest path (a FIFO) blocks. */
const hangPath = process.env.CTR_DOCTOR_TEST_HANG_PATH;

/** The held root and cache of `request`'s pass (opened on its first request), or null: the request walks from `walkRoot` alone. */
function passOf(request: ServerRequest): PassHandles | null {
  const { pass, walkRoot } = request;
  if (pass === undefined || ended.has(pass)) return null;
  const known = passes.get(pass);
  if (known !== undefined) return known.walkRoot === walkRoot ? known : null;
  let root: number;
  try {
    root = fs.openSync(walkRoot, O_PATH | fs.constants.O_DIRECTORY);
  } catch {
    // The walk opens it again and says why it cannot.
    return null;
  }
  const handles: PassHandles = { walkRoot, root, cache: new DirCache(root, undefined, budget) };
  passes.set(pass, handles);
  return handles;
}

/** Closes what pass `id` held here. */
function endPass(id: number): void {
  ended.add(id);
  const handles = passes.get(id);
  if (handles === undefined) return;
  passes.delete(id);
  for (const fd of [...handles.cache.end(), handles.root]) {
    try {
      fs.closeSync(fd);
    } catch {
      // Only looked through.
    }
  }
}

/** The progress cell's descriptor (see {@link PROGRESS_CELL}), or null: then each request is answered on its own. */
const cellFd = ((): number | null => {
  const n = Number(process.env[PROGRESS_CELL]);
  return Number.isInteger(n) && n > 2 ? n : null;
})();
const cell = new Float64Array(PROGRESS_BYTES / 8);
const cellBytes = new Uint8Array(cell.buffer);

/** Writes the cell at offset 0 (a pwrite: no message, nothing wakes the CLI). */
function progress(id: number): void {
  encodeProgress(cell, id, monotonicMs());
  fs.writeSync(cellFd!, cellBytes, 0, PROGRESS_BYTES, 0);
}

function serve(request: ServerRequest): unknown {
  if (hangPath !== undefined && request.op.op === 'read' && request.op.guestPath === hangPath)
    // Blocks until a writer comes (none will): the request never answers, as on a hung mount.
    fs.openSync(`${request.walkRoot}${hangPath}`, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  const pass = passOf(request);
  return runStepsSync(fileOpSteps<number>(request.op, request.walkRoot, request.shownRoot, pass?.root, pass?.cache), fs);
}

/** Answers `batch`: in one message when the CLI can see the progress (the cell), else each request as soon as it is made. */
function serveBatch(batch: ServerRequest[]): void {
  if (batch.length === 0) return;
  if (cellFd === null) {
    for (const request of batch) reply({ first: request.id, answers: [serve(request)] });
    return;
  }
  const answers: unknown[] = [];
  for (const request of batch) {
    progress(request.id);
    answers.push(serve(request));
  }
  progress(-batch[batch.length - 1]!.id);
  reply({ first: batch[0]!.id, answers });
}

function reply(message: ServerReply): void {
  process.send!(message);
}

if (process.send) {
  process.on('message', (message: ServerMessage) => {
    if (Array.isArray(message)) serveBatch(message);
    else endPass(message.endPass);
  });
  // The CLI is gone (or has let us go): nothing more will be asked.
  process.on('disconnect', () => process.exit(0));
  // Deadlines run from here: a slow start-up is not a hung request.
  reply({ ready: true });
}
