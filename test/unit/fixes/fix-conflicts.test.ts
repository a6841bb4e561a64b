import { describe, expect, test } from 'vitest';
import { findConflicts, normalGuestPath, touchesOf } from '../../../src/fixes/fix-conflicts.js';
import { buildPlan } from '../../../src/fixes/fix-plan.js';
import { writeResolvConfFix } from '../../../src/fixes/plans/resolv-conf-plans.js';
import { enableGuestResolvedFix } from '../../../src/fixes/plans/dns-stub-plans.js';
import type { FixStep } from '../../../src/core/types.js';
import { report, result } from '../support/report-builders.js';

const answered = { name: 'example.test', asked: [{ server: '192.0.2.53', verdict: 'answer' as const, detail: null }] };
const write = writeResolvConfFix(['192.0.2.53'], '/etc/resolv.conf', answered, { link: null, manager: null });
const link = enableGuestResolvedFix({ booted: true, resolvedInstalled: true });
const step = (s: Partial<FixStep> & Pick<FixStep, 'kind'>): FixStep => ({ where: 'guest', description: 'd', ...s }) as FixStep;

describe('guest paths compare after normalisation inside the guest root', () => {
  test.each([
    ['/etc/resolv.conf', '/etc/resolv.conf'],
    ['etc/resolv.conf', '/etc/resolv.conf'],
    ['/etc//./resolv.conf', '/etc/resolv.conf'],
    ['/../../etc/resolv.conf', '/etc/resolv.conf'],
    ['/run/user/1000/', '/run/user/1000'],
    ['/', '/'],
  ])('%s → %s', (input, want) => {
    expect(normalGuestPath(input)).toBe(want);
  });

  test('exec and manual steps change nothing comparable; umount is a host mount point', () => {
    expect(touchesOf([step({ kind: 'exec', argv: ['true'] }), step({ kind: 'manual' })])).toEqual([]);
    expect(
      touchesOf([
        { kind: 'umount', where: 'host', path: '/srv/g/proc/', recursive: true, makeRslave: true, lazy: false, description: 'd' },
      ]).map((t) => t.key),
    ).toEqual(['host-mount:/srv/g/proc']);
  });
});

describe('findConflicts', () => {
  test('the two resolv.conf fixes: the safe write goes first, the unsafe link is left out, naming it', () => {
    expect(write.safety).toBe('safe');
    expect(link.safety).toBe('unsafe');
    expect(findConflicts([link, write].map((f) => ({ fixId: f.id, safety: f.safety, steps: f.steps })))).toEqual([
      {
        fixId: 'dns.enable-guest-resolved',
        conflictsWith: 'dns.write-resolv-conf',
        reason: 'conflicts with dns.write-resolv-conf: both write /etc/resolv.conf',
      },
    ]);
  });

  test.each([
    [
      'same path, different spelling',
      [step({ kind: 'write', path: '/etc/hosts', content: '' })],
      [step({ kind: 'symlink', path: '/etc/../etc/hosts/', target: 'x' })],
      'both write /etc/hosts',
    ],
    [
      'same mount point',
      [step({ kind: 'mount', path: '/dev/shm', source: { kind: 'tmpfs', options: 'mode=1777' } })],
      [step({ kind: 'mount', path: 'dev/shm', source: { kind: 'tmpfs', options: 'size=1m' } })],
      'both mount on /dev/shm',
    ],
    [
      'a write and a mount of one path',
      [step({ kind: 'mkdir', path: '/run/user/1000', mode: 0o700 })],
      [step({ kind: 'mount', path: '/run/user/1000', source: { kind: 'tmpfs', options: 'x' } })],
      'both change /run/user/1000',
    ],
    [
      'two mkdirs with different owners',
      [step({ kind: 'mkdir', path: '/run/user/1000', uid: 1000 })],
      [step({ kind: 'mkdir', path: '/run/user/1000', uid: 0 })],
      'both make /run/user/1000',
    ],
  ])('%s: the second is left out', (_name, a, b, why) => {
    expect(
      findConflicts([
        { fixId: 'a.one', safety: 'safe', steps: a },
        { fixId: 'b.two', safety: 'safe', steps: b },
      ]),
    ).toEqual([{ fixId: 'b.two', conflictsWith: 'a.one', reason: `conflicts with a.one: ${why}` }]);
  });

  test('no conflict: different paths, host vs guest, two equal mkdirs, exec-only fixes', () => {
    const fixes = [
      {
        fixId: 'a',
        safety: 'safe' as const,
        steps: [step({ kind: 'write', path: '/etc/a', content: '' }), step({ kind: 'mkdir', path: '/run/x', mode: 0o755 })],
      },
      {
        fixId: 'b',
        safety: 'safe' as const,
        steps: [step({ kind: 'write', path: '/etc/b', content: '' }), step({ kind: 'mkdir', path: '/run/x/', mode: 0o755 })],
      },
      { fixId: 'c', safety: 'safe' as const, steps: [step({ kind: 'exec', argv: ['true'] }), step({ kind: 'exec', argv: ['true'] })] },
      {
        fixId: 'd',
        safety: 'safe' as const,
        steps: [
          {
            kind: 'umount' as const,
            where: 'host' as const,
            path: '/etc/a',
            recursive: false,
            makeRslave: false,
            lazy: false,
            description: 'd',
          },
        ],
      },
    ];
    expect(findConflicts(fixes)).toEqual([]);
  });
});

describe('buildPlan gives the loser its own action', () => {
  const before = report([result('dns.resolv-conf', 'fail', [write]), result('dns.stub', 'fail', [link])]);

  test('with --unsafe both could apply: the write is applied, the link is skipped with the reason', () => {
    const plan = buildPlan(before, { unsafe: true, guestChosen: true });
    expect(plan.map((p) => [p.fixId, p.action, p.conflictsWith ?? null])).toEqual([
      ['dns.write-resolv-conf', 'apply', null],
      ['dns.enable-guest-resolved', 'skipped', 'dns.write-resolv-conf'],
    ]);
    expect(plan[1]!.reason).toBe('conflicts with dns.write-resolv-conf: both write /etc/resolv.conf');
  });

  test('without --unsafe the link is needs-unsafe, not a conflict; selecting only it applies it', () => {
    expect(buildPlan(before, { unsafe: false, guestChosen: true }).map((p) => p.action)).toEqual(['apply', 'needs-unsafe']);
    const only = buildPlan(before, { unsafe: true, guestChosen: true, select: (f) => f.fixId === 'dns.enable-guest-resolved' });
    expect(only.map((p) => [p.fixId, p.action])).toEqual([['dns.enable-guest-resolved', 'apply']]);
  });
});
