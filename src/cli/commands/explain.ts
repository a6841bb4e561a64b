import type { Check } from '../../core/check.js';
import { closestName, explainLines, explainNames, lookUp } from '../../report/explain-text.js';
import { checksDocPath } from '../../docs/checks-doc-file.js';
import { escapeTerminal } from '../../report/terminal-text.js';
import { UsageError } from '../usage-error.js';
import type { CliIo } from '../io.js';

/**
 * `ctr-doctor explain CODE|ID`: the docs/checks.md section of a finding code, a check id or a fix
 * id, fitted to the terminal. An unknown name is bad usage (exit 2) with a one-line hint.
 */
export function runExplainCommand(checks: Check[], name: string, io: CliIo): number {
  const found = lookUp(checks, name);
  if (found === null) {
    const near = closestName(explainNames(checks), name);
    throw new UsageError(
      `no check, finding code or fix is called "${escapeTerminal(name)}"`,
      near
        ? `did you mean \`ctr-doctor explain ${near}\`? \`ctr-doctor checks\` lists the checks`
        : 'see `ctr-doctor checks`, or the codes in docs/checks.md',
    );
  }
  io.out.write(explainLines(found, io.width, checksDocPath()).join('\n') + '\n');
  return 0;
}
