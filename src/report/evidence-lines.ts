import type { CheckResult } from '../core/types.js';

/** Longest evidence value shown inline; longer ones are for --verbose and the JSON report. */
const MAX_VALUE = 160;

function scalarText(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' || typeof v === 'number'))
    return value.join(', ');
  return null;
}

/**
 * The lines under a problem's summary that prove it: the other findings' messages (problems
 * first, then observations), then captured text in the evidence (a program's own error, the
 * command run) that the summary does not already say. Two lines, or everything with `verbose`.
 */
export function evidenceLines(result: CheckResult, verbose: boolean): string[] {
  const lines: string[] = [];
  const said = new Set([result.summary]);
  const ordered = [...result.findings].sort((a, b) => rank(a.severity) - rank(b.severity));
  for (const f of ordered) {
    if (said.has(f.message)) continue;
    said.add(f.message);
    lines.push(f.message);
  }
  const main = ordered[0];
  if (main) {
    for (const [key, value] of Object.entries(main.evidence)) {
      const text = scalarText(value);
      if (text === null || (!verbose && text.length > MAX_VALUE)) continue;
      // Without --verbose only captured text proves a point (a program's error, a command line); bare ids and numbers do not.
      if (!verbose && !/\S\s+\S/.test(text)) continue;
      if ([...said].some((s) => s.includes(text))) continue;
      lines.push(`${key}: ${text}`);
    }
  }
  return verbose ? lines : lines.slice(0, 2);
}

function rank(severity: string): number {
  return severity === 'fail' ? 0 : severity === 'warn' ? 1 : 2;
}
