import { fitTable } from '../../report/fit-table.js';
import { wrapText } from '../../report/terminal-text.js';
import { discoverGuests } from '../../targets/discover.js';
import { HostContext } from '../../host/host-context.js';
import type { CliIo } from '../io.js';

/** `ctr-doctor list [--json]`: the guests found on this host. */
export async function runListCommand(json: boolean, io: CliIo): Promise<number> {
  const guests = await discoverGuests(new HostContext({ invokingEnv: io.env }));
  if (json) {
    io.out.write(JSON.stringify(guests, null, 2) + '\n');
    return 0;
  }
  if (guests.length === 0) {
    io.out.write(
      wrapText('No guests found: no running chroot, schroot session, nspawn machine or leftover mounts.', io.width, '', '  ').join('\n') +
        '\n',
    );
    return 0;
  }
  const table = fitTable({
    width: io.width,
    color: io.color(true),
    columns: [
      { head: 'target', min: 16 },
      { head: 'kind', min: 4, dropOrder: 1 },
      { head: 'state', min: 6 },
      { head: 'pid', min: 3, dropOrder: 2 },
      { head: 'detail', min: 12, dropOrder: 3 },
    ],
    rows: guests.map((g) => [g.target, g.kind, g.state, g.pid === null ? '' : String(g.pid), g.detail]),
  });
  io.out.write(table + '\n');
  return 0;
}
