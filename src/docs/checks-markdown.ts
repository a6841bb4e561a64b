import type { Check } from '../core/check.js';

/** Escapes text for a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function section(c: Check): string[] {
  const lines = [`<a id="${c.id}"></a>`, '', `### \`${c.id}\`: ${c.title}`, '', c.description.trim(), ''];
  const codes = Object.entries(c.findings);
  if (codes.length > 0) {
    lines.push('| finding code | severity | meaning |', '|---|---|---|');
    // Each code has a stable anchor, CHECK-ID.CODE (codes are unique only within a check): the report links there.
    for (const [code, doc] of codes) lines.push(`| <a id="${c.id}.${code}"></a>\`${code}\` | ${doc.severity} | ${cell(doc.description)} |`);
    lines.push('');
  }
  const fixes = Object.entries(c.fixDocs ?? {});
  if (fixes.length > 0) {
    lines.push('Fixes offered:', '');
    for (const [name, doc] of fixes) lines.push(`- \`${name}\`: ${doc.replace(/\s*\n\s*/g, ' ')}`);
    lines.push('');
  }
  return lines;
}

/**
 * `docs/checks.md`: every registered check with its finding codes and fixes, grouped, in
 * registry order. Pure, so a test can regenerate it in memory and compare with the file.
 */
export function checksMarkdown(checks: readonly Check[]): string {
  const groups = [...new Set(checks.map((c) => c.group))];
  const lines = [
    '# ctr-doctor checks',
    '',
    '<!-- Generated from the check registry by `npm run docs` (scripts/gen-docs.mjs). Do not edit by hand. -->',
    '',
    'Each check reports `pass`, `warn`, `fail`, `skip` (it does not apply to this kind of guest) or `error` (the check itself could not run).',
    'Run one group or check with `ctr-doctor --only GROUP` or `--only ID`; `ctr-doctor checks --json` prints this list as data.',
    'Every check and finding code has an anchor here (`#CHECK-ID`, `#CHECK-ID.CODE`); `ctr-doctor explain CODE|ID` prints its section in the terminal.',
    '',
    '| id | title |',
    '|---|---|',
    ...checks.map((c) => `| [\`${c.id}\`](#${c.id}) | ${cell(c.title)} |`),
    '',
  ];
  for (const group of groups) {
    lines.push(`## ${group}`, '');
    for (const c of checks.filter((x) => x.group === group)) lines.push(...section(c));
  }
  return lines.join('\n').replace(/\n+$/, '\n');
}
