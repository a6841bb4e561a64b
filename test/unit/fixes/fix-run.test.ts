import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { applyAndVerify, recheckIds } from '../../../src/fixes/fix-run.js';
import { JournalBusyError } from '../../../src/fixes/journal.js';
import type { CommandRunner } from '../../../src/fixes/command-steps.js';
import type { PlannedFix } from '../../../src/fixes/fix-plan.js';
import type { FixStep, Status } from '../../../src/core/types.js';
import { scratch, type Scratch } from './guest-root.js';
import { report, result } from '../support/report-builders.js';

const planned = (fixId: string, checkIds: string[], steps: FixStep[]): PlannedFix => ({
  fixId,
  title: fixId,
  safety: 'safe',
  checkIds,
  action: 'apply',
  steps,
});
const noCommands: CommandRunner = {
  host: () => Promise.reject(new Error('no host command expected')),
  guest: () => Promise.reject(new Error('no guest command expected')),
  unmount: () => Promise.reject(new Error('no unmount expected')),
  mountInGuest: () => Promise.reject(new Error('no mount expected')),
  holders: async () => [],
};
const checks = [
  { id: 'dns.resolv-conf' },
  { id: 'dns.resolve', dependsOn: ['dns.resolv-conf'] },
  { id: 'x11.display' },
  { id: 'net.ping' },
];

let s: Scratch;
beforeEach(() => {
  s = scratch();
});
afterEach(() => s.dispose());

describe('recheckIds', () => {
  test('the touched checks, their dependents, and every check that failed before (warned too under --strict)', () => {
    const before = report([
      result('dns.resolv-conf', 'fail'),
      result('x11.display', 'fail'),
      result('net.ping', 'warn'),
      result('dns.resolve', 'pass'),
    ]);
    const fix = planned('dns.write', ['dns.resolv-conf'], []);
    expect([...recheckIds([fix], checks, before, false)].sort()).toEqual(['dns.resolv-conf', 'dns.resolve', 'x11.display']);
    expect([...recheckIds([fix], checks, before, true)].sort()).toEqual(['dns.resolv-conf', 'dns.resolve', 'net.ping', 'x11.display']);
  });
});

describe('applyAndVerify: plan → apply → check again, in src/fixes', () => {
  const write: FixStep = {
    kind: 'write',
    where: 'guest',
    path: '/etc/resolv.conf',
    content: 'nameserver 192.0.2.1\n',
    mode: 0o644,
    description: 'w',
  };

  test('applies under the journal lock, checks again what it must, and FIXED only when the dependents pass too', async () => {
    s.file('/etc/resolv.conf', '');
    const asked: string[][] = [];
    const before = report([result('dns.resolv-conf', 'fail'), result('dns.resolve', 'fail'), result('x11.display', 'fail')]);
    const run = (resolveAfter: Status) =>
      applyAndVerify([planned('dns.write', ['dns.resolv-conf'], [write])], before, {
        target: { fileRoot: s.root },
        journal: s.journal,
        runner: noCommands,
        checks,
        strict: false,
        recheck: async (ids) => {
          asked.push([...ids].sort());
          return report([result('dns.resolv-conf', 'pass'), result('dns.resolve', resolveAfter), result('x11.display', 'fail')]);
        },
      });
    const first = await run('fail');
    expect(asked[0]).toEqual(['dns.resolv-conf', 'dns.resolve', 'x11.display']);
    // dns.resolv-conf passes, but dns.resolve, which stands on it, does not: not FIXED.
    expect(first.applied.map((a) => [a.fixId, a.status])).toEqual([['dns.write', 'still-failing']]);
    expect(readFileSync(s.at('/etc/resolv.conf'), 'utf8')).toBe('nameserver 192.0.2.1\n');
    expect(first.journal).not.toBeNull();
    s.file('/etc/resolv.conf', '');
    const second = await run('pass');
    expect(second.applied[0]!.status).toBe('fixed');
  });

  test('another run holding the journal: JournalBusyError, nothing applied, nothing checked', async () => {
    s.file('/etc/resolv.conf', '');
    const release = await s.journal.lock();
    // The lock file names this very process, which is alive: the lock is held.
    let rechecked = false;
    try {
      await expect(
        applyAndVerify([planned('dns.write', ['dns.resolv-conf'], [write])], report([]), {
          target: { fileRoot: s.root },
          journal: s.journal,
          runner: noCommands,
          checks,
          strict: false,
          recheck: async () => {
            rechecked = true;
            return report([]);
          },
        }),
      ).rejects.toBeInstanceOf(JournalBusyError);
    } finally {
      await release();
    }
    expect(rechecked).toBe(false);
    expect(readFileSync(s.at('/etc/resolv.conf'), 'utf8')).toBe('');
  });

  test('the guest changed identity before applying: the error stops the run before any step', async () => {
    s.file('/etc/resolv.conf', '');
    const target = {
      fileRoot: s.root,
      verifyIdentity: () => {
        throw new Error('the guest process is gone');
      },
    };
    await expect(
      applyAndVerify([planned('dns.write', ['dns.resolv-conf'], [write])], report([]), {
        target,
        journal: s.journal,
        runner: noCommands,
        checks,
        strict: false,
        recheck: async () => report([]),
      }),
    ).rejects.toThrow('the guest process is gone');
    expect(readFileSync(s.at('/etc/resolv.conf'), 'utf8')).toBe('');
  });
});
