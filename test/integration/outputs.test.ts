/**
 * Machine outputs read by the programs that consume them, on real chroot guests (one with a
 * hostile directory name): the node_exporter textfile through `--output` (atomic, 0644) and
 * promtool, JUnit through the xunit plugin's XSD (runTool feeds both to their consumers), and
 * `fix --json --output`.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { describeIntegration, requireTool } from '../harness/skip.js';
import { junitProblems, promtoolProblems } from '../harness/consumers.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { FixRunResult } from '../../src/fixes/fix-result.js';

// A name a guest directory may well have: quotes, a backslash, a tab, and U+FFFE (legal in a path, not in XML).
const HOSTILE = 'out "q" \\ \t\ufffe';

describeIntegration.skipIf(requireTool('promtool', 'xmllint') !== null)(
  'outputs judged by their consumers: promtool, the JUnit XSD',
  () => {
    let w: World;
    const roots: string[] = [];
    const net = ['--ping-target', '203.0.113.10', '--dns-name', 'example.com', '--timeout', '3000'];
    const tool = (args: string[]) => runTool(args, { netns: w.net.guestNsPath });

    beforeAll(async () => {
      w = await createWorld({ dns: true });
      for (const [name, resolv] of [
        ['out-healthy', 'nameserver 203.0.113.53\n'],
        ['out-broken', ''],
        [HOSTILE, 'nameserver 198.51.100.1\n'],
      ] as const) {
        const g = await w.guestRoot(name);
        writeFileSync(join(g.root, 'etc/resolv.conf'), resolv);
        await startChrootProcess(w.net, g.root, { uid: 1000 }, w.cleanup);
        roots.push(g.root);
      }
    }, 120_000);
    afterAll(async () => w?.dispose());

    test('the judges are real: promtool and the XSD reject what their readers would', async () => {
      expect(await promtoolProblems('# TYPE a_status gauge\na_status{x="\\q"} 1\n')).toMatch(/invalid escape sequence/);
      expect(await promtoolProblems('# HELP a_status s\n# TYPE a_status gauge\na_status{x="1"} 1\na_status{x="1"} 2\n')).toMatch(
        /repeated series/,
      );
      expect(await junitProblems('<testsuites><testsuite name="x" tests="1" failures="0"/></testsuites>')).toMatch(
        /errors.*must appear|attribute 'errors' is required/,
      );
      expect(await junitProblems(`<testsuites><testsuite name="\ufffe" tests="0" failures="0" errors="0"/></testsuites>`)).toMatch(
        /rc [1-9]/,
      );
    });

    test('every check on each guest, as prometheus and as JUnit: both consumers accept them', async () => {
      for (const root of roots) {
        for (const format of ['prometheus', 'junit']) {
          const r = await tool([`chroot:${root}`, '--format', format, ...net]);
          expect([0, 1, 3], `${format} ${root}: ${r.stderr}`).toContain(r.exitCode);
          expect(r.stdout.length).toBeGreaterThan(100);
        }
      }
    }, 120_000);

    test('--all --format prometheus --output: an atomic 0644 textfile that promtool accepts, the tty-less stdout empty', async () => {
      const file = join(w.stateDir, 'textfile', 'ctr-doctor.prom');
      mkdirSync(join(w.stateDir, 'textfile'));
      writeFileSync(file, 'stale\n');
      const r = await tool(['--all', '--only', 'dns.resolv-conf', '--format', 'prometheus', '--output', file]);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      const text = readFileSync(file, 'utf8');
      expect(statSync(file).mode & 0o777).toBe(0o644);
      expect(readdirSync(join(w.stateDir, 'textfile'))).toEqual(['ctr-doctor.prom']);
      for (const [i, root] of roots.entries()) {
        const line = text
          .split('\n')
          .find(
            (l) =>
              l.startsWith('ctr_doctor_check_status{') &&
              l.includes('check="dns.resolv-conf"') &&
              l.includes(`target="${root.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`),
          );
        expect(line, root).toMatch(i === 1 ? / 2$/ : / 0$/);
      }
    });

    test('--all --format junit: one testsuite per guest, named by host, valid against the XSD', async () => {
      // File checks only: --all also finds other guests on this machine, and they must get no packets from us.
      const r = await tool(['--all', '--only', 'dns.resolv-conf', '--format', 'junit']);
      expect(r.exitCode, r.stderr).toBe(1);
      const suites = r.stdout.match(/<testsuite [^>]*>/g) ?? [];
      for (const root of roots.slice(0, 2))
        expect(
          suites.some((s) => s.includes(`chroot ${root}"`)),
          root,
        ).toBe(true);
      expect(suites.every((s) => s.includes(` hostname="${hostname()}"`))).toBe(true);
      // U+FFFE cannot be in XML: the hostile guest is there, its name with the character replaced.
      expect(suites.some((s) => s.includes('out &quot;q&quot; \\ \t?'))).toBe(true);
    });

    test('fix --dry-run --json --output: the fix result goes to the file, its reports name the host', async () => {
      const file = join(w.stateDir, 'fix.json');
      const r = await tool(['fix', `chroot:${roots[1]}`, '--dry-run', '--json', '--only', 'dns.resolv-conf', '--output', file]);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      const result = JSON.parse(readFileSync(file, 'utf8')) as FixRunResult;
      await validateReport(result.before);
      expect(result.before.host).toEqual({ name: hostname() });
      expect(result.plan.length).toBeGreaterThan(0);
    });

    test('--output into a directory nobody may create files in: one line, exit 2, before any check runs', async () => {
      // --only a file check all the same: --all also finds other guests on this machine, which must get no packets from us.
      const r = await tool(['--all', '--only', 'dns.resolv-conf', '--format', 'prometheus', '--output', '/proc/ctr-doctor.prom']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^ctr-doctor: cannot write --output \/proc\/ctr-doctor\.prom: /)]);
      const missing = await tool([
        '--only',
        'dns.resolv-conf',
        '--format',
        'prometheus',
        '--output',
        join(w.stateDir, 'no-such-dir', 'x.prom'),
      ]);
      expect(missing.exitCode).toBe(2);
      expect(missing.stderr).toMatch(/no-such-dir does not exist/);
    });
  },
);
