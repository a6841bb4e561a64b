import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { runExecStep, type CommandRunner } from '../../../src/fixes/command-steps.js';
import { undoEntry, type UndoRunner } from '../../../src/fixes/undo.js';
import { xhostLocalUserFix } from '../../../src/fixes/plans/x11-plans.js';
import { forceRemoveSessionFix } from '../../../src/fixes/plans/schroot-plans.js';
import type { ExecResult } from '../../../src/core/target.js';
import type { ExecStep, FixStep, HostExecStep } from '../../../src/core/types.js';
import { scratch, type Scratch } from './guest-root.js';

const ok: ExecResult = { exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false };
let s: Scratch;
beforeEach(() => {
  s = scratch();
});
afterEach(() => s.dispose());

function recording(): { runner: CommandRunner & UndoRunner; calls: string[] } {
  const calls: string[] = [];
  const answer = (where: string) => async (argv: string[]) => {
    calls.push(`${where}: ${argv.join(' ')}`);
    return ok;
  };
  return {
    calls,
    runner: {
      host: answer('host'),
      guest: answer('guest'),
      holders: async () => [],
      unmount: () => Promise.reject(new Error('no')),
      mountInGuest: () => Promise.reject(new Error('no')),
    },
  };
}

describe('host steps that change state say how undo reverts them, or why it cannot', () => {
  test('every built-in host exec step carries its undo (the type requires it)', () => {
    const steps: FixStep[] = [
      ...(xhostLocalUserFix(':0', 'alice')?.steps ?? []),
      ...forceRemoveSessionFix({ id: 's1', stateFile: '/var/lib/schroot/session/s1', mountLocation: '/run/schroot/mount/s1' }).steps,
    ];
    const host = steps.filter((x): x is HostExecStep => x.kind === 'exec' && x.where === 'host');
    expect(host.length).toBe(3);
    for (const step of host) expect(step.undo).toBeDefined();
  });

  test('xhost +si is undone by running its xhost -si; a session end is listed with its reason', async () => {
    const { runner, calls } = recording();
    const xhost = xhostLocalUserFix(':0', 'alice')!.steps[0] as ExecStep;
    const end = forceRemoveSessionFix({ id: 's1', stateFile: '/var/lib/schroot/session/s1', mountLocation: '/m' }).steps[0] as ExecStep;
    await runExecStep({ ...xhost, unless: [] }, { fixId: 'x11.xhost-localuser', step: 0 }, runner, s.recorder);
    await runExecStep({ ...end, unless: [] }, { fixId: 'schroot.force-remove-session', step: 0 }, runner, s.recorder);
    expect(s.recorder.entry.changes.map((c) => 'undo' in c && c.undo !== undefined)).toEqual([true, true]);
    const items = await undoEntry(s.root, s.recorder.dir, s.recorder.entry, runner);
    expect(items.map((i) => [i.fixId, i.status])).toEqual([
      ['schroot.force-remove-session', 'not-undoable'],
      ['x11.xhost-localuser', 'restored'],
    ]);
    expect(items[0]!.message).toMatch(/^left as it is: .*an ended schroot session cannot be brought back/);
    expect(calls.at(-1)).toBe('host: env DISPLAY=:0 xhost -si:localuser:alice');
  });

  test('a host write step does not compile', () => {
    // @ts-expect-error write steps are guest-only: the engine writes through the in-root resolver, never on the host.
    const bad: FixStep = { kind: 'write', where: 'host', path: '/etc/passwd', content: '', description: 'x' };
    // @ts-expect-error a host exec step must say how undo reverts it, or why it cannot.
    const noUndo: FixStep = { kind: 'exec', where: 'host', argv: ['/bin/rm', '/x'], description: 'x' };
    expect([bad.kind, noUndo.kind]).toEqual(['write', 'exec']);
  });
});
