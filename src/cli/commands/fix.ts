import type { ArgumentsCamelCase } from 'yargs';
import { checkOptionsFrom, diagnoseTarget, hostWideChecks, newHostContext, resolveFixSelection, type DiagnoseArgs } from '../diagnose.js';
import { openSpec, openTarget, type Opened } from '../../targets/open-target.js';
import { TargetError } from '../../targets/target-error.js';
import { discoverGuests } from '../../targets/discover.js';
import { pickReporter, resolveFormat } from '../../report/pick-reporter.js';
import { statusMark } from '../../report/style.js';
import { escapeTerminal, wrapText } from '../../report/terminal-text.js';
import { planTable } from '../plan-table.js';
import { checksDocUrl } from '../../docs/checks-doc-file.js';
import { EXIT } from '../../core/exit-code.js';
import { UsageError } from '../usage-error.js';
import { buildPlan, type PlannedFix } from '../../fixes/fix-plan.js';
import { applyAndVerify, type FixRunOutcome } from '../../fixes/fix-run.js';
import { realCommandRunner } from '../../fixes/command-steps.js';
import { processesUsing } from '../../fixes/busy-mount.js';
import { JournalBusyError, stateDir, TargetJournal } from '../../fixes/journal.js';
import { fixExitCode, type FixRunResult } from '../../fixes/fix-result.js';
import { stepProgressLines, verdictLinesFitted } from '../fix-progress.js';
import { askWhichFixes } from '../../fixes/ask-plan.js';
import type { Check } from '../../core/check.js';
import type { Report } from '../../core/types.js';
import type { CliIo } from '../io.js';

/** Arguments of `fix`: the check options plus --dry-run, --yes and --unsafe. */
export interface FixArgs extends DiagnoseArgs {
  json?: boolean;
  format?: string;
  all: boolean;
  color: boolean;
  dryRun: boolean;
  yes: boolean;
  unsafe: boolean;
  /** `--state-dir`: where the journal goes (as root, the only way to move it from /var/lib/ctr-doctor). */
  stateDir?: string;
}

/** Ways other commands (the demo) and tests adjust `fix`. */
export interface FixHooks {
  /** Asks which fixes to apply, instead of the terminal prompt. */
  ask?: (fixes: PlannedFix[]) => Promise<PlannedFix[]>;
  /** Whether to end with the `undo` command line (the demo removes its guest, so it does not). */
  undoHint?: boolean;
}

async function open(args: FixArgs, host: ReturnType<typeof newHostContext>): Promise<Opened> {
  return openTarget(args.target, { host, user: args.user, envFrom: args.envFrom });
}

/** `fix` changes things, so it never picks a target by itself (audit H4): without TARGET it lists the candidates and stops. */
async function refuseWithoutTarget(io: CliIo, host: ReturnType<typeof newHostContext>): Promise<number> {
  const candidates = (await discoverGuests(host)).filter((g) => g.state !== 'stale');
  const lines = ['ctr-doctor: fix needs a TARGET: it never picks one by itself (give `self` for the environment ctr-doctor runs in)'];
  lines.push(
    ...(candidates.length === 0
      ? ['  no guest found on this host']
      : ['  candidates:', ...candidates.map((c) => `  ${c.target.padEnd(40)} ${c.state}  ${c.detail}`)]),
  );
  io.err.write(lines.join('\n') + '\n');
  return EXIT.usage;
}

function checksFor(opened: Opened, checks: Check[]): Check[] {
  return opened.kind === 'host' ? hostWideChecks(checks) : checks;
}

