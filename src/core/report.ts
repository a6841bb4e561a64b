import { exitCodeFor, summarize } from './exit-code.js';
import { TOOL_VERSION } from './version.js';
import type { CheckResult, Report } from './types.js';
import type { Target } from './target.js';
import type { HostScanRecord } from './scan-clock.js';

/**
 * Assembles the JSON report of the contract (`schemaVersion` 1); `hostName` names the machine it ran on,
 * `hostScans` the shared host scans of the run (left out when none was made).
 */
export function buildReport(
  target: Pick<Target, 'kind' | 'name' | 'root' | 'pid'>,
  results: CheckResult[],
  startedAt: Date,
  strict: boolean,
  hostName?: string,
  hostScans: readonly HostScanRecord[] = [],
): Report {
  const summary = summarize(results.map((r) => r.status));
  return {
    schemaVersion: 1,
    tool: { name: 'ctr-doctor', version: TOOL_VERSION },
    ...(hostName ? { host: { name: hostName } } : {}),
    target: { kind: target.kind, name: target.name, root: target.root, pid: target.pid },
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    success: exitCodeFor(summary, strict) === 0,
    summary,
    results,
    ...(hostScans.length > 0 ? { hostScans: hostScans.map((s) => ({ ...s })) } : {}),
  };
}
