import { readdirSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { linkOrNull } from './proc-read.js';
import type { HostProcess, SocketHolder } from '../core/host.js';

/** How many processes' fd tables are read between two turns of the event loop. */
const CHUNK = 64;

/**
 * Who holds the sockets with these inodes open: `socket:[N]` links in /proc/PID/fd. Processes
 * whose comm is in `prefer` are read first, and the scan stops once every inode has a holder,
 * so finding an X server costs one process's fd table, not the whole host's; and it stops after
 * `budgetMs` (a busy host's holder in an invisible pid namespace is never found: not worth seconds).
 */
export async function findSocketHolders(
  processes: readonly HostProcess[],
  inodes: readonly number[],
  prefer: readonly string[] = [],
  procRoot = '/proc',
  budgetMs = 2000,
): Promise<SocketHolder[]> {
  const deadline = performance.now() + budgetMs;
  const wanted = new Map(inodes.map((i) => [`socket:[${i}]`, i]));
  if (wanted.size === 0) return [];
  const first = new Set(prefer);
  const ordered = [...processes.filter((p) => first.has(p.comm)), ...processes.filter((p) => !first.has(p.comm))];
  const out: SocketHolder[] = [];
  const found = new Set<number>();
  for (let i = 0; i < ordered.length && found.size < wanted.size; i++) {
    if (i > 0 && i % CHUNK === 0) {
      if (performance.now() > deadline) break;
      await yieldToLoop();
    }
    const pid = ordered[i]!.pid;
    let names: string[];
    try {
      names = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue; // exited, or not ours to read
    }
    for (const n of names) {
      const inode = wanted.get(linkOrNull(`${procRoot}/${pid}/fd/${n}`) ?? '');
      if (inode === undefined) continue;
      out.push({ inode, pid, fd: Number(n) });
      found.add(inode);
    }
  }
  return out;
}