/** `ctr-doctor fix [TARGET]`: diagnose, show the plan, apply it, and run the affected checks again. */
export async function runFixCommand(args: ArgumentsCamelCase<FixArgs> | FixArgs, io: CliIo, hooks: FixHooks = {}): Promise<number> {
  const { ask } = hooks;
  if (args.all) throw new UsageError('fix works on one guest at a time; --all is for check', 'give a TARGET, see `ctr-doctor list`');
  const format = resolveFormat(args, io.isTty);
  if (format === 'junit' || format === 'prometheus')
    throw new UsageError(`fix writes text or JSON, not ${format}`, 'use --json, or run `ctr-doctor check --format ' + format + '`');
  if (!args.dryRun && !args.yes && !io.stdinIsTty && !ask) {
    io.err.write(
      'ctr-doctor: fix refuses to change anything without a terminal to ask on: pass --yes to apply the fixes, or --dry-run to see the plan\n',
    );
    return EXIT.usage;
  }
  const json = format === 'json';
  const color = io.color(args.color);
  const say = (lines: string[]) => {
    if (lines.length > 0) (json ? io.err : io.out).write(lines.join('\n') + '\n');
  };
  // Prose lines wrapped to the width; guest text in them escaped by the caller.
  const sayWrapped = (lines: string[], rest = '  ') => {
    say(lines.flatMap((l) => (l === '' ? [''] : wrapText(l, io.width, '', rest))));
  };
  const streams = { out: io.out, err: io.err, color, verbose: args.verbose, width: io.width, docsUrl: checksDocUrl() };
  const options = checkOptionsFrom(args, io.env);
  const selection = await resolveFixSelection(args, (l) => io.err.write(l + '\n'));
  const checks = selection.checks;

  const host = newHostContext(options.timeoutMs);
  if (args.target === undefined || args.target === '') return refuseWithoutTarget(io, host);
  const opened = await open(args, host);
  const selected = checksFor(opened, checks);
  const reporter = json ? null : pickReporter(format, streams);
  const before = await diagnoseTarget(opened.target, host, selected, options, args.strict, reporter, { spec: args.target, fixHint: false });

  const plan = buildPlan(before.report, {
    unsafe: args.unsafe,
    guestChosen: opened.kind === 'guest',
    select: (f) => selection.fixIds.size === 0 || selection.fixIds.has(f.fixId) || f.checkIds.some((id) => selection.wholeChecks.has(id)),
  });
  if (args.dryRun) say(['', plan.length === 0 ? 'Plan: nothing to do.' : planTable(plan, io.width, color)]);
  else sayWrapped(['', escapeTerminal(planSummary(plan))]);
  const toApply = plan.filter((f) => f.action === 'apply');
  const result: FixRunResult = {
    schemaVersion: 1,
    dryRun: args.dryRun,
    before: before.report,
    plan,
    declined: [],
    applied: [],
    after: null,
    journal: null,
    exitCode: EXIT.ok,
  };
  const finish = (code: number): number => {
    result.exitCode = code;
    if (json) io.out.write(JSON.stringify(result, null, 2) + '\n');
    return code;
  };

  if (args.dryRun) {
    say(['', 'Dry run: nothing was changed.']);
    return finish(before.exitCode);
  }
  if (toApply.length === 0) {
    say(['', plan.length === 0 ? 'Nothing to do.' : 'Nothing to do: no fix can be applied automatically (see the manual steps above).']);
    return finish(fixExitCode([], before.report, null, args.strict));
  }
  // The prompt names each fix by its title, which may carry guest text: asked with escaped titles, answered with the real fixes.
  const askTerminal = async (fixes: PlannedFix[]) => {
    const picked = await askWhichFixes(
      fixes.map((f) => ({ ...f, title: escapeTerminal(f.title) })),
      process.stdin,
      io.err,
    );
    return fixes.filter((f) => picked.some((p) => p.fixId === f.fixId));
  };
  const chosen = args.yes ? toApply : await (ask ?? askTerminal)(toApply);
  result.declined = toApply.filter((f) => !chosen.includes(f)).map((f) => f.fixId);
  if (chosen.length === 0) {
    say(['', 'No fix applied.']);
    return finish(fixExitCode([], before.report, null, args.strict));
  }

  const target = opened.target;
  const journal = new TargetJournal(stateDir(io.env, process.getuid?.(), args.stateDir), {
    kind: target.kind,
    name: target.name,
    root: target.root,
  });
  let outcome: FixRunOutcome;
  try {
    outcome = await applyAndVerify(chosen, before.report, {
      target,
      journal,
      checks,
      strict: args.strict,
      runner: realCommandRunner(target, target.fileRoot, (mountId) => processesUsing(host, mountId), host),
      recheck: (ids) => diagnoseAgain(args, options, checks, ids),
      onApplying: () => {
        say(['', 'Applying:']);
      },
      onStep: (f, step) => {
        say(stepProgressLines(f, step, io.width, color));
      },
    });
  } catch (error) {
    if (!(error instanceof JournalBusyError)) throw error;
    io.err.write(`ctr-doctor fix: ${error.message}\n`);
    return EXIT.usage;
  }
  const { after } = outcome;
  Object.assign(result, { applied: outcome.applied, after, journal: outcome.journal });
  const changed = result.applied.some((f) => f.steps.some((s) => s.status === 'done'));
  say(['', 'Checked again:', ...after.results.flatMap((r) => checkedAgainLines(r, io.width, color)), '']);
  say(verdictLinesFitted(result.applied, io.width, color));
  if (!changed) sayWrapped(['', 'Nothing to do: every step was already done.']);
  else if (hooks.undoHint !== false) sayWrapped(['', escapeTerminal(`Undo with: ctr-doctor undo ${args.target ?? ''}`.trimEnd())]);
  return finish(fixExitCode(result.applied, before.report, after, args.strict));
}

