import path from 'node:path';
import { parseSchrootConfig, parseSchrootSession, type SchrootChroot } from '../parse/schroot-config.js';

export { sessionRoot } from '../parse/schroot-config.js';
import type { MountEntry } from '../parse/mountinfo.js';
import { isUnder } from '../parse/mountinfo.js';
import { runCommand } from './run-command.js';
import type { Host, SchrootConfigProblem, SchrootPaths, SchrootSessionState } from '../core/host.js';

export type { SchrootConfigProblem, SchrootPaths, SchrootSessionState } from '../core/host.js';

/** Where a Debian host keeps schroot's config and sessions. */
export const DEFAULT_SCHROOT_PATHS: SchrootPaths = { configDir: '/etc/schroot', sessionDir: '/var/lib/schroot/session' };

/** The two file reads schroot's state needs: the real host's, or a FakeHost's. */
export type SchrootFiles = Pick<Host, 'readFile' | 'readdir'>;

/** Every chroot defined in schroot.conf and chroot.d/, with parse problems kept. */
export async function readSchrootChroots(
  files: SchrootFiles,
  paths = DEFAULT_SCHROOT_PATHS,
): Promise<{ chroots: SchrootChroot[]; problems: SchrootConfigProblem[] }> {
  const names = [path.join(paths.configDir, 'schroot.conf')];
  const dropIns = (await files.readdir(path.join(paths.configDir, 'chroot.d'))) ?? [];
  // schroot ignores chroot.d names with dots or odd characters, like run-parts does.
  names.push(
    ...dropIns
      .filter((f) => /^[A-Za-z0-9_-]+(\.conf)?$/.test(f))
      .sort()
      .map((f) => path.join(paths.configDir, 'chroot.d', f)),
  );
  const chroots: SchrootChroot[] = [];
  const problems: SchrootConfigProblem[] = [];
  for (const file of names) {
    const text = await files.readFile(file);
    if (text === null) continue;
    const parsed = parseSchrootConfig(text, file);
    chroots.push(...parsed.chroots);
    problems.push(...parsed.problems.map((p) => ({ source: file, ...p })));
  }
  return { chroots, problems };
}

/** Reads /var/lib/schroot/session/*, judging each against the host's mount table. */
export async function readSchrootSessions(
  files: SchrootFiles,
  hostMounts: MountEntry[],
  paths = DEFAULT_SCHROOT_PATHS,
): Promise<SchrootSessionState[]> {
  const names = (await files.readdir(paths.sessionDir)) ?? [];
  const sessions: SchrootSessionState[] = [];
  for (const name of names.sort()) {
    const stateFile = path.join(paths.sessionDir, name);
    const text = await files.readFile(stateFile);
    if (text === null) continue;
    const session = parseSchrootSession(text, stateFile);
    const location = session.mountLocation ?? `/run/schroot/mount/${session.id}`;
    const mounted =
      hostMounts.some((m) => m.mountPoint === location || m.mountPoint === location.replace(/^\/var\/run\//, '/run/')) ||
      hostMounts.some((m) => isUnder(m.mountPoint, location));
    sessions.push({ ...session, stateFile, mounted, stale: !mounted });
  }
  return sessions;
}

/** Session ids as `schroot --list --all-sessions` prints them; null when schroot is missing or fails. */
export async function listSchrootSessions(timeoutMs: number): Promise<string[] | null> {
  const r = await runCommand(['schroot', '--list', '--all-sessions'], { timeoutMs });
  if (r.notFound || r.exitCode !== 0) return null;
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('session:'))
    .map((l) => l.slice('session:'.length));
}
