import type { Reporter, ReportStreams } from './reporter.js';
import type { Report, Status } from '../core/types.js';

const STATUS_VALUE: Record<Status, number> = { pass: 0, warn: 1, fail: 2, skip: -1, error: 3 };

function label(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** node_exporter textfile format: one gauge per check and target. */
export function prometheusText(reports: Report[]): string {
  const lines = [
    '# HELP ctr_doctor_check_status Check status: 0 pass, 1 warn, 2 fail, 3 error, -1 skip.',
    '# TYPE ctr_doctor_check_status gauge',
  ];
  for (const r of reports) {
    for (const c of r.results) {
      lines.push(
        `ctr_doctor_check_status{target_kind="${label(r.target.kind)}",target="${label(r.target.name)}",check="${label(c.id)}",group="${label(c.group)}"} ${STATUS_VALUE[c.status]}`,
      );
    }
  }
  lines.push(
    '# HELP ctr_doctor_run_success 1 when the run found no failure and every check could run (exit code 0).',
    '# TYPE ctr_doctor_run_success gauge',
  );
  for (const r of reports)
    lines.push(`ctr_doctor_run_success{target_kind="${label(r.target.kind)}",target="${label(r.target.name)}"} ${r.success ? 1 : 0}`);
  lines.push('# HELP ctr_doctor_run_duration_seconds Wall time of the run.', '# TYPE ctr_doctor_run_duration_seconds gauge');
  for (const r of reports)
    lines.push(
      `ctr_doctor_run_duration_seconds{target_kind="${label(r.target.kind)}",target="${label(r.target.name)}"} ${(r.durationMs / 1000).toFixed(3)}`,
    );
  return lines.join('\n') + '\n';
}

/** Writes the Prometheus textfile of one report to stdout. */
export function prometheusReporter(streams: ReportStreams): Reporter {
  return { end: (report) => void streams.out.write(prometheusText([report])) };
}
