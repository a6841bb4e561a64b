/**
 * The guest-files server's progress cell: a few bytes of an unnamed file shared by the CLI and the
 * server (guest-files-server.ts), so that the CLI learns which request of a batch the server is on,
 * and since when, by reading it when a deadline fires: no message, no wake-up of the CLI per request.
 */

/**
 * The environment variable that names the server's progress cell: a descriptor of an unnamed file
 * the CLI reads when a request is late, without being woken by it. Before each request the server
 * writes the request's id and when it started on it; after a batch, the negated id of its last
 * request and when it ended it (its answers are then on their way). See {@link encodeProgress}.
 */
export const PROGRESS_CELL = 'CTR_DOCTOR_FILES_CELL';

/** The cell's size: id, time (ms of CLOCK_MONOTONIC, the same for every process), id again (a torn read has two ids). */
export const PROGRESS_BYTES = 24;

/** The cell's content: `id` (> 0: working on it since `at`; < 0: the batch ending with -id was done at `at`). */
export function encodeProgress(into: Float64Array, id: number, at: number): void {
  into[0] = id;
  into[1] = at;
  into[2] = id;
}

/** Now, in ms of CLOCK_MONOTONIC: comparable between processes (performance.now() is not: its origin is each process's start). */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1000 + ns / 1e6;
}

/** A read of the cell: what it holds, `torn` (read while the server wrote it), or null (never written, or not readable). */
export type Progress = { id: number; at: number } | 'torn' | null;

/** Decodes a read of the cell (see {@link encodeProgress}). */
export function decodeProgress(cell: Float64Array): Progress {
  const [id = 0, at = 0, check = 0] = cell;
  if (id !== check) return 'torn';
  return id === 0 ? null : { id, at };
}

/** What a fired deadline calls for: wait `wait` ms more, request `hung` (an index into the unanswered) hung, or `resend` them all. */
export type LateVerdict = { wait: number } | { hung: number } | { resend: true };

/**
 * The client's decision when the deadline of a server's batch fires (all times in {@link monotonicMs}).
 * `ids`: the server's unanswered requests, oldest first; `since`: the earliest the server can have
 * begun the first (when it was sent, or when the answer before it came); `cell`: the progress read
 * now (always null when the server answers each request on its own). A request may take `limit` ms
 * from when the server began it: the one in the cell, from its own start (so a long batch of fast
 * requests never trips it); the first, from `since` when the cell shows none of them (not begun
 * yet, or no cell). A cell saying the batch is done means its answers are on the way: they get
 * `limit` ms from its end, after which they are asked again elsewhere (none is lost: none hung).
 */
export function judgeLate(ids: readonly number[], since: number, cell: Progress, now: number, limit: number): LateVerdict {
  if (cell === 'torn') return { wait: 1 };
  const due = (from: number): LateVerdict | null => (now < from + limit ? { wait: from + limit - now } : null);
  if (cell !== null && cell.id > 0) {
    const k = ids.indexOf(cell.id);
    if (k >= 0) return due(cell.at) ?? { hung: k };
  }
  if (cell !== null && cell.id < 0 && ids.includes(-cell.id)) return due(cell.at) ?? { resend: true };
  return due(since) ?? { hung: 0 };
}

/**
 * How many of a server's unanswered requests (`ids`, oldest first) it had made when the cell was
 * read (their answers were not sent yet): those before the one it is on, all of them when it
 * says their batch is done, none when it shows none of them (or there is no cell).
 */
export function doneBefore(ids: readonly number[], cell: Progress): number {
  if (cell === null || cell === 'torn') return 0;
  if (cell.id < 0) return ids.indexOf(-cell.id) + 1;
  return Math.max(0, ids.indexOf(cell.id));
}
