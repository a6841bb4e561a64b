/**
 * Running ctr-doctor against a real-guest scenario the way every real-*.test.ts does: under
 * `nsenter --net=` the world's offline namespace, at documentation addresses, once as text
 * (kept by recordOutput when CTD_RECORD_DIR is set) and once as JSON (validated).
 */
import { recordOutput } from './real-record.js';
import { runTool, validateReport, type ToolResult } from './tool.js';
import type { World } from './world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

/** A validated report with lookups by check id. */
export interface Diagnosis {
  report: Report;
  text: ToolResult;
  json: ToolResult;
  /** The result of one check (throws when the check did not run). */
  by(id: string): CheckResult;
  /** Finding codes of one check, in order. */
  codes(id: string): string[];
}

/** Options every run in a real-guest scenario gets. */
export function scenarioArgs(w: World, target: string): string[] {
  return [target, '--ping-target', w.net.webV4, '--dns-name', 'example.test', '--timeout', '6000'];
}

/**
 * `ctr-doctor TARGET …` as text (recorded as `step`), then as JSON. With `fix` options (such as
 * `['--yes', '--unsafe']`), the text run is `ctr-doctor fix TARGET … OPTIONS` and the JSON one a
 * plain check of what the fix left.
 */
export async function diagnose(w: World, scenario: string, step: string, args: string[], fix?: string[]): Promise<Diagnosis> {
  const argv = fix ? ['fix', ...args, ...fix] : args;
  const netns = w.net.offNsPath;
  const text = await runTool(argv, { netns, timeoutMs: 120_000 });
  recordOutput(scenario, step, argv, text);
  // `fix` changes the guest: its JSON comes from a plain check afterwards.
  const json = await runTool([...args, '--json'], { netns, timeoutMs: 120_000 });
  await validateReport(json.json);
  const report = json.json as Report;
  const by = (id: string): CheckResult => {
    const r = report.results.find((x) => x.id === id);
    if (!r) throw new Error(`no result for ${id}`);
    return r;
  };
  return { report, text, json, by, codes: (id) => by(id).findings.map((f) => f.code) };
}
