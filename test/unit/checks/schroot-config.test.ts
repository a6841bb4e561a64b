import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/schroot/config.js';
import { coupledDirOfBind } from '../../../src/checks/mounts/coupled-run.js';
import type { CheckOutcome, ManualStep } from '../../../src/core/types.js';
import { FakeTarget, fakeContext, type FakeScenario } from '../support/fake-target.js';
import { rootedAt, scriptedHost } from '../support/scripted-host.js';

let base: string;
let etc: string;
const made: FakeTarget[] = [];
beforeEach(() => {
  base = mkdtempSync('/tmp/ctd-unit-schroot-config-');
  etc = `${base}/etc`;
  for (const d of ['chroot.d', 'box', 'default', 'root']) mkdirSync(`${etc}/${d}`, { recursive: true });
  mkdirSync(`${base}/root`);
  writeFileSync(`${base}/real-resolv.conf`, 'nameserver 203.0.113.53\n');
  for (const f of ['fstab', 'copyfiles', 'nssdatabases']) writeFileSync(`${etc}/default/${f}`, '');
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
  while (made.length) made.pop()!.dispose();
});

/** Writes chroot.d/box and its profile; `files` maps profile file → content (null = do not create). */
function box(conf: string[], files: Partial<Record<'fstab' | 'copyfiles' | 'nssdatabases', string | null>> = {}): void {
  writeFileSync(`${etc}/chroot.d/box`, conf.join('\n') + '\n');
  const all = { fstab: '/proc /proc none rw,bind 0 0\n', copyfiles: '', nssdatabases: 'passwd\n', ...files };
  for (const [k, v] of Object.entries(all)) if (v !== null) writeFileSync(`${etc}/box/${k}`, v);
}
const BOX = () => ['[box]', 'type=directory', `directory=${base}/root`, 'profile=box'];

async function run(scenario: FakeScenario = { kind: 'host' }): Promise<CheckOutcome> {
  const fake = new FakeTarget(scenario);
  made.push(fake);
  const ctx = fakeContext(rootedAt(fake, scenario.kind === 'host' ? '/' : `${base}/root`), {}, scriptedHost({ schrootPaths: { configDir: etc, sessionDir: `${base}/none` } }));
  const applies = check.appliesTo(ctx);
  if (applies !== true) return { status: 'skip', summary: applies, findings: [], fixes: [] };
  return check.run(ctx);
}

const problems = (o: CheckOutcome) => o.findings.filter((f) => f.severity !== 'info').map((f) => f.code);

