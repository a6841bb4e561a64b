import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/schroot/sessions.js';
import type { CheckOutcome, ExecStep } from '../../../src/core/types.js';
import { FakeTarget, fakeContext, type FakeScenario } from '../support/fake-target.js';
import { rootedAt, scriptedHost, type HostScript } from '../support/scripted-host.js';

let etc: string;
const made: FakeTarget[] = [];
beforeEach(() => {
  etc = mkdtempSync('/tmp/ctd-unit-sessions-');
  mkdirSync(`${etc}/chroot.d`);
  mkdirSync(`${etc}/session`);
  writeFileSync(`${etc}/chroot.d/box`, '[box]\ntype=directory\ndirectory=/srv/box\n');
});
afterEach(() => {
  rmSync(etc, { recursive: true, force: true });
  while (made.length) made.pop()!.dispose();
});

/** A session state file as schroot 1.6 writes it. */
function session(id: string, chroot = 'box'): void {
  writeFileSync(`${etc}/session/${id}`, `[${id}]\ntype=directory\nname=${id}\noriginal-name=${chroot}\nselected-name=${chroot}\ndirectory=/srv/${chroot}\nmount-location=/var/run/schroot/mount/${id}\n`);
}

const HOST = ['27 1 254:0 / / rw - ext4 /dev/vda rw'];
const mounted = (id: string, n: number) => `${n} 27 254:0 /srv/box /run/schroot/mount/${id} rw - ext4 /dev/vda rw`;

async function run(script: HostScript, scenario: FakeScenario = { kind: 'host' }): Promise<CheckOutcome> {
  const fake = new FakeTarget(scenario);
  made.push(fake);
  const host = scriptedHost({ schrootPaths: { configDir: etc, sessionDir: `${etc}/session` }, ...script });
  const ctx = fakeContext(rootedAt(fake, scenario.kind === 'host' ? '/' : '/run/schroot/mount/x'), {}, host);
  const applies = check.appliesTo(ctx);
  if (applies !== true) return { status: 'skip', summary: applies, findings: [], fixes: [] };
  return check.run(ctx);
}

const codes = (o: CheckOutcome) => o.findings.map((f) => f.code);

describe('schroot.sessions', () => {
  it('marks a session whose mounts are gone (after a reboot) stale, with recover-then-end as the fix', async () => {
    session('s1');
    const o = await run({ mountinfo: HOST.join('\n'), listed: ['s1'] });
    expect(o.status).toBe('fail');
    expect(codes(o)).toEqual(['session-stale']);
    expect(o.findings[0]?.message).toContain('E: Failed to change to directory');
    const fix = o.fixes.find((f) => f.id === 'schroot.end-stale-session');
    expect(fix?.safety).toBe('safe');
    const [recover, end] = fix!.steps as ExecStep[];
    expect(recover).toMatchObject({ kind: 'exec', where: 'host', argv: ['schroot', '--recover-session', '-c', 'session:s1'] });
    expect(end?.argv).toEqual(['schroot', '--end-session', '-c', 'session:s1']);
    expect(end?.unless).toEqual(['sh', '-c', `test ! -e ${etc}/session/s1`]);
    expect(recover?.unless?.[2]).toContain('mountpoint -q /run/schroot/mount/s1');
    const force = o.fixes.find((f) => f.id === 'schroot.force-remove-session');
    expect(force?.safety).toBe('unsafe');
    expect(force?.steps.map((s) => s.kind)).toEqual(['exec', 'umount', 'exec']);
  });

  it('an open session with processes is active; without, idle; both pass', async () => {
    session('s1');
    session('s2');
    const o = await run({
      mountinfo: [...HOST, mounted('s1', 40), mounted('s2', 41)].join('\n'),
      processes: [{ pid: 900, comm: 'sleep', rootLink: '/run/schroot/mount/s1' }],
      listed: ['s1', 's2'],
    });
    expect(o.status).toBe('pass');
    expect(codes(o)).toEqual(['session-active', 'session-idle']);
    expect(o.findings[0]?.evidence.pids).toEqual([900]);
  });

  it('notes a session of a chroot that is no longer configured, and a state file schroot does not list', async () => {
    session('s3', 'gone');
    const o = await run({ mountinfo: HOST.join('\n'), listed: [] });
    expect(codes(o)).toEqual(['session-unlisted', 'session-chroot-missing', 'session-stale']);
  });

  it('works without the schroot binary (state files only)', async () => {
    session('s1');
    const o = await run({ mountinfo: HOST.join('\n'), listed: null });
    expect(o.findings[0]?.evidence.listedBySchroot).toBeNull();
    expect(codes(o)).toEqual(['session-stale']);
  });

  it('for a schroot target, looks at the sessions of its chroot only', async () => {
    session('s1');
    session('s2');
    session('s3', 'other');
    const o = await run({ mountinfo: [...HOST, mounted('s2', 41)].join('\n') }, { kind: 'schroot', schroot: { chroot: 'box', session: 's2' } });
    expect(o.findings.map((f) => [f.code, f.evidence.session])).toEqual([['session-stale', 's1'], ['session-idle', 's2']]);
  });

  it('passes with no sessions, and skips for other kinds of guest', async () => {
    expect((await run({ mountinfo: HOST.join('\n') })).status).toBe('pass');
    expect((await run({}, { kind: 'nspawn' })).status).toBe('skip');
  });
});
