/**
 * ctr-doctor as a library: the typed plugin API.
 *
 * A plugin is an ES module that exports `checks`; its fixes are what those checks' `offer()`
 * returns (`defineFix` only types a builder they share):
 *
 * ```js
 * import { defineCheck, findingBuilder } from 'ctr-doctor';
 * const findings = { 'name-missing': { severity: 'warn', message: '{path} is missing', description: '…' } };
 * const found = findingBuilder(findings);
 * export const checks = [defineCheck({ id: 'site.hostname', group: 'site', title: '…', description: '…', findings,
 *   appliesTo: () => true,
 *   gather: async (ctx) => ({ read: await ctx.target.readFile('/etc/hostname') }),
 *   judge: (facts) => (facts.read.ok ? [] : [found('name-missing', { path: '/etc/hostname' })]),
 * })];
 * ```
 *
 * Load it with `ctr-doctor --plugin ./my-plugin.mjs`. Everything exported here is
 * part of the public API; everything else in the package is internal.
 */
export { defineCheck, defineFix, skip, cannotRun, EarlyOutcome } from './core/check.js';
export type { Check, CheckContext, CheckOptions, CheckSpec, DefinedCheck, FindingDoc, Judged } from './core/check.js';
export { findingBuilder, renderMessage } from './core/findings.js';
export type { FindingSpec, FindingSpecs, FixDocs, MessageData, Placeholders, Reported } from './core/findings.js';
export type { Host, HostProcess, HostStat, ProcessFiles } from './core/host.js';
export { finding, outcomeOf, skipped, couldNotRun, statusOf } from './core/outcome.js';
export type {
  CheckOutcome,
  CheckResult,
  ExecStep,
  ExecUndo,
  Finding,
  Fix,
  FixSafety,
  FixStep,
  GuestExecStep,
  HostExecStep,
  ManualStep,
  MkdirStep,
  MountStep,
  Report,
  Severity,
  Status,
  StepWhere,
  SymlinkStep,
  TargetKind,
  UmountStep,
  WriteStep,
} from './core/types.js';
export type { ExecOptions, ExecResult, GuestPathError, GuestProcess, GuestRead, GuestStat, GuestUser, Target } from './core/target.js';
export type { MountEntry } from './parse/mountinfo.js';
export type { ProbeName, ProbeRequests, ProbeResponses } from './core/probe-types.js';
export type { PluginModule } from './core/plugins.js';
export { EXIT, exitCodeFor } from './core/exit-code.js';
export { TOOL_VERSION } from './core/version.js';
