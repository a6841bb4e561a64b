/**
 * `check --all` reads guest files in the guest-files server (a child process, synchronous calls).
 * A read that never answers (a hung FUSE/NFS mount; here a FIFO opened for reading, by a test-only
 * hook of the server) must end as `error` with a clear line, the other guests must go on, and the
 * CLI must exit promptly, leaving no server behind.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { Report } from '../../src/core/types.js';

/** The pids of guest-files servers running now. */
function servers(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('guest-files-server.js');
      } catch {
        return false;
      }
    })
    .map(Number);
}

describeIntegration('check --all with a guest whose file read hangs', () => {
  let w: World;
  let healthy: string;
  let hung: string;

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    healthy = (await w.guestRoot('files healthy')).root;
    hung = (await w.guestRoot('files hung')).root;
    writeFileSync(join(healthy, 'etc/resolv.conf'), 'nameserver 203.0.113.53\n');
    execFileSync('rm', ['-f', join(hung, 'etc/resolv.conf')]);
    execFileSync('mkfifo', [join(hung, 'etc/resolv.conf')]);
    for (const root of [healthy, hung]) await startChrootProcess(w.net, root, { uid: 1000 }, w.cleanup);
  }, 120_000);
  afterAll(async () => w?.dispose());

  test('the hung read ends as error with a clear line, the other guest passes, the CLI exits and no server is left', async () => {
    const before = servers();
    const started = Date.now();
    const r = await runTool(
      ['--all', '--only', 'dns.resolv-conf', '--ping-target', '203.0.113.10', '--dns-name', 'example.com', '--json'],
      {
        netns: w.net.guestNsPath,
        env: { CTR_DOCTOR_TEST_HANG_PATH: '/etc/resolv.conf', CTR_DOCTOR_FILES_DEADLINE_MS: '500' },
        timeoutMs: 30_000,
      },
    );
    const elapsed = Date.now() - started;
    const reports = r.json as Report[];
    expect(Array.isArray(reports), r.stderr).toBe(true);
    for (const rep of reports) await validateReport(rep);
    const of = (root: string) => reports.find((rep) => rep.target.kind === 'chroot' && rep.target.root === root)?.results[0];
    expect(of(healthy)).toMatchObject({ id: 'dns.resolv-conf', status: 'pass' });
    expect(of(hung)).toMatchObject({ id: 'dns.resolv-conf', status: 'error' });
    expect(of(hung)?.summary).toBe(
      'cannot read /etc/resolv.conf: /etc/resolv.conf: no answer in 500 ms (a hung file system in the guest?)',
    );
    // Bounded by the deadline, not by the FIFO (which no writer will ever open).
    expect(elapsed).toBeLessThan(10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(servers().filter((pid) => !before.includes(pid))).toEqual([]);
  });
});
