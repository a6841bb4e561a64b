import { groupRecord, parseKeyFile, type KeyFileGroup, type KeyFileProblem } from './keyfile.js';
import { splitLines } from './text-lines.js';

/** One chroot definition from `/etc/schroot/schroot.conf` or `/etc/schroot/chroot.d/*`. */
export interface SchrootChroot {
  name: string;
  /** The file it came from, as given by the caller. */
  source: string;
  /** 1-based line of the `[name]` header. */
  line: number;
  type?: string;
  directory?: string;
  profile?: string;
  setupFstab?: string;
  setupCopyfiles?: string;
  setupNssdatabases?: string;
  setupConfig?: string;
  preserveEnvironment?: boolean;
  users: string[];
  rootUsers: string[];
  groups: string[];
  rootGroups: string[];
  aliases: string[];
  /** Every key as written, including the ones above. */
  raw: Record<string, string>;
}

/** A problem found in a config file; the rest of the file is still read. */
export type SchrootProblem = KeyFileProblem;

/** An open session, from `/var/lib/schroot/session/ID` (schroot 1.6). */
export interface SchrootSession {
  id: string;
  /** The chroot the session was made from (`original-name`), or null when the file does not say. */
  chroot: string | null;
  type?: string;
  directory?: string;
  /** Where the session's root is mounted on the host, such as `/var/run/schroot/mount/ID`. */
  mountLocation?: string;
  raw: Record<string, string>;
  problems: SchrootProblem[];
}

function list(value: string | undefined): string[] {
  return value === undefined
    ? []
    : value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}

// GLib's boolean syntax: only these four spellings are accepted.
function bool(value: string | undefined, key: string, line: number, problems: SchrootProblem[]): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  problems.push({ line, message: `${key}=${value} is not a boolean (true or false)` });
  return undefined;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function toChroot(g: KeyFileGroup, source: string, problems: SchrootProblem[]): SchrootChroot {
  const raw = groupRecord(g);
  const lineOf = (key: string): number => g.entries.find((e) => e.key === key)?.line ?? g.line;
  const preserve = bool(raw['preserve-environment'], 'preserve-environment', lineOf('preserve-environment'), problems);
  return {
    name: g.name,
    source,
    line: g.line,
    ...optional('type', raw['type']),
    ...optional('directory', raw['directory']),
    ...optional('profile', raw['profile']),
    // `script-config` is the pre-1.6 spelling of `setup.config`.
    ...optional('setupConfig', raw['setup.config'] ?? raw['script-config']),
    ...optional('setupFstab', raw['setup.fstab']),
    ...optional('setupCopyfiles', raw['setup.copyfiles']),
    ...optional('setupNssdatabases', raw['setup.nssdatabases']),
    ...(preserve === undefined ? {} : { preserveEnvironment: preserve }),
    users: list(raw['users']),
    rootUsers: list(raw['root-users']),
    groups: list(raw['groups']),
    rootGroups: list(raw['root-groups']),
    aliases: list(raw['aliases']),
    raw,
  };
}

/** Parse one schroot config file. Problems are collected; never throws. */
export function parseSchrootConfig(text: string, source: string): { chroots: SchrootChroot[]; problems: SchrootProblem[] } {
  const { groups, problems } = parseKeyFile(text);
  const chroots = groups.map((g) => toChroot(g, source, problems));
  return { chroots, problems };
}

/**
 * The setup files schroot will use, relative to `/etc/schroot` unless absolute: an explicit
 * `setup.*` key wins, otherwise `PROFILE/fstab` and so on, with the profile defaulting to `default`.
 */
export function effectiveSetupFiles(c: SchrootChroot): { fstab: string; copyfiles: string; nssdatabases: string } {
  const profile = c.profile ?? 'default';
  return {
    fstab: c.setupFstab ?? `${profile}/fstab`,
    copyfiles: c.setupCopyfiles ?? `${profile}/copyfiles`,
    nssdatabases: c.setupNssdatabases ?? `${profile}/nssdatabases`,
  };
}

/** Parse a session file. The id falls back to the file name, since schroot names the file after the session. */
export function parseSchrootSession(text: string, source: string): SchrootSession {
  const { groups, problems } = parseKeyFile(text);
  const g = groups[0];
  if (g === undefined) problems.push({ message: 'no [session] group in the file' });
  if (groups.length > 1) problems.push({ line: groups[1]?.line, message: 'more than one group in a session file' });
  const raw = g === undefined ? (Object.create(null) as Record<string, string>) : groupRecord(g);
  const id = raw['name'] || g?.name || source.slice(source.lastIndexOf('/') + 1);
  const chroot = raw['original-name'] || raw['selected-name'] || null;
  return {
    id,
    chroot,
    ...optional('type', raw['type']),
    ...optional('directory', raw['directory']),
    ...optional('mountLocation', raw['mount-location']),
    raw,
    problems,
  };
}

/** Read a `copyfiles` or `nssdatabases` list: one entry per line, `#` comments and blank lines skipped. */
export function parseNameList(text: string): string[] {
  return splitLines(text)
    .map((l) => l.text.trim())
    .filter((t) => t !== '' && !t.startsWith('#'));
}

/** One `copyfiles` line: `SOURCE [DESTINATION]`; the destination defaults to the source path. */
export interface CopyfilesEntry {
  source: string;
  dest: string;
  line: number;
}

/** Read a `copyfiles` file into source and destination paths. Never throws. */
export function parseCopyfiles(text: string): CopyfilesEntry[] {
  const out: CopyfilesEntry[] = [];
  for (const { line, text: raw } of splitLines(text)) {
    const words = raw.trim().split(/[ \t]+/);
    const source = words[0] ?? '';
    if (source === '' || source.startsWith('#')) continue;
    out.push({ source, dest: words[1] ?? source, line });
  }
  return out;
}

/** The directory a session's processes see as root: its mount location (normalised to /run). */
export function sessionRoot(session: SchrootSession): string {
  return (session.mountLocation ?? `/run/schroot/mount/${session.id}`).replace(/^\/var\/run\//, '/run/');
}
