/**
 * `check --all`'s guest-files server answers a batch of requests in one message, and shows the CLI
 * which request it is on in its progress cell. When a read in the MIDDLE of a batch never answers
 * (a hung mount; here a FIFO, by the server's test-only hook), the requests it made before it (of
 * other guests, batched with it) still answer for real, only the hung one is lost, and those behind
 * it go to a fresh server.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { Report } from '../../src/core/types.js';

describeIntegration('check --all with a hung read in the middle of a batch', () => {
  let w: World;
  const roots: Record<'first' | 'hung' | 'last', string> = { first: '', hung: '', last: '' };

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    // Named so that the hung guest is diagnosed between the two others (--all goes by root).
    roots.first = (await w.guestRoot('batch-a')).root;
    roots.hung = (await w.guestRoot('batch-b')).root;
    roots.last = (await w.guestRoot('batch-c')).root;
    for (const root of [roots.first, roots.last]) writeFileSync(join(root, 'etc/resolv.conf'), 'nameserver 203.0.113.53\n');
    execFileSync('rm', ['-f', join(roots.hung, 'etc/resolv.conf')]);
    execFileSync('mkfifo', [join(roots.hung, 'etc/resolv.conf')]);
    for (const root of Object.values(roots)) await startChrootProcess(w.net, root, { uid: 1000 }, w.cleanup);
  }, 120_000);
  afterAll(async () => w?.dispose());

  test('the requests before the hung one answer for real, only it is lost, the ones behind it answer', async () => {
    const r = await runTool(
      ['--all', '--only', 'dns.resolv-conf', '--ping-target', '203.0.113.10', '--dns-name', 'example.com', '--json'],
      {
        netns: w.net.guestNsPath,
        env: { CTR_DOCTOR_TEST_HANG_PATH: '/etc/resolv.conf', CTR_DOCTOR_FILES_DEADLINE_MS: '500', NODE_DEBUG: 'ctr-doctor' },
        timeoutMs: 30_000,
      },
    );
    const reports = r.json as Report[];
    expect(Array.isArray(reports), r.stderr).toBe(true);
    for (const rep of reports) await validateReport(rep);
    const of = (root: string) => reports.find((rep) => rep.target.kind === 'chroot' && rep.target.root === root)?.results[0];
    expect(of(roots.first)).toMatchObject({ id: 'dns.resolv-conf', status: 'pass', summary: '1 nameserver(s): 203.0.113.53' });
    expect(of(roots.last)).toMatchObject({ id: 'dns.resolv-conf', status: 'pass', summary: '1 nameserver(s): 203.0.113.53' });
    expect(of(roots.hung)).toMatchObject({
      id: 'dns.resolv-conf',
      status: 'error',
      summary: 'cannot read /etc/resolv.conf: /etc/resolv.conf: no answer in 500 ms (a hung file system in the guest?)',
    });
    // Exactly one request was lost, and it was not the first of the server's unanswered batch: the ones before it
    // (the first guest's, done but not yet sent) were answered for real above.
    const lost = [...r.stderr.matchAll(/guest files: (\S+) (\S+) in (\S+) had no answer in 500 ms \(request (\d+) of (\d+) unanswered\)/g)];
    expect(
      lost.map((m) => [m[1], m[2], m[3]]),
      r.stderr,
    ).toEqual([['read', '/etc/resolv.conf', roots.hung]]);
    expect(Number(lost[0]![4])).toBeGreaterThan(1);
    expect(Number(lost[0]![5])).toBeGreaterThan(Number(lost[0]![4]));
  });
});
