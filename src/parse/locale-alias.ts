/**
 * The aliases `locale -a` adds from locale.alias: each line "ALIAS VALUE" whose VALUE is a name
 * already listed (compared byte for byte, in file order, so an alias of an alias counts once its
 * target was added). Read as glibc's locale program reads it: leading blanks skipped, `#` starts a
 * comment line, the two fields end at white space, and only the first BUFSIZ-1 bytes of a line count (counted here in characters: the same for
 * the ASCII such files hold).
 */

/** glibc's BUFSIZ: fgets reads at most this less one byte of a line; the rest of a longer line is ignored. */
const LINE_BYTES = 8192 - 1;

/** C's isspace() in the C locale. */
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';

/** The first two white-space separated fields of a line, as glibc's loop finds them; null for a comment or a lone word. */
function aliasLine(line: string): { alias: string; value: string } | null {
  let i = 0;
  while (isSpace(line[i])) i++;
  if (i >= line.length || line[i] === '#') return null;
  const aliasStart = i;
  while (i < line.length && !isSpace(line[i])) i++;
  const alias = line.slice(aliasStart, i);
  while (isSpace(line[i])) i++;
  if (i >= line.length) return null;
  const valueStart = i;
  while (i < line.length && !isSpace(line[i])) i++;
  return { alias, value: line.slice(valueStart, i) };
}

/** Adds to `names` (the set listed so far) each alias of `text` whose value is in it, in file order. */
export function addListedAliases(text: string, names: Set<string>): void {
  for (const raw of text.split('\n')) {
    // A NUL ends the C string fgets filled: what follows on that line is not seen.
    const line = raw.slice(0, LINE_BYTES).split('\0')[0] ?? '';
    const pair = aliasLine(line);
    if (pair !== null && names.has(pair.value)) names.add(pair.alias);
  }
}
