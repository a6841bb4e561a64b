import Table from 'cli-table3';
import { fitColumns, widestLine, type ColumnSpec } from './fit-columns.js';
import { painter } from './style.js';
import { escapeControl } from './terminal-text.js';
import type { FleetSummary } from './fleet-summary.js';

/** Below this, no table is readable; the summary is laid out for this width instead. */
export const NARROWEST = 20;

type Cell = string | { content: string; wordWrap: true; wrapOnWordBoundary: boolean };

interface Column { head: string; min: number; cells: string[]; breakWords: boolean; fixed?: boolean }

/**
 * A cli-table3 table no wider than `width`: columns fitted by {@link fitColumns}, cells wrapped
 * inside them (a path or a name is broken anywhere; a list breaks between its words when every
 * word fits). Null when the columns' minimums do not fit.
 */
function fittedTable(columns: Column[], rows: number, width: number): string | null {
  const specs: ColumnSpec[] = columns.map((c) => {
    const want = widestLine([c.head, ...c.cells]);
    // A short column of its own (a kind, a count) is never wrapped; the long ones share the rest.
    const min = c.fixed ? want : Math.min(c.min, want);
    // A list may wrap between its items: down to its longest item it stays whole.
    return { min, want, ...(c.breakWords ? { comfortable: widestLine(c.cells.flatMap((t) => t.split(/[ ,]+/))) } : {}) };
  });
  const colWidths = fitColumns(specs, width);
  if (!colWidths) return null;
  const table = new Table({ head: columns.map((c) => c.head), colWidths, wordWrap: true, wrapOnWordBoundary: false, style: { head: [], border: [] } });
  for (let r = 0; r < rows; r++) {
    table.push(columns.map((c, i): Cell => {
      const content = c.cells[r]!;
      // Break between words only when the longest word fits the column; else cli-table3 would cut it short.
      const wordsFit = widestLine(content.split(/[ ,]+/)) <= colWidths[i]! - 2;
      return c.breakWords && wordsFit ? { content, wordWrap: true, wrapOnWordBoundary: true } : content;
    }));
  }
  return table.toString();
}

/** A one-column table, one cell per row of lines: the layout for terminals too narrow for columns. */
function stackedTable(records: string[][], width: number): string {
  const table = new Table({ colWidths: [width - 2], wordWrap: true, wrapOnWordBoundary: false, style: { head: [], border: [] } });
  for (const lines of records) table.push([lines.join('\n')]);
  return table.toString();
}

function count(n: number, paint: (s: string) => string): string {
  return n > 0 ? paint(String(n)) : String(n);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Words wrapped to `width` (the headline is plain ASCII words). */
function wrapWords(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) { lines.push(line); line = word; } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

/** The fleet table: one row per guest (hosts with failures first), then a row per host that has none. */
function guestsTable(s: FleetSummary, width: number, color: boolean): string {
  const p = painter(color);
  const rows = [
    ...s.rows.map((r) => ({
      host: escapeControl(r.host), guest: escapeControl(r.guest), kind: escapeControl(r.kind),
      pass: String(r.counts.pass), warn: count(r.counts.warn, p.yellow), fail: count(r.counts.fail, p.red), error: count(r.counts.error, p.red),
      failing: [...r.failing, ...r.erroring.map((id) => `${id} (error)`)].map(escapeControl).join(', '),
    })),
    ...s.emptyHosts.map((h) => ({ host: escapeControl(h.host), guest: '(no guests found)', kind: '', pass: '', warn: '', fail: '', error: '', failing: '' })),
  ];
  const col = (head: string, key: keyof (typeof rows)[number], min: number, breakWords = false): Column => ({ head, min, cells: rows.map((r) => r[key]), breakWords });
  const fixed = (head: string, key: keyof (typeof rows)[number]): Column => ({ ...col(head, key, 0), fixed: true });
  const columns = [
    col('host', 'host', 4), col('guest', 'guest', 5), fixed('kind', 'kind'),
    fixed('pass', 'pass'), fixed('warn', 'warn'), fixed('fail', 'fail'), fixed('error', 'error'),
    col('failing', 'failing', 7, true),
  ];
  return fittedTable(columns, rows.length, width) ?? stackedTable(rows.map((r) => [
    `${r.host}: ${r.guest}${r.kind ? ` (${r.kind})` : ''}`,
    ...(r.kind ? [`${r.pass} pass, ${r.warn} warn, ${r.fail} fail, ${r.error} error`] : []),
    ...(r.failing ? [`failing: ${r.failing}`] : []),
  ]), width);
}

/** The second table: how many hosts and guests each failing (or erroring) check id hits. */
function checksTable(s: FleetSummary, width: number): string {
  const rows = s.checks.map((t) => ({ check: escapeControl(t.id), status: t.status, hosts: String(t.hosts), guests: String(t.guests) }));
  const col = (head: string, key: keyof (typeof rows)[number], fixed: boolean): Column => ({ head, min: 5, cells: rows.map((r) => r[key]), breakWords: false, fixed });
  return fittedTable([col('check', 'check', false), col('status', 'status', true), col('hosts', 'hosts', true), col('guests', 'guests', true)], rows.length, width)
    ?? stackedTable(rows.map((r) => [`${r.check}: ${r.status} on ${plural(Number(r.hosts), 'host')} (${plural(Number(r.guests), 'guest')})`]), width);
}

/** The summary as text for a terminal of `width` columns (at least {@link NARROWEST}): headline, fleet table, checks table. */
export function fleetText(s: FleetSummary, width: number, color: boolean): string {
  const w = Math.max(NARROWEST, width);
  const t = s.totals;
  const headline = `${plural(t.hosts, 'host')}, ${plural(t.guests, 'guest')} from ${plural(t.files, 'file')}: `
    + `${t.hostsFailing} ${t.hostsFailing === 1 ? 'host has' : 'hosts have'} failures; ${t.fail} failed, ${plural(t.warn, 'warning')}, ${t.error} could not run.`;
  const parts = [wrapWords(headline, w)];
  if (s.rows.length + s.emptyHosts.length > 0) parts.push(guestsTable(s, w, color));
  if (s.checks.length > 0) parts.push(checksTable(s, w));
  return parts.join('\n\n') + '\n';
}
