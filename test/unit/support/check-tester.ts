import { describe, expect, it } from 'vitest';
import { conformanceProblem } from '../../../src/core/conformance.js';
import type { CheckOptions, DefinedCheck, FindingSpecs, FixDocs } from '../../../src/core/check.js';
import type { CheckOutcome, Status } from '../../../src/core/types.js';
import { FakeTarget, fakeContext, type FakeScenario } from './fake-target.js';
import { FakeHost, type FakeHostScenario } from './fake-host.js';

/** The fakes one case ran against, for assertions beyond codes and fixes. */
export interface CaseWorld {
  target: FakeTarget;
  host: FakeHost;
}

/**
 * One table case, in the spirit of ESLint's RuleTester: a guest and a host scenario, and what
 * the check must come to. `codes` and `fixes` are exact sets, typed against the declarations.
 */
export interface CheckCase<F extends FindingSpecs, X extends FixDocs> {
  name: string;
  target?: FakeScenario;
  host?: FakeHostScenario;
  options?: Partial<CheckOptions>;
  /** Runs after the fakes exist and before the check (a real socket in the fake root, say). */
  setup?: (world: CaseWorld) => void | Promise<void>;
  status: Status;
  /** Exactly these finding codes are emitted (order and repeats aside). */
  codes: readonly ((keyof F & string) | 'check-could-not-run')[];
  /** Exactly these fix ids are offered (default: none). */
  fixes?: readonly (keyof X & string)[];
  /** The summary, whole (a string) or matched. */
  summary?: string | RegExp;
  /** Anything else to assert: messages, evidence, snippets, what the fakes were asked. */
  assert?: (outcome: CheckOutcome, world: CaseWorld) => void | Promise<void>;
}

const unique = (xs: readonly string[]): string[] => [...new Set(xs)].sort();

/** Runs one case and returns the outcome, asserting it against the declarations and the case. */
export async function runCase<F extends FindingSpecs, X extends FixDocs, Facts>(
  check: DefinedCheck<F, X, Facts>,
  c: CheckCase<F, X>,
): Promise<CheckOutcome> {
  const target = new FakeTarget(c.target ?? {});
  const host = new FakeHost(c.host ?? {});
  try {
    const world = { target, host };
    await c.setup?.(world);
    const ctx = fakeContext(target, c.options ?? {}, host);
    const applies = check.appliesTo(ctx);
    const outcome: CheckOutcome = applies === true ? await check.run(ctx) : { status: 'skip', summary: applies, findings: [], fixes: [] };
    // Against the declarations: every code declared with this severity, every fix id declared, no template left unfilled.
    expect(conformanceProblem(check, outcome), 'conforms to its declarations').toBeNull();
    for (const f of outcome.findings) expect(f.message, `${f.code}: a filled message`).not.toMatch(/\{[A-Za-z][A-Za-z0-9]*\}/);
    // Against the case.
    expect({ status: outcome.status, summary: outcome.summary }).toMatchObject({ status: c.status });
    expect(unique(outcome.findings.map((f) => f.code)), 'finding codes').toEqual(unique(c.codes));
    expect(unique(outcome.fixes.map((f) => f.id)), 'fix ids').toEqual(unique(c.fixes ?? []));
    if (typeof c.summary === 'string') expect(outcome.summary).toBe(c.summary);
    else if (c.summary) expect(outcome.summary).toMatch(c.summary);
    await c.assert?.(outcome, world);
    return outcome;
  } finally {
    target.dispose();
  }
}

/**
 * Table tests of one check over FakeTarget and FakeHost: each case is a vitest test named
 * `status codes: name`. An unexpected command or probe fails the case (the fakes throw).
 */
export function checkTester<F extends FindingSpecs, X extends FixDocs, Facts>(
  check: DefinedCheck<F, X, Facts>,
  cases: readonly CheckCase<F, X>[],
): void {
  describe(`${check.id} (checkTester)`, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await runCase(check, c);
    });
  });
}
