/**
 * examples/systemd: the textfile units pass `systemd-analyze verify` (in a scratch root with
 * the machine's own unit set and a ctr-doctor at the ExecStart path), the timer fires every 5
 * minutes, and the service's own command line, aimed at a scratch directory, writes a
 * textfile that promtool accepts.
 */
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { run } from '../harness/proc.js';
import { describeIntegration, requireTool } from '../harness/skip.js';
import { REPO_ROOT, runTool } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';

const UNITS = join(REPO_ROOT, 'examples/systemd');
const SERVICE = 'ctr-doctor-textfile.service';
const TIMER = 'ctr-doctor-textfile.timer';

/** The value of `key=` in a unit file (the last one wins, as in systemd). */
function unitValue(file: string, key: string): string | undefined {
  return readFileSync(join(UNITS, file), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .pop()
    ?.slice(key.length + 1);
}

describeIntegration.skipIf(requireTool('systemd-analyze', 'promtool') !== null)(
  "systemd units for node_exporter's textfile collector",
  () => {
    let w: World;
    let root: string;

    beforeAll(async () => {
      w = await createWorld();
      root = join(w.base, 'sdroot');
      // The machine's unit set (sysinit.target and the rest), our units, and an executable where ExecStart points.
      mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
      cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
      mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
      for (const f of [SERVICE, TIMER]) cpSync(join(UNITS, f), join(root, 'etc/systemd/system', f));
      const bin = unitValue(SERVICE, 'ExecStart')!.split(' ')[0]!;
      mkdirSync(join(root, bin, '..'), { recursive: true });
      writeFileSync(join(root, bin), '#!/bin/sh\n');
      chmodSync(join(root, bin), 0o755);
    });
    afterAll(async () => w?.dispose());

    test('systemd-analyze verify accepts both units without a warning', async () => {
      const r = await run(
        ['systemd-analyze', 'verify', `--root=${root}`, '--man=no', `/etc/systemd/system/${SERVICE}`, `/etc/systemd/system/${TIMER}`],
        { timeoutMs: 60_000 },
      );
      expect(r.exitCode, r.stderr).toBe(0);
      expect((r.stderr + r.stdout).trim()).toBe('');
    });

    test('verify is a real judge: a misspelt key and a bad time are reported', async () => {
      const bad = join(root, 'etc/systemd/system');
      writeFileSync(
        join(bad, 'ctd-bad.timer'),
        readFileSync(join(UNITS, TIMER), 'utf8').replace('OnUnitActiveSec=5min', 'OnUnitActiveSec=5 fortnights'),
      );
      writeFileSync(
        join(bad, 'ctd-bad.service'),
        readFileSync(join(UNITS, SERVICE), 'utf8').replace('SuccessExitStatus=', 'SuccesExitStatus='),
      );
      const r = await run(
        [
          'systemd-analyze',
          'verify',
          `--root=${root}`,
          '--man=no',
          '/etc/systemd/system/ctd-bad.service',
          '/etc/systemd/system/ctd-bad.timer',
        ],
        { timeoutMs: 60_000 },
      );
      expect(r.stderr).toMatch(/Unknown key 'SuccesExitStatus'/);
      expect(r.stderr).toMatch(/Failed to parse timer value/);
    });

    test('every 5 minutes; a finding (exit 1 or 3) is a success; the report goes to --output', () => {
      expect(unitValue(TIMER, 'OnUnitActiveSec')).toBe('5min');
      expect(unitValue(SERVICE, 'Type')).toBe('oneshot');
      expect(unitValue(SERVICE, 'SuccessExitStatus')).toBe('1 3');
      expect(unitValue(SERVICE, 'ExecStart')).toMatch(/ --all --format prometheus --output \/\S+\.prom$/);
    });

    test("the service's command line, aimed at a scratch textfile directory, writes a file promtool accepts", async () => {
      const g = await w.guestRoot('textfile-guest');
      writeFileSync(join(g.root, 'etc/resolv.conf'), '');
      await startChrootProcess(w.net, g.root, { uid: 1000 }, w.cleanup);
      const dir = join(w.stateDir, 'node-exporter');
      mkdirSync(dir);
      const argv = unitValue(SERVICE, 'ExecStart')!.split(' ').slice(1);
      const file = join(dir, 'ctr-doctor.prom');
      argv[argv.indexOf('--output') + 1] = file;
      // File checks only: --all finds other guests on this machine too, which must get no packets from us.
      const r = await runTool([...argv, '--only', 'dns.resolv-conf'], { netns: w.net.guestNsPath, env: { NO_COLOR: '1' } });
      expect([0, 1, 3], r.stderr).toContain(r.exitCode);
      expect(readdirSync(dir)).toEqual(['ctr-doctor.prom']);
      expect(statSync(file).mode & 0o777).toBe(0o644);
      expect(readFileSync(file, 'utf8')).toContain(`target="${g.root}",check="dns.resolv-conf",group="dns"} 2`);
    });
  },
);
