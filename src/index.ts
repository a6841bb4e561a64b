/**
 * ctr-doctor as a library: the typed plugin API.
 *
 * A plugin is an ES module that exports `checks` (and optionally `fixes`):
 *
 * ```js
 * import { defineCheck, finding, outcomeOf } from 'ctr-doctor';
 * export const checks = [defineCheck({ id: 'site.hostname', group: 'site', … })];
 * ```
 *
 * Load it with `ctr-doctor --plugin ./my-plugin.mjs`. Everything exported here is
 * part of the public API; everything else in the package is internal.
 */
export { defineCheck, defineFix } from './core/check.js';
export type { Check, CheckContext, CheckOptions, FindingDoc } from './core/check.js';
export { finding, outcomeOf, skipped, couldNotRun, statusOf } from './core/outcome.js';
export type {
  CheckOutcome, CheckResult, ExecStep, Finding, Fix, FixSafety, FixStep, ManualStep, MkdirStep,
  Report, Severity, Status, StepWhere, SymlinkStep, TargetKind, UmountStep, WriteStep,
} from './core/types.js';
export type {
  ExecOptions, ExecResult, GuestPathError, GuestProcess, GuestRead, GuestStat, GuestUser, Target,
} from './targets/target.js';
export type { HostContext } from './host/host-context.js';
export type { MountEntry } from './parse/mountinfo.js';
export type { ProbeName, ProbeRequests, ProbeResponses } from './guest/probe-protocol.js';
export type { PluginModule } from './core/plugins.js';
export { EXIT, exitCodeFor } from './core/exit-code.js';
export { TOOL_VERSION } from './core/version.js';
