import type { Check, CheckContext } from './check.js';
import type { CheckOutcome, CheckResult } from './types.js';
import { killLiveChildren } from './live-children.js';
import { timing } from './timing.js';
import { scanBusyMs } from './scan-clock.js';

/** Lifecycle events a reporter may listen to. Reporters never probe. */
export interface RunEvents {
  checkStart?(check: Check): void;
  checkEnd?(result: CheckResult): void;
}

/** Turns anything thrown into one line, naming missing privilege plainly. */
export function describeCrash(error: unknown, isRoot: boolean): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n')[0] ?? 'unknown error';
  if (!isRoot && (code === 'EACCES' || code === 'EPERM' || /permission denied|operation not permitted/i.test(firstLine))) {
    return `needs root: run with sudo (${firstLine})`;
  }
  return firstLine;
}

const STATUSES: ReadonlySet<unknown> = new Set(['pass', 'warn', 'fail', 'skip', 'error']);

/**
 * Control characters written as visible escapes: a summary stays one line, and a hostile
 * guest's file name (a newline, an ESC sequence) cannot forge lines or drive the terminal.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => {
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    if (ch === '\r') return '\\r';
    return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** Whether `value` has the shape of an outcome (a plugin may resolve to anything: only a real outcome is passed on). */
function isOutcome(value: unknown): value is CheckOutcome {
  const maybe = value as Partial<CheckOutcome> | null;
  return (
    maybe !== null &&
    typeof maybe === 'object' &&
    STATUSES.has(maybe.status) &&
    typeof maybe.summary === 'string' &&
    Array.isArray(maybe.findings) &&
    Array.isArray(maybe.fixes)
  );
}

function errorOutcome(summary: string): CheckOutcome {
  return { status: 'error', summary, findings: [], fixes: [] };
}

/** Runs one check, bounded by `timeoutMs`; a crash or a timeout becomes status `error`. */
export async function runOneCheck(check: Check, ctx: CheckContext, timeoutMs: number, isRoot: boolean): Promise<CheckResult> {
  const started = performance.now();
  let outcome: unknown;
  let applies: true | string;
  try {
    applies = check.appliesTo(ctx);
  } catch (error) {
    applies = `could not tell whether it applies: ${describeCrash(error, isRoot)}`;
  }
  if (applies !== true) {
    outcome = { status: 'skip', summary: applies, findings: [], fixes: [] };
  } else {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckOutcome>((resolve) => {
      // Shared host scans (the process table…) are the run's work, not this check's: their time is added back.
      const scanAtStart = scanBusyMs();
      const expire = (allowed: number): void => {
        timer = setTimeout(
          () => {
            const extra = scanBusyMs() - scanAtStart - (allowed - timeoutMs);
            if (extra >= 1) {
              expire(allowed + extra);
              return;
            }
            // What a timed-out check started is killed once every check has an outcome (killLiveChildren).
            resolve(errorOutcome(`timed out after ${timeoutMs} ms`));
          },
          allowed === timeoutMs ? timeoutMs : allowed - (performance.now() - started),
        );
      };
      expire(timeoutMs);
    });
    try {
      outcome = await Promise.race([check.run(ctx), timeout]);
    } catch (error) {
      outcome = errorOutcome(describeCrash(error, isRoot));
    } finally {
      clearTimeout(timer);
    }
  }
  const shaped = isOutcome(outcome) ? outcome : errorOutcome('the check returned no valid outcome (status, summary, findings, fixes)');
  // One object, in the order the report has always had: the check's names, the outcome's own fields, the duration.
  return {
    id: check.id,
    group: check.group,
    title: check.title,
    ...shaped,
    summary: printable(shaped.summary),
    findings: shaped.findings.map((f) => ({ ...f, message: printable(f.message) })),
    durationMs: Math.round(performance.now() - started),
  };
}

/** Starts the probe children the applicable checks declare, before any check waits on one. */
function warmProbes(checks: Check[], ctx: CheckContext): void {
  if (!ctx.target.warmProbes) return;
  const applicable = checks.filter((c) => {
    try {
      return c.appliesTo(ctx) === true;
    } catch {
      return false;
    }
  });
  const who = new Set(applicable.flatMap((c) => c.probes ?? []));
  if (who.size > 0) ctx.target.warmProbes({ root: who.has('root'), user: who.has('user') });
}

/** Runs every check concurrently; results keep the registry's order. */
export async function runChecks(
  checks: Check[],
  ctx: CheckContext,
  opts: { timeoutMs: number; isRoot: boolean; events?: RunEvents },
): Promise<CheckResult[]> {
  warmProbes(checks, ctx);
  const results = await Promise.all(
    checks.map(async (check) => {
      opts.events?.checkStart?.(check);
      const result = await runOneCheck(check, ctx, opts.timeoutMs, opts.isRoot);
      opts.events?.checkEnd?.(result);
      timing(`${check.id} ${result.status} after ${result.durationMs} ms`);
      return result;
    }),
  );
  // Every check has an outcome now: a command or probe of this run still running belongs to one that timed out.
  killLiveChildren(ctx.target.childScope ?? null);
  return results;
}

/** Keeps the checks named by `--only` and drops those named by `--skip` (ids or groups). */
export function selectChecks(checks: Check[], only: string[], skip: string[]): { selected: Check[]; unknown: string[] } {
  const known = new Set(checks.flatMap((c) => [c.id, c.group]));
  const unknown = [...only, ...skip].filter((name) => !known.has(name));
  const matches = (c: Check, names: string[]) => names.includes(c.id) || names.includes(c.group);
  const selected = checks.filter((c) => (only.length === 0 || matches(c, only)) && !matches(c, skip));
  return { selected, unknown };
}
