import { fitTable, type FitColumn } from './fit-table.js';
import { displayWidth, escapeTerminal } from './terminal-text.js';
import type { FleetSummary } from './fleet-summary.js';

/** Below this, no table is readable; the summary is laid out for this width instead. */
export const NARROWEST = 20;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Words wrapped to `width` (the headline is plain ASCII words). */
function wrapWords(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

function widest(text: string): number {
  return Math.max(0, ...text.split('\n').map(displayWidth));
}

/**
 * The table fitted to `width`, or, when its columns cannot fit at all, one column whose cells
 * are the rows' `stacked` lines. Names are escaped first, so that a newline in one is shown as
 * `\n`, not taken for a line break.
 */
function tableOrStack(
  columns: FitColumn[],
  rows: string[][],
  stacked: { head: string; rows: string[][] },
  width: number,
  color: boolean,
): string {
  const table = fitTable({ columns, rows, width, color });
  if (widest(table) <= width) return table;
  return fitTable({ columns: [{ head: stacked.head, min: 1 }], rows: stacked.rows.map((lines) => [lines.join('\n')]), width, color });
}

/** The fleet table: one row per guest (hosts with failures first), then a row per host that has none. */
function guestsTable(s: FleetSummary, width: number, color: boolean): string {
  const rows = [
    ...s.rows.map((r) => ({
      host: escapeTerminal(r.host),
      guest: escapeTerminal(r.guest),
      kind: escapeTerminal(r.kind),
      counts: [r.counts.pass, r.counts.warn, r.counts.fail, r.counts.error].map(String),
      failing: [...r.failing, ...r.erroring.map((id) => `${id} (error)`)].map(escapeTerminal).join(', '),
    })),
    ...s.emptyHosts.map((h) => ({
      host: escapeTerminal(h.host),
      guest: '(no guests found)',
      kind: '',
      counts: ['', '', '', ''],
      failing: '',
    })),
  ];
  const columns: FitColumn[] = [
    { head: 'host', min: 4 },
    { head: 'guest', min: 5 }, // 'schroot', the longest kind, whole.
    { head: 'kind', min: 7 },
    { head: 'pass', min: 4 },
    { head: 'warn', min: 4 },
    { head: 'fail', min: 4 },
    { head: 'error', min: 5 },
    // As wide as the longest built-in check id ('dconf.runtime-dir'), so that ids stay whole.
    { head: 'failing', min: 17 },
  ];
  return tableOrStack(
    columns,
    rows.map((r) => [r.host, r.guest, r.kind, ...r.counts, r.failing]),
    {
      head: 'host: guest (kind)',
      rows: rows.map((r) => [
        `${r.host}: ${r.guest}${r.kind ? ` (${r.kind})` : ''}`,
        ...(r.kind ? [`${r.counts[0]} pass, ${r.counts[1]} warn, ${r.counts[2]} fail, ${r.counts[3]} error`] : []),
        ...(r.failing ? [`failing: ${r.failing}`] : []),
      ]),
    },
    width,
    color,
  );
}

/** The second table: how many hosts and guests each failing (or erroring) check id hits. */
function checksTable(s: FleetSummary, width: number, color: boolean): string {
  const rows = s.checks.map((t) => [escapeTerminal(t.id), t.status, String(t.hosts), String(t.guests)]);
  const columns: FitColumn[] = [
    { head: 'check', min: 5 },
    { head: 'status', min: 5 },
    { head: 'hosts', min: 5 },
    { head: 'guests', min: 6 },
  ];
  const stacked = rows.map(([id, status, hosts, guests]) => [
    `${id}: ${status} on ${plural(Number(hosts), 'host')} (${plural(Number(guests), 'guest')})`,
  ]);
  return tableOrStack(columns, rows, { head: 'check', rows: stacked }, width, color);
}

/**
 * The summary as text for a terminal of `width` columns (at least {@link NARROWEST}): a
 * headline, the fleet table and the checks table, built with the report's {@link fitTable}
 * (box borders on a colour terminal, ASCII elsewhere).
 */
export function fleetText(s: FleetSummary, width: number, color: boolean): string {
  const w = Math.max(NARROWEST, width);
  const t = s.totals;
  const headline =
    `${plural(t.hosts, 'host')}, ${plural(t.guests, 'guest')} from ${plural(t.files, 'file')}: ` +
    `${t.hostsFailing} ${t.hostsFailing === 1 ? 'host has' : 'hosts have'} failures; ${t.fail} failed, ${plural(t.warn, 'warning')}, ${t.error} could not run.`;
  const parts = [wrapWords(headline, w)];
  if (s.rows.length + s.emptyHosts.length > 0) parts.push(guestsTable(s, w, color));
  if (s.checks.length > 0) parts.push(checksTable(s, w, color));
  return parts.join('\n\n') + '\n';
}
