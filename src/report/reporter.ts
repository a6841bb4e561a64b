import type { Check } from '../core/check.js';
import type { CheckResult, Report } from '../core/types.js';

/** Where a reporter writes: stdout for the report, stderr for everything else. */
export interface ReportStreams {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  color: boolean;
  verbose: boolean;
  /** Terminal width for tables. */
  width: number;
}

/** A reporter turns run events into output. Every hook is optional; reporters never probe. */
export interface Reporter {
  start?(meta: { target: Report['target']; checks: Check[] }): void;
  checkStart?(check: Check): void;
  checkEnd?(result: CheckResult): void;
  /** Called once with the finished report; may wait for its output to settle. */
  end?(report: Report): Promise<void> | void;
}

/** Output formats of the contract. */
export type FormatName = 'tty' | 'text' | 'json' | 'junit' | 'prometheus';
