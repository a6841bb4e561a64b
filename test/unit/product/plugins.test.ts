import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { builtinChecks } from '../../../src/checks/index.js';
import { loadPlugins } from '../../../src/core/plugins.js';

const dir = mkdtempSync(join(tmpdir(), 'ctd-plugins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHECK = (id: string) =>
  `{ id: '${id}', group: '${id.split('.')[0]}', title: 't', description: 'd', findings: {}, appliesTo: () => true, run: async () => ({ status: 'pass', summary: 'ok', findings: [], fixes: [] }) }`;
function plugin(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

describe('loadPlugins', () => {
  const good = plugin('good.mjs', `export const checks = [${CHECK('site.one')}, ${CHECK('site.two')}];`);
  const viaDefault = plugin('default.mjs', `export default { checks: [${CHECK('other.one')}] };`);

  test.each([
    ['syntax.mjs', 'export const checks = [ {,} ];', /^SyntaxError: |Parse failure/],
    ['nothing.mjs', 'export const unrelated = 1;', /exports no `checks`/],
    ['notarray.mjs', `export const checks = ${CHECK('site.x')};`, /not an array/],
    ['empty.mjs', 'export const checks = [];', /empty `checks`/],
    ['throws.mjs', 'throw new Error("cannot start\\nsecond line");', /^cannot start$/],
    [
      'dup-builtin.mjs',
      `export const checks = [${CHECK(builtinChecks[0]!.id)}];`,
      new RegExp(`check id ${builtinChecks[0]!.id.replace('.', '\\.')} is already taken`),
    ],
    ['dup-self.mjs', `export const checks = [${CHECK('site.three')}, ${CHECK('site.three')}];`, /already taken in the same plugin/],
    ['badid.mjs', `export const checks = [${CHECK('Bad Id')}];`, /group\.name/],
    ['badgroup.mjs', `export const checks = [{ ...${CHECK('site.four')}, group: 'other' }];`, /does not start with its group/],
    ['norun.mjs', `export const checks = [{ ...${CHECK('site.five')}, run: 1 }];`, /appliesTo\(ctx\) and run/],
    ['nofindings.mjs', `export const checks = [{ ...${CHECK('site.six')}, findings: undefined }];`, /finding codes/],
    [
      'fixes.mjs',
      `export const checks = [${CHECK('site.seven')}]; export const fixes = { f: () => ({}) };`,
      /^plugin fixes are returned by a check's offer\(\); the separate `fixes` export was removed$/,
    ],
    ['default-fixes.mjs', `export default { checks: [${CHECK('site.eight')}], fixes: {} };`, /the separate `fixes` export was removed/],
    ['fixes-only.mjs', 'export const fixes = {};', /the separate `fixes` export was removed/],
  ])('%s is reported in one line and the good plugins still load', async (name, source, message) => {
    const broken = plugin(name, source);
    const { checks, problems } = await loadPlugins([good, broken, viaDefault], builtinChecks);
    expect(checks.map((c) => c.id)).toEqual(['site.one', 'site.two', 'other.one']);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.plugin).toBe(broken);
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.message).not.toContain('\n');
  });

  test('a plugin whose id clashes with an earlier plugin is left out whole', async () => {
    const clash = plugin('clash.mjs', `export const checks = [${CHECK('new.one')}, ${CHECK('site.one')}];`);
    const { checks, problems } = await loadPlugins([good, clash], builtinChecks);
    expect(checks.map((c) => c.id)).toEqual(['site.one', 'site.two']);
    expect(problems[0]!.message).toContain('site.one is already taken');
  });

  test('a missing file or package is "not found"', async () => {
    const { problems } = await loadPlugins([join(dir, 'absent.mjs'), 'ctr-doctor-no-such-plugin'], builtinChecks);
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/^not found/), expect.stringMatching(/^not found/)]);
  });

  test('relative paths resolve from the given working directory', async () => {
    const { checks } = await loadPlugins(['./good.mjs'], builtinChecks, dir);
    expect(checks.map((c) => c.id)).toEqual(['site.one', 'site.two']);
  });

  test('the example plugin loads through the package name `ctr-doctor`', async () => {
    const { checks, problems } = await loadPlugins(
      ['./examples/plugin-hostname/index.mjs'],
      builtinChecks,
      new URL('../../../', import.meta.url).pathname,
    );
    expect(problems).toEqual([]);
    expect(checks.map((c) => c.id)).toEqual(['example.hostname']);
  });
});

describe('plugin resolution (L4)', () => {
  test("a bare --plugin NAME is not loaded from the working directory's node_modules", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ctd-l4-'));
    try {
      mkdirSync(join(cwd, 'node_modules', 'ctd-l4-planted'), { recursive: true });
      writeFileSync(
        join(cwd, 'node_modules', 'ctd-l4-planted', 'package.json'),
        JSON.stringify({ name: 'ctd-l4-planted', main: 'index.js' }),
      );
      writeFileSync(
        join(cwd, 'node_modules', 'ctd-l4-planted', 'index.js'),
        `require('fs').writeFileSync(${JSON.stringify(join(cwd, 'ran'))}, 'x'); exports.checks = [];`,
      );
      const { checks, problems } = await loadPlugins(['ctd-l4-planted'], builtinChecks, cwd);
      expect(checks).toEqual([]);
      expect(problems).toHaveLength(1);
      expect(existsSync(join(cwd, 'ran'))).toBe(false);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
