import Table from 'cli-table3';
import type { Report } from '../core/types.js';

/** A cli-table3 table of the problems and the fixes suggested for each; empty string when all is well. */
export function problemTable(report: Report, width = 100): string {
  const rows = report.results.filter((r) => r.status === 'fail' || r.status === 'warn' || r.status === 'error');
  if (rows.length === 0) return '';
  const table = new Table({
    head: ['check', 'status', 'problem', 'suggested fix'],
    colWidths: [18, 8, Math.floor((width - 30) / 2), Math.ceil((width - 30) / 2)],
    wordWrap: true,
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    const fixes = r.fixes.map((f) => `[${f.safety}] ${f.title}`).join('\n') || (r.status === 'error' ? '—' : 'see the findings above');
    table.push([r.id, r.status, r.summary, fixes]);
  }
  return table.toString();
}
