import type { CheckOutcome, Finding, Fix, Severity } from './types.js';
import type { Target } from './target.js';
import type { Host } from './host.js';
import { DeclarationError, renderMessage, type FindingSpecs, type FixDocs, type Reported } from './findings.js';
import { statusOf } from './outcome.js';

export type { FindingSpec, FindingSpecs, FixDocs, MessageData, Placeholders, Reported } from './findings.js';

/** Options every check may read. Checks never look at `process.*` directly. */
export interface CheckOptions {
  pingTarget: string;
  dnsName: string;
  timeoutMs: number;
  compareHost: boolean;
}

/** What a check is given: the guest (the only door into it), the host (the only door into that), and the options. */
export interface CheckContext {
  target: Target;
  host: Host;
  options: CheckOptions;
}

/** Documentation of one finding code, for `docs/checks.md`, `explain` and the run-time conformance check. */
export interface FindingDoc {
  severity: Severity;
  description: string;
  /** The message template; absent for checks written in the old `run` shape. */
  message?: string;
}

/** A check as the runner, the registry and the docs see it. It never prints. */
export interface Check {
  /** Stable id, `group.name`. */
  readonly id: string;
  readonly group: string;
  readonly title: string;
  /** One paragraph: what it looks at and why it matters. */
  readonly description: string;
  /** Every finding code it can emit. */
  readonly findings: Readonly<Record<string, FindingDoc>>;
  /** Every fix id it can offer, with a line each. */
  readonly fixDocs?: Readonly<Record<string, string>>;
  /**
   * Which probe children it uses (`Target.probe`: as root, or `asUser`), so that the run can start
   * them while the target is still busy elsewhere. Only a hint: an undeclared probe still works.
   */
  readonly probes?: readonly ('root' | 'user')[];
  /** Check ids whose facts this one builds on: after a fix touches one of them, this one is run again too. */
  readonly dependsOn?: readonly string[];
  /** `true`, or the reason it does not apply (reported as `skip`). */
  appliesTo(ctx: CheckContext): true | string;
  /** Looks, judges and offers: the runner calls only this. */
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

/** A check that stops before judging: it does not apply after all (`skip`), or it could not look (`error`). */
export class EarlyOutcome {
  constructor(
    readonly status: 'skip' | 'error',
    readonly summary: string,
    readonly evidence: Record<string, unknown> = {},
  ) {}
}

/** Ends a check with `skip`, from gather or judge: it turned out not to apply. */
export function skip(reason: string): EarlyOutcome {
  return new EarlyOutcome('skip', reason);
}

/** Ends a check with `error`, from gather: it could not look (a missing privilege, a probe that could not start). Never for "broken". */
export function cannotRun(reason: string, evidence: Record<string, unknown> = {}): EarlyOutcome {
  return new EarlyOutcome('error', reason, evidence);
}

/** What judge returns: the findings, optionally with the summary for a healthy result; or an early end. */
export type Judged<F extends FindingSpecs> = readonly Reported<F>[] | { findings: readonly Reported<F>[]; summary?: string } | EarlyOutcome;

/**
 * A check in the shape every check is written in, top to bottom:
 * - `gather(ctx)`: every read and probe, through `ctx.target` and `ctx.host`, and its time budget;
 * - `judge(facts)`: pure; the declared codes and their template data;
 * - `offer(facts, findings)`: pure; fixes whose ids are declared in `fixDocs`.
 */
export interface CheckSpec<F extends FindingSpecs, X extends FixDocs, Facts> {
  id: string;
  group: string;
  title: string;
  description: string;
  findings: F;
  fixDocs?: X;
  probes?: readonly ('root' | 'user')[];
  dependsOn?: readonly string[];
  appliesTo(ctx: CheckContext): true | string;
  gather(ctx: CheckContext): Promise<Facts | EarlyOutcome>;
  judge(facts: Facts): Judged<F>;
  offer?(facts: Facts, findings: readonly Reported<F>[]): readonly (Fix<keyof X & string> | null)[];
}

/** A check made by {@link defineCheck}: a {@link Check} that keeps its typed parts for table tests. */
export interface DefinedCheck<F extends FindingSpecs = FindingSpecs, X extends FixDocs = FixDocs, Facts = unknown> extends Check {
  readonly findings: F;
  readonly fixDocs: X;
  readonly spec: CheckSpec<F, X, Facts>;
}

/** The check written in the old single-`run` shape; accepted while the built-ins are converted. */
export interface LegacyCheckSpec {
  id: string;
  group: string;
  title: string;
  description: string;
  findings: Record<string, FindingDoc>;
  fixDocs?: Record<string, string>;
  probes?: readonly ('root' | 'user')[];
  dependsOn?: readonly string[];
  appliesTo(ctx: CheckContext): true | string;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

/** The outcome of an early end. */
export function earlyOutcome(early: EarlyOutcome): CheckOutcome {
  const findings: Finding[] =
    early.status === 'error' ? [{ code: 'check-could-not-run', severity: 'info', message: early.summary, evidence: early.evidence }] : [];
  return { status: early.status, summary: early.summary, findings, fixes: [] };
}

/** A reported finding made into the report's shape, against the declarations; throws on a broken declaration. */
export function renderFinding(
  id: string,
  specs: FindingSpecs,
  reported: { code: string; data?: unknown; evidence?: Record<string, unknown> },
): Finding {
  const spec = Object.hasOwn(specs, reported.code) ? specs[reported.code] : undefined;
  if (!spec) throw new DeclarationError(`${id} reported the undeclared finding code "${reported.code}"`);
  const data = (reported.data ?? {}) as Record<string, unknown>;
  return { code: reported.code, severity: spec.severity, message: renderMessage(spec.message, data), evidence: reported.evidence ?? {} };
}

/** gather → judge → offer, with findings rendered from their templates and fix ids checked against `fixDocs`. */
async function runSpec<F extends FindingSpecs, X extends FixDocs, Facts>(
  spec: CheckSpec<F, X, Facts>,
  ctx: CheckContext,
): Promise<CheckOutcome> {
  const facts = await spec.gather(ctx);
  if (facts instanceof EarlyOutcome) return earlyOutcome(facts);
  const judged = spec.judge(facts);
  if (judged instanceof EarlyOutcome) return earlyOutcome(judged);
  const reported = 'findings' in judged ? judged.findings : judged;
  const summaryGiven = 'findings' in judged ? judged.summary : undefined;
  const findings = reported.map((r) => renderFinding(spec.id, spec.findings, r));
  const status = statusOf(findings);
  const fixes = status === 'pass' ? [] : (spec.offer?.(facts, reported) ?? []).filter((f): f is Fix<keyof X & string> => f !== null);
  const docs: FixDocs = spec.fixDocs ?? {};
  for (const fix of fixes) {
    if (!Object.hasOwn(docs, fix.id)) throw new DeclarationError(`${spec.id} offered the undeclared fix "${fix.id}"`);
  }
  const worst = findings.find((f) => f.severity === 'fail') ?? findings.find((f) => f.severity === 'warn') ?? findings[0];
  const summary = status === 'pass' && summaryGiven !== undefined ? summaryGiven : (worst?.message ?? summaryGiven ?? 'ok');
  return { status, summary, findings, fixes };
}

/**
 * Declares a check. Codes, their template data and fix ids are typed against the declarations,
 * so an undeclared code or fix id does not compile; the composed `run` checks them again at
 * run time (plugins are plain JavaScript).
 */
// eslint-disable-next-line @typescript-eslint/no-generated-empty-object-type -- no fixDocs: no fix id is declared
export function defineCheck<const F extends FindingSpecs, const X extends FixDocs = Record<never, string>, Facts = unknown>(
  spec: CheckSpec<F, X, Facts>,
): DefinedCheck<F, X, Facts>;
/** The old single-`run` shape: accepted while the built-in checks are converted, then for plugins only. */
export function defineCheck(spec: LegacyCheckSpec): Check;
export function defineCheck(spec: CheckSpec<FindingSpecs, FixDocs, unknown> | LegacyCheckSpec): Check {
  if ('run' in spec) return spec;
  const { id, group, title, description, findings, probes, dependsOn } = spec;
  const check: DefinedCheck = {
    id,
    group,
    title,
    description,
    findings,
    fixDocs: spec.fixDocs ?? {},
    ...(probes ? { probes } : {}),
    ...(dependsOn ? { dependsOn } : {}),
    spec,
    appliesTo: (ctx) => spec.appliesTo(ctx),
    run: (ctx) => runSpec(spec, ctx),
  };
  return check;
}

/**
 * Types a fix builder: the identity function, so a plugin's own checks can share one typed
 * builder and return what it makes from `offer()` (or `run()`). Fixes reach the engine only that
 * way; a plugin's separate `fixes` export is refused at load.
 */
export function defineFix<A extends unknown[]>(build: (...args: A) => Fix): (...args: A) => Fix {
  return build;
}
