import { evidenceLines } from './evidence-lines.js';
import { wrapShellLine, wrapSnippet } from './snippet-wrap.js';
import { painter, statusMark } from './style.js';
import { escapeTerminal, wrapText } from './terminal-text.js';
import type { CheckResult, Fix, Report, Status } from '../core/types.js';

/** Who the run speaks for, shown in the header. Not part of the JSON report. */
export interface SessionInfo {
  user: string;
  uid: number;
  /** How the user was chosen (`--user`, SUDO_UID, a session process, the default). */
  chosenBy: string;
  /** Where the session environment came from (`process 123`, `--env-from 45`). */
  envSource: string;
  /** Why there is no desktop session, when there is none. */
  noSession?: string;
}

/** What the human report needs besides the JSON report. */
export interface LayoutOptions {
  width: number;
  color: boolean;
  verbose: boolean;
  /** The TARGET word the user gave (or one that names the same target). */
  spec?: string | null;
  session?: SessionInfo | null;
  /** Whether to end with "run ctr-doctor fix" when fix would apply something (not inside fix). */
  fixHint?: boolean;
  /** Where docs/checks.md is (a file: URL); finding codes link to their anchors on a colour terminal. */
  docsUrl?: string | null;
  /** The shell-quoted command that applies just this fix (the CLI knows its own flags); none: no command shown. */
  fixCommand?: (spec: string | null, fix: Fix) => string;
  /** How many fixes `ctr-doctor fix` would apply: the closing hint appears when it is more than 0. */
  applicableFixes?: number;
}

/** The TARGET word that names this target again, for commands the report suggests. */
export function targetSpecOf(target: Report['target']): string | null {
  switch (target.kind) {
    case 'chroot':
      return `chroot:${target.name}`;
    case 'schroot':
      return `session:${target.name}`;
    case 'nspawn':
      return `nspawn:${target.name}`;
    case 'pid':
      return target.pid !== null ? `pid:${target.pid}` : null;
    case 'self':
      return 'self';
    case 'host':
      return null;
  }
}

/** Replaces the plain lead of a line (a status word or symbol) by its painted form. */
function paintLead(line: string, plain: string, painted: string): string {
  return line.startsWith(plain) ? painted + line.slice(plain.length) : line;
}

/** An OSC 8 hyperlink (terminals that do not know it show just the text). */
function link(text: string, url: string | null | undefined, color: boolean): string {
  return color && url ? `\u001b]8;;${url}\u0007${text}\u001b]8;;\u0007` : text;
}

/** The anchor of a finding code in docs/checks.md (codes are unique only within a check). */
export function codeAnchor(checkId: string, code: string): string {
  return `${checkId}.${code}`;
}

const SAFETY_ORDER: Record<Fix['safety'], number> = { safe: 0, unsafe: 1, manual: 2 };
const PROBLEM: ReadonlySet<Status> = new Set(['fail', 'warn', 'error']);

/**
 * The human report, for a terminal and a pipe alike: a header, the passes and skips folded into
 * lines, each problem once with its evidence and fixes, and a closing line. Every line fits
 * `width` columns; every guest-supplied string is escaped.
 */
export function renderReport(report: Report, given: LayoutOptions): string[] {
  const opts = { ...given, spec: given.spec === undefined ? targetSpecOf(report.target) : given.spec };
  const lines = [...headerLines(report, opts), ''];
  const folded = opts.verbose ? everyCheckLines(report, opts) : foldedLines(report, opts);
  lines.push(...folded);
  const problems = report.results.filter((r) => PROBLEM.has(r.status));
  if (problems.length > 0) {
    lines.push('', painter(opts.color).bold(`Problems (${problems.length})`));
    for (const r of problems) lines.push('', ...problemLines(r, opts));
  }
  lines.push('', ...closingLines(report, opts));
  return lines;
}

