import type { CheckResult, Fix, Report, Status } from '../../../src/core/types.js';

/** A check result with only what the fix plan and run look at: id, status and the fixes offered. */
export const result = (id: string, status: Status, fixes: Fix[] = []): CheckResult => ({
  id,
  group: id.split('.')[0]!,
  title: id,
  status,
  summary: '',
  durationMs: 0,
  findings: [],
  fixes,
});

/** A chroot report around `results`, for the fix plan and run. */
export const report = (results: CheckResult[]): Report => ({
  schemaVersion: 1,
  tool: { name: 'ctr-doctor', version: '0' },
  target: { kind: 'chroot', name: '/r', root: '/r', pid: null },
  startedAt: new Date(0).toISOString(),
  durationMs: 0,
  success: false,
  summary: { pass: 0, warn: 0, fail: 0, skip: 0, error: 0 },
  results,
});
