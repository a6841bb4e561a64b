import { afterAll, describe, expect, it } from 'vitest';
import { desktopSessionApplies } from '../../../src/core/desktop-session.js';
import { builtinChecks } from '../../../src/checks/index.js';
import { FakeTarget, fakeContext } from '../support/fake-target.js';

const noSession = new FakeTarget({
  kind: 'nspawn',
  session: null,
  noSessionReason: 'no desktop session runs in nspawn:b: no process of a regular user',
});
const withSession = new FakeTarget({ kind: 'nspawn' });
afterAll(() => {
  noSession.dispose();
  withSession.dispose();
});

describe('desktop checks and the session (issue 12 item 3)', () => {
  it('skip with the one reason when no desktop session runs', () => {
    const ctx = fakeContext(noSession);
    for (const id of ['x11.display', 'x11.socket', 'audio.pulse', 'dconf.runtime-dir', 'session.user']) {
      const check = builtinChecks.find((c) => c.id === id)!;
      expect(check.appliesTo(ctx), id).toBe('no desktop session runs in nspawn:b: no process of a regular user');
    }
  });
  it('apply with a session', () => {
    expect(desktopSessionApplies(fakeContext(withSession))).toBe(true);
  });
});