describe('schroot.config', () => {
  it('passes a chroot whose directory and profile files exist', async () => {
    box(BOX());
    const o = await run();
    expect(o.status).toBe('pass');
    expect(o.summary).toBe('1 chroot(s) configured correctly');
  });

  it('a copyfiles entry that is a symlink on the host: file, line and the edit', async () => {
    symlinkSync(`${base}/real-resolv.conf`, `${base}/resolv-link`);
    box(BOX(), { copyfiles: `# copy these\n${base}/resolv-link /etc/resolv.conf\n` });
    const o = await run();
    expect(o.status).toBe('warn');
    const f = o.findings.find((x) => x.code === 'copyfiles-symlink');
    expect(f?.evidence).toMatchObject({ file: `${etc}/box/copyfiles`, line: 2, text: `${base}/resolv-link /etc/resolv.conf`, symlinkTarget: `${base}/real-resolv.conf`, copyRealFileInstead: `${base}/real-resolv.conf /etc/resolv.conf` });
    const step = o.fixes.find((x) => x.id === 'schroot.copyfiles-symlink')?.steps[0] as ManualStep;
    expect(step.description).toContain(`${etc}/box/copyfiles line 2: delete "${base}/resolv-link /etc/resolv.conf"`);
  });

  it('a dangling symlink fails with schroot\'s own error text', async () => {
    symlinkSync(`${base}/nothing-here`, `${base}/dangling`);
    box(BOX(), { copyfiles: `${base}/dangling\n` });
    const o = await run();
    expect(o.status).toBe('fail');
    const f = o.findings.find((x) => x.code === 'copyfiles-dangling-symlink');
    expect(f?.message).toContain(`E: 20copyfiles: error: Not copying nonexistent file: ${base}/dangling`);
  });

  it('a shared copyfiles (the default profile) is not edited: the chroot gets its own and a setup.copyfiles line', async () => {
    symlinkSync(`${base}/real-resolv.conf`, `${base}/resolv-link`);
    writeFileSync(`${etc}/default/copyfiles`, `${base}/resolv-link\n`);
    writeFileSync(`${etc}/chroot.d/box`, `[box]\ntype=directory\ndirectory=${base}/root\n\n[other]\ntype=directory\ndirectory=${base}/root\n`);
    const o = await run();
    const fix = o.fixes.find((x) => x.id === 'schroot.copyfiles-symlink' && x.title.includes('box'));
    const [newFile, confLine] = fix!.steps as ManualStep[];
    expect(newFile?.description).toContain(`${etc}/box/copyfiles: add`);
    expect(newFile?.snippet).toBe('# nothing to copy');
    expect(confLine?.description).toContain(`${etc}/chroot.d/box: add after line 1`);
    expect(confLine?.snippet).toBe('setup.copyfiles=box/copyfiles');
  });

  it('a missing directory names the config line and schroot\'s error', async () => {
    box(['[box]', 'type=directory', `directory=${base}/nowhere`, 'profile=box']);
    const o = await run();
    const f = o.findings.find((x) => x.code === 'directory-missing');
    expect(f?.message).toContain(`E: 10mount: error: Directory '${base}/nowhere' does not exist`);
    expect(f?.evidence).toMatchObject({ file: `${etc}/chroot.d/box`, line: 3, text: `directory=${base}/nowhere` });
  });

  it('a missing setup.fstab points at the line and offers default/fstab', async () => {
    box([...BOX(), 'setup.fstab=box/no-such-fstab']);
    const o = await run();
    const f = o.findings.find((x) => x.code === 'setup-file-missing');
    expect(f?.message).toContain(`E: 10mount: error: setup_fstab file '${etc}/box/no-such-fstab' does not exist`);
    expect(f?.evidence).toMatchObject({ line: 5, text: 'setup.fstab=box/no-such-fstab', replacement: 'setup.fstab=default/fstab' });
  });

  it('a missing profile copyfiles, an fstab bind of a missing path and a malformed fstab line', async () => {
    box(BOX(), { copyfiles: null, fstab: `/proc /proc none rw,bind 0 0\n${base}/gone /gone none rw,bind 0 0\n/a b /c none rw,bind 0 0 x\n` });
    const o = await run();
    expect(problems(o).sort()).toEqual(['fstab-malformed', 'fstab-source-missing', 'setup-file-missing']);
    expect(o.findings.find((x) => x.code === 'fstab-source-missing')?.evidence).toMatchObject({ line: 2 });
    expect(o.findings.find((x) => x.code === 'fstab-malformed')?.evidence).toMatchObject({ line: 3 });
  });

  it.each([
    ['/run /run none rw,rbind 0 0', 'fstab-binds-host-run', 'fail', '/run'],
    ['/run/dbus /run/dbus none rw,bind 0 0', 'fstab-binds-host-run', 'fail', '/run/dbus'],
    ['/run/systemd/ /run/systemd none rw,bind 0 0', 'fstab-binds-host-run', 'fail', '/run/systemd'],
    ['/run/user /run/user none rw,rbind 0 0', 'fstab-binds-host-user-run', 'warn', '/run/user'],
    ['/ /host none rw,rbind 0 0', 'fstab-binds-host-run', 'fail', '/run'],
  ])('a profile fstab line "%s" is found before any session starts, with the lines to put instead', async (line, code, status, hostDir) => {
    box(BOX(), { fstab: `/proc /proc none rw,bind 0 0\n${line}\n` });
    const o = await run();
    expect(o.status).toBe(status);
    const f = o.findings.find((x) => x.code === code);
    expect(f?.message).toContain(`${etc}/box/fstab line 2 binds the host's`);
    expect(f?.evidence).toMatchObject({ line: 2, text: line, hostDir });
    expect((f?.evidence.replacement as string[])[0]).toBe('tmpfs  /run  tmpfs  rw,nosuid,nodev,mode=755  0  0');
    const [remove, add] = o.fixes.find((x) => x.id === 'mounts.schroot-private-run')!.steps as ManualStep[];
    expect(remove?.description).toBe(`${etc}/box/fstab line 2: remove this line`);
    expect(remove?.snippet).toBe(line);
    expect(add?.snippet).toContain('tmpfs  /run/user/');
  });

  it('binds near /run that do not reach the host\'s daemons are left alone', async () => {
    box(BOX(), { fstab: '/run/lock /run/lock none rw,bind 0 0\n/ /host none rw,bind 0 0\n/tmp /tmp none rw,bind 0 0\n' });
    const o = await run();
    expect(o.status).toBe('pass');
  });

  it('a schroot target looks only at its own chroot; other kinds skip', async () => {
    box(BOX());
    writeFileSync(`${etc}/chroot.d/broken`, `[broken]\ntype=directory\ndirectory=${base}/nowhere\n`);
    expect((await run({ kind: 'schroot', schroot: { chroot: 'box', session: null } })).status).toBe('pass');
    expect((await run()).status).toBe('fail');
    expect((await run({ kind: 'chroot' })).status).toBe('skip');
  });
});

describe('coupledDirOfBind', () => {
  it.each([
    ['/run', false, '/run'], ['/run/', true, '/run'], ['/run/systemd', false, '/run/systemd'], ['/run/dbus', false, '/run/dbus'],
    ['/run/user', false, '/run/user'], ['/run/user/1000', false, '/run/user'], ['/', true, '/run'],
    ['/', false, null], ['/run/lock', true, null], ['/run/user/1000/pulse', false, null], ['/srv/run', true, null],
  ] as const)('%s (recursive %s) → %s', (source, recursive, dir) => {
    expect(coupledDirOfBind(source, recursive)?.dir ?? null).toBe(dir);
  });
});
