import Table from 'cli-table3';
import type { Check } from '../../core/check.js';
import type { CliIo } from '../io.js';

/** `ctr-doctor checks [--json]`: the registered checks with id, group and title. */
export function runChecksCommand(checks: Check[], json: boolean, io: CliIo): number {
  if (json) {
    io.out.write(JSON.stringify(checks.map((c) => ({ id: c.id, group: c.group, title: c.title, description: c.description, findings: c.findings, fixes: c.fixDocs ?? {} })), null, 2) + '\n');
    return 0;
  }
  const table = new Table({ head: ['id', 'group', 'title'], style: { head: [], border: [] } });
  for (const c of checks) table.push([c.id, c.group, c.title]);
  io.out.write(table.toString() + '\n');
  return 0;
}
