import type { Check } from './check.js';
import type { CheckOutcome } from './types.js';

/** Codes every check may emit without declaring them. */
const UNIVERSAL_CODES = new Set(['check-could-not-run']);

/**
 * What an outcome gets wrong against its check's declarations: an undeclared finding code, a
 * severity other than the declared one, an undeclared fix id. Null when it conforms.
 */
export function conformanceProblem(check: Check, outcome: CheckOutcome): string | null {
  for (const f of outcome.findings) {
    if (UNIVERSAL_CODES.has(f.code)) continue;
    const doc = Object.hasOwn(check.findings, f.code) ? check.findings[f.code] : undefined;
    if (!doc) return `${check.id} emitted the undeclared finding code "${f.code}" (declare it in \`findings\`)`;
    if (doc.severity !== f.severity) return `${check.id} emitted "${f.code}" as ${f.severity}, but declares it ${doc.severity}`;
  }
  const docs = check.fixDocs ?? {};
  for (const fix of outcome.fixes) {
    if (!Object.hasOwn(docs, fix.id)) return `${check.id} offered the undeclared fix "${fix.id}" (declare it in \`fixDocs\`)`;
  }
  return null;
}

/**
 * The check with its outcomes held to its declarations: a broken one becomes `error` with a
 * summary naming what is wrong. Plugins are plain JavaScript, so the types cannot hold them.
 */
export function enforceDeclarations(check: Check): Check {
  return {
    ...check,
    appliesTo: (ctx) => check.appliesTo(ctx),
    run: async (ctx) => {
      // A plugin may resolve to anything; the runner turns a shapeless outcome into an error itself.
      const outcome: unknown = await check.run(ctx);
      const shaped = outcome as Partial<CheckOutcome> | null;
      const problem =
        shaped !== null && typeof shaped === 'object' && Array.isArray(shaped.findings) && Array.isArray(shaped.fixes)
          ? conformanceProblem(check, shaped as CheckOutcome)
          : null;
      return problem === null ? (outcome as CheckOutcome) : { status: 'error', summary: problem, findings: [], fixes: [] };
    },
  };
}
