import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, test } from 'vitest';
import { fixSchema } from '../../../src/report/fix-schema.js';
import { reportSchema } from '../../../src/report/schema.js';
import type { FixRunResult } from '../../../src/fixes/fix-result.js';

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT/);
const validate = ajv.compile(fixSchema);

const before = {
  schemaVersion: 1,
  tool: { name: 'ctr-doctor', version: '0' },
  target: { kind: 'chroot', name: '/r', root: '/r', pid: null },
  startedAt: new Date(0).toISOString(),
  durationMs: 0,
  success: false,
  summary: { pass: 0, warn: 0, fail: 1, skip: 0, error: 0 },
  results: [{ id: 'dns.resolv-conf', group: 'dns', title: 't', status: 'fail', summary: 's', durationMs: 1, findings: [], fixes: [] }],
} as const;
const run: FixRunResult = {
  schemaVersion: 1,
  dryRun: true,
  before: before as unknown as FixRunResult['before'],
  declined: [],
  applied: [],
  after: null,
  journal: null,
  exitCode: 1,
  plan: [
    {
      fixId: 'dns.write-resolv-conf',
      title: 'w',
      safety: 'safe',
      checkIds: ['dns.resolv-conf'],
      action: 'apply',
      steps: [{ kind: 'write', where: 'guest', path: '/etc/resolv.conf', content: '', description: 'd' }],
    },
    {
      fixId: 'dns.link',
      title: 'l',
      safety: 'safe',
      checkIds: ['dns.stub'],
      action: 'skipped',
      reason: 'conflicts with dns.write-resolv-conf: both write /etc/resolv.conf',
      conflictsWith: 'dns.write-resolv-conf',
      steps: [],
    },
  ],
};

describe('schema fix (fix --json, schemaVersion 1)', () => {
  test('a dry run with a skipped fix is valid; before is held to the report schema', () => {
    expect(validate(run), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...run, before: { ...before, schemaVersion: 2 } })).toBe(false);
  });

  test('only the known actions; the report schema is unchanged (still version 1, no fix-run fields)', () => {
    expect(validate({ ...run, plan: [{ ...run.plan[0], action: 'maybe' }] })).toBe(false);
    expect(reportSchema.properties.schemaVersion).toEqual({ const: 1 });
    expect(fixSchema.properties.schemaVersion).toEqual({ const: 1 });
  });
});
