/**
 * The runner bounds every check: one that never settles, throws, or leaves a command running
 * becomes `error` within its time, and nothing it started outlives the run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineCheck, type Check } from '../../../src/core/check.js';
import { killLiveChildren, liveChildCount } from '../../../src/core/live-children.js';
import { describeCrash, printable, runChecks, runOneCheck } from '../../../src/core/runner.js';
import { runCommand } from '../../../src/host/run-command.js';
import { FakeTarget, fakeContext } from '../support/fake-target.js';
import { alive } from '../support/alive.js';

const target = new FakeTarget({});
const ctx = () => fakeContext(target);
afterAll(() => rmSync(target.root, { recursive: true, force: true }));

function check(id: string, run: Check['run'], appliesTo: Check['appliesTo'] = () => true): Check {
  return defineCheck({ id: `robust.${id}`, group: 'robust', title: id, description: id, findings: {}, appliesTo, run });
}

describe('runOneCheck bounds', () => {
  it('turns a check that never settles into error after its timeout, not later', async () => {
    const started = performance.now();
    const r = await runOneCheck(
      check('forever', () => new Promise(() => undefined)),
      ctx(),
      150,
      true,
    );
    const took = performance.now() - started;
    expect(r.status).toBe('error');
    expect(r.summary).toBe('timed out after 150 ms');
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(400);
  });

  it('reports a crash as one line, never a stack', async () => {
    const r = await runOneCheck(
      check('throws', () => {
        throw new Error('first line\n    at secret (/x.js:1:1)');
      }),
      ctx(),
      1000,
      true,
    );
    expect(r).toMatchObject({ status: 'error', summary: 'first line' });
    const rejects = await runOneCheck(
      check('rejects', () => Promise.reject('a string, not an Error')),
      ctx(),
      1000,
      true,
    );
    expect(rejects).toMatchObject({ status: 'error', summary: 'a string, not an Error' });
  });

  it('says "needs root: run with sudo" for a permission error when not root, and not when root', () => {
    const eacces = Object.assign(new Error("EACCES: permission denied, open '/srv/g/etc/shadow'"), { code: 'EACCES' });
    expect(describeCrash(eacces, false)).toBe("needs root: run with sudo (EACCES: permission denied, open '/srv/g/etc/shadow')");
    expect(describeCrash(eacces, true)).toBe("EACCES: permission denied, open '/srv/g/etc/shadow'");
    expect(describeCrash(new Error('Operation not permitted'), false)).toMatch(/^needs root: run with sudo/);
    expect(describeCrash(undefined, false)).toBe('undefined');
  });

  it('skips a check whose appliesTo throws, with the reason', async () => {
    const r = await runOneCheck(
      check(
        'applies',
        async () => ({ status: 'pass', summary: '', findings: [], fixes: [] }),
        () => {
          throw new Error('no target kind');
        },
      ),
      ctx(),
      1000,
      true,
    );
    expect(r).toMatchObject({ status: 'skip', summary: 'could not tell whether it applies: no target kind' });
  });
});

describe('outcomes a check may not pass on', () => {
  it('keeps summaries and messages on one line, and escapes terminal control codes', async () => {
    const hostile = '/mnt/we\\ird\nname\x1b[2J\u009b';
    const r = await runOneCheck(
      check('odd', async () => ({
        status: 'warn',
        summary: `left below ${hostile}`,
        fixes: [],
        findings: [{ code: 'odd', severity: 'warn', message: `mount ${hostile}`, evidence: { mountPoint: hostile } }],
      })),
      ctx(),
      1000,
      true,
    );
    expect(r.summary).toBe('left below /mnt/we\\ird\\nname\\x1b[2J\\x9b');
    expect(r.findings[0]?.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(r.findings[0]?.evidence.mountPoint).toBe(hostile);
    expect(printable('tab\there')).toBe('tab\\there');
  });

  it('turns a check that resolves to no outcome into error', async () => {
    const r = await runOneCheck(
      check('nothing', async () => undefined as never),
      ctx(),
      1000,
      true,
    );
    expect(r).toMatchObject({ status: 'error', summary: 'the check returned no valid outcome (status, summary, findings, fixes)' });
    const bad = await runOneCheck(
      check('bad', async () => ({ status: 'great', summary: 'x', findings: [], fixes: [] }) as never),
      ctx(),
      1000,
      true,
    );
    expect(bad.status).toBe('error');
  });
});

describe('runChecks leaves nothing running', () => {
  it('kills a command a timed-out check left behind, once every check has an outcome', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-robust-'));
    const pidFile = path.join(dir, 'pid');
    const leaky = check('leaky', async () => {
      // No timeoutMs: only the runner can stop it.
      await runCommand(['sh', '-c', 'echo $$ > "$1"; exec sleep 30', 'sh', pidFile]);
      return { status: 'pass', summary: 'never', findings: [], fixes: [] };
    });
    const quick = check('quick', async () => ({ status: 'pass', summary: 'ok', findings: [], fixes: [] }));
    const started = performance.now();
    const results = await runChecks([leaky, quick], ctx(), { timeoutMs: 400, isRoot: true });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(results.map((r) => r.status)).toEqual(['error', 'pass']);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    // SIGKILL is delivered at once; reaping it waits for our event loop, which a loaded machine slows down.
    for (let waited = 0; alive(pid) && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
    expect(liveChildCount()).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('forgets children that exited by themselves', async () => {
    await runCommand(['true']);
    expect(liveChildCount()).toBe(0);
    expect(killLiveChildren()).toBe(0);
  });
});
