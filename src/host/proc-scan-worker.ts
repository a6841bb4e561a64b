import { Worker } from 'node:worker_threads';
import { statRoots } from './root-stat-scan.js';

/**
 * The host scan (a stat of /proc/PID/root for every process), started by the bin before the CLI's
 * modules load: by the host's `stat` programs as root (root-stat-scan.ts), else on a worker thread;
 * on a busy host it is done, on the other core, by the time a target is opened. The result is handed
 * over through a process-wide slot, since the bin and the CLI are bundled apart.
 */
const SLOT = Symbol.for('ctr-doctor.process-scan');

/** Rows of the scan, three numbers a process: pid, the root's dev and ino (NaN when unreadable). */
export type ScanRows = Float64Array;
/** The owners of /proc/PID (their euids), in the order of the rows: sent after them (-1: gone). */
export type ScanOwners = Float64Array;
/** /proc/PID/stat of the processes asked about, in their order; null for one that is gone. */
export type ScanStats = (string | null)[];

/** How long the host-scan thread waits, idle, for another scan of the run before it is ended (a later one starts a fresh thread). */
const IDLE_MS = 250;

// Plain CommonJS for an eval'd worker: nothing to resolve, nothing to bundle. After the process scan
// (workerData.scan) it stays, idle, for later scans of the run (runOnScanThread): a second thread would
// cost another ~45 ms of start-up and ~10 MB.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const statLine = (pid) => { try { return fs.readFileSync('/proc/' + pid + '/stat', 'utf8').slice(0, 4096); } catch { return null; } };
parentPort.on('message', (m) => answer(m));
function answer(m) {
  if (m && m.kind === 'ask') {
    // /proc/PID/stat (comm, ppid…) of the processes the main thread picked (not run by root, or rooted elsewhere).
    parentPort.postMessage({ answer: m.id, value: m.pids.map(statLine) });
    return;
  }
  // The rows came from elsewhere (the bin's stat programs): the owners of those pids, in their order.
  if (m && m.kind === 'owners') return sendOwners(m.pids);
  // They could not: the whole scan here after all.
  if (m && m.kind === 'scan') return scanAll();
  if (!m || m.kind !== 'run') return;
  try {
    // Our own function's source (runOnScanThread), never data from a guest.
    const run = (0, eval)('(' + m.source + ')');
    run(m.input, fs, (out) => parentPort.postMessage({ id: m.id, out }));
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
}
// The process scan: every process's root (rows), then the owners of /proc/PID in the same order.
function scanAll() {
  const pids = fs.readdirSync('/proc').filter((e) => /^\\d+$/.test(e));
  const rows = new Float64Array(pids.length * 3);
  let n = 0;
  for (const p of pids) {
    let s = null;
    try { s = fs.statSync('/proc/' + p + '/root'); } catch {}
    // Unreadable: a process that vanished since readdir has no /proc entry any more.
    if (!s && !fs.existsSync('/proc/' + p)) continue;
    rows[n * 3] = Number(p);
    rows[n * 3 + 1] = s ? s.dev : NaN;
    rows[n * 3 + 2] = s ? s.ino : NaN;
    n++;
  }
  const out = rows.slice(0, n * 3);
  const listed = out.filter((_, i) => i % 3 === 0);
  parentPort.postMessage({ rows: out }, [out.buffer]);
  // The owners come second: opening a target waits for the rows only. (Read on the main thread while it
  // waits for the rows, they cost the rows more than they save: the two threads share the machine's cores.)
  sendOwners(listed);
}
function sendOwners(pids) {
  const owners = new Float64Array(pids.length);
  for (let i = 0; i < pids.length; i++) owners[i] = fs.statSync('/proc/' + pids[i], { throwIfNoEntry: false })?.uid ?? -1;
  parentPort.postMessage({ owners }, [owners.buffer]);
}
if (workerData && workerData.scan) scanAll();
`;

/** The host-scan thread of this process, shared by the bin and the CLI (bundled apart) through a process-wide slot. */
const THREAD = Symbol.for('ctr-doctor.scan-thread');
type ThreadSlot = { [THREAD]?: Worker | null };

/**
 * The thread keeps the process alive only while a request to it is pending: an idle one never holds
 * the exit (a `message` listener on a Worker refs it again, so every listener change ends in `unref`).
 */
const pending = new WeakMap<Worker, number>();
const idleTimers = new WeakMap<Worker, NodeJS.Timeout>();
function hold(worker: Worker, by: 1 | -1): void {
  const n = Math.max(0, (pending.get(worker) ?? 0) + by);
  pending.set(worker, n);
  clearTimeout(idleTimers.get(worker));
  if (n > 0) worker.ref();
  else idle(worker);
}

/** Keeps the host-scan thread (and so the process) alive until `answer` settles: someone awaits a message from it. */
export function awaitingScanThread(answer: Promise<unknown>): void {
  const worker = (globalThis as ThreadSlot)[THREAD];
  if (!worker) return;
  hold(worker, 1);
  void answer.finally(() => hold(worker, -1));
}

/**
 * An idle thread is ended after {@link IDLE_MS} (its heap is some 10 MB of a run's peak RSS): by this
 * thread, which first forgets it, so that no request can go to a thread on its way out.
 */
function idle(worker: Worker): void {
  worker.unref();
  clearTimeout(idleTimers.get(worker));
  const timer = setTimeout(() => {
    if ((pending.get(worker) ?? 0) > 0) return;
    const slot = globalThis as ThreadSlot;
    if (slot[THREAD] === worker) slot[THREAD] = null;
    void worker.terminate();
  }, IDLE_MS);
  timer.unref();
  idleTimers.set(worker, timer);
}

/** Starts a host-scan thread; null when threads cannot be made. */
function newScanThread(scan: boolean): Worker | null {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { scan } });
  } catch {
    return null;
  }
  worker.unref();
  const slot = globalThis as ThreadSlot;
  const forget = (): void => {
    if (slot[THREAD] === worker) slot[THREAD] = null;
  };
  worker.once('error', forget);
  worker.once('exit', forget);
  slot[THREAD] = worker;
  return worker;
}

let nextAskId = 1;

/**
 * Asks the host-scan thread for /proc/PID/stat of `pids` (read off this thread: their comm, ppid…).
 * Null when that thread is gone (then read them here).
 */
export function askStatLines(pids: readonly number[]): Promise<ScanStats | null> {
  const worker = (globalThis as ThreadSlot)[THREAD];
  if (!worker) return Promise.resolve(null);
  const id = nextAskId++;
  return new Promise((resolve) => {
    const listen = (message: { answer?: number; value?: ScanStats }): void => {
      if (message.answer === id) done(message.value ?? null);
    };
    const done = (value: ScanStats | null): void => {
      worker.off('message', listen);
      worker.off('exit', gone);
      hold(worker, -1);
      resolve(value);
    };
    const gone = (): void => done(null);
    worker.on('message', listen);
    worker.once('exit', gone);
    hold(worker, 1);
    worker.postMessage({ kind: 'ask', id, pids: [...pids] });
  });
}

let nextRunId = 1;

/**
 * Runs `fn` (a self-contained function: only its source travels) on the host-scan thread with
 * `input`, off the main thread; its messages go to `onMessage` until that returns true. Returns a
 * handle whose `abandon()` stops listening and leaves that thread to itself (stuck in a read: later
 * runs start a fresh one), or null when no thread can be had (then run it inline).
 */
export function runOnScanThread<I, M>(
  fn: (input: I, fs: typeof import('node:fs'), emit: (m: M) => void) => void,
  input: I,
  onMessage: (m: M) => boolean,
  onError: (message: string) => void,
): { abandon(): void } | null {
  const slot = globalThis as ThreadSlot;
  const worker = slot[THREAD] ?? newScanThread(false);
  if (!worker) return null;
  const id = nextRunId++;
  const listen = (message: { id?: number; out?: M; error?: string }): void => {
    if (message.id !== id) return;
    if (message.error !== undefined) {
      stop();
      onError(message.error);
    } else if (onMessage(message.out as M)) stop();
  };
  const died = (): void => {
    stop();
    onError('the host-scan thread ended');
  };
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    worker.off('message', listen);
    worker.off('exit', died);
    hold(worker, -1);
  };
  worker.on('message', listen);
  worker.once('exit', died);
  hold(worker, 1);
  worker.postMessage({ kind: 'run', id, source: fn.toString(), input });
  return {
    abandon: () => {
      stop();
      if (slot[THREAD] === worker) slot[THREAD] = null;
    },
  };
}

/** What the scan thread sends, each in a message of its own: the rows, then the owners. */
interface ProcessScan {
  rows: Promise<ScanRows | null>;
  owners: Promise<ScanOwners | null>;
}
type Slot = { [SLOT]?: ProcessScan };

/**
 * Starts the scan (once): the roots by the host's `stat` programs when we are root (root-stat-scan.ts),
 * else on the host-scan thread, which also reads the owners after them and stays for later scans.
 * Failures resolve to null, and the scan is then made inline. `programs`: for tests, other programs than sh and stat.
 */
export function startProcessScan(programs?: Parameters<typeof statRoots>[0]): void {
  const slot = globalThis as Slot;
  if (slot[SLOT]) return;
  let gotRows: (rows: ScanRows | null) => void = () => undefined;
  let gotOwners: (owners: ScanOwners | null) => void = () => undefined;

  const scan: ProcessScan = {
    rows: new Promise<ScanRows | null>((resolve) => {
      gotRows = resolve;
    }),
    owners: new Promise<ScanOwners | null>((resolve) => {
      gotOwners = resolve;
    }),
  };
  slot[SLOT] = scan;
  const byPrograms = process.geteuid?.() === 0 ? statRoots(programs) : null;
  const worker = newScanThread(byPrograms === null);
  if (!worker) {
    // No thread: the programs' rows if any, and the owners read when asked for.
    void (byPrograms ?? Promise.resolve(null)).then(gotRows);
    gotOwners(null);
    return;
  }
  const failed = (): void => {
    gotRows(null);
    gotOwners(null);
  };
  worker.on('message', (message: { rows?: ScanRows; owners?: ScanOwners }) => {
    if (message.rows) gotRows(message.rows);
    if (message.owners) {
      gotOwners(message.owners);
      // The scan is done: from now on the thread only waits for other scans' requests.
      idle(worker);
    }
  });
  worker.unref();
  worker.once('error', failed);
  worker.once('exit', failed);
  void byPrograms?.then((rows) => {
    if (rows === null) {
      // The programs could not say: the thread makes the whole scan after all.
      worker.postMessage({ kind: 'scan' });
      return;
    }
    gotRows(rows);
    worker.postMessage({ kind: 'owners', pids: rows.filter((_, i) => i % 3 === 0) });
  });
}

/**
 * The scan started by {@link startProcessScan}, taken once (a later scan in the same run must be
 * fresh): its rows, and the owners that follow them; null when none was started.
 */
export function takeProcessScan(): ProcessScan | null {
  const slot = globalThis as Slot;
  const scan = slot[SLOT] ?? null;
  if (scan) slot[SLOT] = { rows: Promise.resolve(null), owners: Promise.resolve(null) };
  return scan;
}
