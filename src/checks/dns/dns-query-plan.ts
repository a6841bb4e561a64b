import type { ResolvOptions } from '../../parse/resolv-conf.js';

/** glibc's defaults when resolv.conf sets nothing: RES_TIMEOUT 5 s, RES_DFLRETRY 2. */
export const GLIBC_TIMEOUT_S = 5;
export const GLIBC_ATTEMPTS = 2;

/** Starting a probe child (nsenter, node, imports) costs this much before its first packet. */
export const PROBE_STARTUP_MS = 450;
/** Below this an attempt says more about our scheduling than about the server. */
const MIN_ATTEMPT_MS = 150;

/** How long each attempt may wait, and how many there are, so all of them fit the budget. */
export interface QueryPlan {
  attemptMs: number;
  attempts: number;
  /** What resolv.conf asked for, for evidence. */
  wanted: { timeoutMs: number; attempts: number };
}

/**
 * Honours resolv.conf `timeout:` and `attempts:`, but only up to `budgetMs` (the time left for
 * queries once the probe child has started): attempts are shortened, then dropped, to fit.
 */
export function planQueries(options: Pick<ResolvOptions, 'timeout' | 'attempts'>, budgetMs: number): QueryPlan {
  const wanted = { timeoutMs: (options.timeout ?? GLIBC_TIMEOUT_S) * 1000, attempts: Math.max(1, options.attempts ?? GLIBC_ATTEMPTS) };
  // glibc treats `timeout:0` as 1 second.
  if (wanted.timeoutMs <= 0) wanted.timeoutMs = 1000;
  const budget = Math.max(MIN_ATTEMPT_MS, Math.floor(budgetMs));
  let attempts = wanted.attempts;
  if (budget / attempts < MIN_ATTEMPT_MS) attempts = Math.max(1, Math.floor(budget / MIN_ATTEMPT_MS));
  const attemptMs = Math.min(wanted.timeoutMs, Math.floor(budget / attempts));
  return { attemptMs, attempts, wanted };
}

/** The query budget left of a check's whole limit once probe start-up and a margin are kept back. */
export function queryBudget(timeoutMs: number): number {
  return Math.max(MIN_ATTEMPT_MS, timeoutMs - Math.min(PROBE_STARTUP_MS, timeoutMs * 0.35) - 150);
}

/** Resolves with `fallback()` when `promise` has not settled by `deadline` (a performance.now() time). */
export function settleBy<T>(promise: Promise<T>, deadline: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(
      () => {
        resolve(fallback());
      },
      Math.max(0, deadline - performance.now()),
    );
  });
  return Promise.race([promise, late]).finally(() => {
    clearTimeout(timer);
  });
}

/** The probe overran its limit and probe-client gave up on it: a timeout, not a broken probe. */
export function isProbeTimeout(error: unknown): boolean {
  return error instanceof Error && /^probe timed out after/.test(error.message);
}
