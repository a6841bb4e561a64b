import type { Check } from '../core/check.js';
import { escapeTerminal, wrapText } from './terminal-text.js';

/** What a name given to `explain` turned out to be. */
export type Explained =
  | { kind: 'check'; check: Check }
  | { kind: 'code'; hits: { check: Check; code: string }[] }
  | { kind: 'fix'; hits: { check: Check; fix: string }[] };

/** Looks a name up as a check id, then a finding code (in every check that declares it), then a fix id. */
export function lookUp(checks: readonly Check[], name: string): Explained | null {
  const check = checks.find((c) => c.id === name);
  if (check) return { kind: 'check', check };
  const codes = checks.filter((c) => Object.hasOwn(c.findings, name)).map((c) => ({ check: c, code: name }));
  if (codes.length > 0) return { kind: 'code', hits: codes };
  const fixes = checks.filter((c) => Object.hasOwn(c.fixDocs ?? {}, name)).map((c) => ({ check: c, fix: name }));
  if (fixes.length > 0) return { kind: 'fix', hits: fixes };
  return null;
}

/** Every name `explain` knows, for shell completion and "did you mean". */
export function explainNames(checks: readonly Check[]): string[] {
  return [...new Set(checks.flatMap((c) => [c.id, ...Object.keys(c.findings), ...Object.keys(c.fixDocs ?? {})]))];
}

/** The known name closest to a mistyped one (by edit distance), if it is close. */
export function closestName(names: readonly string[], typed: string): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(typed.length / 3)) + 1;
  for (const n of names) {
    const d = editDistance(n, typed);
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** Prose wrapped to the width (plugin text is escaped like guest text). */
function para(text: string, width: number, indent = ''): string[] {
  return wrapText(escapeTerminal(text.trim().replace(/\s*\n\s*/g, ' ')), width, indent, indent);
}

/**
 * The docs/checks.md section of a check, a finding code or a fix, as terminal text fitted to the
 * width: what it looks at, its codes with their severity and meaning, the fixes it offers, and
 * where the section is in docs/checks.md.
 */
export function explainLines(found: Explained, width: number, docsPath: string | null): string[] {
  const where = (anchor: string) => `${docsPath ?? 'docs/checks.md'}#${anchor}`;
  if (found.kind === 'check') {
    const c = found.check;
    const lines = [...para(`${c.id}: ${c.title}`, width), ...para(where(c.id), width, '  '), '', ...para(c.description, width)];
    const codes = Object.entries(c.findings);
    if (codes.length > 0) {
      lines.push('', 'Finding codes:');
      for (const [code, doc] of codes)
        lines.push(...para(`${code} (${doc.severity})`, width, '  '), ...para(doc.description, width, '      '));
    }
    const fixes = Object.entries(c.fixDocs ?? {});
    if (fixes.length > 0) {
      lines.push('', 'Fixes offered:');
      for (const [id, doc] of fixes) lines.push(...para(id, width, '  '), ...para(doc, width, '      '));
    }
    return lines;
  }
  const lines: string[] = [];
  for (const hit of found.hits) {
    if (lines.length > 0) lines.push('');
    const c = hit.check;
    if ('code' in hit) {
      const doc = c.findings[hit.code]!;
      lines.push(
        ...para(`${hit.code} (${doc.severity}), a finding of ${c.id}: ${c.title}`, width),
        ...para(where(`${c.id}.${hit.code}`), width, '  '),
        '',
        ...para(doc.description, width),
      );
    } else {
      lines.push(
        ...para(`${hit.fix}, a fix offered by ${c.id}: ${c.title}`, width),
        ...para(where(c.id), width, '  '),
        '',
        ...para(c.fixDocs?.[hit.fix] ?? '', width),
      );
      lines.push('', ...para(`Apply just this fix with: ctr-doctor fix TARGET --only ${hit.fix}`, width));
    }
    lines.push('', ...para(`About ${c.id}: ${c.description}`, width));
  }
  return lines;
}
