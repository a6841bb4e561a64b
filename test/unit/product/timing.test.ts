import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

const CLI = new URL('../../../dist/bundle/ctr-doctor.js', import.meta.url).pathname;

describe.skipIf(!existsSync(CLI))('NODE_DEBUG=ctr-doctor phase timings (built CLI)', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [CLI, 'checks', '--json'], { encoding: 'utf8', env: { ...process.env, ...env } });

  test('prints the time of each phase on stderr, and stdout stays the report', () => {
    const r = run({ NODE_DEBUG: 'ctr-doctor' });
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^ctr-doctor \+\d+ ms main$/);
    expect(lines.at(-1)).toMatch(/^ctr-doctor \+\d+ ms done$/);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
  });

  test('prints nothing without it', () => {
    const r = run({ NODE_DEBUG: '' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});
