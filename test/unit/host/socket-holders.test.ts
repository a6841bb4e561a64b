import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findSocketHolders } from '../../../src/host/socket-holders.js';
import { hostProcess } from '../support/fake-host.js';

const proc = mkdtempSync(join(tmpdir(), 'ctd-proc-'));
afterAll(() => rmSync(proc, { recursive: true, force: true }));

/** A /proc/PID/fd of symlinks, as the kernel shows open sockets and files. */
function fds(pid: number, links: Record<number, string>): void {
  mkdirSync(join(proc, String(pid), 'fd'), { recursive: true });
  for (const [fd, to] of Object.entries(links)) symlinkSync(to, join(proc, String(pid), 'fd', fd));
}
fds(10, { 0: '/dev/null', 3: 'socket:[777]' });
fds(20, { 0: '/dev/null', 5: 'socket:[9000]', 6: 'socket:[90001]' });
fds(30, { 4: 'socket:[9000]' });

describe('findSocketHolders', () => {
  const processes = [
    hostProcess({ pid: 10, comm: 'bash' }),
    hostProcess({ pid: 20, comm: 'Xvfb' }),
    hostProcess({ pid: 30, comm: 'sleep' }),
    hostProcess({ pid: 40, comm: 'gone' }),
  ];

  it('finds the holder by the socket inode, preferred comms first, and stops once every inode is found', async () => {
    expect(await findSocketHolders(processes, [9000], ['Xvfb'], proc)).toEqual([{ inode: 9000, pid: 20, fd: 5 }]);
  });
  it('reads on when nothing is preferred, matching whole inodes only, and skips vanished processes', async () => {
    expect(await findSocketHolders(processes, [9000, 777], [], proc)).toEqual([
      { inode: 777, pid: 10, fd: 3 },
      { inode: 9000, pid: 20, fd: 5 },
    ]);
    expect(await findSocketHolders(processes, [4242], [], proc)).toEqual([]);
  });
});

describe('findSocketHolders budget', () => {
  it('gives up after its budget instead of reading every process', async () => {
    const many = Array.from({ length: 200 }, (_, i) => hostProcess({ pid: 1000 + i, comm: 'x' }));
    // pid 30 holds it, but comes after 200 others and the budget is spent at the first turn.
    expect(await findSocketHolders([...many, hostProcess({ pid: 30, comm: 'sleep' })], [9000], [], proc, -1)).toEqual([]);
    expect(await findSocketHolders([...many, hostProcess({ pid: 30, comm: 'sleep' })], [9000], [], proc)).toEqual([
      { inode: 9000, pid: 30, fd: 4 },
    ]);
  });
});
