import { describe, expect, test } from 'vitest';
import { defineCheck, type Check } from '../../../src/core/check.js';
import { finding, outcomeOf } from '../../../src/core/outcome.js';
import { describeCrash, runChecks, runOneCheck, selectChecks } from '../../../src/core/runner.js';
import { resolveChecks } from '../../../src/cli/diagnose.js';
import { UsageError } from '../../../src/cli/usage-error.js';
import { FakeTarget, fakeContext } from '../support/fake-target.js';

function check(id: string, run: Check['run'], appliesTo: Check['appliesTo'] = () => true): Check {
  return defineCheck({ id, group: id.split('.')[0]!, title: id, description: id, findings: {}, appliesTo, run });
}
const ctx = () => fakeContext(new FakeTarget({}));
const ok = check('a.ok', async () => outcomeOf([finding('fine', 'info', 'fine')]));

describe('runOneCheck', () => {
  test('a check that throws becomes status error with the first line of the message', async () => {
    const r = await runOneCheck(
      check('a.crash', async () => {
        throw new Error('boom\nstack line');
      }),
      ctx(),
      1000,
      true,
    );
    expect(r).toMatchObject({ id: 'a.crash', group: 'a', status: 'error', summary: 'boom', findings: [], fixes: [] });
  });

  test('a non-Error throw is still one line', async () => {
    const r = await runOneCheck(
      check('a.str', async () => {
        throw 'weird';
      }),
      ctx(),
      1000,
      true,
    );
    expect(r.status).toBe('error');
    expect(r.summary).toBe('weird');
  });

  test('a check that never settles times out as error within the bound', async () => {
    const hang = check('a.hang', () => new Promise(() => undefined));
    const t0 = performance.now();
    const r = await runOneCheck(hang, ctx(), 150, true);
    const took = performance.now() - t0;
    expect(r.status).toBe('error');
    expect(r.summary).toBe('timed out after 150 ms');
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1000);
  });

  test('appliesTo returning a reason gives skip; appliesTo throwing gives skip with the crash named', async () => {
    expect(
      await runOneCheck(
        check(
          'a.na',
          async () => outcomeOf([]),
          () => 'not on nspawn',
        ),
        ctx(),
        1000,
        true,
      ),
    ).toMatchObject({ status: 'skip', summary: 'not on nspawn' });
    const r = await runOneCheck(
      check(
        'a.bad',
        async () => outcomeOf([]),
        () => {
          throw new Error('no');
        },
      ),
      ctx(),
      1000,
      true,
    );
    expect(r.status).toBe('skip');
    expect(r.summary).toContain('no');
  });

  test('EACCES without root says "needs root: run with sudo"', () => {
    const e = Object.assign(new Error('EACCES: permission denied, open /proc/1/root'), { code: 'EACCES' });
    expect(describeCrash(e, false)).toMatch(/^needs root: run with sudo/);
    expect(describeCrash(e, true)).not.toMatch(/needs root/);
  });
});

describe('runChecks', () => {
  test('runs concurrently, keeps registry order, and emits start/end events', async () => {
    const slow = check('b.slow', () => new Promise((r) => setTimeout(() => r(outcomeOf([])), 200)));
    const fast = check('b.fast', async () => outcomeOf([finding('x', 'warn', 'w')]));
    const events: string[] = [];
    const t0 = performance.now();
    const results = await runChecks([slow, slow, fast], ctx(), {
      timeoutMs: 1000,
      isRoot: true,
      events: { checkStart: (c) => events.push(`start ${c.id}`), checkEnd: (r) => events.push(`end ${r.id}`) },
    });
    expect(performance.now() - t0).toBeLessThan(390);
    expect(results.map((r) => `${r.id}:${r.status}`)).toEqual(['b.slow:pass', 'b.slow:pass', 'b.fast:warn']);
    expect(events.filter((e) => e.startsWith('start'))).toHaveLength(3);
    expect(events.indexOf('end b.fast')).toBeLessThan(events.indexOf('end b.slow'));
  });
});

describe('selectChecks / resolveChecks', () => {
  const all = [
    check('dns.a', async () => outcomeOf([])),
    check('dns.b', async () => outcomeOf([])),
    check('x11.c', async () => outcomeOf([])),
  ];
  test.each([
    [[], [], ['dns.a', 'dns.b', 'x11.c']],
    [['dns'], [], ['dns.a', 'dns.b']],
    [['x11.c', 'dns.a'], [], ['dns.a', 'x11.c']],
    [[], ['dns'], ['x11.c']],
    [['dns'], ['dns.b'], ['dns.a']],
    [[], ['dns.a', 'x11'], ['dns.b']],
  ])('only %j skip %j → %j', (only, skip, ids) => {
    const { selected, unknown } = selectChecks(all, only, skip);
    expect(selected.map((c) => c.id)).toEqual(ids);
    expect(unknown).toEqual([]);
  });

  test('unknown ids and groups are named', () => {
    expect(selectChecks(all, ['dns', 'nope'], ['x12.c']).unknown).toEqual(['nope', 'x12.c']);
  });

  test('an unknown id on the command line is a usage error (exit 2) naming it', async () => {
    const args = { timeout: 2000, strict: false, compareHost: false, verbose: false, only: 'dns,no-such.check' };
    const err = await resolveChecks(args, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain('no-such.check');
    expect((err as Error).message).not.toContain('dns,');
  });

  test('a real run with ok still passes', async () => {
    expect((await runOneCheck(ok, ctx(), 1000, true)).status).toBe('pass');
  });
});
