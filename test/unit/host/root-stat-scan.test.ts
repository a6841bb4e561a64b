import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRootStat, statRoots } from '../../../src/host/root-stat-scan.js';

const asRoot = process.geteuid?.() === 0;

describe("parseRootStat: what the host's stat printed about /proc/PID/root", () => {
  it('reads each row, marks a root it could not read (the process exists) and leaves out a process that is gone', () => {
    const stdout = '/proc/1/root 2049 2\n/proc/42/root 64768 131\n';
    const stderr = [
      "stat: cannot statx '/proc/7/root': Permission denied",
      "stat: cannot statx '/proc/8/root': No such file or directory",
      "stat: cannot stat '/proc/9/root': Input/output error",
    ].join('\n');
    expect(parseRootStat(stdout, stderr)).toEqual([
      [1, 2049, 2],
      [42, 64768, 131],
      [7, NaN, NaN],
      [9, NaN, NaN],
    ]);
  });

  it('ignores lines of any other shape, and never reads a pid twice', () => {
    const stdout = ['/proc/self/root 1 2', '/proc/12/root 3', '/proc/12/root 5 6', '/proc/12/root 7 8', 'garbage', ''].join('\n');
    expect(parseRootStat(stdout, "stat: cannot statx '/proc/12/root': Permission denied\nstat: bad")).toEqual([[12, 7, 8]]);
  });
});

describe.skipIf(!asRoot)('statRoots: every process by two stat programs (root only)', () => {
  it('lists a process of ours with the same dev:ino node reads for its root, in pid order', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    try {
      const rows = await statRoots();
      expect(rows).not.toBeNull();
      const pids = rows!.filter((_, i) => i % 3 === 0);
      expect([...pids]).toEqual([...pids].sort((a, b) => a - b));
      const at = pids.indexOf(child.pid!);
      expect(at).toBeGreaterThanOrEqual(0);
      const root = statSync('/');
      expect([rows![at * 3 + 1], rows![at * 3 + 2]]).toEqual([root.dev, root.ino]);
      expect(pids).toContain(process.pid);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('gives null when the program is not a stat that answers (the scan thread then scans)', async () => {
    expect(await statRoots({ shell: '/bin/sh', stat: '/bin/false' })).toBeNull();
    expect(await statRoots({ shell: '/bin/sh', stat: '/nonexistent/stat' })).toBeNull();
  });
});

describe.skipIf(asRoot)('statRoots as another user', () => {
  it('is not used: another user cannot tell a gone process from an unreadable root by stat alone', async () => {
    expect(await statRoots()).toBeNull();
  });
});
