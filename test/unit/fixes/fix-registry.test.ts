import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { builtinChecks } from '../../../src/checks/index.js';
import { fixContent, FixRegistry } from '../../../src/fixes/fix-registry.js';
import { buildPlan } from '../../../src/fixes/fix-plan.js';
import type { CheckResult, Fix, Report } from '../../../src/core/types.js';

const mkdir = (path: string, mode?: number): Fix['steps'][number] => ({
  kind: 'mkdir',
  where: 'guest',
  path,
  ...(mode === undefined ? {} : { mode }),
  description: 'd',
});
const fix = (id: string, steps: Fix['steps'], title = id): Fix => ({ id, title, safety: 'safe', steps });

describe('FixRegistry: one id, one content', () => {
  test('the same content from two checks is one fix listing both; key order and undefined fields do not matter', () => {
    const r = new FixRegistry();
    r.offer('a.one', fix('x.fix', [mkdir('/x', 0o700)]));
    r.offer('b.two', {
      safety: 'safe',
      steps: [{ description: 'd', path: '/x', mode: 0o700, where: 'guest', kind: 'mkdir', uid: undefined }],
      title: 'x.fix',
      id: 'x.fix',
    });
    expect(r.all().map((e) => [e.fix.id, e.checkIds, e.clashesWith ?? null])).toEqual([['x.fix', ['a.one', 'b.two'], null]]);
  });

  test('other content under a taken id is kept apart, never merged; a third offer of it joins that one', () => {
    const r = new FixRegistry();
    r.offer('a.one', fix('x.fix', [mkdir('/x', 0o700)]));
    r.offer('b.two', fix('x.fix', [mkdir('/etc', 0o777)]));
    r.offer('c.three', fix('x.fix', [mkdir('/etc', 0o777)]));
    r.offer('d.four', fix('x.fix', [mkdir('/x', 0o700)], 'another title'));
    expect(r.all().map((e) => [e.checkIds, e.clashesWith?.checkId ?? null])).toEqual([
      [['a.one'], null],
      [['b.two', 'c.three'], 'a.one'],
      [['d.four'], 'a.one'],
    ]);
    expect(fixContent(r.all()[0]!.fix)).not.toBe(fixContent(r.all()[1]!.fix));
  });

  test('in the plan the second content is skipped with a one-line reason, and only the first is applied', () => {
    const result = (id: string, fixes: Fix[]): CheckResult => ({
      id,
      group: id.split('.')[0]!,
      title: id,
      status: 'fail',
      summary: '',
      durationMs: 0,
      findings: [],
      fixes,
    });
    const report: Report = {
      schemaVersion: 1,
      tool: { name: 'ctr-doctor', version: '0' },
      target: { kind: 'chroot', name: '/r', root: '/r', pid: null },
      startedAt: new Date(0).toISOString(),
      durationMs: 0,
      success: false,
      summary: { pass: 0, warn: 0, fail: 2, skip: 0, error: 0 },
      results: [
        result('dns.resolv-conf', [fix('dns.write-resolv-conf', [mkdir('/a')])]),
        result('plugin.evil', [fix('dns.write-resolv-conf', [mkdir('/etc/evil')])]),
      ],
    };
    const plan = buildPlan(report, { unsafe: true, guestChosen: true });
    expect(plan.map((p) => [p.fixId, p.action, p.checkIds])).toEqual([
      ['dns.write-resolv-conf', 'apply', ['dns.resolv-conf']],
      ['dns.write-resolv-conf', 'skipped', ['plugin.evil']],
    ]);
    expect(plan[1]!.reason).toBe(
      'fix id dns.write-resolv-conf differs from the one dns.resolv-conf offers: one id means one content; only that one is applied',
    );
    expect(plan[1]!.reason).not.toContain('\n');
  });
});

/** Every .ts file under src/, with its text. */
function sources(dir = 'src'): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [{ file: p, text: readFileSync(p, 'utf8') }] : [];
  });
}

describe('built-in fixes: one builder per id', () => {
  const src = sources().filter((s) => !s.file.startsWith('src/docs/'));
  const declaredBy = new Map<string, string[]>();
  for (const c of builtinChecks) for (const id of Object.keys(c.fixDocs ?? {})) declaredBy.set(id, [...(declaredBy.get(id) ?? []), c.id]);
  /** Modules that build fix `id`: the id as a quoted value (not a fixDocs key `'id':`, not a type argument `<'id'>`). */
  const builders = (id: string): string[] => {
    const re = new RegExp(`(?<!<)['\`]${id.replace(/\./g, '\\.')}['\`](?!\\s*:)`);
    return src.filter((s) => re.test(s.text)).map((s) => s.file);
  };

  test('the built-in checks declare fix ids', () => {
    expect(declaredBy.size).toBeGreaterThan(50);
  });

  test.each([...declaredBy.keys()])('%s is built in at most one module', (id) => {
    expect(builders(id).length, builders(id).join(', ')).toBeLessThanOrEqual(1);
  });

  // Two checks offering one id get it from one builder in src/fixes/plans, so one run's facts give one content.
  test.each([...declaredBy].filter(([, checks]) => checks.length > 1))('%s, offered by %j, is built once in src/fixes/plans', (id) => {
    expect(builders(id)).toEqual([expect.stringMatching(/^src\/fixes\/plans\//) as string]);
  });
});
