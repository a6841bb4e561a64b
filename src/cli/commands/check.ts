import { availableParallelism } from 'node:os';
import type { ArgumentsCamelCase } from 'yargs';
import { checkOptionsFrom, diagnoseTarget, hostWideChecks, newHostContext, resolveChecks, type DiagnoseArgs } from '../diagnose.js';
import { openSpec, openTarget } from '../../targets/open-target.js';
import { discoverGuests } from '../../targets/discover.js';
import { shareProbesAmong } from '../../targets/guest-target.js';
import { useHostSpawner } from '../../host/host-spawner.js';
import { letRunsOverlap } from '../../core/live-children.js';
import { useGuestFilesServer } from '../../guest/guest-files-client.js';
import { parseTargetSpec } from '../../targets/target-spec.js';
import { isMachineFormat, pickReporter, resolveFormat } from '../../report/pick-reporter.js';
import { junitXml } from '../../report/junit-reporter.js';
import { prometheusText } from '../../report/prometheus-reporter.js';
import { combineExitCodes } from '../../core/exit-code.js';
import { TargetError } from '../../targets/target-error.js';
import type { Report } from '../../core/types.js';
import type { Check, CheckOptions } from '../../core/check.js';
import type { Target } from '../../core/target.js';
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
  // The report's durationMs is the whole run's: opening the target and the host scans included.
  const startedAt = new Date();
  const format = resolveFormat(args, io.isTty);
  const streams = {
    out: io.out,
    err: io.err,
    color: io.color(args.color),
    verbose: args.verbose,
    width: io.width,
    docsUrl: checksDocUrl(),
  };
  const options = checkOptionsFrom(args, io.env);
  const host = newHostContext(options.timeoutMs);
  // Every target needs the host's process table: the scan starts now, while the checks load.
  host.processes().catch(() => undefined);
  const checks = await resolveChecks(args, (l) => io.err.write(l + '\n'));

  if (args.all) return runAll({ args, io, format, streams, options, checks, host });

  timing('checks resolved');
  const prefetchMountHolders = checks.some((c) => c.id === 'mounts.leftover');
  const opened = await openTarget(args.target, { host, user: args.user, envFrom: args.envFrom, prefetchMountHolders });
  timing('target opened');
  let selected = checks;
  if (opened.kind === 'host') {
    selected = hostWideChecks(checks);
    const lines =
      opened.candidates.length === 0
        ? wrapText('ctr-doctor: no container found on this host; running the host-wide checks.', io.width, '', '  ')
        : [
            ...wrapText('ctr-doctor: several guests found; running the host-wide checks. Pick one with TARGET:', io.width, '', '  '),
            ...opened.candidates.flatMap((c) => wrapText(escapeTerminal(`${c.target}  ${c.state}  ${c.detail}`), io.width, '  ', '      ')),
          ];
    io.err.write(lines.join('\n') + '\n');
  }
  const reporter = pickReporter(format, streams);
  const { exitCode } = await diagnoseTarget(opened.target, host, selected, options, args.strict, reporter, {
    spec: args.target,
    startedAt,
  });
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

/**
 * How many guests `--all` diagnoses at once: enough to overlap their probes' waiting, not so many that
 * they fight for the CPUs and time out, nor hold much memory (about 2.5 MB of heap each in flight).
 * Measured over 48 chroot guests on 2 cores (median of 4, load 5-14): 2 → 4.2 s, 92 MB; 3 → 4.1 s,
 * 94 MB; 4 → 3.9 s, 96 MB; 6 → 3.7 s, 107 MB peak RSS. So cores + 1, at most 4.
 */
const ALL_CONCURRENCY = Math.max(2, Math.min(4, availableParallelism() + 1));

/** How many guests are opened at once: opening is a few small reads a guest, bound by their latency, not by CPU. */
const OPEN_CONCURRENCY = 16;

/** Runs `work(0…count-1)`, `atOnce` at a time. */
async function inParallel(count: number, work: (i: number) => Promise<void>, atOnce: number = ALL_CONCURRENCY): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, count) }, worker));
}

/** Streams that keep what a guest's reporter writes until the guests before it are out. */
function bufferedStreams(streams: ReportStreams): { streams: ReportStreams; flush: () => void } {
  const chunks: { to: 'out' | 'err'; text: string }[] = [];
  const keep = (to: 'out' | 'err') => ({
    write: (text: string) => {
      chunks.push({ to, text });
      return true;
    },
  });
  return {
    streams: { ...streams, out: keep('out') as unknown as ReportStreams['out'], err: keep('err') as unknown as ReportStreams['err'] },
    flush: () => {
      for (const c of chunks.splice(0)) streams[c.to].write(c.text);
    },
  };
}

