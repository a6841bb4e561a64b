import Table from 'cli-table3';
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
    io.out.write('No guests found: no running chroot, schroot session, nspawn machine or leftover mounts.\n');
    return 0;
  }
  const table = new Table({ head: ['target', 'kind', 'state', 'pid', 'detail'], style: { head: [], border: [] } });
  for (const g of guests) table.push([g.target, g.kind, g.state, g.pid ?? '', g.detail]);
  io.out.write(table.toString() + '\n');
  return 0;
}
