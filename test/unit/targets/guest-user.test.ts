import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GuestFiles } from '../../../src/guest/guest-files.js';
import { parsePasswd } from '../../../src/parse/passwd.js';
import { resolveGuestUser } from '../../../src/targets/guest-user.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ctd-guest-user-'));
mkdirSync(path.join(root, 'etc'));
writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nann:x:1000:1000::/home/ann:/bin/sh\n');
writeFileSync(path.join(root, 'etc/group'), 'ann:x:1000:\naudio:x:29:ann,bob\nvideo:x:44:bob\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resolveGuestUser', () => {
  it("reads the guest's passwd and group: uid 1000 by default, with the groups that name it", async () => {
    const user = await resolveGuestUser(new GuestFiles(root), {});
    expect(user).toMatchObject({ uid: 1000, gid: 1000, name: 'ann', home: '/home/ann', source: 'default', groups: [29] });
  });

  it('takes the passwd its caller already parsed (one read at opening), and still reads the groups', async () => {
    const passwd = parsePasswd('bob:x:1000:1000::/home/bob:/bin/sh\n');
    const user = await resolveGuestUser(new GuestFiles(root), {}, passwd);
    expect(user).toMatchObject({ name: 'bob', home: '/home/bob', groups: [29, 44] });
  });
});
