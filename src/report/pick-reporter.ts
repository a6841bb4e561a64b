import { jsonReporter } from './json-reporter.js';
import { junitReporter } from './junit-reporter.js';
import { prometheusReporter } from './prometheus-reporter.js';
import { textReporter } from './text-reporter.js';
import { ttyReporter } from './tty-reporter.js';
import type { FormatName, Reporter, ReportStreams } from './reporter.js';

/** `--json` wins; otherwise `--format`, defaulting to tty on a terminal and text elsewhere. */
export function resolveFormat(opts: { json?: boolean; format?: string }, isTty: boolean): FormatName {
  if (opts.json) return 'json';
  if (opts.format) return opts.format as FormatName;
  return isTty ? 'tty' : 'text';
}

/** The reporter for a format. */
export function pickReporter(format: FormatName, streams: ReportStreams): Reporter {
  switch (format) {
    case 'json':
      return jsonReporter(streams);
    case 'junit':
      return junitReporter(streams);
    case 'prometheus':
      return prometheusReporter(streams);
    case 'tty':
      return ttyReporter(streams);
    case 'text':
      return textReporter(streams);
  }
}

/** Formats whose stdout must carry nothing but the report. */
export function isMachineFormat(format: FormatName): boolean {
  return format === 'json' || format === 'junit' || format === 'prometheus';
}
