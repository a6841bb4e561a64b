import type { Status } from './types.js';

/** Exit codes of the contract. */
export const EXIT = { ok: 0, problems: 1, usage: 2, couldNotRun: 3 } as const;

/** Counts statuses. */
export function summarize(statuses: Status[]): Record<Status, number> {
  const summary: Record<Status, number> = { pass: 0, warn: 0, fail: 0, skip: 0, error: 0 };
  for (const s of statuses) summary[s] += 1;
  return summary;
}

/** 0 clean; 1 a fail (or a warn under --strict); 3 no fail but a check could not run. */
export function exitCodeFor(summary: Record<Status, number>, strict: boolean): number {
  if (summary.fail > 0 || (strict && summary.warn > 0)) return EXIT.problems;
  if (summary.error > 0) return EXIT.couldNotRun;
  return EXIT.ok;
}

/** The exit code of several runs: any problem wins over "could not run", which wins over clean. */
export function combineExitCodes(codes: number[]): number {
  if (codes.includes(EXIT.problems)) return EXIT.problems;
  if (codes.includes(EXIT.couldNotRun)) return EXIT.couldNotRun;
  return EXIT.ok;
}
