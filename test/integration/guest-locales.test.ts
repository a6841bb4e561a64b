/**
 * locale.lang reads the guest's locales from its files (issue 14: fewer guest commands): on an
 * overlay of this host and on a genuine Debian 12 root, what the files give must be exactly what the
 * guest's own `locale -a` prints, also after localedef adds locales (to the archive and as a
 * directory) and locale.alias names one; a damaged archive falls back to `locale -a` and says so.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeIntegration } from '../harness/skip.js';
import { createWorld, guestWorlds, type World } from '../harness/world.js';
import { HostContext } from '../../src/host/host-context.js';
import { openTarget } from '../../src/targets/open-target.js';
import { endProbeChildren } from '../../src/guest/probe-client.js';
import { localesFromFiles } from '../../src/checks/locale/locale-files.js';
import localeLang from '../../src/checks/locale/lang.js';
import type { Target } from '../../src/core/target.js';

const OPTIONS = { pingTarget: '127.0.0.1', dnsName: 'example.test', timeoutMs: 10_000, compareHost: false };

/** What the guest's own `locale -a` prints, as a set of lines. */
async function localeA(target: Target): Promise<string[]> {
  const r = await target.exec(['locale', '-a'], { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, timeoutMs: 20_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

async function fromFiles(target: Target): Promise<string[]> {
  const files = await localesFromFiles(target);
  expect(files, JSON.stringify(files)).toMatchObject({ ok: true });
  return files.ok ? [...files.names].sort() : [];
}

/** localedef in the guest (chroot, as root: a test fixture, not the tool). Null when the root has no locale sources. */
function localedef(root: string, args: string[]): string | null {
  const r = spawnSync('chroot', [root, '/usr/bin/localedef', ...args], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 ? null : `${r.stderr}${r.error?.message ?? ''}`.trim() || `exit ${r.status}`;
}

for (const world of guestWorlds())
  describeIntegration.skipIf(world.skip !== null)(`locales from the guest's files (${world.name})`, () => {
    let w: World;
    let root: string;
    let target: Target;

    beforeAll(async () => {
      w = await createWorld(world.options);
      root = (await w.guestRoot('locales')).root;
      target = (await openTarget(`chroot:${root}`, { host: new HostContext({ invokingEnv: { LANG: 'en_US.UTF-8' } }) })).target;
    }, 600_000);

    afterAll(async () => {
      await endProbeChildren();
      await w.dispose();
    });

    test("as shipped: the files' set is locale -a's, exactly", async () => {
      expect(await fromFiles(target)).toEqual(await localeA(target));
    });

    test('after localedef adds to the archive, a directory locale and an alias: still exactly locale -a', async () => {
      // A root without the locales package has no sources: this host's (Debian 12's glibc too) are lent to it.
      if (!existsSync(join(root, 'usr/share/i18n/locales/en_US')))
        expect(spawnSync('cp', ['-a', '/usr/share/i18n', join(root, 'usr/share/')]).status).toBe(0);
      expect(localedef(root, ['-i', 'en_US', '-f', 'UTF-8', 'en_US.UTF-8'])).toBeNull();
      expect(localedef(root, ['-i', 'de_DE', '-f', 'ISO-8859-1', 'de_DE'])).toBeNull();
      expect(localedef(root, ['--no-archive', '-i', 'en_GB', '-f', 'UTF-8', 'en_GB.UTF-8'])).toBeNull();
      const aliasFile = join(root, 'usr/share/locale/locale.alias');
      mkdirSync(join(root, 'usr/share/locale'), { recursive: true });
      // The alias file may be a symlink to /etc/locale.alias: write what the guest reads, through the guest's own path.
      const etcAlias = join(root, 'etc/locale.alias');
      const aliasTarget = existsSync(etcAlias) ? etcAlias : aliasFile;
      const before = existsSync(aliasTarget) ? readFileSync(aliasTarget, 'utf8') : '';
      appendFileSync(aliasTarget, '\nctdalias\ten_US.utf8\nctdchain ctdalias\nctdnone\tno_NE.utf8\n');
      if (!existsSync(aliasFile)) writeFileSync(aliasFile, readFileSync(aliasTarget));
      const viaFiles = await fromFiles(target);
      expect(viaFiles).toEqual(await localeA(target));
      expect(viaFiles).toEqual(expect.arrayContaining(['en_US.utf8', 'de_DE', 'en_GB.utf8', 'ctdalias', 'ctdchain']));
      expect(viaFiles).not.toContain('ctdnone');
      // The check itself answers from the files and starts no guest command for it.
      const out = await localeLang.run({ target, host: new HostContext({ invokingEnv: {} }), options: OPTIONS });
      expect(out.status, JSON.stringify(out)).toBe('pass');
      expect(out.findings[0]?.evidence.listedBy).toBe('/usr/lib/locale');
      writeFileSync(aliasTarget, before);
    }, 300_000);

    test('a damaged archive: the check says why the files could not answer and asks locale -a', async () => {
      const archive = join(root, 'usr/lib/locale/locale-archive');
      const saved = existsSync(archive) ? readFileSync(archive) : null;
      mkdirSync(join(root, 'usr/lib/locale'), { recursive: true });
      const head = Buffer.alloc(56);
      head.writeUInt32LE(0xde020109, 0);
      head.writeUInt32LE(56, 8); // name hash table at 56...
      head.writeUInt32LE(0x7fffffff, 16); // ...of two billion slots
      writeFileSync(archive, head);
      try {
        const files = await localesFromFiles(target);
        expect(files).toMatchObject({ ok: false });
        const out = await localeLang.run({ target, host: new HostContext({ invokingEnv: {} }), options: OPTIONS });
        const evidence = out.findings[0]?.evidence ?? {};
        expect(evidence.listedBy).toBe('locale -a');
        expect(String(evidence.filesUnusable)).toContain('locale-archive');
      } finally {
        if (saved) writeFileSync(archive, saved);
        else rmSync(archive, { force: true });
      }
    }, 120_000);
  });
