import { readReportFiles } from '../report-files.js';
import { summarizeFleet } from '../../report/fleet-summary.js';
import { fleetText } from '../../report/fleet-table.js';
import { escapeTerminal } from '../../report/terminal-text.js';
import type { CliIo } from '../io.js';

/** Arguments of `summary`. */
export interface SummaryArgs {
  paths: string[];
  json?: boolean;
  color: boolean;
}

/**
 * `ctr-doctor summary PATH…`: one fleet table from many reports. Each input that is not a report
 * is named in one line on stderr and the others are still summarised; the exit code is the
 * fleet's (see {@link summarizeFleet}).
 */
export function runSummaryCommand(args: SummaryArgs, io: CliIo): number {
  const summary = summarizeFleet(readReportFiles(args.paths));
  for (const u of summary.unreadable) io.err.write(`ctr-doctor: ${escapeTerminal(u.file)}: ${escapeTerminal(u.message)}\n`);
  if (args.json) io.out.write(JSON.stringify(summary, null, 2) + '\n');
  else io.out.write(fleetText(summary, io.width, io.color(args.color)));
  return summary.exitCode;
}
