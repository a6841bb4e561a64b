import { paintStatus, painter } from './style.js';
import { problemTable } from './problem-table.js';
import type { Reporter, ReportStreams } from './reporter.js';
import type { CheckResult, Report } from '../core/types.js';

/** The lines for one result: status, id, summary, then the findings that matter (all with --verbose). */
export function formatResult(r: CheckResult, streams: Pick<ReportStreams, 'color' | 'verbose'>): string[] {
  const p = painter(streams.color);
  const lines = [`${paintStatus(r.status, streams.color)} ${r.id.padEnd(18)} ${r.summary}`];
  for (const f of r.findings) {
    if (f.severity === 'info' && !streams.verbose) continue;
    if (f.message === r.summary && !streams.verbose) continue;
    lines.push(p.gray(`      ${f.severity === 'info' ? '·' : '-'} [${f.code}] ${f.message}`));
  }
  return lines;
}

/** The closing summary line. */
export function summaryLine(report: Report): string {
  const s = report.summary;
  return `${report.target.kind} ${report.target.name}: ${s.pass} passed, ${s.warn} warnings, ${s.fail} failed, ${s.skip} skipped, ${s.error} could not run (${report.durationMs} ms)`;
}

/** Plain text for CI logs and pipes: one line per check, then a table of problems and fixes. */
export function textReporter(streams: ReportStreams): Reporter {
  return {
    end(report) {
      const lines = [`ctr-doctor ${report.tool.version}: ${report.target.kind} ${report.target.name}${report.target.pid ? ` (pid ${report.target.pid})` : ''}`];
      for (const r of report.results) lines.push(...formatResult(r, streams));
      const table = problemTable(report, streams.width);
      if (table) lines.push('', table);
      lines.push('', summaryLine(report));
      if (report.results.some((r) => r.fixes.some((f) => f.safety !== 'manual'))) lines.push('Run `ctr-doctor fix` to apply the safe fixes (`--dry-run` shows the plan).');
      streams.out.write(lines.join('\n') + '\n');
    },
  };
}
