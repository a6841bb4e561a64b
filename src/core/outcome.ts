import type { CheckOutcome, Finding, Fix, Severity, Status } from './types.js';

/** Builds a finding; `evidence` defaults to empty. */
export function finding(code: string, severity: Severity, message: string, evidence: Record<string, unknown> = {}): Finding {
  return { code, severity, message, evidence };
}

/** The status that findings add up to: any fail → fail, any warn → warn, else pass. */
export function statusOf(findings: Finding[]): Status {
  if (findings.some((f) => f.severity === 'fail')) return 'fail';
  if (findings.some((f) => f.severity === 'warn')) return 'warn';
  return 'pass';
}

/** An outcome whose status follows from its findings; the summary is the worst finding's message unless given. */
export function outcomeOf(findings: Finding[], fixes: Fix[] = [], summary?: string): CheckOutcome {
  const status = statusOf(findings);
  const worst = findings.find((f) => f.severity === 'fail') ?? findings.find((f) => f.severity === 'warn') ?? findings[0];
  return { status, summary: summary ?? worst?.message ?? 'ok', findings, fixes: status === 'pass' ? [] : fixes };
}

/** A skip with its reason, for checks that find mid-run they do not apply. */
export function skipped(reason: string): CheckOutcome {
  return { status: 'skip', summary: reason, findings: [], fixes: [] };
}

/** The check could not run (a missing privilege, a vanished target). Never used for "broken". */
export function couldNotRun(reason: string, evidence: Record<string, unknown> = {}): CheckOutcome {
  return { status: 'error', summary: reason, findings: [finding('check-could-not-run', 'info', reason, evidence)], fixes: [] };
}
