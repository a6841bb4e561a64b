import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineCheck, skip, cannotRun, type CheckContext } from '../../../src/core/check.js';
import { findingBuilder, renderMessage, placeholdersOf } from '../../../src/core/findings.js';
import { enforceDeclarations } from '../../../src/core/conformance.js';
import { runOneCheck } from '../../../src/core/runner.js';
import { FakeTarget, fakeContext } from '../support/fake-target.js';
import type { Check } from '../../../src/core/check.js';
import type { Fix } from '../../../src/core/types.js';

const findings = {
  'thing-missing': { severity: 'fail', message: '{path} is missing in the guest', description: 'The thing is missing.' },
  'thing-ok': { severity: 'info', message: 'the thing is fine', description: 'All good.' },
} as const;
const fixDocs = { 'demo.make-thing': 'Make the thing.' } as const;
const found = findingBuilder(findings);
const makeThing: Fix<'demo.make-thing'> = { id: 'demo.make-thing', title: 'make it', safety: 'manual', steps: [] };

const demo = defineCheck({
  id: 'demo.thing',
  group: 'demo',
  title: 'Thing',
  description: 'A thing.',
  findings,
  fixDocs,
  appliesTo: () => true,
  gather: async (ctx: CheckContext) => ({ present: ctx.target.env.THING === '1', path: '/etc/thing' }),
  judge: (facts: { present: boolean; path: string }) =>
    facts.present
      ? { findings: [found('thing-ok', {})], summary: 'thing here' }
      : [found('thing-missing', { path: facts.path }, { path: facts.path })],
  offer: () => [makeThing],
});

async function ctx(env: Record<string, string> = {}) {
  const target = new FakeTarget({ env });
  return fakeContext(target);
}

describe('defineCheck', () => {
  it('renders the template from the data and takes the severity from the declaration', async () => {
    const outcome = await demo.run(await ctx());
    expect(outcome).toMatchObject({ status: 'fail', summary: '/etc/thing is missing in the guest', fixes: [{ id: 'demo.make-thing' }] });
    expect(outcome.findings).toEqual([
      { code: 'thing-missing', severity: 'fail', message: '/etc/thing is missing in the guest', evidence: { path: '/etc/thing' } },
    ]);
  });

  it('a passing check offers no fixes and keeps its summary', async () => {
    expect(await demo.run(await ctx({ THING: '1' }))).toMatchObject({ status: 'pass', summary: 'thing here', fixes: [] });
  });

  it('an undeclared code, an undeclared fix id or missing template data (plain JavaScript) is an error with a clear summary', async () => {
    const broken = (judge: () => unknown, offer: () => unknown = () => []): Check =>
      defineCheck({
        id: 'demo.broken',
        group: 'demo',
        title: 'b',
        description: 'b',
        findings,
        fixDocs,
        appliesTo: () => true,
        gather: async () => ({}),
        judge: judge as never,
        offer: offer as never,
      });
    const c = await ctx();
    expect(
      await runOneCheck(
        broken(() => [{ code: 'nope', data: {} }]),
        c,
        1000,
        true,
      ),
    ).toMatchObject({ status: 'error', summary: 'demo.broken reported the undeclared finding code "nope"' });
    expect(
      await runOneCheck(
        broken(() => [{ code: 'thing-missing', data: {} }]),
        c,
        1000,
        true,
      ),
    ).toMatchObject({ status: 'error', summary: 'no data for {path} in "{path} is missing in the guest"' });
    expect(
      await runOneCheck(
        broken(
          () => [found('thing-missing', { path: '/x' })],
          () => [{ ...makeThing, id: 'demo.other' }],
        ),
        c,
        1000,
        true,
      ),
    ).toMatchObject({ status: 'error', summary: 'demo.broken offered the undeclared fix "demo.other"' });
  });

  it('gather or judge may end early with skip or error', async () => {
    const early = (result: 'skip' | 'error'): Check =>
      defineCheck({
        id: 'demo.early',
        group: 'demo',
        title: 'e',
        description: 'e',
        findings,
        appliesTo: () => true,
        gather: async () => (result === 'skip' ? skip('not here') : cannotRun('cannot look', { why: 1 })),
        judge: () => [],
      });
    const c = await ctx();
    expect(await early('skip').run(c)).toEqual({ status: 'skip', summary: 'not here', findings: [], fixes: [] });
    expect(await early('error').run(c)).toMatchObject({
      status: 'error',
      summary: 'cannot look',
      findings: [{ code: 'check-could-not-run', evidence: { why: 1 } }],
    });
  });

  it('the typed parts stay reachable for table tests', () => {
    expect(demo.spec.judge({ present: false, path: '/p' })).toEqual([
      { code: 'thing-missing', data: { path: '/p' }, evidence: { path: '/p' } },
    ]);
  });

  it('undeclared codes and fix ids do not compile', () => {
    // @ts-expect-error 'thing-gone' is not a declared code
    found('thing-gone', {});
    // @ts-expect-error the template needs {path}
    found('thing-missing', {});
    // @ts-expect-error an undeclared fix id
    const other: Fix<keyof typeof fixDocs> = { id: 'demo.other', title: '', safety: 'manual', steps: [] };
    expect(other.id).toBe('demo.other');
  });
});