/** The first lines: tool, target, kind, pid; then the session the run speaks for. */
export function headerLines(report: Report, opts: LayoutOptions): string[] {
  const p = painter(opts.color);
  const t = report.target;
  const head = `ctr-doctor ${report.tool.version}: ${t.kind} ${escapeTerminal(t.name)}${t.pid ? ` (pid ${t.pid})` : ''}`;
  const lines = wrapText(head, opts.width, '', '  ').map((l, i) => (i === 0 ? p.bold(l) : l));
  const s = opts.session;
  if (s) {
    const text = s.noSession
      ? `session: none (${escapeTerminal(s.noSession)})`
      : `session: ${escapeTerminal(s.user)} (uid ${s.uid}, ${s.chosenBy}), environment from ${escapeTerminal(s.envSource)}`;
    lines.push(...wrapText(text, opts.width, '', '  ').map(p.gray));
  }
  return lines;
}

/** Passes on one line, skips grouped by reason (a reason shared by several checks is shown). */
function foldedLines(report: Report, opts: LayoutOptions): string[] {
  const p = painter(opts.color);
  const lines: string[] = [];
  const passed = report.results.filter((r) => r.status === 'pass');
  if (passed.length > 0)
    lines.push(
      ...listLine(
        'pass',
        `${passed.length} passed`,
        passed.map((r) => r.id),
        opts,
      ),
    );
  const skipped = report.results.filter((r) => r.status === 'skip');
  const byReason = new Map<string, string[]>();
  for (const r of skipped) byReason.set(r.summary, [...(byReason.get(r.summary) ?? []), r.id]);
  const shared = [...byReason].filter(([, ids]) => ids.length > 1);
  const alone = skipped.filter((r) => (byReason.get(r.summary) ?? []).length === 1).map((r) => r.id);
  for (const [reason, ids] of shared) {
    // The header already gave the no-session reason: say it once.
    const said = reason === opts.session?.noSession ? 'no desktop session (see above)' : escapeTerminal(reason);
    lines.push(...listLine('skip', `${ids.length} skipped, ${said}`, ids, opts).map((l, i) => (i === 0 ? l : p.gray(l))));
  }
  if (alone.length > 0) lines.push(...listLine('skip', `${alone.length} skipped`, alone, opts));
  return lines;
}

/** `--verbose`: every passing and skipped check on its own line with its summary or reason. */
function everyCheckLines(report: Report, opts: LayoutOptions): string[] {
  const lines: string[] = [];
  for (const r of report.results.filter((x) => !PROBLEM.has(x.status))) {
    const mark = statusMark(r.status, opts.color);
    const body = wrapText(`${escapeTerminal(r.id)}: ${escapeTerminal(r.summary)}`, opts.width, `${mark.plain} `, '    ');
    lines.push(...body.map((l, i) => (i === 0 ? paintLead(l, mark.plain, mark.painted) : l)));
  }
  return lines;
}

/** "5 passed: a, b, c" wrapped, with the status mark in front. */
function listLine(status: Status, label: string, ids: string[], opts: LayoutOptions): string[] {
  const mark = statusMark(status, opts.color);
  const wrapped = wrapText(`${label}: ${ids.map(escapeTerminal).join(', ')}`, opts.width, `${mark.plain} `, '    ');
  return wrapped.map((l, i) => (i === 0 ? paintLead(l, mark.plain, mark.painted) : l));
}

