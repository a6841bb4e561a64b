import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { asksCheckAll } from '../../../src/host/spawner-process.js';
import { readFileSync } from 'node:fs';
import { alive } from '../support/alive.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const dist = (m: string) => JSON.stringify(path.join(repo, 'dist/src', m));
/** Runs an ESM script in a node of its own (a process with no spawner yet); its stdout's JSON. */
const runScript = (script: string): unknown => {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  expect(out.stderr).toBe('');
  return JSON.parse(out.stdout);
};

describe('asksCheckAll: the runs for which the bin starts the spawner before the CLI loads', () => {
  it('check --all, given or by default, with --all before any --', () => {
    expect(asksCheckAll(['--all'])).toBe(true);
    expect(asksCheckAll(['check', '--all', '--json'])).toBe(true);
    expect(asksCheckAll(['--json', '--all', '--ping-target', '203.0.113.10'])).toBe(true);
    expect(asksCheckAll(['check', 'chroot:/srv/x'])).toBe(false);
    expect(asksCheckAll(['fix', '--all'])).toBe(false);
    expect(asksCheckAll(['list', '--all'])).toBe(false);
    expect(asksCheckAll(['check', '--', '--all'])).toBe(false);
  });
});

describe('prestartSpawner: a spawner started by the bin', () => {
  it('is the one the CLI then starts its commands in, and holds nothing up', () => {
    const started = performance.now();
    const out = runScript(`import { prestartSpawner } from ${dist('host/spawner-process.js')};
import { useHostSpawner } from ${dist('host/host-spawner.js')};
import { runCommand } from ${dist('host/run-command.js')};
prestartSpawner();
const prestarted = globalThis[Symbol.for('ctr-doctor.prestarted-spawner')].pid;
useHostSpawner();
const r = await runCommand(['sh', '-c', 'echo $PPID']);
console.log(JSON.stringify({ prestarted, parent: Number(r.stdout) }));`) as { prestarted: number; parent: number };
    expect(out.parent).toBe(out.prestarted);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('is killed at exit when the CLI never took it', async () => {
    const { pid } = runScript(`import { prestartSpawner } from ${dist('host/spawner-process.js')};
prestartSpawner();
console.log(JSON.stringify({ pid: globalThis[Symbol.for('ctr-doctor.prestarted-spawner')].pid }));`) as { pid: number };
    expect(pid).toBeGreaterThan(0);
    // Killed, it is a zombie until the machine's init reaps it (this machine's takes a second or two).
    const ended = (): boolean => {
      try {
        return !alive(pid) || /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return true;
      }
    };
    for (let i = 0; i < 50 && !ended(); i++) await sleep(20);
    expect(ended()).toBe(true);
  });
});
