import { hostname } from 'node:os';
import { builtinChecks } from '../checks/index.js';
import type { Check, CheckContext, CheckOptions } from '../core/check.js';
import { exitCodeFor } from '../core/exit-code.js';
import { loadPlugins } from '../core/plugins.js';
import { buildReport } from '../core/report.js';
import { runChecks, selectChecks } from '../core/runner.js';
import type { Report } from '../core/types.js';
import { HostContext } from '../host/host-context.js';
import type { Reporter } from '../report/reporter.js';
import type { Target } from '../targets/target.js';
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
  if (!Number.isFinite(args.timeout) || args.timeout <= 0) throw new UsageError(`--timeout must be a positive number of milliseconds, not ${args.timeout}`);
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

/** Checks that make sense on the bare host (no guest chosen). */
export function hostWideChecks(checks: Check[]): Check[] {
  return checks.filter((c) => c.group === 'mounts' || c.group === 'schroot');
}

/** Runs the checks on one target and feeds the reporter; returns the report and its exit code. */
export async function diagnoseTarget(target: Target, host: HostContext, checks: Check[], options: CheckOptions, strict: boolean, reporter: Reporter | null): Promise<{ report: Report; exitCode: number }> {
  const startedAt = new Date();
  const ctx: CheckContext = { target, host, options };
  reporter?.start?.({ target: { kind: target.kind, name: target.name, root: target.root, pid: target.pid }, checks });
  const results = await runChecks(checks, ctx, {
    timeoutMs: options.timeoutMs, isRoot: process.getuid?.() === 0,
    events: { checkStart: (c) => reporter?.checkStart?.(c), checkEnd: (r) => reporter?.checkEnd?.(r) },
  });
  timing('checks finished');
  const report = buildReport(target, results, startedAt, strict, hostname());
  await reporter?.end?.(report);
  return { report, exitCode: exitCodeFor(report.summary, strict) };
}

/** A fresh host context for a run. */
export function newHostContext(timeoutMs: number): HostContext {
  return new HostContext({ invokingEnv: process.env, timeoutMs });
}