/** One problem: its status and summary, the evidence that proves it, its fixes, safe ones first. */
export function problemLines(r: CheckResult, opts: LayoutOptions): string[] {
  const p = painter(opts.color);
  const mark = statusMark(r.status, opts.color);
  const label = `${escapeTerminal(r.id)}${r.status === 'error' ? ' could not run' : ''}:`;
  const lead = `${mark.plain} ${label}`;
  const head = wrapText(`${label} ${escapeTerminal(r.summary)}`, opts.width, `${mark.plain} `, '  ');
  const lines = head.map((l, i) => (i === 0 ? paintLead(l, lead, `${mark.painted} ${p.bold(label)}`) : l));
  for (const e of evidenceLines(r, opts.verbose)) lines.push(...wrapText(escapeTerminal(e), opts.width, '  > ', '    ').map(p.gray));
  const fixes = [...r.fixes].sort((a, b) => SAFETY_ORDER[a.safety] - SAFETY_ORDER[b.safety]);
  for (const fix of fixes) lines.push(...fixLines(fix, opts));
  const codes = [...new Set(r.findings.filter((f) => f.severity !== 'info').map((f) => f.code))];
  if (codes.length > 0) {
    const wrapped = wrapText(`docs: ctr-doctor explain ${codes.map(escapeTerminal).join(' ')}`, opts.width, '  ', '    ');
    // Each code links to its anchor; the link is added after wrapping, since it takes no columns.
    const anchored = wrapped.map((l) =>
      l
        .split(' ')
        .map((word) => (codes.includes(word) ? link(word, opts.docsUrl && `${opts.docsUrl}#${codeAnchor(r.id, word)}`, opts.color) : word))
        .join(' '),
    );
    lines.push(...anchored.map(p.gray));
  }
  return lines;
}

/** A fix: its safety and title, then the command that applies just it, or the snippets to paste. */
function fixLines(fix: Fix, opts: LayoutOptions): string[] {
  const p = painter(opts.color);
  const tag = `fix (${fix.safety})`;
  const lines = wrapText(`${tag}: ${escapeTerminal(fix.title)}`, opts.width, '  ', '      ').map((l, i) =>
    i === 0 ? paintLead(l, `  ${tag}`, `  ${(fix.safety === 'manual' ? p.blue : fix.safety === 'unsafe' ? p.yellow : p.green)(tag)}`) : l,
  );
  if (fix.safety !== 'manual' && fix.steps.some((s) => s.kind !== 'manual')) {
    if (opts.fixCommand)
      lines.push(...wrapShellLine(escapeTerminal(opts.fixCommand(opts.spec ?? null, fix)), opts.width, '    $ ', '      '));
    return lines;
  }
  let broken = false;
  for (const step of fix.steps) {
    if (step.kind !== 'manual') continue;
    // "on the host:" unless the description already says where.
    const where = /\b(guest|host)\b/.test(step.description) ? '' : `${step.where === 'guest' ? 'in the guest' : 'on the host'}: `;
    lines.push(...wrapText(`${where}${escapeTerminal(step.description)}`, opts.width, '    ', '      '));
    if (!step.snippet) continue;
    const wrapped = wrapSnippet(step.snippet.split('\n').map(escapeTerminal).join('\n'), opts.width, '      ');
    broken ||= wrapped.brokenConfig;
    lines.push(...wrapped.lines);
  }
  if (broken)
    lines.push(
      ...wrapText(
        '(a config line above is wider than the terminal and was broken: join it back into one line)',
        opts.width,
        '    ',
        '    ',
      ).map(p.gray),
    );
  return lines;
}

/** Counts and time; the fix hint only when `fix` would apply something. */
function closingLines(report: Report, opts: LayoutOptions): string[] {
  const s = report.summary;
  const parts = [
    `${s.pass} passed`,
    `${s.warn} warning${s.warn === 1 ? '' : 's'}`,
    `${s.fail} failed`,
    `${s.skip} skipped`,
    ...(s.error > 0 ? [`${s.error} could not run`] : []),
  ];
  const lines = wrapText(`${parts.join(', ')} in ${(report.durationMs / 1000).toFixed(2)} s`, opts.width, '', '  ');
  if (opts.fixHint !== false) {
    const applicable = opts.applicableFixes ?? 0;
    if (applicable > 0) {
      const spec = opts.spec ? ` ${escapeTerminal(opts.spec)}` : '';
      lines.push(
        ...wrapText(
          `Run \`ctr-doctor fix${spec}\` to apply the ${applicable} safe fix${applicable === 1 ? '' : 'es'} (\`--dry-run\` shows the plan).`,
          opts.width,
          '',
          '  ',
        ),
      );
    }
  }
  return lines;
}
