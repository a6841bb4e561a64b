import { Worker } from 'node:worker_threads';

/**
 * The host scan (a stat of /proc/PID/root for every process) run on a worker thread, started by
 * the bin before the CLI's modules load: on a busy host it is done, on the other core, by the
 * time a target is opened. The result is handed over through a process-wide slot, since the bin
 * and the CLI are bundled apart.
 */
const SLOT = Symbol.for('ctr-doctor.process-scan');

/** Rows of the scan, four numbers a process: pid, the root's dev and ino (NaN when unreadable), the owner of /proc/PID (its euid). */
export type ScanRows = Float64Array;

// Plain CommonJS for an eval'd worker: nothing to resolve, nothing to bundle.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const pids = fs.readdirSync('/proc').filter((e) => /^\\d+$/.test(e));
const rows = new Float64Array(pids.length * 4);
let n = 0;
for (const p of pids) {
  const dir = fs.statSync('/proc/' + p, { throwIfNoEntry: false });
  if (!dir) continue;
  let s = null;
  try { s = fs.statSync('/proc/' + p + '/root'); } catch {}
  rows[n * 4] = Number(p);
  rows[n * 4 + 1] = s ? s.dev : NaN;
  rows[n * 4 + 2] = s ? s.ino : NaN;
  rows[n * 4 + 3] = dir.uid;
  n++;
}
const out = rows.slice(0, n * 4);
parentPort.postMessage(out, [out.buffer]);
`;

type Slot = { [SLOT]?: Promise<ScanRows | null> };

/** Starts the scan on a worker thread (once); failures resolve to null, and the scan is then made inline. */
export function startProcessScan(): void {
  const slot = globalThis as Slot;
  if (slot[SLOT]) return;
  slot[SLOT] = new Promise<ScanRows | null>((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true });
    } catch {
      resolve(null);
      return;
    }
    worker.unref();
    worker.once('message', (rows: ScanRows) => resolve(rows));
    worker.once('error', () => resolve(null));
    worker.once('exit', () => resolve(null));
  });
}

/** The scan started by {@link startProcessScan}, taken once (a later scan in the same run must be fresh); null when none was started. */
export function takeProcessScan(): Promise<ScanRows | null> | null {
  const slot = globalThis as Slot;
  const scan = slot[SLOT] ?? null;
  if (scan) slot[SLOT] = Promise.resolve(null);
  return scan;
}
