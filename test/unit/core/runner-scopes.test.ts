/**
 * Overlapping runs (`check --all`): the end of one guest's run kills what its timed-out checks left,
 * through its Target's child scope, and never another guest's commands.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineCheck, type Check } from '../../../src/core/check.js';
import { letRunsOverlap, liveChildCount, newChildScope } from '../../../src/core/live-children.js';
import { runChecks } from '../../../src/core/runner.js';
import { runCommand } from '../../../src/host/run-command.js';
import type { ExecResult } from '../../../src/core/target.js';
import { FakeTarget, fakeContext } from '../support/fake-target.js';
import { alive } from '../support/alive.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-scopes-'));
const targets = [new FakeTarget({}), new FakeTarget({})].map((t) => Object.assign(t, { childScope: newChildScope() }));
afterAll(() => {
  for (const t of targets) rmSync(t.root, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

function check(id: string, run: Check['run']): Check {
  return defineCheck({ id: `scopes.${id}`, group: 'scopes', title: id, description: id, findings: {}, appliesTo: () => true, run });
}

/** A command of `target`'s run (as GuestTarget.exec starts them), writing its pid to `pidFile` first. */
const commandOf = (target: (typeof targets)[number], pidFile: string, seconds: number): Promise<ExecResult> =>
  runCommand(['sh', '-c', `echo $$ > "$1"; exec sleep ${seconds}`, 'sh', pidFile], { scope: target.childScope });

const pidIn = (file: string): number => Number(readFileSync(file, 'utf8'));

describe('runChecks of overlapping runs', () => {
  it("kills its own timed-out check's command at its end, and leaves the other guest's running", async () => {
    letRunsOverlap();
    const [a, b] = targets as [(typeof targets)[number], (typeof targets)[number]];
    const leakedFile = path.join(dir, 'leaked');
    const otherFile = path.join(dir, 'other');
    let otherResult: ExecResult | undefined;
    const leaky = check('leaky', async () => {
      await commandOf(a, leakedFile, 30);
      return { status: 'pass', summary: 'never', findings: [], fixes: [] };
    });
    const slowButFine = check('slow', async () => {
      otherResult = await commandOf(b, otherFile, 1.5);
      return { status: 'pass', summary: 'done', findings: [], fixes: [] };
    });
    const runB = runChecks([slowButFine], fakeContext(b), { timeoutMs: 5000, isRoot: true });
    // The other guest's command is running before the first run starts (a loaded machine is slow to spawn).
    for (let waited = 0; !existsSync(otherFile) && waited < 3000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    const resultsA = await runChecks([leaky], fakeContext(a), { timeoutMs: 300, isRoot: true });
    expect(resultsA.map((r) => r.status)).toEqual(['error']);
    const leaked = pidIn(leakedFile);
    for (let waited = 0; alive(leaked) && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(alive(leaked)).toBe(false);
    // The other run's command is still running when the first run ended, and ends on its own, with success.
    expect(alive(pidIn(otherFile))).toBe(true);
    const resultsB = await runB;
    expect(resultsB.map((r) => r.status)).toEqual(['pass']);
    expect(otherResult?.exitCode).toBe(0);
    expect(liveChildCount()).toBe(0);
  });
});