/** Before applying: how many fixes will be applied, and what happens to the others. */
function planSummary(plan: PlannedFix[]): string {
  if (plan.length === 0) return 'Plan: nothing to do.';
  const count = (a: PlannedFix['action']) => plan.filter((f) => f.action === a);
  const apply = count('apply');
  const others = [
    count('manual').length > 0 ? `${count('manual').length} manual (shown above)` : '',
    count('needs-unsafe').length > 0 ? `${count('needs-unsafe').length} unsafe (only with --unsafe)` : '',
    count('no-guest').length > 0 ? `${count('no-guest').length} writing into a guest (give a TARGET)` : '',
    count('skipped').length > 0
      ? `${count('skipped').length} skipped (${count('skipped')
          .map((f) => `${f.fixId} ${f.reason ?? ''}`.trim())
          .join('; ')})`
      : '',
  ].filter(Boolean);
  return `Plan: ${apply.length} to apply${apply.length > 0 ? ` (${apply.map((f) => f.fixId).join(', ')})` : ''}${others.length > 0 ? `; ${others.join(', ')}` : ''}.`;
}

/** A check run again after the fixes: its status mark, id and summary, wrapped. */
function checkedAgainLines(r: Report['results'][number], width: number, color: boolean): string[] {
  const mark = statusMark(r.status, color);
  return wrapText(`${escapeTerminal(r.id)}: ${escapeTerminal(r.summary)}`, width, `  ${mark.plain} `, '    ').map((l, i) =>
    i === 0 ? `  ${mark.painted}${l.slice(2 + mark.plain.length)}` : l,
  );
}

/** Opens the target afresh (so no cached mounts or processes) and runs only the checks `ids` (see recheckIds). */
async function diagnoseAgain(
  args: FixArgs,
  options: ReturnType<typeof checkOptionsFrom>,
  checks: Check[],
  ids: ReadonlySet<string>,
): Promise<Report> {
  const host = newHostContext(options.timeoutMs);
  // A fix may end the very guest it was run on (a stale schroot session): then check from where ctr-doctor runs.
  const state = { guestGone: false };
  const reopened = await open(args, host).catch(async (error: unknown) => {
    if (!(error instanceof TargetError)) throw error;
    state.guestGone = true;
    return openSpec({ kind: 'self' }, { host, user: args.user });
  });
  const again = (state.guestGone ? hostWideChecks(checks) : checksFor(reopened, checks)).filter((c) => ids.has(c.id));
  return (await diagnoseTarget(reopened.target, host, again, options, args.strict, null)).report;
}
