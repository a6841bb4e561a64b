import { hostname } from 'node:os';
import { builtinChecks } from '../checks/index.js';
import type { Check, CheckContext, CheckOptions } from '../core/check.js';
import { exitCodeFor } from '../core/exit-code.js';
import { loadPlugins } from '../core/plugins.js';
import { buildReport } from '../core/report.js';
import { runChecks, selectChecks } from '../core/runner.js';
import type { Report } from '../core/types.js';
import { HostContext, scanBudgetFrom } from '../host/host-context.js';
import { beginReadPass } from '../guest/guest-files.js';
import type { Reporter } from '../report/reporter.js';
import type { SessionInfo } from '../report/report-layout.js';
import { applicableFixes, fixCommand } from './fix-command.js';
import type { Target } from '../core/target.js';
import { timing } from '../core/timing.js';
import { listOption } from './common-options.js';
import { UsageError } from './usage-error.js';

/** The parsed options of `check` and `fix` that shape a diagnosis. */
export interface DiagnoseArgs {
  target?: string;
  only?: string;
  skip?: string;
  timeout: number;
  user?: string;
  envFrom?: number;
  pingTarget?: string;
  dnsName?: string;
  strict: boolean;
  compareHost: boolean;
  plugin?: string[];
  verbose: boolean;
}

/** Check options from flags, then environment, then defaults. */
export function checkOptionsFrom(args: DiagnoseArgs, env: Record<string, string | undefined>): CheckOptions {
  if (!Number.isFinite(args.timeout) || args.timeout <= 0)
    throw new UsageError(`--timeout must be a positive number of milliseconds, not ${args.timeout}`);
  return {
    pingTarget: args.pingTarget ?? env.CTR_DOCTOR_PING_TARGET ?? '8.8.8.8',
    dnsName: args.dnsName ?? env.CTR_DOCTOR_DNS_NAME ?? 'example.com',
    timeoutMs: args.timeout,
    compareHost: args.compareHost,
  };
}

/** Built-in checks plus plugins, filtered by --only/--skip; plugin problems go to `warn`. */
export async function resolveChecks(args: DiagnoseArgs, warn: (line: string) => void): Promise<Check[]> {
  const plugins = await loadPlugins(args.plugin ?? [], builtinChecks);
  for (const p of plugins.problems) warn(`ctr-doctor: plugin ${p.plugin} not loaded: ${p.message}`);
  const all = [...builtinChecks, ...plugins.checks];
  const { selected, unknown } = selectChecks(all, listOption(args.only), listOption(args.skip));
  if (unknown.length > 0) throw new UsageError(`unknown check id or group: ${unknown.join(', ')}`, 'see `ctr-doctor checks` for the ids');
  return selected;
}

/** What `fix --only` chose: the checks to run, and the fix ids named (empty: every fix of those checks). */
export interface FixSelection {
  checks: Check[];
  fixIds: Set<string>;
  /** Checks named by id or group (not through a fix id): all their fixes are wanted. */
  wholeChecks: Set<string>;
}

/**
 * `fix --only` also takes fix ids (the ids `ctr-doctor fix … --only ID` in the report names): a
 * fix id selects the checks that offer it, and only that fix among theirs.
 */
export async function resolveFixSelection(args: DiagnoseArgs, warn: (line: string) => void): Promise<FixSelection> {
  const plugins = await loadPlugins(args.plugin ?? [], builtinChecks);
  for (const p of plugins.problems) warn(`ctr-doctor: plugin ${p.plugin} not loaded: ${p.message}`);
  const all = [...builtinChecks, ...plugins.checks];
  const offered = new Map<string, string[]>();
  for (const c of all) for (const id of Object.keys(c.fixDocs ?? {})) offered.set(id, [...(offered.get(id) ?? []), c.id]);
  const names = listOption(args.only);
  const checkNames = new Set(all.flatMap((c) => [c.id, c.group]));
  // A name that is both a check id or group and a fix id means the check.
  const fixIds = new Set(names.filter((n) => !checkNames.has(n) && offered.has(n)));
  const rest = names.filter((n) => !fixIds.has(n));
  const only = [...rest, ...[...fixIds].flatMap((id) => offered.get(id) ?? [])];
  const { selected, unknown } = selectChecks(all, only, listOption(args.skip));
  if (unknown.length > 0)
    throw new UsageError(`unknown check id, group or fix id: ${unknown.join(', ')}`, 'see `ctr-doctor checks` for the ids');
  const wholeChecks = new Set(
    selectChecks(all, rest, [])
      .selected.filter(() => rest.length > 0)
      .map((c) => c.id),
  );
  return { checks: selected, fixIds, wholeChecks };
}

/** Checks that make sense on the bare host (no guest chosen). */
export function hostWideChecks(checks: Check[]): Check[] {
  return checks.filter((c) => c.group === 'mounts' || c.group === 'schroot');
}

/** How the human report names the run: the TARGET word, and whether to hint at `fix`. */
export interface ReportView {
  spec?: string | null;
  fixHint?: boolean;
  /** When the run began (before the target was opened and the host scanned): the report's durationMs counts from here. */
  startedAt?: Date;
}

/** Who the report speaks for: the desktop user and where the session environment came from. */
export function sessionOf(target: Target): SessionInfo | null {
  if (target.kind === 'host') return null;
  const chosenBy = {
    option: 'from --user',
    sudo: 'from SUDO_UID',
    'session-process': 'owner of the session process',
    default: 'the default',
  }[target.user.source];
  return {
    user: target.user.name,
    uid: target.user.uid,
    chosenBy,
    envSource: target.envSource,
    ...(target.noSessionReason ? { noSession: target.noSessionReason } : {}),
  };
}

/** The host path through which `target`'s files are read (GuestTarget's fileRoot: /proc/PID/root for another mount namespace). */
function fileRootOf(target: Target): string {
  const { fileRoot } = target as Target & { fileRoot?: unknown };
  return typeof fileRoot === 'string' ? fileRoot : target.root;
}

/** Runs the checks on one target and feeds the reporter; returns the report and its exit code. */
export async function diagnoseTarget(
  target: Target,
  host: HostContext,
  checks: Check[],
  options: CheckOptions,
  strict: boolean,
  reporter: Reporter | null,
  view: ReportView = {},
): Promise<{ report: Report; exitCode: number }> {
  const startedAt = view.startedAt ?? new Date();
  const ctx: CheckContext = { target, host, options };
  reporter?.start?.({
    target: { kind: target.kind, name: target.name, root: target.root, pid: target.pid },
    checks,
    spec: view.spec,
    fixHint: view.fixHint,
    session: sessionOf(target),
    fixCommand,
    applicableFixes,
  });
  // One pass: the checks share their guest file reads; it ends with them, so that a diagnosis after a fix reads afresh.
  const endPass = beginReadPass(fileRootOf(target));
  let results;
  try {
    results = await runChecks(checks, ctx, {
      timeoutMs: options.timeoutMs,
      isRoot: process.getuid?.() === 0,
      events: { checkStart: (c) => reporter?.checkStart?.(c), checkEnd: (r) => reporter?.checkEnd?.(r) },
    });
  } finally {
    endPass();
  }
  timing('checks finished');
  const report = buildReport(target, results, startedAt, strict, hostname(), host.hostScans());
  await reporter?.end?.(report);
  return { report, exitCode: exitCodeFor(report.summary, strict) };
}

/** A fresh host context for a run. */
export function newHostContext(timeoutMs: number): HostContext {
  return new HostContext({ invokingEnv: process.env, timeoutMs, scanBudgetMs: scanBudgetFrom(process.env) });
}
