/**
 * Without privileges: uid 1000 with no capabilities runs the real CLI on a guest whose
 * directories are root's and mode 0700. Every check that needs root says so ("needs root:
 * run with sudo", status error), the others still run, the exit code follows the contract
 * (3 when errors are all there is), and nothing prints a stack trace.
 */
import { chmodSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { guestPath } from '../harness/rootfs.js';
import { describeIntegration } from '../harness/skip.js';
import { validateReport } from '../harness/tool.js';
import { runToolAs, unreadableBy } from '../harness/unprivileged.js';
import { createWorld, type World } from '../harness/world.js';
import type { Report } from '../harness/bounded-run.js';

const USER = 1000;

describeIntegration('without privileges', () => {
  let w: World;
  let root = '';

  beforeAll(async () => {
    const why = unreadableBy(USER);
    if (why) throw new Error(`the CLI is not reachable as uid ${USER}: ${why}`);
    w = await createWorld();
    await w.dns();
    root = w.minimalRoot('root-only');
    for (const d of ['/', '/etc', '/run', '/tmp', '/home/ctruser']) chmodSync(guestPath(root, d), 0o700);
  });
  afterAll(async () => w?.dispose());

  const diagnose = async (args: string[]): Promise<Report & { exitCode: number; stderr: string }> => {
    const r = await runToolAs(
      USER,
      [`chroot:${root}`, '--json', '--timeout', '4000', '--ping-target', w.net.webV4, '--dns-name', 'example.test', ...args],
      w.net.guestNsPath,
    );
    expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+/m);
    await validateReport(r.json);
    return { ...(r.json as Report), exitCode: r.exitCode, stderr: r.stderr };
  };

  test('the checks that read the guest say "needs root: run with sudo"; the rest run', async () => {
    const report = await diagnose([]);
    const byId = new Map(report.results.map((r) => [r.id, r]));
    for (const id of ['dns.resolv-conf', 'dns.stub', 'dconf.runtime-dir']) {
      const r = byId.get(id);
      expect(r?.status, `${id}: ${r?.summary}`).toBe('error');
      expect(r?.summary).toMatch(/needs root: run with sudo/);
    }
    // Every error is about privilege, and at least some checks still gave a verdict.
    for (const r of report.results.filter((x) => x.status === 'error')) expect(r.summary, r.id).toMatch(/needs root: run with sudo/);
    expect(report.results.filter((r) => r.status !== 'error').length).toBeGreaterThan(0);
    // ping needs no guest file: it runs (from the host's ping when the guest's cannot be reached).
    expect(['pass', 'warn'], byId.get('net.ping')?.summary).toContain(byId.get('net.ping')?.status);
    const expected = report.summary.fail! > 0 ? 1 : report.summary.error! > 0 ? 3 : 0;
    expect(report.exitCode).toBe(expected);
  });

  test('with only checks that need root, the exit code is 3', async () => {
    const report = await diagnose(['--only', 'dns.resolv-conf,dns.stub,dconf']);
    expect(report.summary).toMatchObject({ fail: 0, error: 3 });
    expect(report.exitCode).toBe(3);
  });
});
