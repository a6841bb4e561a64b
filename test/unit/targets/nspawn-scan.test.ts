import { describe, expect, it } from 'vitest';
import { isRealNspawn, scanNspawnProcesses, type NspawnTrust } from '../../../src/host/nspawn-machines.js';
import { hostProcess } from '../support/fake-host.js';

const trust: NspawnTrust = { exeIds: new Set(['8:4242']), ownCgroup: '/user.slice/session-1.scope', ownRootId: '8:1' };
const nspawn = (over: Record<string, unknown> = {}) =>
  Object.assign(
    hostProcess({ pid: 50, ppid: 1, uid: 0, comm: 'systemd-nspawn', cmdline: ['systemd-nspawn', '-D', '/srv/box', '-M', 'box', '-b'] }),
    { exeId: '8:4242', cgroup: '/machine.slice/systemd-nspawn@box.service', ...over },
  );
const leader = (over: Record<string, unknown> = {}) =>
  Object.assign(hostProcess({ pid: 51, ppid: 50, uid: 0, comm: 'systemd', rootId: '8:99', rootLink: '/' }), {
    cgroup: '/machine.slice/systemd-nspawn@box.service/payload',
    ...over,
  });

describe('systemd-nspawn processes (audit H4)', () => {
  it('finds a machine whose nspawn is the real binary, run by root, in machine.slice', () => {
    expect(scanNspawnProcesses([nspawn(), leader()], trust)).toMatchObject([
      { machine: 'box', nspawnPid: 50, leaderPid: 51, via: 'process-scan' },
    ]);
  });
  it.each([
    ['a process that only took the name (another exe)', { exeId: '8:1' }],
    ['the real binary run by a user', { uid: 1000 }],
    ['an exe that cannot be read', { exeId: null }],
  ])('ignores %s', (_name, over) => {
    expect(scanNspawnProcesses([nspawn(over), leader()], trust)).toEqual([]);
  });
  it('accepts nspawn in a cgroup of its own that its guest lives in (--keep-unit), or in ours', () => {
    expect(isRealNspawn(nspawn({ cgroup: '/ctd-1/supervisor' }), leader({ cgroup: '/ctd-1/payload/init.scope' }), trust)).toBe(true);
    expect(isRealNspawn(nspawn({ cgroup: '/ctd-1/supervisor' }), leader({ cgroup: '/ctd-10/payload' }), trust)).toBe(false);
    expect(isRealNspawn(nspawn({ cgroup: trust.ownCgroup }), leader({ cgroup: '/elsewhere' }), trust)).toBe(true);
    expect(isRealNspawn(nspawn({ cgroup: '/user.slice/user-1000.slice' }), leader({ cgroup: '/elsewhere' }), trust)).toBe(false);
  });
  it('a child rooted at our / is no machine leader', () => {
    expect(scanNspawnProcesses([nspawn(), leader({ rootId: '8:1' })], trust)).toEqual([]);
  });
});
