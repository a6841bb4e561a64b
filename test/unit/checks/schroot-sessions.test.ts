import { expect } from 'vitest';
import check from '../../../src/checks/schroot/sessions.js';
import type { ExecStep } from '../../../src/core/types.js';
import { checkTester } from '../support/check-tester.js';
import type { FakeHostFile, FakeHostScenario } from '../support/fake-host.js';

const SESSIONS = '/var/lib/schroot/session';
/** A session state file as schroot 1.6 writes it. */
const session = (id: string, chroot = 'box'): Record<string, FakeHostFile> => ({
  [`${SESSIONS}/${id}`]: `[${id}]\ntype=directory\nname=${id}\noriginal-name=${chroot}\nselected-name=${chroot}\ndirectory=/srv/${chroot}\nmount-location=/var/run/schroot/mount/${id}\n`,
});
const HOST = ['27 1 254:0 / / rw - ext4 /dev/vda rw'];
const mounted = (id: string, n: number) => `${n} 27 254:0 /srv/box /run/schroot/mount/${id} rw - ext4 /dev/vda rw`;
/** The host: the chroot "box" configured, these sessions' state files, and these mounts. */
const host = (
  files: Record<string, FakeHostFile>,
  mounts: string[] = [],
  more: Omit<FakeHostScenario, 'files' | 'mountinfo'> = {},
): FakeHostScenario => ({
  files: { '/etc/schroot/chroot.d/box': '[box]\ntype=directory\ndirectory=/srv/box\n', ...files },
  mountinfo: [...HOST, ...mounts].join('\n'),
  ...more,
});
const bareHost = { kind: 'host' as const, root: '/' };

checkTester(check, [
  {
    name: 'a session whose mounts are gone (after a reboot) is stale; recover-then-end is the fix, forced removal the unsafe one',
    target: bareHost,
    host: host(session('s1'), [], { listedSessions: ['s1'] }),
    status: 'fail',
    codes: ['session-stale'],
    fixes: ['schroot.end-stale-session', 'schroot.force-remove-session'],
    assert: (o) => {
      expect(o.findings[0]?.message).toBe(
        'schroot session s1 is stale: its mounts at /run/schroot/mount/s1 are gone (after a reboot?), so "schroot -r -c session:s1" fails with "E: Failed to change to directory"; end it with schroot -c session:s1 --end-session',
      );
      const fix = o.fixes.find((f) => f.id === 'schroot.end-stale-session');
      expect(fix?.safety).toBe('safe');
      const [recover, end] = fix!.steps as ExecStep[];
      expect(recover).toMatchObject({ kind: 'exec', where: 'host', argv: ['schroot', '--recover-session', '-c', 'session:s1'] });
      expect(end?.argv).toEqual(['schroot', '--end-session', '-c', 'session:s1']);
      expect(end?.unless).toEqual(['sh', '-c', `test ! -e ${SESSIONS}/s1`]);
      expect(recover?.unless?.[2]).toContain('mountpoint -q /run/schroot/mount/s1');
      const force = o.fixes.find((f) => f.id === 'schroot.force-remove-session');
      expect(force?.safety).toBe('unsafe');
      expect(force?.steps.map((st) => st.kind)).toEqual(['exec', 'umount', 'exec']);
    },
  },
  {
    name: 'an open session with processes is active; without, idle; both pass',
    target: bareHost,
    host: host({ ...session('s1'), ...session('s2') }, [mounted('s1', 40), mounted('s2', 41)], {
      processes: [{ pid: 900, comm: 'sleep', rootLink: '/run/schroot/mount/s1' }],
      listedSessions: ['s1', 's2'],
    }),
    status: 'pass',
    codes: ['session-active', 'session-idle'],
    summary: '2 session(s), none stale',
    assert: (o) => {
      expect(o.findings.find((f) => f.code === 'session-active')?.evidence.pids).toEqual([900]);
      expect(o.findings.map((f) => f.message)).toEqual([
        'session:s1 is open with 1 process(es) in it',
        'session:s2 is open but no process runs in it; when done, end it with schroot -c session:s2 --end-session',
      ]);
    },
  },
  {
    name: 'a session of a chroot that is no longer configured, and a state file schroot does not list',
    target: bareHost,
    host: host(session('s3', 'gone'), [], { listedSessions: [] }),
    status: 'fail',
    codes: ['session-unlisted', 'session-chroot-missing', 'session-stale'],
    fixes: ['schroot.end-stale-session', 'schroot.force-remove-session'],
    assert: (o) =>
      expect(o.findings.find((f) => f.code === 'session-chroot-missing')?.message).toBe(
        'session:s3 was made from chroot gone, which is no longer in /etc/schroot',
      ),
  },
  {
    name: 'without the schroot binary (state files only)',
    target: bareHost,
    host: host(session('s1')),
    status: 'fail',
    codes: ['session-stale'],
    fixes: ['schroot.end-stale-session', 'schroot.force-remove-session'],
    assert: (o) => expect(o.findings[0]?.evidence.listedBySchroot).toBeNull(),
  },
  {
    name: 'a schroot target: the sessions of its chroot only',
    target: { kind: 'schroot', root: '/run/schroot/mount/s2', schroot: { chroot: 'box', session: 's2' } },
    host: host({ ...session('s1'), ...session('s2'), ...session('s3', 'other') }, [mounted('s2', 41)]),
    status: 'fail',
    codes: ['session-stale', 'session-idle'],
    fixes: ['schroot.end-stale-session', 'schroot.force-remove-session'],
    assert: (o) =>
      expect(o.findings.map((f) => [f.code, f.evidence.session])).toEqual([
        ['session-stale', 's1'],
        ['session-idle', 's2'],
      ]),
  },
  {
    name: 'no sessions on the host',
    target: bareHost,
    host: host({}),
    status: 'pass',
    codes: [],
    summary: 'no schroot sessions on this host',
  },
  {
    name: 'no session of this chroot',
    target: { kind: 'schroot', schroot: { chroot: 'box', session: null } },
    host: host(session('s3', 'other'), [mounted('s3', 40)]),
    status: 'pass',
    codes: [],
    summary: 'no schroot session for this chroot',
  },
  { name: 'another kind of guest: skip', target: { kind: 'nspawn' }, status: 'skip', codes: [] },
]);
