/**
 * Checks that misbehave, loaded as a plugin into the real CLI: one never settles, one runs a
 * command with no time limit, one throws, one resolves to nothing. The run still ends within
 * --timeout + 0.5 s with each of them as `error` and a one-line reason, and the command the
 * runaway check started does not outlive the run.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { boundedRun } from '../harness/bounded-run.js';
import { isAlive } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { createWorld, type World } from '../harness/world.js';

const TIMEOUT_MS = 2000;

const plugin = (pidFile: string): string => `
const base = { group: 'runaway', description: 'test plugin', findings: {}, appliesTo: () => true };
export const checks = [
  { ...base, id: 'runaway.forever', title: 'never settles', run: () => new Promise(() => {}) },
  { ...base, id: 'runaway.command', title: 'a command with no time limit',
    run: async (ctx) => { await ctx.target.execInNetns(['sh', '-c', 'echo $$ > ${pidFile}; exec sleep 300']); return { status: 'pass', summary: 'x', findings: [], fixes: [] }; } },
  { ...base, id: 'runaway.throws', title: 'throws', run: () => { throw new Error('boom\\n    at secret (/x.js:1:1)'); } },
  { ...base, id: 'runaway.nothing', title: 'resolves to nothing', run: async () => undefined },
];
`;

describeIntegration('runaway checks', () => {
  let w: World;
  let pidFile = '';
  let pluginFile = '';

  beforeAll(async () => {
    w = await createWorld();
    pidFile = join(w.stateDir, 'runaway.pid');
    pluginFile = join(w.stateDir, 'runaway.mjs');
    writeFileSync(pluginFile, plugin(pidFile));
  });
  afterAll(async () => w?.dispose());

  test('each becomes error within the bound, and nothing they started survives', async () => {
    const root = w.minimalRoot('runaway');
    const run = await boundedRun(`chroot:${root}`, ['--plugin', pluginFile, '--only', 'runaway,dns.resolv-conf'], {
      netns: w.net.offNsPath,
      timeoutMs: TIMEOUT_MS,
    });
    expect(run.result('runaway.forever')).toMatchObject({ status: 'error', summary: `timed out after ${TIMEOUT_MS} ms` });
    expect(run.result('runaway.command')).toMatchObject({ status: 'error', summary: `timed out after ${TIMEOUT_MS} ms` });
    expect(run.result('runaway.throws')).toMatchObject({ status: 'error', summary: 'boom' });
    expect(run.result('runaway.nothing').status).toBe('error');
    expect(run.result('dns.resolv-conf').status).toBe('pass');
    expect(run.tool.exitCode).toBe(3);
    expect(existsSync(pidFile)).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 200));
    expect(isAlive(pid), `sleep ${pid} outlived the run`).toBe(false);
  });
});
