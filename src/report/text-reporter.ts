import { renderReport, targetSpecOf, type LayoutOptions } from './report-layout.js';
import type { Reporter, ReportStreams, RunMeta } from './reporter.js';
import type { Report } from '../core/types.js';

/** Layout options from the streams and what `start` said about the run. */
export function layoutOptions(streams: ReportStreams, meta: RunMeta | null, report: Report): LayoutOptions {
  return {
    width: streams.width,
    color: streams.color,
    verbose: streams.verbose,
    docsUrl: streams.docsUrl ?? null,
    spec: meta?.spec ?? targetSpecOf(report.target),
    session: meta?.session ?? null,
    fixHint: meta?.fixHint ?? true,
    ...(meta?.fixCommand ? { fixCommand: meta.fixCommand } : {}),
    applicableFixes: meta?.applicableFixes?.(report) ?? 0,
  };
}

/** The closing summary line of a report, for commands that print only that. */
export function summaryLine(report: Report): string {
  const s = report.summary;
  return `${report.target.kind} ${report.target.name}: ${s.pass} passed, ${s.warn} warnings, ${s.fail} failed, ${s.skip} skipped, ${s.error} could not run (${report.durationMs} ms)`;
}

/** Plain text for CI logs and pipes: the same report a terminal gets, without the live view. */
export function textReporter(streams: ReportStreams): Reporter {
  let meta: RunMeta | null = null;
  return {
    start(m) {
      meta = m;
    },
    end(report) {
      streams.out.write(renderReport(report, layoutOptions(streams, meta, report)).join('\n') + '\n');
    },
  };
}
