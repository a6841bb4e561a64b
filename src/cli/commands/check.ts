import type { ArgumentsCamelCase } from 'yargs';
import { checkOptionsFrom, diagnoseTarget, hostWideChecks, newHostContext, resolveChecks, type DiagnoseArgs } from '../diagnose.js';
import { openSpec, openTarget } from '../../targets/open-target.js';
import { discoverGuests } from '../../targets/discover.js';
import { parseTargetSpec } from '../../targets/target-spec.js';
import { isMachineFormat, pickReporter, resolveFormat } from '../../report/pick-reporter.js';
import { junitXml } from '../../report/junit-reporter.js';
import { prometheusText } from '../../report/prometheus-reporter.js';
import { combineExitCodes } from '../../core/exit-code.js';
import { TargetError } from '../../targets/target-error.js';
import type { Report } from '../../core/types.js';
import type { Check, CheckOptions } from '../../core/check.js';
import type { HostContext } from '../../host/host-context.js';
import type { FormatName, ReportStreams } from '../../report/reporter.js';
import type { CliIo } from '../io.js';
import { timing } from '../../core/timing.js';
import { escapeTerminal, wrapText } from '../../report/terminal-text.js';
import { checksDocUrl } from '../../docs/checks-doc-file.js';

/** Arguments of `check`. */
export interface CheckArgs extends DiagnoseArgs {
  json?: boolean;
  format?: string;
  all: boolean;
  color: boolean;
}

/** `ctr-doctor check [TARGET]`: diagnose, report, and exit with the contract's code. */
export async function runCheckCommand(args: ArgumentsCamelCase<CheckArgs> | CheckArgs, io: CliIo): Promise<number> {
  timing('check command');
  const format = resolveFormat(args, io.isTty);
  const streams = { out: io.out, err: io.err, color: io.color(args.color), verbose: args.verbose, width: io.width, docsUrl: checksDocUrl() };
  const options = checkOptionsFrom(args, io.env);
  const checks = await resolveChecks(args, (l) => io.err.write(l + '\n'));
  const host = newHostContext(options.timeoutMs);

  if (args.all) return runAll({ args, io, format, streams, options, checks, host });

  timing('checks resolved');
  const opened = await openTarget(args.target, { host, user: args.user, envFrom: args.envFrom });
  timing('target opened');
  let selected = checks;
  if (opened.kind === 'host') {
    selected = hostWideChecks(checks);
    const lines = opened.candidates.length === 0
      ? wrapText('ctr-doctor: no container found on this host; running the host-wide checks.', io.width, '', '  ')
      : [...wrapText('ctr-doctor: several guests found; running the host-wide checks. Pick one with TARGET:', io.width, '', '  '),
        ...opened.candidates.flatMap((c) => wrapText(escapeTerminal(`${c.target}  ${c.state}  ${c.detail}`), io.width, '  ', '      '))];
    io.err.write(lines.join('\n') + '\n');
  }
  const reporter = pickReporter(format, streams);
  const { exitCode } = await diagnoseTarget(opened.target, host, selected, options, args.strict, reporter, { spec: args.target });
  return exitCode;
}

/** What one `check` run has settled before it looks at any guest. */
interface CheckRun {
  args: CheckArgs;
  io: CliIo;
  format: FormatName;
  streams: ReportStreams;
  options: CheckOptions;
  checks: Check[];
  host: HostContext;
}

/** `--all`: every guest `list` finds; JSON becomes an array of reports. */
async function runAll({ args, io, format, streams, options, checks, host }: CheckRun): Promise<number> {
  const guests = (await discoverGuests(host)).filter((g) => g.kind !== 'leftover');
  const reports: Report[] = [];
  const codes: number[] = [];
  for (const guest of guests) {
    try {
      const opened = await openSpec(parseTargetSpec(guest.target), { host, user: args.user, envFrom: args.envFrom });
      const reporter = isMachineFormat(format) ? null : pickReporter(format === 'tty' ? 'text' : format, streams);
      const { report, exitCode } = await diagnoseTarget(opened.target, host, checks, options, args.strict, reporter, { spec: guest.target });
      reports.push(report);
      codes.push(exitCode);
    } catch (error) {
      if (!(error instanceof TargetError)) throw error;
      io.err.write(wrapText(escapeTerminal(`ctr-doctor: skipping ${guest.target}: ${error.message}`), io.width, '', '  ').join('\n') + '\n');
    }
  }
  if (guests.length === 0) io.err.write('ctr-doctor: no guests found on this host\n');
  if (format === 'json') io.out.write(JSON.stringify(reports, null, 2) + '\n');
  if (format === 'junit') io.out.write(junitXml(reports));
  if (format === 'prometheus') io.out.write(prometheusText(reports));
  return combineExitCodes(codes);
}
