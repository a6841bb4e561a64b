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

// Plain CommonJS for an eval'd worker: nothing to resolve, nothing to bundle.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
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
const listed = Array.from({ length: n }, (_, i) => out[i * 3]);
parentPort.postMessage({ rows: out }, [out.buffer]);
// The owners come second: opening a target waits for the rows only.
const owners = new Float64Array(n);
for (let i = 0; i < n; i++) owners[i] = fs.statSync('/proc/' + listed[i], { throwIfNoEntry: false })?.uid ?? -1;
parentPort.postMessage({ owners }, [owners.buffer]);
`;

type Slot = { [SLOT]?: { rows: Promise<ScanRows | null>; owners: Promise<ScanOwners | null> } };

/** Starts the scan on a worker thread (once); failures resolve to null, and the scan is then made inline. */
export function startProcessScan(): void {
  const slot = globalThis as Slot;
  if (slot[SLOT]) return;
  let gotRows: (rows: ScanRows | null) => void = () => undefined;
  let gotOwners: (owners: ScanOwners | null) => void = () => undefined;
  const scan = {
    rows: new Promise<ScanRows | null>((resolve) => {
      gotRows = resolve;
    }),
    owners: new Promise<ScanOwners | null>((resolve) => {
      gotOwners = resolve;
    }),
  };
  slot[SLOT] = scan;
  const failed = (): void => {
    gotRows(null);
    gotOwners(null);
  };
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true });
  } catch {
    failed();
    return;
  }
  worker.unref();
  worker.on('message', (message: { rows?: ScanRows; owners?: ScanOwners }) => {
    if (message.rows) gotRows(message.rows);
    if (message.owners) gotOwners(message.owners);
  });
  worker.once('error', failed);
  worker.once('exit', failed);
}

/**
 * The scan started by {@link startProcessScan}, taken once (a later scan in the same run must be
 * fresh): its rows, and the owners that follow them; null when none was started.
 */
export function takeProcessScan(): { rows: Promise<ScanRows | null>; owners: Promise<ScanOwners | null> } | null {
  const slot = globalThis as Slot;
  const scan = slot[SLOT] ?? null;
  if (scan) slot[SLOT] = { rows: Promise.resolve(null), owners: Promise.resolve(null) };
  return scan;
}
