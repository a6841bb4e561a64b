import { describe, expect, it } from 'vitest';
import { chrootRule, guestMembers, isMember, leaderRule, type OwnFacts, type ProcessFacts } from '../../../src/targets/membership.js';

const own: OwnFacts = { rootId: '8:1', mntns: 'mnt:[1]', userns: 'user:[1]', pidns: 'pid:[1]', cgroup: '/user.slice/session-2.scope' };
const proc = (pid: number, p: Partial<ProcessFacts>): ProcessFacts => ({
  pid,
  rootId: '8:1',
  mntns: 'mnt:[1]',
  userns: 'user:[1]',
  pidns: 'pid:[1]',
  cgroup: own.cgroup,
  ...p,
});

describe('chroot membership (audit H4)', () => {
  const rule = chrootRule('8:77', own);
  it.each([
    ['rooted at the directory, our namespaces', proc(10, { rootId: '8:77' }), true],
    ['rooted elsewhere', proc(11, { rootId: '8:78' }), false],
    ['rooted at the host root', proc(12, {}), false],
    ['rooted there but in a mount namespace of its own (unshare -m)', proc(13, { rootId: '8:77', mntns: 'mnt:[9]' }), false],
    ['rooted there but in a user namespace of its own (unshare -Ur)', proc(14, { rootId: '8:77', userns: 'user:[9]' }), false],
  ])('%s', (_name, p, member) => {
    expect(isMember(rule, p)).toBe(member);
  });
});

describe('nspawn and pid membership (issue 12 item 2)', () => {
  const leader = proc(100, { rootId: '8:50', mntns: 'mnt:[5]', pidns: 'pid:[5]', cgroup: '/machine.slice/machine-g.scope/payload' });
  const rule = leaderRule(leader, own);
  it('a guest with its own PID namespace: the PID namespace decides', () => {
    expect(rule.kind).toBe('pidns');
  });
  it("counts the guest's sandboxed service, which has a mount namespace of its own (systemd-resolved)", () => {
    expect(isMember(rule, proc(101, { rootId: '8:50', mntns: 'mnt:[6]', pidns: 'pid:[5]' }))).toBe(true);
  });
  it("leaves out a host process in another PID namespace, and any process rooted at the host's /", () => {
    expect(isMember(rule, proc(102, { rootId: '8:51', pidns: 'pid:[7]' }))).toBe(false);
    expect(isMember(rule, proc(103, { pidns: 'pid:[5]' }))).toBe(false);
  });
  it('a guest in our PID namespace with a cgroup of its own: that subtree', () => {
    const r = leaderRule(proc(200, { rootId: '8:60', mntns: 'mnt:[8]', cgroup: '/ctd-x' }), own);
    expect(r.kind).toBe('cgroup');
    expect(isMember(r, proc(201, { rootId: '8:60', mntns: 'mnt:[9]', cgroup: '/ctd-x/sub' }))).toBe(true);
    expect(isMember(r, proc(202, { rootId: '8:60', mntns: 'mnt:[9]', cgroup: '/ctd-xy' }))).toBe(false);
  });
  it("neither: the leader's mount namespace and root", () => {
    const r = leaderRule(proc(300, { rootId: '8:70', mntns: 'mnt:[3]' }), own);
    expect(r.kind).toBe('mntns-root');
    expect(isMember(r, proc(301, { rootId: '8:70', mntns: 'mnt:[3]' }))).toBe(true);
    expect(isMember(r, proc(302, { rootId: '8:70', mntns: 'mnt:[4]' }))).toBe(false);
  });
  it('guestMembers leaves ctr-doctor itself out', () => {
    const r = chrootRule('8:77', own);
    expect(guestMembers(r, [proc(1, { rootId: '8:77' }), proc(2, { rootId: '8:77' })], 2).map((p) => p.pid)).toEqual([1]);
  });
});
