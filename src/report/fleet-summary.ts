import type { Status } from '../core/types.js';
import { EXIT } from '../core/exit-code.js';
import { readFleetInput, type FleetReport } from './fleet-input.js';

/** A report file as read from disk, or why it could not be read. */
export type FleetFile = { file: string; text: string } | { file: string; error: string };

/** One guest of one host: the counts and failing checks of its latest report. */
export interface FleetRow {
  host: string;
  /** Where the host's name came from: the report's `host.name`, or the file name. */
  hostFrom: 'report' | 'file';
  file: string;
  guest: string;
  kind: string;
  /** `fix` when the row comes from `fix --json`: the checks run again after the fixes win. */
  source: 'check' | 'fix';
  startedAt: string | null;
  counts: Record<Status, number>;
  failing: string[];
  erroring: string[];
}

/** A host whose `check --all` found no guest (an empty array). */
export interface EmptyHost {
  host: string;
  hostFrom: 'report' | 'file';
  file: string;
}

/** How often one check fails (or could not run) across the fleet. */
export interface CheckTally {
  id: string;
  status: 'fail' | 'error';
  hosts: number;
  guests: number;
  hostNames: string[];
}

/** The fleet summary (`ctr-doctor summary --json`, schema of `ctr-doctor schema summary`). */
export interface FleetSummary {
  schemaVersion: 1;
  exitCode: number;
  /** `files`: the files read (a file that is not a report counts; one that could not be opened does not). */
  totals: { hosts: number; hostsFailing: number; guests: number; files: number } & Record<Status, number>;
  rows: FleetRow[];
  emptyHosts: EmptyHost[];
  checks: CheckTally[];
  unreadable: { file: string; message: string }[];
}

const STATUSES: Status[] = ['pass', 'warn', 'fail', 'skip', 'error'];

/** The host a file names when its report does not: `REPORTS/web-1.json` → `web-1`. */
export function hostFromFileName(file: string): string {
  const base = file.split('/').filter(Boolean).pop() ?? file;
  return base.replace(/\.json$/i, '') || base;
}

function rowOf(file: string, r: FleetReport): FleetRow {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
  for (const c of r.results) counts[c.status] += 1;
  const host = r.hostName ?? hostFromFileName(file);
  return {
    host,
    hostFrom: r.hostName ? 'report' : 'file',
    file,
    guest: r.guest,
    kind: r.kind,
    source: r.source,
    startedAt: r.startedAt,
    counts,
    failing: r.results.filter((c) => c.status === 'fail').map((c) => c.id),
    erroring: r.results.filter((c) => c.status === 'error').map((c) => c.id),
  };
}

/** How much trouble a guest is in, for sorting: a fail, then an error, then a warning, then clean. */
function trouble(c: Record<Status, number>): number {
  return c.fail > 0 ? 0 : c.error > 0 ? 1 : c.warn > 0 ? 2 : 3;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Hosts with failures first (then errors, then warnings), each host's worst guests first, names in order. */
function sortRows(rows: FleetRow[]): FleetRow[] {
  const hostTrouble = new Map<string, number>();
  for (const r of rows) hostTrouble.set(r.host, Math.min(hostTrouble.get(r.host) ?? 3, trouble(r.counts)));
  return [...rows].sort(
    (a, b) =>
      hostTrouble.get(a.host)! - hostTrouble.get(b.host)! ||
      byText(a.host, b.host) ||
      trouble(a.counts) - trouble(b.counts) ||
      byText(a.guest, b.guest) ||
      byText(a.file, b.file),
  );
}

function tallies(rows: FleetRow[]): CheckTally[] {
  const byKey = new Map<string, { id: string; status: 'fail' | 'error'; hosts: Set<string>; guests: number }>();
  for (const row of rows) {
    for (const [status, ids] of [
      ['fail', row.failing],
      ['error', row.erroring],
    ] as const) {
      for (const id of new Set(ids)) {
        const key = `${status} ${id}`;
        const t = byKey.get(key) ?? { id, status, hosts: new Set<string>(), guests: 0 };
        t.hosts.add(row.host);
        t.guests += 1;
        byKey.set(key, t);
      }
    }
  }
  return [...byKey.values()]
    .map((t) => ({ id: t.id, status: t.status, hosts: t.hosts.size, guests: t.guests, hostNames: [...t.hosts].sort(byText) }))
    .sort(
      (a, b) =>
        (a.status === b.status ? 0 : a.status === 'fail' ? -1 : 1) || b.hosts - a.hosts || b.guests - a.guests || byText(a.id, b.id),
    );
}

/**
 * 2 when some input could not be read (the summary is incomplete) or there was none;
 * otherwise 1 when a report has a fail, 3 when there is no fail but a check could not run, 0.
 */
export function fleetExitCode(s: Pick<FleetSummary, 'rows' | 'emptyHosts' | 'unreadable'>): number {
  if (s.unreadable.length > 0 || (s.rows.length === 0 && s.emptyHosts.length === 0)) return EXIT.usage;
  if (s.rows.some((r) => r.counts.fail > 0)) return EXIT.problems;
  if (s.rows.some((r) => r.counts.error > 0)) return EXIT.couldNotRun;
  return EXIT.ok;
}

/** The fleet summary of the files read: every report that parses is counted, every one that does not is named. */
export function summarizeFleet(files: FleetFile[]): FleetSummary {
  const rows: FleetRow[] = [];
  const emptyHosts: EmptyHost[] = [];
  const unreadable: FleetSummary['unreadable'] = [];
  for (const f of files) {
    if ('error' in f) {
      unreadable.push({ file: f.file, message: f.error });
      continue;
    }
    const input = readFleetInput(f.text);
    for (const message of input.problems) unreadable.push({ file: f.file, message });
    for (const r of input.reports) rows.push(rowOf(f.file, r));
    if (input.emptyArray) emptyHosts.push({ host: hostFromFileName(f.file), hostFrom: 'file', file: f.file });
  }
  const sorted = sortRows(rows);
  const hosts = new Set([...rows.map((r) => r.host), ...emptyHosts.map((h) => h.host)]);
  const totals = {
    hosts: hosts.size,
    hostsFailing: new Set(rows.filter((r) => r.counts.fail > 0).map((r) => r.host)).size,
    guests: rows.length,
    files: files.filter((f) => 'text' in f).length,
    ...(Object.fromEntries(STATUSES.map((s) => [s, rows.reduce((n, r) => n + r.counts[s], 0)])) as Record<Status, number>),
  };
  const summary = { schemaVersion: 1 as const, exitCode: 0, totals, rows: sorted, emptyHosts, checks: tallies(sorted), unreadable };
  summary.exitCode = fleetExitCode(summary);
  return summary;
}
