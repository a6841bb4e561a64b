/**
 * Time spent in shared host scans (the process table, open files, machined): work done once per
 * run for every check, so it is not charged to the check that happened to ask first. The runner
 * extends a check's --timeout by the scan time that passed while the check ran.
 */
let active = 0;
let since = 0;
let total = 0;

/** Marks a host scan as running until the returned function is called. */
export function beginScan(): () => void {
  if (active++ === 0) since = performance.now();
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--active === 0) total += performance.now() - since;
  };
}

/** Milliseconds during which at least one host scan ran, since the process started. */
export function scanBusyMs(): number {
  return total + (active > 0 ? performance.now() - since : 0);
}

/** Runs `work` as a host scan. */
export async function asScan<T>(work: () => Promise<T>): Promise<T> {
  const end = beginScan();
  try {
    return await work();
  } finally {
    end();
  }
}

/** One shared host scan of a run, as the report's optional `hostScans` shows it. */
export interface HostScanRecord {
  /** `processes`, `mount holders`, `nspawn machines`… */
  name: string;
  /** Wall time from its start to its answer. */
  durationMs: number;
  /** Its budget; null for a scan that has none of its own (it derives from another one). */
  budgetMs: number | null;
  /** False when it stopped at its budget or failed: the checks that used it said so. */
  complete: boolean;
  /** What it found or how far it got (`10004 processes`, `read 1800 of 10004 processes`). */
  detail: string;
}

/** Thrown by a host scan that ran out of its budget: the checks that needed it say so, word for word. */
export class HostScanIncomplete extends Error {
  constructor(
    readonly scan: string,
    readonly budgetMs: number,
    readonly detail: string,
  ) {
    super(
      `the host scan of ${scan} did not finish within its budget of ${budgetMs} ms (${detail}); raise it with CTR_DOCTOR_SCAN_BUDGET_MS`,
    );
    this.name = 'HostScanIncomplete';
  }
}
