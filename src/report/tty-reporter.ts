import { Listr } from 'listr2';
import { formatResult, summaryLine } from './text-reporter.js';
import { problemTable } from './problem-table.js';
import type { Reporter, ReportStreams } from './reporter.js';
import type { CheckResult } from '../core/types.js';

/** A listr2 live task list, one task per check; each shows its one-line summary when done. */
export function ttyReporter(streams: ReportStreams): Reporter {
  const waiting = new Map<string, (r: CheckResult) => void>();
  const early = new Map<string, CheckResult>();
  let list: Promise<unknown> = Promise.resolve();
  return {
    start({ checks }) {
      const listr = new Listr(checks.map((check) => ({
        title: check.id,
        task: async (_ctx: unknown, task: { title: string; skip: (m?: string) => void }) => {
          const result = early.get(check.id) ?? (await new Promise<CheckResult>((resolve) => waiting.set(check.id, resolve)));
          task.title = `${check.id}: ${result.summary}`;
          if (result.status === 'skip') task.skip(`${check.id}: ${result.summary}`);
          if (result.status === 'fail' || result.status === 'error') throw new Error(`${check.id}: ${result.summary}`);
        },
      })), { concurrent: true, exitOnError: false, rendererOptions: { collapseErrors: false, showErrorMessage: true } });
      list = listr.run().catch(() => undefined);
    },
    checkEnd(result) {
      const resolve = waiting.get(result.id);
      if (resolve) resolve(result);
      else early.set(result.id, result);
    },
    async end(report) {
      await list;
      const lines: string[] = [];
      for (const r of report.results.filter((x) => x.status === 'fail' || x.status === 'warn' || x.status === 'error')) lines.push(...formatResult(r, streams));
      const table = problemTable(report, streams.width);
      if (table) lines.push('', table);
      lines.push('', summaryLine(report));
      streams.out.write(lines.join('\n') + '\n');
    },
  };
}
