/**
 * What ctr-doctor printed for a real-guest scenario, kept for the record when
 * `CTD_RECORD_DIR` is set (a directory): one text file per scenario and step.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ToolResult } from './tool.js';

/** Append `r`'s output under a heading to `CTD_RECORD_DIR/<scenario>.txt`; a no-op without it. */
export function recordOutput(scenario: string, step: string, args: string[], r: ToolResult): void {
  const dir = process.env.CTD_RECORD_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const text = `### ${step}\n$ ctr-doctor ${args.join(' ')}\n${r.stdout}${r.stderr ? `[stderr]\n${r.stderr}` : ''}[exit ${r.exitCode}]\n\n`;
  appendFileSync(join(dir, `${scenario}.txt`), text);
}
