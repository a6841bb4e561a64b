import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { applyFix, type AppliedStep } from '../../../src/fixes/engine.js';
import { verdictOf, withDependents } from '../../../src/fixes/fix-run.js';
import { buildPlan, type PlannedFix } from '../../../src/fixes/fix-plan.js';
import { fixExitCode } from '../../../src/fixes/fix-result.js';
import type { CommandRunner } from '../../../src/fixes/command-steps.js';
import type { MountOpResult } from '../../../src/fixes/mount-by-fd.js';
import type { ExecResult } from '../../../src/core/target.js';
import type { Fix, FixStep, Report } from '../../../src/core/types.js';
import { scratch, type Scratch } from './guest-root.js';
import { report, result } from '../support/report-builders.js';

const ok = (over: Partial<ExecResult> = {}): ExecResult => ({
  exitCode: 0,
  stdout: '',
  stderr: '',
  timedOut: false,
  notFound: false,
  ...over,
});

/** Scripted answers of the descriptor-based mount port, by mount point. */
type MountScript = Record<string, MountOpResult>;

/** A runner whose commands are scripted by their joined argv; an unexpected command fails the test. */
function scriptedRunner(script: Record<string, ExecResult>, mounts: MountScript = {}, holders: string[] = []) {
  const calls: string[] = [];
  const answer = (where: string) => async (argv: string[]) => {
    const key = `${where}: ${argv.join(' ')}`;
    calls.push(key);
    const hit = script[key];
    if (!hit) throw new Error(`unexpected command ${key}`);
    return hit;
  };
  const mountOp = async (key: string, before: () => Promise<void>): Promise<MountOpResult> => {
    calls.push(key);
    const hit = mounts[key];
    if (!hit) throw new Error(`unexpected mount operation ${key}`);
    if (hit.status !== 'already-done') await before();
    return hit;
  };
  const runner: CommandRunner = {
    host: answer('host'),
    guest: answer('guest'),
    holders: async () => holders,
    unmount: (r, _t, before) =>
      mountOp(`unmount ${r.path}${r.recursive ? ' -R' : ''}${r.makeRslave ? ' rslave' : ''}${r.lazy ? ' -l' : ''}`, before),
    mountInGuest: (p, src, _t, before) => mountOp(`mount ${src.kind === 'tmpfs' ? 'tmpfs' : src.hostPath} on ${p}`, before),
  };
  return { runner, calls };
}

const planned = (steps: FixStep[], over: Partial<PlannedFix> = {}): PlannedFix => ({
  fixId: 'test.fix',
  title: 't',
  safety: 'safe',
  checkIds: ['dns.resolv-conf'],
  action: 'apply',
  steps,
  ...over,
});

let s: Scratch;
beforeEach(() => {
  s = scratch();
});
afterEach(() => s.dispose());

