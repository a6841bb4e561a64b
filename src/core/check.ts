import type { CheckOutcome, Fix } from './types.js';
import type { Target } from '../targets/target.js';
import type { HostContext } from '../host/host-context.js';

/** Options every check may read. Checks never look at `process.*` directly. */
export interface CheckOptions {
  pingTarget: string;
  dnsName: string;
  timeoutMs: number;
  compareHost: boolean;
  verbose: boolean;
}

/** What a check is given: the guest (the only door into it), the host, and the options. */
export interface CheckContext {
  target: Target;
  host: HostContext;
  options: CheckOptions;
}

/** Documentation of one finding code, for `docs/checks.md` and the `checks` command. */
export interface FindingDoc {
  severity: 'fail' | 'warn' | 'info';
  description: string;
}

/** A check: it looks, decides and proposes fixes. It never prints. */
export interface Check {
  /** Stable id, `group.name`. */
  id: string;
  group: string;
  title: string;
  /** One paragraph: what it looks at and why it matters. */
  description: string;
  /** Every finding code it can emit. */
  findings: Record<string, FindingDoc>;
  /** Names of the fixes it can propose, with a line each. */
  fixDocs?: Record<string, string>;
  /**
   * Which probe children it uses (`Target.probe`: as root, or `asUser`), so that the run can start
   * them while the target is still busy elsewhere. Only a hint: an undeclared probe still works.
   */
  probes?: readonly ('root' | 'user')[];
  /** `true`, or the reason it does not apply (reported as `skip`). */
  appliesTo(ctx: CheckContext): true | string;
  run(ctx: CheckContext, signal: AbortSignal): Promise<CheckOutcome>;
}

/** Declares a check with full typing; the identity function plugins use too. */
export function defineCheck(check: Check): Check {
  return check;
}

/** Declares a fix builder; the identity function plugins use too. */
export function defineFix<A extends unknown[]>(build: (...args: A) => Fix): (...args: A) => Fix {
  return build;
}
