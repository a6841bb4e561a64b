/**
 * Guests that change under the run: a chroot whose process exits, an nspawn guest powered
 * off, a schroot session ended, while the checks run. A small plugin check makes the guest
 * vanish as the run starts (deterministic, and concurrent with every other check); the
 * other checks then meet a vanished process, namespace or root. Each result is a status
 * with a one-line reason (`error` or `skip` when a check could not run), the report is valid,
 * and the run still ends within --timeout + 0.5 s.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { boundedRun, type BoundedRun } from '../harness/bounded-run.js';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { bootNspawn } from '../harness/nspawn-guest.js';
import { isAlive, waitFor } from '../harness/proc.js';
import { beginSession, createSchroot, sessionListed, startSessionProcess } from '../harness/schroot-guest.js';
import { describeFeature, describeIntegration } from '../harness/skip.js';
import { createWorld, type World } from '../harness/world.js';

const TIMEOUT_MS = 4000;

/** True while a `schroot -e -c session:ID` process runs. */
function schrootEnding(sid: string): boolean {
  return readdirSync('/proc').some((p) => {
    try {
      return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').includes(`schroot -e -c session:${sid}`);
    } catch {
      return false;
    }
  });
}

/** A check that makes the target vanish: what a user's reboot, Ctrl-C or poweroff would do. */
const VANISH_PLUGIN = `
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
export const checks = [{
  id: 'moving.vanish', group: 'moving', title: 'the guest vanishes mid-run',
  description: 'Test plugin: ends the guest while the other checks run.', findings: {},
  appliesTo: () => true,
  async run(ctx) {
    const t = ctx.target;
    if (t.kind === 'schroot' && t.schroot && t.schroot.session) {
      const log = openSync(process.env.CTD_VANISH_LOG || '/dev/null', 'a');
      spawn('schroot', ['-e', '-c', 'session:' + t.schroot.session], { stdio: ['ignore', log, log], detached: true }).unref();
    } else if (t.kind === 'nspawn' && t.pid) {
      spawn('kill', ['-s', 'SIGRTMIN+4', String(t.pid)], { stdio: 'ignore' });
    } else if (t.pid) {
      process.kill(t.pid, 'SIGKILL');
    }
    return { status: 'pass', summary: 'ended ' + t.kind + ' ' + t.name + ' (pid ' + t.pid + ')', findings: [], fixes: [] };
  },
}];
`;

describeIntegration('guests that vanish mid-run', () => {
  let w: World;
  let plugin = '';

  beforeAll(async () => {
    w = await createWorld();
    await w.dns();
    plugin = join(w.stateDir, 'vanish.mjs');
    writeFileSync(plugin, VANISH_PLUGIN);
  });
  afterAll(async () => w?.dispose());

  const diagnose = (target: string): Promise<BoundedRun> =>
    boundedRun(target, ['--plugin', plugin, '--ping-target', w.net.webV4, '--dns-name', 'example.test'], {
      netns: w.net.guestNsPath,
      timeoutMs: TIMEOUT_MS,
      env: { DISPLAY: '', XAUTHORITY: '', PULSE_SERVER: '', CTD_VANISH_LOG: join(w.stateDir, 'vanish.log') },
    });

  /** Every check has a status; those that met the vanished guest say why in one line. */
  const expectAccounted = (run: BoundedRun): void => {
    expect(run.result('moving.vanish').status).toBe('pass');
    for (const r of run.report.results) {
      expect(['pass', 'warn', 'fail', 'skip', 'error']).toContain(r.status);
      if (r.status === 'error') expect(r.summary).not.toMatch(/internal error|TypeError|ReferenceError|undefined/);
    }
    const unable = run.report.results.filter((r) => r.status === 'error' || r.status === 'skip').map((r) => `${r.id}: ${r.summary}`);
    console.log(`[robust-moving-targets] could not run or skipped:\n  ${unable.join('\n  ') || '(none)'}`);
  };

  test('a chroot whose only process is killed as the checks start', async () => {
    const g = await w.guestRoot('chroot');
    const p = await startChrootProcess(w.net, g.root, { uid: 1000 }, w.cleanup);
    const run = await diagnose(`chroot:${g.root}`);
    expect(run.report.results.find((r) => r.id === 'moving.vanish')?.summary).toContain(`pid ${p.pid}`);
    expectAccounted(run);
    expect(isAlive(p.pid)).toBe(false);
  });

  describeFeature('schroot')('schroot', () => {
    test('a schroot session ended while the checks run', async () => {
      const g = await w.guestRoot('schroot');
      const name = w.name('mv');
      createSchroot(w.net, g.root, name, w.cleanup, { fstabLines: ['/proc /proc none rw,bind 0 0'] });
      const sid = await beginSession(name, w.name('mv1'));
      await startSessionProcess(w.net, sid, w.cleanup);
      const run = await diagnose(`session:${sid}`);
      expectAccounted(run);
      // The plugin's `schroot -e` may fail with "target is busy" while probes sit in the session;
      // either way it must be done before the world's cleanup ends the session for good.
      await waitFor("the plugin's schroot -e to finish", () => !schrootEnding(sid), { timeoutMs: 30_000, intervalMs: 200 });
      console.log(
        `[robust-moving-targets] schroot -e during the run: ${readFileSync(join(w.stateDir, 'vanish.log'), 'utf8').trim() || 'ok'}; still listed: ${await sessionListed(sid)}`,
      );
    });
  });

  describeFeature('nspawn')('nspawn', () => {
    test('an nspawn guest powered off while the checks run', async () => {
      const g = await w.guestRoot('nspawn');
      const n = await bootNspawn(w.net, g.root, w.name('mvn'), w.cleanup);
      const run = await diagnose(`nspawn:${n.machine}`);
      expectAccounted(run);
      await waitFor(`nspawn ${n.machine} to power off`, () => !isAlive(n.nspawnPid), { timeoutMs: 20_000, intervalMs: 100 });
    });
  });
});
