import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { prometheusText } from '../../../src/report/prometheus-reporter.js';
import type { Report } from '../../../src/core/types.js';

const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');

test('docs/metrics.md names every metric, its HELP and TYPE lines and every label the reporter writes', () => {
  const report: Report = {
    schemaVersion: 1,
    tool: { name: 'ctr-doctor', version: '0' },
    target: { kind: 'chroot', name: '/srv/x', root: '/srv/x', pid: null },
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 5,
    success: true,
    summary: { pass: 1, warn: 0, fail: 0, skip: 0, error: 0 },
    results: [{ id: 'dns.stub', group: 'dns', title: 't', status: 'pass', summary: 's', durationMs: 1, findings: [], fixes: [] }],
  };
  const lines = prometheusText([report]).trimEnd().split('\n');
  for (const line of lines.filter((l) => l.startsWith('#'))) expect(doc, line).toContain(line);
  for (const name of new Set(lines.filter((l) => !l.startsWith('#')).map((l) => l.split('{')[0]!))) {
    expect(doc).toContain(`## \`${name}\``);
    expect(lines).toContain(`# TYPE ${name} gauge`);
  }
  for (const label of new Set(lines.flatMap((l) => [...l.matchAll(/([a-z_]+)="/g)].map((m) => m[1]!))))
    expect(doc).toContain(`| \`${label}\` |`);
});
