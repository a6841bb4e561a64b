import type { Status } from '../core/types.js';

/** The parts of one report that the fleet summary needs. */
export interface FleetReport {
  hostName: string | null;
  guest: string;
  kind: string;
  source: 'check' | 'fix';
  startedAt: string | null;
  results: { id: string; status: Status }[];
}

/** What one file holds: its reports, one line per part that is not a report, and whether it was `[]`. */
export interface FleetInput {
  reports: FleetReport[];
  problems: string[];
  emptyArray: boolean;
}

const STATUSES = new Set<string>(['pass', 'warn', 'fail', 'skip', 'error']);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class NotAReport extends Error {}

function need(ok: boolean, why: string): asserts ok {
  if (!ok) throw new NotAReport(why);
}

/** The check report (`schemaVersion` 1) in `v`, or a NotAReport saying which field is wrong. */
function checkReport(v: unknown, source: FleetReport['source']): FleetReport {
  need(isObject(v), 'not a JSON object');
  // JSON.stringify(undefined) is undefined, whatever its type says.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  need(v.schemaVersion === 1, `schemaVersion is ${JSON.stringify(v.schemaVersion) ?? 'missing'}, not 1`);
  need(isObject(v.tool) && v.tool.name === 'ctr-doctor', 'tool.name is not "ctr-doctor"');
  const target = v.target;
  need(isObject(target) && typeof target.kind === 'string' && typeof target.name === 'string', 'target.kind or target.name is missing');
  need(Array.isArray(v.results), 'results is not an array');
  const results = v.results.map((r: unknown, i) => {
    need(
      isObject(r) && typeof r.id === 'string' && typeof r.status === 'string' && STATUSES.has(r.status),
      `results[${i}] has no id or no known status`,
    );
    return { id: r.id, status: r.status as Status };
  });
  const host = isObject(v.host) && typeof v.host.name === 'string' && v.host.name !== '' ? v.host.name : null;
  return {
    hostName: host,
    guest: target.name,
    kind: target.kind,
    source,
    startedAt: typeof v.startedAt === 'string' ? v.startedAt : null,
    results,
  };
}

/** `fix --json`: the first diagnosis, with the checks run again after the fixes replacing theirs. */
function fixResult(v: Json): FleetReport {
  const before = checkReport(v.before, 'fix');
  if (v.after === null || v.after === undefined) return before;
  const after = checkReport(v.after, 'fix');
  const again = new Map(after.results.map((r) => [r.id, r]));
  return { ...before, results: before.results.map((r) => again.get(r.id) ?? r) };
}

function oneReport(v: unknown): FleetReport {
  return isObject(v) && 'before' in v && 'plan' in v ? fixResult(v) : checkReport(v, 'check');
}

/** Reads one file's text: a `check` report, a `check --all` array of them, or a `fix --json` result. */
export function readFleetInput(text: string): FleetInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { reports: [], problems: [`not JSON (${(error as Error).message.slice(0, 120)})`], emptyArray: false };
  }
  const items = Array.isArray(value) ? value : [value];
  const input: FleetInput = { reports: [], problems: [], emptyArray: Array.isArray(value) && value.length === 0 };
  items.forEach((item, i) => {
    try {
      input.reports.push(oneReport(item));
    } catch (error) {
      if (!(error instanceof NotAReport)) throw error;
      input.problems.push(`${Array.isArray(value) ? `[${i}]: ` : ''}not a ctr-doctor report: ${error.message}`);
    }
  });
  return input;
}
