/**
 * schroot.config against real schroot: a copyfiles entry that is a symlink on the host
 * (a session still starts, copying a snapshot), and a dangling one (schroot refuses to
 * start the session, with the very error the finding quotes).
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ManualStep, Report } from '../../src/core/types.js';
import { run } from '../harness/proc.js';
import { createSchroot, endSession } from '../harness/schroot-guest.js';
import { describeFeature } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';

describeFeature('schroot')('schroot.config with copyfiles symlinks', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
  });
  afterAll(async () => w?.dispose());

  const configResult = async (target: string) => {
    const r = await runTool(['check', target, '--only', 'schroot.config', '--json'], { netns: w.net.guestNsPath });
    if (r.json === undefined) throw new Error(`no JSON (rc ${r.exitCode}): ${r.stderr}`);
    await validateReport(r.json);
    return (r.json as Report).results[0]!;
  };

  test('a copyfiles entry that is a symlink: file, line and the edit', async () => {
    const g = await w.guestRoot('copyfiles link');
    const real = join(w.stateDir, 'stub-resolv.conf');
    const link = join(w.stateDir, 'resolv.conf');
    writeFileSync(real, 'nameserver 203.0.113.53\n');
    symlinkSync(real, link);
    const c = createSchroot(w.net, g.root, w.name('cl'), w.cleanup, { copyfiles: ['# from the host', `${link} /etc/resolv.conf`] });
    const res = await configResult(`schroot:${c.name}`);
    expect(res.status).toBe('warn');
    const f = res.findings.find((x) => x.code === 'copyfiles-symlink');
    expect(f?.evidence).toMatchObject({
      file: `${c.profileDir}/copyfiles`,
      line: 2,
      text: `${link} /etc/resolv.conf`,
      symlinkTarget: real,
    });
    const step = res.fixes.find((x) => x.id === 'schroot.copyfiles-symlink')?.steps[0] as ManualStep;
    expect(step.description).toContain(`${c.profileDir}/copyfiles line 2: delete`);
  });

  test('a dangling copyfiles symlink: schroot cannot start a session, with the error the finding quotes', async () => {
    const g = await w.guestRoot('copyfiles dangling');
    const link = join(w.stateDir, 'dangling-resolv.conf');
    symlinkSync(join(w.stateDir, 'no-such-file'), link);
    const c = createSchroot(w.net, g.root, w.name('cd'), w.cleanup, { copyfiles: [link] });
    const res = await configResult(`schroot:${c.name}`);
    expect(res.status).toBe('fail');
    const f = res.findings.find((x) => x.code === 'copyfiles-dangling-symlink');
    expect(f?.evidence).toMatchObject({ line: 1, source: link });

    const sid = w.name('cd1');
    w.cleanup.defer(`end failed session ${sid}`, () => endSession(sid).catch(() => undefined));
    const begin = await run(['schroot', '-b', '-c', c.name, '-n', sid], { timeoutMs: 30_000 });
    expect(begin.exitCode).not.toBe(0);
    const quoted = `Not copying nonexistent file: ${link}`;
    expect(begin.stderr).toContain(quoted);
    expect(f?.message).toContain(quoted);
  });
});
