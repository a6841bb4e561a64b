/**
 * Fleets: `check --all` over two real chroot guests (a JSON array, each element a valid
 * report), the Prometheus textfile of the same, and `self` run inside a chroot guest.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountChrootApi, startChrootProcess } from '../harness/chroot-guest.js';
import { run } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { CLI_PATH, runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { Report } from '../../src/core/types.js';

describeIntegration('fleets: --all, prometheus, self inside a guest', () => {
  let w: World;
  let roots: string[];

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    roots = [];
    for (const [i, name] of ['fleet one', 'fleet-two'].entries()) {
      const g = await w.guestRoot(name);
      // Guest one is healthy, guest two has an empty resolv.conf.
      writeFileSync(join(g.root, 'etc/resolv.conf'), i === 0 ? 'nameserver 203.0.113.53\n' : '');
      await startChrootProcess(w.net, g.root, { uid: 1000 }, w.cleanup);
      roots.push(g.root);
    }
  }, 120_000);
  afterAll(async () => w?.dispose());

  // File checks only: --all also finds other guests on this machine, and they must get no packets from us.
  const allArgs = ['--all', '--only', 'dns.resolv-conf', '--ping-target', '203.0.113.10', '--dns-name', 'example.com'];

  test('--all --json: one valid report per guest, both of ours among them, worst exit code', async () => {
    const r = await runTool([...allArgs, '--json'], { netns: w.net.guestNsPath });
    expect(Array.isArray(r.json), r.stderr).toBe(true);
    const reports = r.json as Report[];
    for (const rep of reports) await validateReport(rep);
    await validateReport(reports);
    const ours = roots.map((root) => reports.find((rep) => rep.target.kind === 'chroot' && rep.target.root === root));
    expect(ours[0]?.results[0]).toMatchObject({ id: 'dns.resolv-conf', status: 'pass' });
    expect(ours[1]?.results[0]).toMatchObject({ id: 'dns.resolv-conf', status: 'fail' });
    expect(ours[1]!.target.pid).toBeGreaterThan(0);
    expect(r.exitCode).toBe(1);
  });

  test('--all --format prometheus: node_exporter textfile lines that parse, one per guest and check', async () => {
    const r = await runTool([...allArgs, '--format', 'prometheus'], { netns: w.net.guestNsPath });
    const lines = r.stdout.trimEnd().split('\n');
    const sample = /^(ctr_doctor_[a-z_]+)\{((?:[a-z_]+="(?:[^"\\\n]|\\[\\"n])*",?)+)\} (-?\d+(\.\d+)?)$/;
    for (const line of lines) expect(line.startsWith('# HELP ') || line.startsWith('# TYPE ') || sample.test(line), line).toBe(true);
    const statusOf = (root: string) =>
      lines.find(
        (l) => l.startsWith('ctr_doctor_check_status{') && l.includes(`target="${root}"`) && l.includes('check="dns.resolv-conf"'),
      );
    expect(statusOf(roots[0]!)).toMatch(/ 0$/);
    expect(statusOf(roots[1]!)).toMatch(/ 2$/);
    expect(
      lines
        .filter((l) => l.startsWith('ctr_doctor_run_success{') && roots.some((root) => l.includes(`target="${root}"`)))
        .map((l) => l.split(' ').pop()),
    ).toEqual(['1', '0']);
    expect(r.stderr).not.toContain('{');
  });

  test('self, run inside a chroot guest in a test netns: DNS, X11, pulse and the runtime dir are checked there', async () => {
    const root = roots[0]!;
    await mountChrootApi(root, w.cleanup, {});
    expect(existsSync(join(root, CLI_PATH)), 'the repository is visible inside the whole-root overlay').toBe(true);
    const r = await run(
      [
        'nsenter',
        `--net=${w.net.guestNsPath}`,
        'chroot',
        root,
        '/usr/bin/env',
        '-i',
        'PATH=/usr/local/bin:/usr/bin:/bin',
        'HOME=/root',
        'NO_COLOR=1',
        process.execPath,
        CLI_PATH,
        'self',
        '--json',
        '--ping-target',
        '203.0.113.10',
        '--dns-name',
        'example.com',
        '--timeout',
        '3000',
      ],
      { timeoutMs: 60_000 },
    );
    const rep = JSON.parse(r.stdout) as Report;
    await validateReport(rep);
    expect(rep.target).toMatchObject({ kind: 'self', name: 'self' });
    const status = (id: string) => rep.results.find((x) => x.id === id)?.status;
    expect(status('dns.resolv-conf')).toBe('pass');
    expect(status('dns.resolve')).toBe('pass');
    expect(status('net.ping')).toBe('pass');
    for (const id of ['x11.display', 'audio.pulse', 'dconf.runtime-dir']) {
      expect(
        rep.results.find((x) => x.id === id),
        id,
      ).toBeDefined();
      expect(status(id), id).not.toBe('error');
    }
    // No DISPLAY in the guest's environment: said as a finding, not skipped.
    expect(status('x11.display')).toMatch(/fail|warn/);
  });
});
