import { describe, expect, test } from 'vitest';
import { realCommandRunner } from '../../../src/fixes/command-steps.js';
import type { Target } from '../../../src/core/target.js';
import { FakeHost } from '../support/fake-host.js';

// Host commands of fix steps go through the Host port: a bare name is looked up there, never spawned from a PATH.
const guest = { exec: () => Promise.reject(new Error('no guest command expected')) } as unknown as Target;

describe('realCommandRunner host commands', () => {
  test('a bare name runs as the absolute path the Host port knows it by', async () => {
    const host = new FakeHost({
      programs: { xhost: '/usr/bin/xhost' },
      commands: [{ argv: ['/usr/bin/xhost', '+si:localuser:1000'], result: { stdout: 'added' } }],
    });
    const r = await realCommandRunner(guest, '/nonexistent', async () => [], host).host(['xhost', '+si:localuser:1000'], 1000);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'added' });
    expect(host.log.run).toEqual([['/usr/bin/xhost', '+si:localuser:1000']]);
  });

  test('a name the host has no program for is not found, and nothing runs', async () => {
    const host = new FakeHost({});
    const r = await realCommandRunner(guest, '/nonexistent', async () => [], host).host(['xhost', '-'], 1000);
    expect(r).toMatchObject({ exitCode: null, notFound: true });
    expect(host.log.run).toEqual([]);
  });
});
