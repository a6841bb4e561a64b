/**
 * Run the real CLI against a hostile or faulty guest and hold it to the robustness contract:
 * a schema-valid JSON report, an exit code from the contract, no stack trace, and a run
 * bounded by `--timeout` plus 0.5 s.
 *
 * Wall time is split with the report's own clock: `startupMs` (spawn → `startedAt`: Node
 * start-up, module loading, opening the target), `durationMs` (the checks), and `tailMs`
 * (the end of the checks → exit). `--timeout` bounds the last two: probes run concurrently and
 * nothing may keep the process alive after the report. Start-up is Node's own cost; on a
 * loaded 2-core machine it alone can take seconds, so it is measured and printed, not bounded.
 */
import { expect } from 'vitest';
import { runTool, validateReport, type ToolResult } from './tool.js';

/** The slack the contract allows on top of `--timeout`. */
export const BOUND_SLACK_MS = 500;

/** One result of a report, as far as these tests look at it. */
export interface ReportResult {
  id: string;
  status: 'pass' | 'warn' | 'fail' | 'skip' | 'error';
  summary: string;
  durationMs: number;
  findings: { code: string; severity: string; message: string; evidence: Record<string, unknown> }[];
}

/** A report, as far as these tests look at it. */
export interface Report {
  startedAt: string;
  durationMs: number;
  summary: Record<string, number>;
  results: ReportResult[];
}

/** What a bounded run gave. */
export interface BoundedRun {
  tool: ToolResult;
  report: Report;
  wallMs: number;
  startupMs: number;
  tailMs: number;
  /** The result of check `id`; fails the test when it is missing. */
  result(id: string): ReportResult;
}

/** A line of a JavaScript stack trace. */
const STACK_LINE = /^\s+at .+(\(|:\d+:\d+)/m;

/** The exit codes a diagnosis may end with (2 is for a target that cannot be opened). */
const DIAGNOSE_CODES = [0, 1, 3];

/**
 * `ctr-doctor TARGET --json --timeout T ...extra` in `netns`, checked against the contract.
 */
export async function boundedRun(
  target: string,
  extra: string[],
  opts: { netns: string; timeoutMs: number; env?: Record<string, string> },
): Promise<BoundedRun> {
  const t0 = Date.now();
  const tool = await runTool([target, '--json', '--timeout', String(opts.timeoutMs), ...extra], {
    netns: opts.netns,
    env: opts.env,
    timeoutMs: 30_000,
  });
  const t1 = Date.now();
  const wallMs = t1 - t0;
  const context = `exit ${tool.exitCode}, ${wallMs} ms\nstderr: ${tool.stderr}`;
  expect(tool.stderr, context).not.toMatch(STACK_LINE);
  expect(tool.stdout, context).not.toMatch(STACK_LINE);
  expect(DIAGNOSE_CODES, context).toContain(tool.exitCode);
  await validateReport(tool.json);
  const report = tool.json as Report;
  for (const r of report.results) {
    expect(r.summary.trim(), `${r.id} has an empty summary`).not.toBe('');
    expect(r.summary, `${r.id}'s summary is more than one line`).not.toContain('\n');
  }
  // The contract's exit code follows from the summary.
  const s = report.summary;
  const expected = (s.fail ?? 0) > 0 ? 1 : (s.error ?? 0) > 0 ? 3 : 0;
  expect(tool.exitCode, context).toBe(expected);
  const startupMs = Date.parse(report.startedAt) - t0;
  const tailMs = t1 - (Date.parse(report.startedAt) + report.durationMs);
  const timing = `start-up ${startupMs} ms, checks ${report.durationMs} ms, exit ${tailMs} ms after them; --timeout ${opts.timeoutMs}`;
  const slow = [...report.results].sort((a, b) => b.durationMs - a.durationMs)[0];
  const errors = report.results
    .filter((r) => r.status === 'error')
    .map((r) => `\n  error ${r.id}: ${r.summary}`)
    .join('');
  console.log(
    `[bounded-run] ${target} ${extra.join(' ')}: exit ${tool.exitCode}, ${timing}; slowest ${slow?.id} ${slow?.durationMs} ms${errors}`,
  );
  expect(report.durationMs, timing).toBeLessThanOrEqual(opts.timeoutMs + BOUND_SLACK_MS);
  expect(report.durationMs + tailMs, timing).toBeLessThanOrEqual(opts.timeoutMs + BOUND_SLACK_MS);
  const result = (id: string): ReportResult => {
    const found = report.results.find((r) => r.id === id);
    expect(found, `no result for ${id} in ${report.results.map((r) => r.id).join(', ')}`).toBeDefined();
    return found!;
  };
  return { tool, report, wallMs, startupMs, tailMs, result };
}