/**
 * Writes `JSON.stringify(items, null, 2)` and a newline, one item at a time: with many guests the
 * whole array as one string (and its copy as bytes) was the run's peak of memory, at its very end.
 */
export function writeJsonArray(io: Pick<CliIo, 'out'>, items: readonly unknown[]): void {
  if (items.length === 0) {
    io.out.write('[]\n');
    return;
  }
  // `[item]` stringified is "[\n" + the item nested one level, as in the whole array + "\n]": that middle is cut out, not re-indented.
  items.forEach((item, i) => {
    const nested = JSON.stringify([item], null, 2);
    io.out.write(`${i === 0 ? '[\n' : ''}${nested.slice(2, -2)}${i === items.length - 1 ? '\n]\n' : ',\n'}`);
  });
}

/**
 * `--all`: every guest `list` finds; JSON becomes an array of reports. The guests share one host
 * context (every host scan is made once), are diagnosed a few at a time, and are reported in
 * discovery order whatever order they finish in.
 */
async function runAll({ args, io, format, streams, options, checks, host }: CheckRun): Promise<number> {
  // Many guests, many commands: each is forked off a small spawner instead of off this big process.
  useHostSpawner();
  // Many guests, thousands of guest file walks: made with synchronous calls in a child of their own.
  useGuestFilesServer(options.timeoutMs);
  // Guests are diagnosed a few at once: each run must end only its own children.
  letRunsOverlap();
  const guests = (await discoverGuests(host)).filter((g) => g.kind !== 'leftover');
  timing(`--all: ${guests.length} guests`);
  const settled = new Array<{ report: Report | null; exitCode: number } | { skipped: string }>(guests.length);
  const flushers = new Array<() => void>(guests.length);
  let printed = 0;
  const printReady = (): void => {
    while (printed < guests.length && settled[printed] !== undefined) {
      const s = settled[printed]!;
      if ('skipped' in s)
        io.err.write(
          wrapText(escapeTerminal(`ctr-doctor: skipping ${guests[printed]!.target}: ${s.skipped}`), io.width, '', '  ').join('\n') + '\n',
        );
      flushers[printed]?.();
      printed++;
    }
  };
  // Every guest is opened first, so that their probe children can be shared (one per netns and user, not two per guest).
  const opened = new Array<{ target: Target; openMs: number } | null>(guests.length);
  await inParallel(
    guests.length,
    async (i) => {
      const began = performance.now();
      try {
        const o = await openSpec(parseTargetSpec(guests[i]!.target), { host, user: args.user, envFrom: args.envFrom });
        opened[i] = { target: o.target, openMs: performance.now() - began };
      } catch (error) {
        if (!(error instanceof TargetError)) throw error;
        opened[i] = null;
        settled[i] = { skipped: error.message };
      }
    },
    OPEN_CONCURRENCY,
  );
  await shareProbesAmong(opened.flatMap((o) => (o ? [o.target] : [])));
  timing('--all: guests opened');
  printReady();
  await inParallel(guests.length, async (i) => {
    const o = opened[i];
    if (!o) return;
    const buffered = bufferedStreams(streams);
    flushers[i] = buffered.flush;
    // A report's durationMs is its own guest's: its opening, then its checks.
    const startedAt = new Date(Date.now() - o.openMs);
    const reporter = isMachineFormat(format) ? null : pickReporter(format === 'tty' ? 'text' : format, buffered.streams);
    const done = await diagnoseTarget(o.target, host, checks, options, args.strict, reporter, { spec: guests[i]!.target, startedAt });
    // Nothing of a diagnosed guest is kept but what is still to be written: its report, for the formats printed at the end.
    opened[i] = null;
    settled[i] = reporter ? { report: null, exitCode: done.exitCode } : done;
    printReady();
  });
  const done = settled.filter((s): s is { report: Report | null; exitCode: number } => !('skipped' in s));
  const reports = done.flatMap((d) => (d.report ? [d.report] : []));
  if (guests.length === 0) io.err.write('ctr-doctor: no guests found on this host\n');
  if (format === 'json') writeJsonArray(io, reports);
  if (format === 'junit') io.out.write(junitXml(reports));
  if (format === 'prometheus') io.out.write(prometheusText(reports));
  return combineExitCodes(done.map((d) => d.exitCode));
}