describe('applyFix', () => {
  test('an exec step whose `unless` succeeds is already done and runs nothing else', async () => {
    const { runner, calls } = scriptedRunner({ 'guest: sh -c ! systemctl is-enabled --quiet systemd-resolved': ok() });
    const steps = await applyFix(
      planned([
        {
          kind: 'exec',
          where: 'guest',
          argv: ['systemctl', 'disable', 'systemd-resolved'],
          unless: ['sh', '-c', '! systemctl is-enabled --quiet systemd-resolved'],
          description: 'x',
        },
      ]),
      { fileRoot: s.root, log: s.recorder, runner },
    );
    expect(steps.map((x) => x.status)).toEqual(['already-done']);
    expect(calls).toHaveLength(1);
    expect(s.recorder.used).toBe(false);
  });

  test('a failing step stops the fix; earlier changes stay journalled; manual steps are listed', async () => {
    const { runner } = scriptedRunner({ 'host: false': ok({ exitCode: 1, stderr: 'boom\n' }) });
    const steps = await applyFix(
      planned([
        { kind: 'write', where: 'guest', path: '/etc/a.conf', content: 'a\n', description: 'first' },
        { kind: 'exec', where: 'host', argv: ['false'], description: 'second', undo: { impossible: 'a test' } },
        { kind: 'write', where: 'guest', path: '/etc/b.conf', content: 'b\n', description: 'third' },
        { kind: 'manual', where: 'host', description: 'by hand', snippet: 'do it' },
      ]),
      { fileRoot: s.root, log: s.recorder, runner },
    );
    expect(steps.map((x) => x.status)).toEqual(['done', 'failed', 'not-run', 'manual']);
    expect(steps[1]!.message).toBe('false exited with 1: boom');
    expect(readFileSync(s.at('/etc/a.conf'), 'utf8')).toBe('a\n');
    expect(s.recorder.entry.changes.map((c) => c.op)).toEqual(['file', 'exec']);
  });

  test('M5: a step that timed out is failed, never done, even with exit status 0; a timed-out `unless` proves nothing', async () => {
    const { runner } = scriptedRunner({
      'guest: true': ok({ timedOut: true }),
      'guest: systemctl enable x': ok({ timedOut: true }),
      'guest: systemctl start x': ok({ exitCode: null, spawnError: 'systemctl exited, but left processes running; they were killed' }),
    });
    const exec = (argv: string[]): FixStep => ({ kind: 'exec', where: 'guest', argv, unless: ['true'], description: 'x' });
    const steps = await applyFix(planned([exec(['systemctl', 'enable', 'x'])]), { fileRoot: s.root, log: s.recorder, runner });
    expect(steps[0]).toMatchObject({ status: 'failed', message: 'systemctl enable x timed out' });
    const left = await applyFix(planned([exec(['systemctl', 'start', 'x'])]), { fileRoot: s.root, log: s.recorder, runner });
    expect(left[0]).toMatchObject({ status: 'failed', message: expect.stringMatching(/left processes running/) });
  });

  test('host-side file steps are refused (the types forbid them; a plugin in plain JavaScript may still hand one)', async () => {
    const { runner } = scriptedRunner({});
    const hostWrite = { kind: 'write', where: 'host', path: '/etc/passwd', content: 'x', description: 'x' } as unknown as FixStep;
    const steps = await applyFix(planned([hostWrite]), { fileRoot: s.root, log: s.recorder, runner });
    expect(steps[0]).toMatchObject({ status: 'failed', message: expect.stringMatching(/^refused/) });
  });

  describe('umount', () => {
    const step: FixStep = {
      kind: 'umount',
      where: 'host',
      path: '/srv/g/proc',
      recursive: true,
      makeRslave: true,
      lazy: false,
      description: 'x',
    };

    test('a path that is not a mount point is already done, and journals nothing', async () => {
      const { runner, calls } = scriptedRunner(
        {},
        { 'unmount /srv/g/proc -R rslave': { status: 'already-done', message: '/srv/g/proc is not a mount point' } },
      );
      expect((await applyFix(planned([step]), { fileRoot: s.root, log: s.recorder, runner }))[0]!.status).toBe('already-done');
      expect(calls).toEqual(['unmount /srv/g/proc -R rslave']);
      expect(s.recorder.used).toBe(false);
    });

    test('the whole step goes to the descriptor-based unmount, journalled before it changes anything', async () => {
      const { runner } = scriptedRunner(
        {},
        { 'unmount /srv/g/proc -R rslave': { status: 'done', message: 'unmounted /srv/g/proc and 2 mount(s) below it' } },
      );
      const [applied] = await applyFix(planned([step]), { fileRoot: s.root, log: s.recorder, runner });
      expect(applied).toMatchObject({ status: 'done', message: 'unmounted /srv/g/proc and 2 mount(s) below it' });
      expect(s.recorder.entry.changes).toMatchObject([{ op: 'umount', state: 'done', command: ['umount', '-R', '/srv/g/proc'] }]);
    });

    test('"target is busy" names the holders', async () => {
      const { runner } = scriptedRunner(
        {},
        { 'unmount /srv/g/proc -R rslave': { status: 'busy', mountPoint: '/srv/g/proc/sys', mountId: 77, message: 'busy' } },
        ['4242 (bash)'],
      );
      const [result] = await applyFix(planned([step]), { fileRoot: s.root, log: s.recorder, runner });
      expect(result).toMatchObject({ status: 'failed', message: 'umount: /srv/g/proc/sys: target is busy; held by 4242 (bash)' });
    });
  });

  describe('mount', () => {
    test('a refused mount stops the fix; a mount already there is already done', async () => {
      const refused: FixStep = {
        kind: 'mount',
        where: 'guest',
        path: '/run/user/1000/pulse',
        source: { kind: 'bind', hostPath: '/run/user/1000/pulse' },
        description: 'x',
      };
      const there: FixStep = {
        kind: 'mount',
        where: 'guest',
        path: '/run',
        source: { kind: 'tmpfs', options: 'mode=755' },
        description: 'x',
      };
      const { runner } = scriptedRunner(
        {},
        {
          'mount tmpfs on /run': { status: 'already-done', message: '/run already has a mount on it' },
          'mount /run/user/1000/pulse on /run/user/1000/pulse': {
            status: 'failed',
            message: 'refused: /run/user/1000 in the guest is writable by uid 1000',
          },
        },
      );
      const steps = await applyFix(planned([there, refused]), { fileRoot: s.root, log: s.recorder, runner });
      expect(steps.map((x) => x.status)).toEqual(['already-done', 'failed']);
      expect(steps[1]!.message).toContain('refused');
    });
  });
});

const fix = (id: string, safety: Fix['safety'], where: 'guest' | 'host' = 'guest'): Fix => ({
  id,
  title: id,
  safety,
  steps:
    safety === 'manual'
      ? [{ kind: 'manual', where, description: 'x' }]
      : where === 'guest'
        ? [{ kind: 'mkdir', where, path: '/x', description: 'x' }]
        : [{ kind: 'exec', where, argv: ['/bin/true'], description: 'x', undo: { impossible: 'a test' } }],
});

