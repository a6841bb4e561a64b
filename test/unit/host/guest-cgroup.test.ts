import { describe, expect, it } from 'vitest';
import { cgroupJoinPaths, parseProcCgroup } from '../../../src/host/guest-cgroup.js';
import { parseMountinfo } from '../../../src/parse/mountinfo.js';

const mounts = parseMountinfo(
  [
    '32 31 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
    '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  ].join('\n'),
);
const ours = '4:memory:/user\n3:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n';

describe("cgroupJoinPaths (C2: guest commands run in the guest's cgroups)", () => {
  it('names the cgroup.procs of every hierarchy where the guest differs from us, through its mount', () => {
    const guest = '4:memory:/user\n3:cpu,cpuacct:/machine/x\n1:name=systemd:/ctd-m/payload/init.scope\n0::/ctd-m/payload\n';
    expect(cgroupJoinPaths(guest, ours, mounts)).toEqual([
      '/sys/fs/cgroup/cpu,cpuacct/machine/x/cgroup.procs',
      '/sys/fs/cgroup/systemd/ctd-m/payload/init.scope/cgroup.procs',
      '/sys/fs/cgroup/unified/ctd-m/payload/cgroup.procs',
    ]);
    expect(cgroupJoinPaths(ours, ours, mounts)).toEqual([]);
  });

  it('a guest-named cgroup with a newline cannot forge a second line (the root cgroup) for a hierarchy', () => {
    const forged = '4:memory:/user\n3:cpu,cpuacct:/\n1:name=systemd:/ctd-m/x\n0::/\n0::/ctd-m/payload\n';
    expect(parseProcCgroup(forged)).toBeNull();
    expect(cgroupJoinPaths(forged, ours, mounts)).toMatchObject({ error: expect.stringMatching(/one line per hierarchy/) });
  });

  it("refuses a cgroup outside our namespace's view, or one with no mounted hierarchy", () => {
    expect(cgroupJoinPaths('0::/../../elsewhere\n', '0::/\n', mounts)).toMatchObject({ error: expect.stringMatching(/outside ours/) });
    expect(cgroupJoinPaths('5:pids:/m\n', '5:pids:/\n', mounts)).toMatchObject({ error: expect.stringMatching(/no cgroup filesystem/) });
  });
});
