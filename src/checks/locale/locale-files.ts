import type { GuestPathError, Target } from '../../core/target.js';
import { ARCHIVE_HEADER_BYTES, archiveTablesEnd, parseLocaleArchive } from '../../parse/locale-archive.js';
import { addListedAliases } from '../../parse/locale-alias.js';

/** glibc's COMPLOCALEDIR: the archive and the compiled locale directories. */
export const LOCALE_DIR = '/usr/lib/locale';
const ARCHIVE = `${LOCALE_DIR}/locale-archive`;
/** glibc's LOCALE_ALIAS_PATH (its localedir) holds the locale.alias `locale -a` reads. */
const ALIAS_FILE = '/usr/share/locale/locale.alias';
/** Real archives keep their tables in the first few hundred KiB (glibc grows them from about 70 KiB); more is not read. */
const TABLES_CAP = 4 * 1024 * 1024;
/** More entries in /usr/lib/locale than a full glibc-all-langpacks install has is not worth a stat each. */
const MAX_DIR_ENTRIES = 4096;
const ALIAS_CAP = 1024 * 1024;

/** What the guest's files say `locale -a` lists, or why they cannot say it (then the guest's `locale -a` is asked). */
export type LocaleFiles =
  { ok: true; names: string[]; archive: number; directories: number; aliases: number } | { ok: false; reason: string };

const absent = (reason: GuestPathError): boolean => reason === 'missing' || reason === 'dangling-symlink';

/** The archive's names: none when it is missing, or the reason it cannot be read. */
async function archiveNames(target: Target): Promise<string[] | { reason: string }> {
  const head = await target.readFile(ARCHIVE, { maxBytes: ARCHIVE_HEADER_BYTES });
  // glibc's open() fails on a missing file or a dangling link, and it lists no archive name then.
  if (!head.ok) return absent(head.reason) ? [] : { reason: `${ARCHIVE}: ${head.message}` };
  const end = archiveTablesEnd(head.bytes);
  if (end === null) {
    const parsed = parseLocaleArchive(head.bytes, head.stat.size);
    return { reason: `${ARCHIVE}: ${parsed.ok ? 'not an archive' : parsed.message}` };
  }
  if (end > TABLES_CAP) return { reason: `${ARCHIVE}: its tables end at ${end} bytes, past the ${TABLES_CAP}-byte cap` };
  // Read again from the start: the header judged is the one read with the tables (the file may change between reads).
  const all = await target.readFile(ARCHIVE, { maxBytes: Math.max(end, ARCHIVE_HEADER_BYTES) });
  if (!all.ok) return { reason: `${ARCHIVE}: ${all.message}` };
  const parsed = parseLocaleArchive(all.bytes, all.stat.size);
  return parsed.ok ? parsed.names : { reason: `${ARCHIVE}: ${parsed.message}` };
}

/** Directories of /usr/lib/locale holding LC_IDENTIFICATION, as glibc's `locale -a` counts them (symlinks followed). */
async function directoryNames(target: Target): Promise<string[] | { reason: string }> {
  const entries = await target.readdir(LOCALE_DIR);
  if (entries === null) return [];
  if (entries.length > MAX_DIR_ENTRIES) return { reason: `${LOCALE_DIR} has ${entries.length} entries` };
  const kept = await Promise.all(
    entries.map(async (name) => {
      // Names the kernel would not give as one path component are not looked up.
      if (name === '.' || name === '..' || name.includes('/')) return null;
      const dir = await target.stat(`${LOCALE_DIR}/${name}`);
      if ('error' in dir || dir.type !== 'directory') return null;
      const id = await target.stat(`${LOCALE_DIR}/${name}/LC_IDENTIFICATION`);
      return !('error' in id) && id.type === 'file' ? name : null;
    }),
  );
  return kept.filter((n): n is string => n !== null);
}

/**
 * The locales `locale -a` would print in the guest, from the guest's own files (read inside its
 * root, capped): C and POSIX, the archive's names, the compiled directories, and the aliases of
 * locale.alias that name one of them. Not an answer when the files hold no locale at all (a musl
 * guest, a glibc one with only C: `locale -a` tells them apart) or cannot be read.
 */
export async function localesFromFiles(target: Target): Promise<LocaleFiles> {
  const [archive, directories] = await Promise.all([archiveNames(target), directoryNames(target)]);
  if ('reason' in archive) return { ok: false, reason: archive.reason };
  if ('reason' in directories) return { ok: false, reason: directories.reason };
  if (archive.length === 0 && directories.length === 0)
    return { ok: false, reason: `no locale-archive and no compiled locale in ${LOCALE_DIR}` };
  const names = new Set(['C', 'POSIX', ...archive, ...directories]);
  const before = names.size;
  const alias = await target.readFile(ALIAS_FILE, { maxBytes: ALIAS_CAP });
  if (alias.ok && alias.truncated) return { ok: false, reason: `${ALIAS_FILE} is larger than ${ALIAS_CAP} bytes` };
  if (alias.ok) addListedAliases(alias.text, names);
  else if (!absent(alias.reason)) return { ok: false, reason: `${ALIAS_FILE}: ${alias.message}` };
  return { ok: true, names: [...names], archive: archive.length, directories: directories.length, aliases: names.size - before };
}
