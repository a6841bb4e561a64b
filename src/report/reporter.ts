import type { Check } from '../core/check.js';
import type { CheckResult, Fix, Report } from '../core/types.js';
import type { SessionInfo } from './report-layout.js';

/** Where a reporter writes: stdout for the report, stderr for everything else. */
export interface ReportStreams {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  color: boolean;
  verbose: boolean;
  /** Terminal columns: every human line fits them. */
  width: number;
  /** Where docs/checks.md is, as a file: URL, for links from finding codes. */
  docsUrl?: string | null;
}

/** What a run is about, given at `start`: the target, its checks, the TARGET word and the session. */
export interface RunMeta {
  target: Report['target'];
  checks: Check[];
  /** The TARGET word that names this target, for the commands the report suggests. */
  spec?: string | null;
  session?: SessionInfo | null;
  /** False inside `fix`, which applies the fixes itself: no "run ctr-doctor fix" hint. */
  fixHint?: boolean;
  /** The command that applies just one fix, shown under it. */
  fixCommand?: (spec: string | null, fix: Fix) => string;
  /** How many fixes `fix` would apply to a finished report (for the closing hint). */
  applicableFixes?: (report: Report) => number;
}

/** A reporter turns run events into output. Every hook is optional; reporters never probe. */
export interface Reporter {
  start?(meta: RunMeta): void;
  checkStart?(check: Check): void;
  checkEnd?(result: CheckResult): void;
  /** Called once with the finished report; may wait for its output to settle. */
  end?(report: Report): Promise<void> | void;
}

/** Output formats of the contract. */
export type FormatName = 'tty' | 'text' | 'json' | 'junit' | 'prometheus';
