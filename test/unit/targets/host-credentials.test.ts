import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostCredentials, readHostAccounts, readIdMaps, type HostAccounts } from '../../../src/targets/host-credentials.js';
import { parseIdMap } from '../../../src/parse/id-map.js';

const host: HostAccounts = {
  passwd: [{ name: 'alice', uid: 1000, gid: 1000, home: '/home/alice', shell: '/bin/bash' }],
  groups: [
    { name: 'disk', gid: 6, members: [] },
    { name: 'shadow', gid: 42, members: [] },
    { name: 'audio', gid: 29, members: ['alice'] },
    { name: 'alice', gid: 1000, members: [] },
    { name: 'docker', gid: 999, members: [] },
  ],
};
const same = { uid: null, gid: null };

describe('hostCredentials (M2)', () => {
  it('keeps only the groups the host account really has: a guest cannot list its user in disk, shadow or docker', () => {
    expect(hostCredentials({ uid: 1000, gid: 1000, groups: [6, 42, 999, 29] }, same, host)).toEqual({ uid: 1000, gid: 1000, groups: [29] });
  });

  it("a guest primary gid the host account does not have becomes the account's own", () => {
    expect(hostCredentials({ uid: 1000, gid: 42, groups: [] }, same, host)).toEqual({ uid: 1000, gid: 1000, groups: [] });
  });

  it('translates through the user namespace maps; an unmapped id has no host credentials', () => {
    const maps = { uid: parseIdMap('0 100000 65536\n'), gid: parseIdMap('0 100000 65536\n') };
    expect(hostCredentials({ uid: 1000, gid: 1000, groups: [29] }, maps, host)).toEqual({ uid: 101000, gid: 101000, groups: [] });
    expect(hostCredentials({ uid: 70000, gid: 1000 }, maps, host)).toBeNull();
  });

  it('a uid with no host account gets no groups, and not a gid the host gives to a group', () => {
    expect(hostCredentials({ uid: 2000, gid: 6, groups: [6, 29] }, same, host)).toEqual({ uid: 2000, gid: 65534, groups: [] });
    expect(hostCredentials({ uid: 2000, gid: 2000, groups: [] }, same, host)).toEqual({ uid: 2000, gid: 2000, groups: [] });
  });
});

describe('the host files hostCredentials reads', () => {
  it("reads a process's id maps from /proc (ours: the whole range maps to itself), and none for a process that is gone", async () => {
    const own = await readIdMaps(process.pid, false);
    expect(own.uid).toEqual(parseIdMap(readFileSync('/proc/self/uid_map', 'utf8')));
    expect(own.uid!.length).toBeGreaterThan(0);
    expect(await readIdMaps(2 ** 30, false)).toEqual({ uid: [], gid: [] });
    expect(await readIdMaps(process.pid, true)).toEqual({ uid: null, gid: null });
  });

  it("reads the host's own passwd and group", async () => {
    const accounts = await readHostAccounts();
    expect(accounts.passwd.find((p) => p.uid === 0)?.name).toBe('root');
    expect(accounts.groups.find((g) => g.gid === 0)?.name).toBe('root');
  });

  it('parses the same files once: every guest of a run shares one frozen answer', async () => {
    const first = await readHostAccounts();
    const again = await readHostAccounts();
    expect(again).toBe(first);
    expect(Object.isFrozen(first.passwd)).toBe(true);
    expect(Object.isFrozen(first.passwd[0])).toBe(true);
    expect(() => (first.passwd as unknown[]).push({})).toThrow(TypeError);
  });
});
