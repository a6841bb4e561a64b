import { fitTable } from '../../report/fit-table.js';
import type { Check } from '../../core/check.js';
import type { CliIo } from '../io.js';

/** `ctr-doctor checks [--json]`: the registered checks with id, group and title. */
export function runChecksCommand(checks: Check[], json: boolean, io: CliIo): number {
  if (json) {
    io.out.write(
      JSON.stringify(
        checks.map((c) => ({
          id: c.id,
          group: c.group,
          title: c.title,
          description: c.description,
          findings: c.findings,
          fixes: c.fixDocs ?? {},
        })),
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  const table = fitTable({
    width: io.width,
    color: io.color(true),
    columns: [
      { head: 'id', min: 12 },
      { head: 'group', min: 5, dropOrder: 1 },
      { head: 'title', min: 16 },
    ],
    rows: checks.map((c) => [c.id, c.group, c.title]),
  });
  io.out.write(table + '\n');
  return 0;
}
