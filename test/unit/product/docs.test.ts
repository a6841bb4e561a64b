import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { builtinChecks } from '../../../src/checks/index.js';
import { checksMarkdown } from '../../../src/docs/checks-markdown.js';

describe('docs/checks.md', () => {
  test('is up to date with the registry (regenerate with `npm run docs`)', () => {
    const onDisk = readFileSync(new URL('../../../docs/checks.md', import.meta.url), 'utf8');
    expect(onDisk, 'docs/checks.md is stale: run `npm run docs`').toBe(checksMarkdown(builtinChecks));
  });

  test('names every check, every finding code with its severity, and every fix', () => {
    const md = checksMarkdown(builtinChecks);
    for (const c of builtinChecks) {
      expect(md).toContain(`### \`${c.id}\`: ${c.title}`);
      for (const [code, doc] of Object.entries(c.findings))
        expect(md).toContain(`| <a id="${c.id}.${code}"></a>\`${code}\` | ${doc.severity} |`);
      for (const name of Object.keys(c.fixDocs ?? {})) expect(md).toContain(`- \`${name}\`:`);
    }
  });

  test('escapes table-breaking text', () => {
    const md = checksMarkdown([
      {
        id: 'a.b',
        group: 'a',
        title: 'T|x',
        description: 'd',
        findings: { 'c-d': { severity: 'warn', description: 'pipe | and\nnewline' } },
        appliesTo: () => true,
        run: async () => ({ status: 'pass', summary: '', findings: [], fixes: [] }),
      },
    ]);
    expect(md).toContain('| <a id="a.b.c-d"></a>`c-d` | warn | pipe \\| and newline |');
  });
});
