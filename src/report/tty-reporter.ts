import { renderReport } from './report-layout.js';
import { layoutOptions } from './text-reporter.js';
import { escapeTerminal, truncateToWidth } from './terminal-text.js';
import type { Reporter, ReportStreams, RunMeta } from './reporter.js';
import type { CheckResult } from '../core/types.js';

/**
 * A listr2 live task list while the checks run, one task per check, cut to the width; when the run
 * ends the list is cleared and the report takes its place, so nothing is told twice.
 */
export function ttyReporter(streams: ReportStreams): Reporter {
  const waiting = new Map<string, (r: CheckResult) => void>();
  const early = new Map<string, CheckResult>();
  let list: Promise<unknown> = Promise.resolve();
  let meta: RunMeta | null = null;
  // listr2 adds its symbol and a space; a line that fits never wraps, so it can be erased exactly.
  const title = (text: string) => truncateToWidth(escapeTerminal(text), Math.max(10, streams.width - 3));
  return {
    start(m) {
      meta = m;
      // --format tty into a pipe: no live view (listr2 would fall back to printing every line), just the report.
      if (!(streams.out as { isTTY?: boolean }).isTTY) return;
      // listr2 (and colorette, which looks at the terminal as it loads) only for a live view: a run
      // with another format never loads it. Results that come first wait in `early`.
      list = import('listr2')
        .then(({ Listr }) => {
          const listr = new Listr(
            m.checks.map((check) => ({
              title: title(check.id),
              task: async (_ctx: unknown, task: { title: string; skip: (m?: string) => void }) => {
                const result = early.get(check.id) ?? (await new Promise<CheckResult>((resolve) => waiting.set(check.id, resolve)));
                task.title = title(`${check.id}: ${result.summary}`);
                if (result.status === 'skip') task.skip(title(`${check.id}: ${result.summary}`));
                if (result.status === 'fail' || result.status === 'error') throw new Error(title(`${check.id}: ${result.summary}`));
              },
            })),
            {
              concurrent: true,
              exitOnError: false,
              rendererOptions: { clearOutput: true, formatOutput: 'truncate', collapseErrors: true, showErrorMessage: true },
            },
          );
          return listr.run();
        })
        .catch(() => undefined);
    },
    checkEnd(result) {
      const resolve = waiting.get(result.id);
      if (resolve) resolve(result);
      else early.set(result.id, result);
    },
    async end(report) {
      await list;
      streams.out.write(renderReport(report, layoutOptions(streams, meta, report)).join('\n') + '\n');
    },
  };
}