describe('templates', () => {
  it('names its placeholders and fills them', () => {
    expect(placeholdersOf('{a} and {b} but not { c }')).toEqual(['a', 'b']);
    expect(renderMessage('{n} file(s) in {dir}', { n: 3, dir: '/tmp' })).toBe('3 file(s) in /tmp');
  });

  it('fills any template as a regex replace of each placeholder would, and names the first one without data', () => {
    // The plain reading of the template rules, against the cut-once templates.
    const reference = (template: string, data: Record<string, unknown>): string =>
      template.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (_all, name: string) => {
        const value = data[name];
        if (value === undefined || value === null) throw new Error(`no data for {${name}} in "${template}"`);
        return typeof value === 'string'
          ? value
          : typeof value === 'number' || typeof value === 'boolean'
            ? String(value)
            : JSON.stringify(value);
      });
    const outcome = (f: () => string) => {
      try {
        return { text: f() };
      } catch (error) {
        return { error: (error as Error).message };
      }
    };
    const piece = fc.constantFrom('{a}', '{b1}', '{c}', '{', '}', '{ a }', '{1x}', 'x', ' ', '$&', '$1', '{{a}}');
    const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.dictionary(fc.constantFrom('a', 'b1', 'c'), value), (pieces, data) => {
        const template = pieces.join('');
        // Twice: the second fill uses the template as cut by the first.
        for (let i = 0; i < 2; i++) expect(outcome(() => renderMessage(template, data))).toEqual(outcome(() => reference(template, data)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('enforceDeclarations (plugins in the old run shape)', () => {
  const legacy = (finding: { code: string; severity: 'fail' | 'warn' | 'info' }, fixId = 'demo.make-thing'): Check =>
    enforceDeclarations({
      id: 'demo.legacy',
      group: 'demo',
      title: 'l',
      description: 'l',
      findings,
      fixDocs,
      appliesTo: () => true,
      run: async () => ({
        status: 'fail',
        summary: 's',
        findings: [{ ...finding, message: 'm', evidence: {} }],
        fixes: [{ ...makeThing, id: fixId }],
      }),
    });
  it.each([
    [{ code: 'thing-missing', severity: 'fail' as const }, 'demo.make-thing', null],
    [
      { code: 'undeclared', severity: 'fail' as const },
      'demo.make-thing',
      'demo.legacy emitted the undeclared finding code "undeclared" (declare it in `findings`)',
    ],
    [
      { code: 'thing-missing', severity: 'warn' as const },
      'demo.make-thing',
      'demo.legacy emitted "thing-missing" as warn, but declares it fail',
    ],
    [
      { code: 'thing-missing', severity: 'fail' as const },
      'demo.nope',
      'demo.legacy offered the undeclared fix "demo.nope" (declare it in `fixDocs`)',
    ],
  ])('%j %s → %s', async (finding, fixId, problem) => {
    const r = await runOneCheck(legacy(finding, fixId), await ctx(), 1000, true);
    if (problem === null) expect(r.status).toBe('fail');
    else expect(r).toMatchObject({ status: 'error', summary: problem });
  });
});
