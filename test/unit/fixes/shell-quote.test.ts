import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hostPathInRoot, pasteableDisplay, shellQuote } from '../../../src/fixes/plans/shell-quote.js';
import { displayEnvFix, wildcardCookieFix, xauthorityFix, xhostLocalUserFix } from '../../../src/fixes/plans/x11-plans.js';
import { enterAsUserFix } from '../../../src/fixes/plans/session-plans.js';
import { pulseCookieFix } from '../../../src/fixes/plans/audio-plans.js';
import { exportRuntimeDirFix } from '../../../src/fixes/plans/dconf-plans.js';

const HOSTILE = [`x;$(id>/tmp/pwn);/unix:0`, `a'b`, `$(echo x)`, '`id`', 'a b\nc', '"; rm -rf / #', '-n', ''];
const user = { uid: 1000, gid: 1000, name: "u'$(id)", home: '/home/$(touch /tmp/pwn)', groups: [], source: 'default' as const };
const chroot = { kind: 'chroot' as const, root: '/srv/guest' };

describe('shellQuote (H6): one word that the shell gives back unchanged', () => {
  it.each(HOSTILE)('%j', (s) => {
    expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(s)}`]).toString()).toBe(s);
  });
  it('leaves plain paths bare', () => expect(shellQuote('/run/user/1000')).toBe('/run/user/1000'));
});

describe('pasteableDisplay and hostPathInRoot', () => {
  it('only host:N.S is a display to print', () => {
    for (const ok of [':0', ':10.0', 'localhost:10.0', 'box-1.example:3']) expect(pasteableDisplay(ok)).toBe(true);
    for (const bad of HOSTILE.concat(['/tmp/.X11-unix/X0', 'host/unix:0', ':0;id'])) expect(pasteableDisplay(bad)).toBe(false);
  });
  it('a guest .. never climbs above the root', () => {
    expect(hostPathInRoot('/srv/guest', '/../../root/.Xauthority')).toBe('/srv/guest/root/.Xauthority');
    expect(hostPathInRoot('/srv/guest/', '/')).toBe('/srv/guest');
  });
});

describe('fix plans never paste a guest string unquoted (H6, L5)', () => {
  it('no DISPLAY that is not a display reaches a snippet', () => {
    const bad = `x;$(id>/tmp/pwn);/unix:0`;
    expect(displayEnvFix(chroot, bad)).toBeNull();
    expect(xauthorityFix(chroot, { display: bad, hostXauthority: null, user })).toBeNull();
    expect(wildcardCookieFix(chroot, { display: bad, guestXauthority: '/x' })).toBeNull();
    expect(xhostLocalUserFix(bad, 'alice')).toBeNull();
  });

  it('a guest home and name are quoted, a guest home is never a host path, and chown does not follow links', () => {
    const copy = xauthorityFix(chroot, { display: ':0', hostXauthority: null, user })!;
    const snippet = (copy.steps[0] as { snippet: string }).snippet;
    expect(snippet).toContain(`-f "$(getent passwd 1000 | cut -d: -f6)"/.Xauthority extract - :0`);
    expect(snippet).toContain(`'/srv/guest/home/$(touch /tmp/pwn)/.Xauthority'`);
    expect(snippet).toContain('chown -h 1000:1000');
    const cookie = pulseCookieFix(chroot, user, null)!;
    expect((cookie.steps[0] as { snippet: string }).snippet).toContain(
      `"$(getent passwd 1000 | cut -d: -f6)"/.config/pulse/cookie '/srv/guest/home/$(touch /tmp/pwn)/.config/pulse/cookie'`,
    );
    const enter = enterAsUserFix(chroot, user)!;
    expect((enter.steps[0] as { snippet: string }).snippet).toContain(`env 'HOME=/home/$(touch /tmp/pwn)' 'USER=u'\\''$(id)' bash -l`);
  });

  it('xhost takes a host account name, nothing else', () => {
    expect(xhostLocalUserFix(':0', "u'$(id)")).toBeNull();
    expect(xhostLocalUserFix(':0', 'alice')).not.toBeNull();
  });
});

describe('dconf.export-runtime-dir (H6)', () => {
  it.each(HOSTILE.filter((s) => s !== ''))('the shell sets XDG_RUNTIME_DIR to exactly %j', (dir) => {
    const step = exportRuntimeDirFix(dir).steps[0]!;
    const snippet = step.kind === 'manual' ? (step.snippet ?? '') : '';
    expect(execFileSync('/bin/sh', ['-c', `${snippet}; printf %s "$XDG_RUNTIME_DIR"`]).toString()).toBe(dir);
  });
});
