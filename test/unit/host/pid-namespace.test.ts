import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sharesEveryNamespace } from '../../../src/host/pid-namespace.js';

const asRoot = process.geteuid?.() === 0;

describe('sharesEveryNamespace: whether a guest command would enter anything new', () => {
  it('is true for a process of ours, false for a pid that does not exist', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    try {
      expect(sharesEveryNamespace(child.pid!)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    expect(sharesEveryNamespace(2 ** 22 + 1)).toBe(false);
  });

  it.skipIf(!asRoot)('is false for a process in a UTS namespace of its own, whatever the others (root only)', async () => {
    const child = spawn('unshare', ['--uts', 'sleep', '30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    try {
      // unshare execs sleep once its namespace is made.
      for (let i = 0; i < 100 && readlinkSync(`/proc/${child.pid}/ns/uts`) === readlinkSync('/proc/self/ns/uts'); i++) await sleep(10);
      expect(readlinkSync(`/proc/${child.pid}/ns/net`)).toBe(readlinkSync('/proc/self/ns/net'));
      expect(sharesEveryNamespace(child.pid!)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
