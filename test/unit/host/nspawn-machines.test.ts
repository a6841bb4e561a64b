import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOST_PATH, searchHostProgramsIn } from '../../../src/host/host-programs.js';
import { machinectlMachines } from '../../../src/host/nspawn-machines.js';

// A scripted machinectl that notes each run and lists one machine.
let dir: string;
let ran: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-machinectl-'));
  ran = path.join(dir, 'ran');
  writeFileSync(
    path.join(dir, 'machinectl'),
    [
      '#!/bin/sh',
      `echo "$@" >> '${ran}'`,
      'case "$1" in',
      '  list) echo "deb12 container systemd-nspawn debian 12 -";;',
      '  show) printf "Leader=4242\\nRootDirectory=/var/lib/machines/deb12\\nClass=container\\n";;',
      'esac',
    ].join('\n'),
  );
  chmodSync(path.join(dir, 'machinectl'), 0o755);
  searchHostProgramsIn([dir, ...HOST_PATH.split(':')]);
});
afterAll(() => {
  searchHostProgramsIn(null);
  rmSync(dir, { recursive: true, force: true });
});

describe('machinectlMachines', () => {
  it('does not start machinectl when neither the system bus nor machined has a socket', async () => {
    rmSync(ran, { force: true });
    const machines = await machinectlMachines(2000, [path.join(dir, 'no-bus'), path.join(dir, 'no-machined')]);
    expect(machines).toEqual([]);
    expect(existsSync(ran)).toBe(false);
  });

  it('asks machinectl when one of them is there, and reads its machines', async () => {
    rmSync(ran, { force: true });
    mkdirSync(path.join(dir, 'machine'), { recursive: true });
    const machines = await machinectlMachines(2000, [path.join(dir, 'no-bus'), path.join(dir, 'machine')]);
    expect(existsSync(ran)).toBe(true);
    expect(machines).toEqual([
      { machine: 'deb12', nspawnPid: null, leaderPid: 4242, directory: '/var/lib/machines/deb12', argv: [], via: 'machinectl' },
    ]);
  });
});
