import { eachLine } from './text-lines.js';

/** A locale name split as glibc does: language[_territory][.codeset][@modifier]. */
export interface LocaleName {
  language: string;
  territory: string | null;
  codeset: string | null;
  modifier: string | null;
}

/** Splits a locale name; null for something that is not one (a path, an empty string). */
export function parseLocaleName(name: string): LocaleName | null {
  const m = /^([A-Za-z]+)(?:_([A-Za-z0-9]+))?(?:\.([A-Za-z0-9_-]+))?(?:@([A-Za-z0-9_-]+))?$/.exec(name);
  if (!m) return null;
  return { language: m[1]!, territory: m[2] ?? null, codeset: m[3] ?? null, modifier: m[4] ?? null };
}

/** glibc's codeset normalisation (`_nl_normalize_codeset`): lower case, only letters and digits; all digits gains `iso`. */
export function normaliseCodeset(codeset: string): string {
  const kept = codeset.toLowerCase().replace(/[^a-z0-9]/g, '');
  return /^[0-9]+$/.test(kept) ? `iso${kept}` : kept;
}

/** The name as `locale -a` lists it: the codeset normalised, the rest as written. Unparseable names come back unchanged. */
export function normaliseLocaleName(name: string): string {
  const p = parseLocaleName(name);
  if (!p) return name;
  return `${p.language}${p.territory ? `_${p.territory}` : ''}${p.codeset ? `.${normaliseCodeset(p.codeset)}` : ''}${p.modifier ? `@${p.modifier}` : ''}`;
}

/** Locales every glibc has built in, whatever is installed: setlocale never fails on them. */
export function isBuiltinLocale(name: string): boolean {
  return name === 'C' || name === 'POSIX';
}

/** A C locale with UTF-8 (`C.UTF-8`, `C.utf8`): built into glibc only since 2.35, so it may be missing. */
export function isCUtf8(name: string): boolean {
  return normaliseLocaleName(name) === 'C.utf8';
}

/** The names `locale -a` printed, normalised, as a set. */
export function parseLocaleList(text: string): Set<string> {
  const names = new Set<string>();
  for (const { text: line } of eachLine(text)) {
    const name = line.trim();
    if (name !== '') names.add(normaliseLocaleName(name));
  }
  return names;
}

/**
 * Whether `name` is among `available` (normalised names). glibc also accepts the name with its
 * codeset as written when an alias matches, so both spellings are tried.
 */
export function localeAvailable(name: string, available: ReadonlySet<string>): boolean {
  if (isBuiltinLocale(name)) return true;
  return available.has(normaliseLocaleName(name)) || available.has(name);
}
