import { Worker } from 'node:worker_threads';

/**
 * The host scan (a stat of /proc/PID/root for every process) run on a worker thread, started by
 * the bin before the CLI's modules load: on a busy host it is done, on the other core, by the
 * time a target is opened. The result is handed over through a process-wide slot, since the bin
 * and the CLI are bundled apart.
 */
const SLOT = Symbol.for('ctr-doctor.process-scan');

/** Rows of the scan, three numbers a process: pid, the root's dev and ino (NaN when unreadable). */
export type ScanRows = Float64Array;
/** The owners of /proc/PID (their euids), in the order of the rows: sent after them (-1: gone). */
export type ScanOwners = Float64Array;
/** /proc/PID/stat of the processes not run by root or rooted elsewhere (null for the others), sent with the owners. */
export type ScanStats = (string | null)[];
/** The inode of each process's mount namespace (`mnt:[N]`; NaN: unreadable), in the order of the rows: sent when asked for ({@link askProcessMntns}). */
export type ScanMntns = Float64Array;

// Plain CommonJS for an eval'd worker: nothing to resolve, nothing to bundle. After the process scan
// (workerData.scan) it stays, idle, for later scans of the run (runOnScanThread): a second thread would
// cost another ~45 ms of start-up and ~10 MB.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
let listed = null;
parentPort.on('message', (m) => {
  if (m && m.kind === 'mntns') {
    // Asked for only by a scan that filters by mount namespace (the holder scan): the link of each listed process.
    const mntns = new Float64Array(listed ? listed.length : 0).fill(NaN);
    for (let i = 0; i < mntns.length; i++) {
      // The link reads mnt:[INODE].
      try { const l = fs.readlinkSync('/proc/' + listed[i] + '/ns/mnt'); if (l.startsWith('mnt:[')) mntns[i] = Number(l.slice(5, -1)); } catch {}
    }
    parentPort.postMessage({ mntns }, [mntns.buffer]);
    return;
  }
  if (!m || m.kind !== 'run') return;
  try {
    // Our own function's source (runOnScanThread), never data from a guest.
    const run = (0, eval)('(' + m.source + ')');
    run(m.input, fs, (out) => parentPort.postMessage({ id: m.id, out }));
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
if (workerData && workerData.scan) {
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
  listed = Array.from({ length: n }, (_, i) => out[i * 3]);
  parentPort.postMessage({ rows: out }, [out.buffer]);
  // The owners come second (opening a target waits for the rows only); the mount namespaces when asked for.
  // With the owners, /proc/PID/stat (comm, ppid…) of the candidates of the host's other scans only:
  // processes not run by root (systemd-resolved drops root) and those rooted elsewhere (machine leaders).
  const self = fs.statSync('/');
  const owners = new Float64Array(n);
  const stats = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    owners[i] = fs.statSync('/proc/' + listed[i], { throwIfNoEntry: false })?.uid ?? -1;
    const elsewhere = rows[i * 3 + 1] !== self.dev || rows[i * 3 + 2] !== self.ino;
    if (owners[i] !== 0 || elsewhere) try { stats[i] = fs.readFileSync('/proc/' + listed[i] + '/stat', 'utf8').slice(0, 4096); } catch {}
  }
  parentPort.postMessage({ owners, stats }, [owners.buffer]);
}
`;

/** The host-scan thread of this process, shared by the bin and the CLI (bundled apart) through a process-wide slot. */
const THREAD = Symbol.for('ctr-doctor.scan-thread');
type ThreadSlot = { [THREAD]?: Worker | null };

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

let mntnsAsked = false;

/** Asks the process scan's thread for the mount namespaces of the processes it listed (once; they arrive as its `mntns`). */
export function askProcessMntns(): void {
  const worker = (globalThis as ThreadSlot)[THREAD];
  if (mntnsAsked || !worker) return;
  mntnsAsked = true;
  worker.postMessage({ kind: 'mntns' });
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
  const stop = (): void => {
    worker.off('message', listen);
    worker.off('exit', died);
  };
  worker.on('message', listen);
  worker.once('exit', died);
  worker.postMessage({ kind: 'run', id, source: fn.toString(), input });
  return {
    abandon: () => {
      stop();
      if (slot[THREAD] === worker) slot[THREAD] = null;
    },
  };
}

/** What the scan thread sends, each in a message of its own. */
interface ProcessScan {
  rows: Promise<ScanRows | null>;
  owners: Promise<ScanOwners | null>;
  stats: Promise<ScanStats | null>;
  mntns: Promise<ScanMntns | null>;
}
type Slot = { [SLOT]?: ProcessScan };

/** Starts the scan on a worker thread (once); failures resolve to null, and the scan is then made inline. */
export function startProcessScan(): void {
  const slot = globalThis as Slot;
  if (slot[SLOT]) return;
  let gotRows: (rows: ScanRows | null) => void = () => undefined;
  let gotOwners: (owners: ScanOwners | null) => void = () => undefined;
  let gotMntns: (mntns: ScanMntns | null) => void = () => undefined;
  let gotStats: (stats: ScanStats | null) => void = () => undefined;
  const scan: ProcessScan = {
    rows: new Promise<ScanRows | null>((resolve) => {
      gotRows = resolve;
    }),
    owners: new Promise<ScanOwners | null>((resolve) => {
      gotOwners = resolve;
    }),
    stats: new Promise<ScanStats | null>((resolve) => {
      gotStats = resolve;
    }),
    mntns: new Promise<ScanMntns | null>((resolve) => {
      gotMntns = resolve;
    }),
  };
  slot[SLOT] = scan;
  const failed = (): void => {
    gotRows(null);
    gotOwners(null);
    gotStats(null);
    gotMntns(null);
  };
  const worker = newScanThread(true);
  if (!worker) {
    failed();
    return;
  }
  worker.on('message', (message: { rows?: ScanRows; owners?: ScanOwners; stats?: ScanStats; mntns?: ScanMntns }) => {
    if (message.rows) gotRows(message.rows);
    if (message.owners) gotOwners(message.owners);
    if (message.stats) gotStats(message.stats);
    if (message.mntns) gotMntns(message.mntns);
  });
  worker.once('error', failed);
  worker.once('exit', failed);
}

/**
 * The scan started by {@link startProcessScan}, taken once (a later scan in the same run must be
 * fresh): its rows, and the owners and mount namespaces that follow them; null when none was started.
 */
export function takeProcessScan(): ProcessScan | null {
  const slot = globalThis as Slot;
  const scan = slot[SLOT] ?? null;
  if (scan)
    slot[SLOT] = { rows: Promise.resolve(null), owners: Promise.resolve(null), stats: Promise.resolve(null), mntns: Promise.resolve(null) };
  return scan;
}
