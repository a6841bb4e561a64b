import type { Reporter, ReportStreams } from './reporter.js';

/** Writes exactly the report to stdout. */
export function jsonReporter(streams: ReportStreams): Reporter {
  return { end: (report) => void streams.out.write(JSON.stringify(report, null, 2) + '\n') };
}