describe('buildPlan', () => {
  const before = report([
    result('dns.resolv-conf', 'fail', [fix('dns.write', 'safe'), fix('dns.manual', 'manual')]),
    result('dns.stub', 'warn', [fix('dns.write', 'safe'), fix('dns.enable', 'unsafe')]),
    result('x11.display', 'pass', [fix('never', 'safe')]),
    result('mounts.leftover', 'error', [fix('never2', 'safe', 'host')]),
  ]);

  test.each([
    [
      { unsafe: false, guestChosen: true },
      { 'dns.write': 'apply', 'dns.manual': 'manual', 'dns.enable': 'needs-unsafe' },
    ],
    [
      { unsafe: true, guestChosen: true },
      { 'dns.write': 'apply', 'dns.manual': 'manual', 'dns.enable': 'apply' },
    ],
    [
      { unsafe: true, guestChosen: false },
      { 'dns.write': 'no-guest', 'dns.manual': 'manual', 'dns.enable': 'no-guest' },
    ],
  ])('%j', (opts, want) => {
    const plan = buildPlan(before, opts);
    expect(Object.fromEntries(plan.map((p) => [p.fixId, p.action]))).toEqual(want);
    expect(plan.find((p) => p.fixId === 'dns.write')!.checkIds).toEqual(['dns.resolv-conf', 'dns.stub']);
  });
});

describe('verdicts and the exit code', () => {
  const step = (status: AppliedStep['status']): AppliedStep => ({
    index: 0,
    kind: 'write',
    where: 'guest',
    description: '',
    status,
    message: '',
  });
  const after = report([result('a.b', 'pass'), result('c.d', 'fail')]);

  test.each([
    [[step('done')], ['a.b'], 'fixed'],
    [[step('done')], ['c.d'], 'still-failing'],
    [[step('done'), step('failed')], ['a.b'], 'failed'],
    [[step('already-done')], ['a.b'], 'skipped-already-done'],
    [[step('already-done')], ['c.d'], 'still-failing'],
  ] as const)('%j for %j → %s', (steps, ids, want) => {
    expect(verdictOf([...steps], [...ids], after)).toBe(want);
  });

  test('exit 1 when an applied fix still fails, or any check still fails at its latest diagnosis (DESIGN: 1 when something still fails)', () => {
    const before = report([result('a.b', 'fail'), result('w.x', 'warn')]);
    const applied = (status: 'fixed' | 'still-failing') => [{ fixId: 'f', title: '', checkIds: ['a.b'], status, steps: [] }];
    const againPass = report([result('a.b', 'pass')]);
    expect(fixExitCode(applied('fixed'), before, againPass)).toBe(0);
    expect(fixExitCode(applied('still-failing'), before, againPass)).toBe(1);
    // Nothing applied (declined, unsafe without --unsafe, only manual fixes, skipped): the failing check remains.
    expect(fixExitCode([], before)).toBe(1);
    expect(fixExitCode([], report([result('w.x', 'warn')]))).toBe(0);
    expect(fixExitCode([], report([result('w.x', 'warn')]), null, true)).toBe(1);
    // A failing check nobody touched still counts; one the re-check saw pass does not.
    expect(fixExitCode(applied('fixed'), report([result('a.b', 'fail'), result('c.d', 'fail')]), againPass)).toBe(1);
  });
});

describe('withDependents', () => {
  const checks = [
    { id: 'dns.resolv-conf' },
    { id: 'dns.stub', dependsOn: ['dns.resolv-conf'] },
    { id: 'dns.resolve', dependsOn: ['dns.resolv-conf', 'dns.stub'] },
    { id: 'x11.display' },
  ];
  test('adds every check that depends on a touched one, transitively, and nothing else', () => {
    expect(withDependents(['dns.resolv-conf'], checks).sort()).toEqual(['dns.resolv-conf', 'dns.resolve', 'dns.stub']);
    expect(withDependents(['dns.stub'], checks).sort()).toEqual(['dns.resolve', 'dns.stub']);
    expect(withDependents(['x11.display'], checks)).toEqual(['x11.display']);
  });
  test('a dependent that was not selected (--only) is not added', () => {
    expect(withDependents(['dns.resolv-conf'], checks.slice(0, 1))).toEqual(['dns.resolv-conf']);
  });
  test('a fix is FIXED only when its dependents pass as well', () => {
    const after = {
      results: [
        { id: 'dns.resolv-conf', status: 'pass' },
        { id: 'dns.resolve', status: 'fail' },
      ],
    } as unknown as Report;
    const done: AppliedStep[] = [{ status: 'done' } as AppliedStep];
    expect(verdictOf(done, ['dns.resolv-conf'], after)).toBe('fixed');
    expect(verdictOf(done, withDependents(['dns.resolv-conf'], checks), after)).toBe('still-failing');
  });
});
